//! Plan categories: the sector a site belongs to, which decides the rules it must follow.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Plan categories; the category decides which rules are required for a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Portals and online public services of state bodies (Quyết định 38/QĐ-BTTTT).
    StatePortal,
    /// E-newspapers (báo điện tử).
    ENewspaper,
    /// General information sites (trang thông tin điện tử tổng hợp).
    GeneralInfo,
    /// Education.
    Education,
    /// Health.
    Health,
    /// E-commerce floors (sàn thương mại điện tử).
    ECommerce,
    /// Anything else.
    #[default]
    Other,
}

impl Category {
    /// Every category, for docs, validation messages and reports.
    pub const ALL: [Category; 7] = [
        Category::StatePortal,
        Category::ENewspaper,
        Category::GeneralInfo,
        Category::Education,
        Category::Health,
        Category::ECommerce,
        Category::Other,
    ];

    /// The stable id used in YAML, JSON and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::StatePortal => "state_portal",
            Category::ENewspaper => "e_newspaper",
            Category::GeneralInfo => "general_info",
            Category::Education => "education",
            Category::Health => "health",
            Category::ECommerce => "e_commerce",
            Category::Other => "other",
        }
    }

    /// Parses the stable id; used by `--policy` and the config.
    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
