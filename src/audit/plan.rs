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

/// A one-shot audit's plan from the command line: `--only` narrows what runs, `--require`
/// names what gates; without `--require` a config or `--policy` gates by each target's policy
/// (and `--only` then runs every required check too), else every check that runs gates.
/// Returns the plan and the required checks `--only` had left out, so the caller can say so.
pub fn for_check(
    only: Option<&[CheckId]>,
    require: Option<Vec<CheckId>>,
    judge_by_policy: bool,
    targets: &[Target],
    concurrency: usize,
) -> (AuditPlan, Vec<CheckId>) {
    let mut checks = checks_to_run(only, require.as_deref());
    let mut added = Vec::new();
    if only.is_some() && require.is_none() && judge_by_policy {
        added = add_required_checks(&mut checks, targets);
    }
    let required = match require {
        Some(ids) => Some(ids),
        None if judge_by_policy => None,
        None => Some(checks.clone()),
    };
    let plan = AuditPlan {
        checks,
        required,
        concurrency,
    };
    (plan, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_adds_required_checks() {
        let ids = checks_to_run(Some(&[CheckId::TlsValid]), Some(&[CheckId::Ipv6Aaaa]));
        assert_eq!(ids, vec![CheckId::TlsValid, CheckId::Ipv6Aaaa]);
        assert_eq!(checks_to_run(None, None).len(), CheckId::all().len());
    }

    #[test]
    fn a_policy_gate_runs_what_only_left_out_and_a_bare_run_gates_on_what_ran() {
        let mut target = Target::from_url(
            crate::model::target::TargetUrl::parse("a.gov.vn").expect("url"),
            crate::model::target::TargetSettings::default(),
        );
        target.set_category(crate::model::category::Category::StatePortal);
        let targets = [target];
        let (plan, added) = for_check(Some(&[CheckId::TlsValid]), None, true, &targets, 4);
        assert!(added.contains(&CheckId::Ipv6Aaaa) && plan.checks.contains(&CheckId::Ipv6Aaaa));
        assert_eq!(plan.required, None, "each target's policy gates");
        let (plan, added) = for_check(Some(&[CheckId::TlsValid]), None, false, &targets, 4);
        assert!(added.is_empty());
        assert_eq!(plan.required, Some(vec![CheckId::TlsValid]));
        let (plan, _) = for_check(None, Some(vec![CheckId::DomainVn]), true, &targets, 4);
        assert_eq!(plan.required, Some(vec![CheckId::DomainVn]));
        assert_eq!(plan.checks.len(), CheckId::all().len());
    }
}
