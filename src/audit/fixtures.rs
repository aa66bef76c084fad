//! Test verdicts for the sinks' unit tests (output, report, metrics).

use crate::audit::verdict::TargetVerdict;
use crate::checks::fixtures::{observations, target};
use crate::checks::{CheckId, CheckResult, Reason, Status};

/// A verdict for the fixture target with the given check statuses.
pub fn verdict_with(statuses: &[(CheckId, Status)]) -> TargetVerdict {
    let checks = statuses
        .iter()
        .map(|(id, status)| CheckResult::new(*id, *status, Reason::new("en", "vi"), serde_json::Value::Null))
        .collect();
    let required = statuses.iter().map(|(id, _)| *id).collect();
    TargetVerdict::new(&target(), checks, required, observations())
}
