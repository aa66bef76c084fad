//! What an audit runs and what it requires: the catalogue narrowed by `--only`, widened again
//! by every check a policy requires, so a gate never judges a check it skipped.

use crate::model::catalogue::CheckId;
use crate::model::target::Target;

/// What to run and what to require.
#[derive(Clone, Debug)]
pub struct AuditPlan {
    pub checks: Vec<CheckId>,
    /// `None`: each target's own policy decides (daemon, config files, `--policy`).
    pub required: Option<Vec<CheckId>>,
    pub concurrency: usize,
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

/// Adds every check some target requires to `checks`; returns the ones it added, so the caller
/// can say so. `--only` narrows what is reported, never what a policy-judged gate requires.
pub fn add_required_checks(checks: &mut Vec<CheckId>, targets: &[Target]) -> Vec<CheckId> {
    let mut added = Vec::new();
    for target in targets {
        for id in target.policy.required_among(&CheckId::all()) {
            if !checks.contains(&id) {
                checks.push(id);
                added.push(id);
            }
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_adds_required_checks() {
        let ids = checks_to_run(Some(&[CheckId::TlsValid]), Some(&[CheckId::Ipv6Aaaa]));
        assert_eq!(ids, vec![CheckId::TlsValid, CheckId::Ipv6Aaaa]);
        assert_eq!(checks_to_run(None, None).len(), 15);
    }
}
