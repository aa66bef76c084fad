//! The one signature every check has, as blackbox_exporter's probers share one: a check reads a
//! [`CheckInput`] and returns a result. No check reads the clock or does I/O.

use crate::model::target::Target;
use crate::probe::Observations;

use super::result::CheckResult;

/// What every check may read: the target as configured, what the probes saw, and when the
/// audit started (so the same input always gives the same result).
pub struct CheckInput<'a> {
    pub target: &'a Target,
    pub observations: &'a Observations,
    /// The audit's start, Unix seconds.
    pub now: i64,
}

/// A check: a pure function of its input.
pub type CheckFn = fn(&CheckInput<'_>) -> CheckResult;
