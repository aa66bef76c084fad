//! The one-shot audit: probe every target with bounded concurrency, judge, and return verdicts
//! in the order the targets were given.

use std::sync::Arc;

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::audit::plan::AuditPlan;
use crate::audit::verdict::TargetVerdict;
use crate::checks::{self, CheckId};
use crate::model::target::Target;
use crate::probe::politeness::{AddressGate, ConnectionPermit, KeyedGate};
use crate::probe::{Prefetched, Prober};

/// Probes and judges one target.
pub async fn audit_target(prober: &Prober, target: &Target, plan: &AuditPlan) -> TargetVerdict {
    // Boxed: the audit's state machine is tens of kilobytes, and unoptimised builds copy a
    // future through the stack on every layer it is wrapped in (a daemon's worker overflowed
    // its 2 MiB stack when this layer was added unboxed).
    Box::pin(audit_prefetched(prober, target, plan, None)).await
}

/// [`audit_target`] from host records admission looked up.
async fn audit_prefetched(
    prober: &Prober,
    target: &Target,
    plan: &AuditPlan,
    prefetched: Option<Prefetched>,
) -> TargetVerdict {
    let observations = prober
        .observe_with(target, CheckId::probes_for(&plan.checks), prefetched)
        .await;
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
        .map(joined_verdict)
}

/// A sweep's verdicts as they finish, in any order, at most `plan.concurrency` at once and
/// each admitted by `admission` (see [`Admission`]).
pub fn sweep_stream<S>(
    prober: Arc<Prober>,
    targets: S,
    plan: Arc<AuditPlan>,
    admission: Arc<Admission>,
) -> impl futures::Stream<Item = TargetVerdict>
where
    S: futures::Stream<Item = Target>,
{
    let concurrency = plan.concurrency.max(1);
    let running = Arc::new(Semaphore::new(concurrency));
    targets
        .map(move |target| spawn_admitted(prober.clone(), target, plan.clone(), admission.clone(), running.clone()))
        .buffer_unordered(concurrency * WAITING_PER_RUNNING)
        .map(joined_verdict)
}

/// [`audit_stream`] with admission: verdicts in target order.
pub fn admitted_stream(
    prober: Arc<Prober>,
    targets: &[Target],
    plan: Arc<AuditPlan>,
    admission: Arc<Admission>,
) -> impl futures::Stream<Item = TargetVerdict> + '_ {
    let concurrency = plan.concurrency.max(1);
    let running = Arc::new(Semaphore::new(concurrency));
    futures::stream::iter(targets.iter())
        .map(move |target| {
            spawn_admitted(
                prober.clone(),
                target.clone(),
                plan.clone(),
                admission.clone(),
                running.clone(),
            )
        })
        .buffered(concurrency * WAITING_PER_RUNNING)
        .map(joined_verdict)
}

/// Targets that may wait for their turn per target being audited. Waiting targets hold no
/// audit slot: a list sorted by zone puts a thousand sites of one name server in a row, and
/// while five of them are audited the others wait without stopping the sites of other
/// servers behind them. A waiting target costs a few kilobytes.
const WAITING_PER_RUNNING: usize = 16;

fn spawn_admitted(
    prober: Arc<Prober>,
    target: Target,
    plan: Arc<AuditPlan>,
    admission: Arc<Admission>,
    running: Arc<Semaphore>,
) -> tokio::task::JoinHandle<TargetVerdict> {
    tokio::spawn(async move {
        let (turns, prefetched) = admission.wait_for_turn(&prober, &target).await;
        // Closed only if dropped, which the stream never does while tasks run.
        let slot = running.acquire_owned().await.ok();
        // Boxed: a task waiting for its turn holds a few hundred bytes, not the audit's
        // whole state machine (tens of kilobytes, times thousands of waiting targets).
        let verdict = Box::pin(audit_prefetched(&prober, &target, &plan, prefetched)).await;
        drop((turns, slot));
        verdict
    })
}

fn joined_verdict(joined: Result<TargetVerdict, tokio::task::JoinError>) -> TargetVerdict {
    match joined {
        Ok(verdict) => verdict,
        // An audit that panicked is a bug; surface it as the panic it was.
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
}

/// When a target of a sweep may start. At most `per_address` × [`TARGETS_PER_CONNECTION`]
/// targets are in flight on any one server address (whose connections the probes still hold
/// to `per_address`), and on one zone's name servers as many as one second of their query
/// budget serves (at [`QUERIES_PER_TARGET`] each). A target waits for its turn on every
/// address its host resolves to, and on its name servers, before its audit (and its timeout)
/// starts: a thousand sites on one shared hosting server or in one zone are audited a few at
/// a time instead of timing out in a queue, while other servers' sites go on.
pub struct Admission {
    per_address: Option<usize>,
    addresses: AddressGate,
    name_servers: KeyedGate<String>,
}

/// Targets in flight on one address per connection allowed to it. A target spends most of
/// its audit on DNS, on other addresses and on judging, so four connections serve about
/// sixteen targets without a queue that eats their timeouts on a healthy server; a slow one
/// still sees at most four connections, and its sites wait their turn.
pub const TARGETS_PER_CONNECTION: usize = 4;

/// About how many new DNS questions a full audit sends about its zone (the national lab
/// counts 6 per site at NSD, a first site of a zone more).
pub const QUERIES_PER_TARGET: f64 = 10.0;

impl Admission {
    pub fn new(per_address: Option<usize>) -> Admission {
        Admission {
            per_address,
            addresses: AddressGate::new(per_address.map(|n| n * TARGETS_PER_CONNECTION)),
            name_servers: KeyedGate::default(),
        }
    }

    async fn wait_for_turn(&self, prober: &Prober, target: &Target) -> (Vec<ConnectionPermit>, Option<Prefetched>) {
        let mut turns = Vec::new();
        let waited_until = Instant::now() + ADMISSION_WAIT;
        if let Some((servers, count, qps)) = prober.paced_name_servers(target.host()) {
            // About a second of the servers' queries in flight: a target's own questions then
            // wait little, and the audits spread over many zones instead of queueing in one.
            let in_flight = ((qps / QUERIES_PER_TARGET).floor() as usize).max(1) * count.max(1);
            turns.extend(self.name_servers.acquire(servers, in_flight, waited_until).await);
        }
        if self.per_address.is_none() {
            return (turns, None);
        }
        let prefetched = prober.host_records(target).await;
        for ip in prefetched.addresses() {
            // Sorted addresses, taken in order: two targets never wait on each other.
            turns.extend(self.addresses.acquire(ip, waited_until).await);
        }
        (turns, Some(prefetched))
    }
}

/// How long a target waits for its turn on a crowded server before it is audited anyway
/// (its connections and queries still obey the limits).
const ADMISSION_WAIT: Duration = Duration::from_secs(600);

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
