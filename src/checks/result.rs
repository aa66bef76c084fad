//! What a check decides: a status, a reason in both languages and the values behind it.
//! Plain data that every sink reads; no sink re-derives a status from facts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::catalogue::CheckId;
use crate::model::goals::MetChecks;

/// Outcome of one check. `Error` means "could not be tested" and never counts as a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }

    /// The inverse of [`Status::as_str`], for values read back from the store.
    pub fn parse(text: &str) -> Option<Status> {
        [Status::Pass, Status::Warn, Status::Fail, Status::Skip, Status::Error]
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// Whether the check counts as met for a score or a plan goal: it passed, perhaps with a
    /// warning. `skip` is not met (it did not apply) and `error` never is.
    pub fn counts_as_met(self) -> bool {
        matches!(self, Status::Pass | Status::Warn)
    }

    /// Whether this is a finding someone must act on: a failure, or a check that could not be
    /// tested (never silently good).
    pub fn is_problem(self) -> bool {
        matches!(self, Status::Fail | Status::Error)
    }

    /// Whether a required check with this status lets a CI gate through.
    pub fn satisfies_requirement(self) -> bool {
        matches!(self, Status::Pass | Status::Warn | Status::Skip)
    }
}

/// A one-line reason in both languages the users read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub en: String,
    pub vi: String,
}

impl Reason {
    pub fn new(en: impl Into<String>, vi: impl Into<String>) -> Reason {
        Reason {
            en: en.into(),
            vi: vi.into(),
        }
    }
}

/// The result of one check: what was decided, why, and the values it was decided on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: CheckId,
    pub status: Status,
    pub reason: Reason,
    pub observed: Value,
}

impl CheckResult {
    pub fn new(id: CheckId, status: Status, reason: Reason, observed: Value) -> CheckResult {
        CheckResult {
            id,
            status,
            reason,
            observed,
        }
    }
}

/// The `error` result for what could not be tested: never a pass, and the reason names each
/// address or hop ("could not be tested: [2402:800::1] …").
pub(crate) fn not_tested(id: CheckId, en: &str, vi: &str, items: &[&str], observed: Value) -> CheckResult {
    let list = items.join("; ");
    CheckResult::new(
        id,
        Status::Error,
        Reason::new(format!("{en}: {list}"), format!("{vi}: {list}")),
        observed,
    )
}

/// A target's results answer a plan goal's question "is this check met?".
impl MetChecks for [CheckResult] {
    fn met(&self, id: CheckId) -> bool {
        self.iter()
            .any(|result| result.id == id && result.status.counts_as_met())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_and_warn_count_as_met_and_error_never_does() {
        let results: Vec<CheckResult> = [
            (CheckId::Ipv6Aaaa, Status::Warn),
            (CheckId::TlsValid, Status::Error),
            (CheckId::DnsDnssec, Status::Skip),
            (CheckId::HttpUp, Status::Pass),
        ]
        .into_iter()
        .map(|(id, status)| CheckResult::new(id, status, Reason::new("", ""), Value::Null))
        .collect();
        assert!(results.met(CheckId::Ipv6Aaaa) && results.met(CheckId::HttpUp));
        assert!(!results.met(CheckId::TlsValid) && !results.met(CheckId::DnsDnssec));
        assert!(!results.met(CheckId::DomainVn), "a check that did not run is not met");
    }
}
