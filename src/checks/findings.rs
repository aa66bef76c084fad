//! How a check that gathers findings across addresses, hosts or records ends: any problem
//! fails it (naming what could not be tested beside), anything untested without a problem is
//! an error, warnings warn, and only a clean sheet is left to pass. One rule for every such
//! check, so none passes on part of what it should have seen.

use serde_json::Value;

use super::result::{fail, not_tested, warn, CheckResult, Reason};
use crate::model::catalogue::CheckId;

/// What a check found, each item naming where.
#[derive(Default)]
pub(super) struct Gaps {
    pub problems: Vec<String>,
    pub untested: Vec<String>,
    pub warnings: Vec<String>,
}

impl Gaps {
    /// The failing, erring or warning result, or `Err(observed)` when nothing stands in the
    /// way of a pass (the caller words it).
    pub(super) fn conclude(
        &self,
        id: CheckId,
        observed: Value,
        failing: impl FnOnce(&str) -> Reason,
        untested: (&str, &str),
        warning: impl FnOnce(&str) -> Reason,
    ) -> Result<CheckResult, Value> {
        conclude(id, observed, self, failing, untested, warning)
    }
}

fn conclude(
    id: CheckId,
    observed: Value,
    found: &Gaps,
    failing: impl FnOnce(&str) -> Reason,
    untested: (&str, &str),
    warning: impl FnOnce(&str) -> Reason,
) -> Result<CheckResult, Value> {
    if !found.problems.is_empty() {
        let mut list = found.problems.join("; ");
        if !found.untested.is_empty() {
            list = format!("{list}; not tested: {}", found.untested.join("; "));
        }
        return Ok(fail(id, failing(&list), observed));
    }
    if !found.untested.is_empty() {
        return Ok(not_tested(id, untested.0, untested.1, &found.untested, observed));
    }
    if !found.warnings.is_empty() {
        return Ok(warn(id, warning(&found.warnings.join("; ")), observed));
    }
    Err(observed)
}
