//! Which checks are required, and how a target's results add up to a gate and a score.

use crate::checks::{CheckId, CheckResult, Status};

/// Required checks: those named by `--require`, or every check that ran.
pub fn required_checks(require: Option<&[CheckId]>, ran: &[CheckId]) -> Vec<CheckId> {
    match require {
        Some(ids) => ids.to_vec(),
        None => ran.to_vec(),
    }
}

/// Checks to run: `--only` (plus anything required, so a gate never judges a check it skipped),
/// or the whole catalogue.
pub fn checks_to_run(only: Option<&[CheckId]>, require: Option<&[CheckId]>) -> Vec<CheckId> {
    let Some(only) = only else {
        return CheckId::all();
    };
    let mut ids = only.to_vec();
    for id in require.unwrap_or_default() {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    ids
}

/// Whether every required check passed, and the share of applicable required checks passing.
/// `error` counts against: a check that could not be tested is never a pass.
pub fn judge(results: &[CheckResult], required: &[CheckId]) -> (bool, f64) {
    let applicable: Vec<&CheckResult> = results
        .iter()
        .filter(|r| required.contains(&r.id) && r.status != Status::Skip)
        .collect();
    let passed = results
        .iter()
        .filter(|r| required.contains(&r.id))
        .all(|r| r.status.satisfies_requirement());
    let ratio = if applicable.is_empty() {
        1.0
    } else {
        applicable
            .iter()
            .filter(|r| matches!(r.status, Status::Pass | Status::Warn))
            .count() as f64
            / applicable.len() as f64
    };
    (passed, ratio)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Reason;

    fn result(id: CheckId, status: Status) -> CheckResult {
        CheckResult::new(id, status, Reason::new("", ""), serde_json::Value::Null)
    }

    #[test]
    fn error_blocks_and_skip_does_not() {
        let results = vec![
            result(CheckId::TlsValid, Status::Pass),
            result(CheckId::Ipv6SameContent, Status::Skip),
        ];
        assert_eq!(
            judge(&results, &[CheckId::TlsValid, CheckId::Ipv6SameContent]),
            (true, 1.0)
        );
        let results = vec![
            result(CheckId::TlsValid, Status::Error),
            result(CheckId::Ipv6Aaaa, Status::Pass),
        ];
        assert_eq!(judge(&results, &[CheckId::TlsValid, CheckId::Ipv6Aaaa]), (false, 0.5));
    }

    #[test]
    fn only_adds_required_checks() {
        let ids = checks_to_run(Some(&[CheckId::TlsValid]), Some(&[CheckId::Ipv6Aaaa]));
        assert_eq!(ids, vec![CheckId::TlsValid, CheckId::Ipv6Aaaa]);
        assert_eq!(checks_to_run(None, None).len(), 15);
    }

    #[test]
    fn unrequired_failures_do_not_block() {
        let results = vec![
            result(CheckId::TlsValid, Status::Pass),
            result(CheckId::HttpsHsts, Status::Fail),
        ];
        assert!(judge(&results, &[CheckId::TlsValid]).0);
    }
}
