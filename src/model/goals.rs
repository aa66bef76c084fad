//! Plan goals ("100% of state portals reachable over IPv6 by 2025-12-31"): declared in
//! targets.yaml, measured over the latest verdicts, exported to Prometheus and reports.

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::catalogue::CheckId;
use crate::model::invalid::invalid_value;
use crate::model::policy::Requirement;
use crate::model::target::{Category, Target};

/// What a goal asks of a target's results. Results live in a layer above this one, so the
/// goal asks through this question and the check results answer it.
pub trait MetChecks {
    /// Whether this check ran and counts as met (pass or warn).
    fn met(&self, id: CheckId) -> bool;
}

/// A goal as configured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Goal {
    /// Stable id, the `goal` label.
    pub id: String,
    pub title_vi: String,
    pub title_en: String,
    /// Categories the goal covers; empty means every target.
    pub categories: Vec<Category>,
    /// Checks a target must pass to count as meeting the goal.
    pub checks: Vec<CheckId>,
    /// Share of covered targets that must meet it, 0..=1.
    pub target_ratio: f64,
    /// As written, YYYY-MM-DD.
    pub deadline: String,
    /// End of the deadline day in Vietnam (UTC+7), Unix seconds.
    pub deadline_unix: i64,
}

/// How a goal stands now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GoalProgress {
    pub id: String,
    /// Targets the goal covers (exempted ones left out).
    pub targets: usize,
    pub met: usize,
    /// met / targets (1 when nothing is covered).
    pub achieved_ratio: f64,
    /// Ids of covered targets not meeting the goal.
    pub missing: Vec<String>,
}

impl Goal {
    pub fn covers(&self, target: &Target) -> bool {
        self.categories.is_empty() || self.categories.contains(&target.category)
    }

    /// Measures the goal over (target, results) pairs.
    pub fn progress<'a, R: MetChecks + ?Sized + 'a>(
        &self,
        sites: impl IntoIterator<Item = (&'a Target, &'a R)>,
    ) -> GoalProgress {
        let mut targets = 0;
        let mut met = 0;
        let mut missing = Vec::new();
        for (target, results) in sites {
            if !self.covers(target) {
                continue;
            }
            let checks: Vec<CheckId> = self
                .checks
                .iter()
                .copied()
                .filter(|id| target.policy.requirement(*id) != Requirement::Exempt)
                .collect();
            if checks.is_empty() {
                continue;
            }
            targets += 1;
            let passes = checks.iter().all(|id| results.met(*id));
            if passes {
                met += 1;
            } else {
                missing.push(target.id.clone());
            }
        }
        GoalProgress {
            id: self.id.clone(),
            targets,
            met,
            achieved_ratio: if targets == 0 { 1.0 } else { met as f64 / targets as f64 },
            missing,
        }
    }
}

/// A ratio written as `0.95` or `"95%"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratio(pub f64);

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        let (value, written) = match Raw::deserialize(deserializer)? {
            Raw::Number(n) => (n, n.to_string()),
            Raw::Text(text) => match text.trim().strip_suffix('%').map(|n| n.trim().parse::<f64>()) {
                Some(Ok(percent)) => (percent / 100.0, text),
                _ => {
                    return Err(invalid_value(
                        &text,
                        &format!("invalid ratio \"{text}\": expected 0.95 or \"95%\""),
                    ))
                }
            },
        };
        if !(0.0..=1.0).contains(&value) {
            return Err(invalid_value(
                &written,
                &format!("invalid ratio \"{written}\": expected between 0 and 1 (or 0% to 100%)"),
            ));
        }
        Ok(Ratio(value))
    }
}

/// Parses YYYY-MM-DD and returns the end of that day in Vietnam (23:59:59 UTC+7).
pub fn parse_deadline(text: &str) -> Result<i64, String> {
    let expected = || format!("invalid date {text:?}: expected YYYY-MM-DD");
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [year, month, day] = parts[..] else {
        return Err(expected());
    };
    let year: i64 = year.parse().map_err(|_| expected())?;
    let month: i64 = month.parse().map_err(|_| expected())?;
    let day: i64 = day.parse().map_err(|_| expected())?;
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(expected()),
    };
    if !(1..=days_in_month).contains(&day) || !(1970..=9999).contains(&year) {
        return Err(expected());
    }
    let days = crate::model::calendar::days_from_civil(year, month, day);
    Ok(days * 86_400 + 86_399 - 7 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::target::{TargetSettings, TargetUrl};

    /// The checks a test target met.
    struct Met(Vec<CheckId>);

    impl MetChecks for Met {
        fn met(&self, id: CheckId) -> bool {
            self.0.contains(&id)
        }
    }

    #[test]
    fn deadlines_end_the_day_in_vietnam() {
        // 2025-12-31T23:59:59+07:00 = 2025-12-31T16:59:59Z
        assert_eq!(parse_deadline("2025-12-31"), Ok(1_767_200_399));
        assert_eq!(parse_deadline("2024-02-29").map(|t| t > 0), Ok(true));
        for bad in ["2025-02-29", "2025-13-01", "31/12/2025", "2025-12"] {
            assert!(parse_deadline(bad).is_err(), "{bad}");
        }
    }

    fn target(host: &str, category: Category) -> Target {
        let mut target = Target::from_url(TargetUrl::parse(host).expect("url"), TargetSettings::default());
        target.set_category(category);
        target
    }

    #[test]
    fn progress_counts_covered_targets_and_leaves_out_exempt_ones() {
        let goal = Goal {
            id: "portals_ipv6".into(),
            title_vi: "IPv6".into(),
            title_en: "IPv6".into(),
            categories: vec![Category::StatePortal],
            checks: vec![CheckId::Ipv6Aaaa],
            target_ratio: 1.0,
            deadline: "2025-12-31".into(),
            deadline_unix: 0,
        };
        let a = target("a.gov.vn", Category::StatePortal);
        let b = target("b.gov.vn", Category::StatePortal);
        let news = target("news.vn", Category::ENewspaper);
        let mut exempt = target("c.gov.vn", Category::StatePortal);
        exempt.policy.exempt.push(CheckId::Ipv6Aaaa);
        let (met, unmet) = (Met(vec![CheckId::Ipv6Aaaa]), Met(Vec::new()));
        let progress = goal.progress([(&a, &met), (&b, &unmet), (&news, &unmet), (&exempt, &unmet)]);
        assert_eq!((progress.targets, progress.met), (2, 1));
        assert_eq!(progress.achieved_ratio, 0.5);
        assert_eq!(progress.missing, vec![b.id.clone()]);
    }
}
