//! Which checks are required or recommended for a target, how its results add up to a gate
//! and a score. Shipped defaults per category follow the regulations cited in docs/policy.md;
//! targets.yaml may override them per category and per target, always with a reason.

use serde::{Deserialize, Serialize};

use crate::model::catalogue::CheckId;
use crate::model::category::Category;

/// How much a check matters for one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Requirement {
    /// Failing it makes the target non-compliant.
    Required,
    /// Reported, never blocks; a goal can raise it later.
    Recommended,
    /// Not applicable by an approved exemption (the reason is recorded).
    Exempt,
}

impl Requirement {
    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::Required => "required",
            Requirement::Recommended => "recommended",
            Requirement::Exempt => "exempt",
        }
    }
}

/// A change to a policy, from targets.yaml (per category or per target).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PolicyOverride {
    pub require: Vec<CheckId>,
    pub recommend: Vec<CheckId>,
    pub exempt: Vec<CheckId>,
    /// Why: an approved exemption, a provincial plan raising the bar. Mandatory in the file.
    pub reason: String,
}

/// The resolved policy of one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetPolicy {
    pub required: Vec<CheckId>,
    pub exempt: Vec<CheckId>,
    /// Reasons of every override applied, category first.
    pub reasons: Vec<String>,
}

/// Checks required by default for state portals and online public services: Quyết định
/// 38/QĐ-BTTTT ("IPv6 For Gov") for IPv6, TLS and HTTPS; Thông tư 24/2015/TT-BTTTT Điều 7
/// k.3 for .vn; SPF and DMARC because mail forged in a state body's name is the SOC's most
/// common phishing incident.
const STATE_PORTAL_REQUIRED: [CheckId; 7] = [
    CheckId::Ipv6Aaaa,
    CheckId::Ipv6Reachable,
    CheckId::TlsValid,
    CheckId::HttpsRedirect,
    CheckId::DomainVn,
    CheckId::MailSpf,
    CheckId::MailDmarc,
];

/// Thông tư 24/2015/TT-BTTTT Điều 7 k.3–4 and the plan's sector list: these must use .vn.
const VN_ONLY_REQUIRED: [CheckId; 1] = [CheckId::DomainVn];

impl TargetPolicy {
    /// The shipped default for a category.
    pub fn default_for(category: Category) -> TargetPolicy {
        let required: &[CheckId] = match category {
            Category::StatePortal => &STATE_PORTAL_REQUIRED,
            Category::ENewspaper
            | Category::GeneralInfo
            | Category::Education
            | Category::Health
            | Category::ECommerce => &VN_ONLY_REQUIRED,
            Category::Other => &[],
        };
        TargetPolicy {
            required: required.to_vec(),
            exempt: Vec::new(),
            reasons: Vec::new(),
        }
    }

    /// Applies an override: `require` adds, `recommend` demotes, `exempt` removes entirely.
    pub fn apply(&mut self, change: &PolicyOverride) {
        for id in &change.require {
            if !self.required.contains(id) {
                self.required.push(*id);
            }
            self.exempt.retain(|e| e != id);
        }
        self.required
            .retain(|id| !change.recommend.contains(id) && !change.exempt.contains(id));
        for id in &change.exempt {
            if !self.exempt.contains(id) {
                self.exempt.push(*id);
            }
        }
        if !change.reason.is_empty() {
            self.reasons.push(change.reason.clone());
        }
    }

    pub fn requirement(&self, id: CheckId) -> Requirement {
        if self.exempt.contains(&id) {
            Requirement::Exempt
        } else if self.required.contains(&id) {
            Requirement::Required
        } else {
            Requirement::Recommended
        }
    }

    /// The required checks among those that ran, in catalogue order.
    pub fn required_among(&self, ran: &[CheckId]) -> Vec<CheckId> {
        ran.iter().copied().filter(|id| self.required.contains(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_defaults_follow_the_regulations() {
        let portal = TargetPolicy::default_for(Category::StatePortal);
        for id in STATE_PORTAL_REQUIRED {
            assert_eq!(portal.requirement(id), Requirement::Required);
        }
        assert_eq!(portal.requirement(CheckId::DomainGovVn), Requirement::Recommended);
        assert_eq!(portal.requirement(CheckId::DnsDnssec), Requirement::Recommended);
        let news = TargetPolicy::default_for(Category::ENewspaper);
        assert_eq!(news.required, vec![CheckId::DomainVn]);
        assert!(TargetPolicy::default_for(Category::Other).required.is_empty());
    }

    #[test]
    fn overrides_add_demote_and_exempt_with_reasons() {
        let mut policy = TargetPolicy::default_for(Category::StatePortal);
        policy.apply(&PolicyOverride {
            require: vec![CheckId::DnsDnssec],
            recommend: vec![CheckId::HttpsRedirect],
            exempt: vec![CheckId::Ipv6Reachable],
            reason: "Công văn 12/STTTT".into(),
        });
        assert_eq!(policy.requirement(CheckId::DnsDnssec), Requirement::Required);
        assert_eq!(policy.requirement(CheckId::HttpsRedirect), Requirement::Recommended);
        assert_eq!(policy.requirement(CheckId::Ipv6Reachable), Requirement::Exempt);
        assert_eq!(policy.reasons, vec!["Công văn 12/STTTT".to_string()]);
    }
}
