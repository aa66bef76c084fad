//! The one-shot audit: probe every target with bounded concurrency, judge, and return verdicts
//! in the order the targets were given.

use std::sync::Arc;

use futures::StreamExt;

use crate::audit::plan::AuditPlan;
use crate::audit::verdict::TargetVerdict;
use crate::checks::{self, CheckId};
use crate::model::target::Target;
use crate::probe::Prober;

/// Probes and judges one target.
pub async fn audit_target(prober: &Prober, target: &Target, plan: &AuditPlan) -> TargetVerdict {
    let observations = prober.observe(target, CheckId::probes_for(&plan.checks)).await;
    let results = checks::evaluate(target, &observations, &plan.checks);
    let required = match &plan.required {
        Some(ids) => ids.clone(),
        None => target.policy.required_among(&plan.checks),
    };
    let mut verdict = TargetVerdict::new(target, results, required, observations);
    // Bodies are only needed for judging; a kept verdict must not hold a megabyte per address.
    verdict.drop_bodies();
    verdict
}

/// Verdicts in target order as they finish, at most `plan.concurrency` audits at a time, so a
/// caller can write each one out and drop it. Each audit is a task of its own: polled from the
/// caller's task instead, every site's I/O would wake one thread and hand work across to the
/// runtime's workers (a measured third more CPU on the performance lab).
pub fn audit_stream(
    prober: Arc<Prober>,
    targets: &[Target],
    plan: Arc<AuditPlan>,
) -> impl futures::Stream<Item = TargetVerdict> + '_ {
    let concurrency = plan.concurrency.max(1);
    futures::stream::iter(targets.iter())
        .map(move |target| {
            let (prober, plan, target) = (prober.clone(), plan.clone(), target.clone());
            tokio::spawn(async move { audit_target(&prober, &target, &plan).await })
        })
        .buffered(concurrency)
        .map(|joined| match joined {
            Ok(verdict) => verdict,
            // An audit that panicked is a bug; surface it as the panic it was.
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        })
}

/// Audits every target, at most `plan.concurrency` at a time; `on_done` is called as each one
/// finishes (for a progress bar).
pub async fn audit_all(
    prober: Arc<Prober>,
    targets: &[Target],
    plan: Arc<AuditPlan>,
    on_done: &(dyn Fn(&TargetVerdict) + Sync),
) -> Vec<TargetVerdict> {
    audit_stream(prober, targets, plan)
        .map(|verdict| {
            on_done(&verdict);
            verdict
        })
        .collect()
        .await
}
