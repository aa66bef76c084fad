//! The supervisor: one task per owned target in a `JoinSet`, a shared semaphore bounding how
//! many audits run at once, deterministic per-target offsets so starts are spread over the
//! interval, and no catch-up bursts after a stall. Reloads diff the target list so unchanged
//! targets keep their schedule.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::audit::plan::AuditPlan;
use crate::audit::runner;
use crate::config::{Config, ConfigError, Overrides};
use crate::daemon::shard::stable_hash;
use crate::daemon::{ActiveConfig, Daemon};
use crate::model::target::Target;
use crate::probe::{Prober, ProberSetupError};

/// Why a reload was refused; the running config stays.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The file does not parse or validate (the message has file:line:col).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The file is valid but its roots or resolvers cannot be used.
    #[error("{file}: {source}")]
    Prober {
        file: String,
        #[source]
        source: ProberSetupError,
    },
    /// The blocking task that reads the file died (it panicked or the runtime is stopping).
    #[error("reading the configuration failed: {0}")]
    Blocking(String),
}

/// What a successful reload changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub unchanged: usize,
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} added, {} removed, {} changed, {} unchanged",
            self.added, self.removed, self.changed, self.unchanged
        )
    }
}

/// Requests the supervisor serves between ticks.
pub enum SupervisorRequest {
    Reload(oneshot::Sender<Result<ReloadSummary, String>>),
}

/// Where the config comes from, so a reload reads the same file with the same flags.
#[derive(Clone, Debug)]
pub struct ConfigSource {
    pub path: PathBuf,
    pub overrides: Overrides,
}

impl ConfigSource {
    /// Reads, validates and overrides the file, and builds its prober: everything that can
    /// fail happens here, before anything is swapped.
    pub fn load(&self, previous: Option<&ActiveConfig>) -> Result<ActiveConfig, ReloadError> {
        let mut config = Config::load(&self.path)?;
        self.overrides.apply(&mut config);
        let prober = match previous {
            Some(old) if old.config.probe == config.probe => old.prober.clone(),
            _ => Arc::new(Prober::new(&config.probe).map_err(|source| ReloadError::Prober {
                file: self.path.display().to_string(),
                source,
            })?),
        };
        Ok(ActiveConfig {
            plan: daemon_plan(config.concurrency),
            config,
            prober,
        })
    }
}

/// The daemon audits every check and judges each target by its category's policy.
pub fn daemon_plan(concurrency: usize) -> AuditPlan {
    AuditPlan {
        checks: crate::audit::plan::checks_to_run(None, None),
        required: None,
        concurrency,
    }
}

/// A running per-target loop.
struct TargetLoop {
    target: Arc<Target>,
    abort: AbortHandle,
}

/// Owns every target task.
pub struct Supervisor {
    daemon: Arc<Daemon>,
    source: ConfigSource,
    tasks: JoinSet<()>,
    loops: HashMap<String, TargetLoop>,
    semaphore: Arc<Semaphore>,
    permits: usize,
    stop: CancellationToken,
}

impl Supervisor {
    pub fn new(daemon: Arc<Daemon>, source: ConfigSource) -> Supervisor {
        let permits = daemon.active().config.concurrency.max(1);
        Supervisor {
            daemon,
            source,
            tasks: JoinSet::new(),
            loops: HashMap::new(),
            semaphore: Arc::new(Semaphore::new(permits)),
            permits,
            stop: CancellationToken::new(),
        }
    }

    /// Starts every owned target, then serves reloads until `shutdown`; then lets in-flight
    /// audits finish for up to `grace` and aborts the rest.
    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<SupervisorRequest>,
        shutdown: CancellationToken,
        grace: Duration,
    ) {
        let runtime = self.daemon.active();
        for target in owned_targets(&runtime.config, &self.daemon) {
            self.spawn(target);
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(command) = commands.recv() => match command {
                    SupervisorRequest::Reload(reply) => {
                        let outcome = self.reload().await.map_err(|err| err.to_string());
                        let _ = reply.send(outcome);
                    }
                },
                Some(joined) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Err(err) = joined {
                        if err.is_panic() {
                            tracing::error!(event = "task_panicked", error = %err, "a target task panicked; it is restarted on the next reload");
                        }
                    }
                }
            }
        }
        self.drain(grace).await;
    }

    async fn drain(mut self, grace: Duration) {
        tracing::info!(
            event = "stopping",
            in_flight = self.tasks.len(),
            grace_seconds = grace.as_secs_f64(),
            "stopping: no new audits"
        );
        self.stop.cancel();
        let drained = tokio::time::timeout(grace, async { while self.tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                event = "audits_cancelled",
                cancelled = self.tasks.len(),
                "grace period over; cancelling audits still running"
            );
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }

    fn spawn(&mut self, target: Arc<Target>) {
        let daemon = self.daemon.clone();
        let semaphore = self.semaphore.clone();
        let stop = self.stop.clone();
        let id = target.id.clone();
        let task_target = target.clone();
        let abort = self
            .tasks
            .spawn(async move { target_loop(task_target, daemon, semaphore, stop).await });
        self.loops.insert(id, TargetLoop { target, abort });
    }

    /// Re-reads the file; swaps only when the whole of it is good.
    pub async fn reload(&mut self) -> Result<ReloadSummary, ReloadError> {
        let current = self.daemon.active();
        // Reading the file, PEM roots and resolv.conf blocks: done on the blocking pool.
        let source = self.source.clone();
        let loaded = tokio::task::spawn_blocking(move || source.load(Some(&current)))
            .await
            .unwrap_or_else(|err| Err(ReloadError::Blocking(err.to_string())));
        let runtime = match loaded {
            Ok(runtime) => runtime,
            Err(err) => {
                self.daemon.note_reload_failed();
                tracing::error!(event = "reload_failed", error = %err, "configuration reload rejected; the running configuration stays");
                return Err(err);
            }
        };
        let wanted: HashMap<String, Arc<Target>> = owned_targets(&runtime.config, &self.daemon)
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        self.resize_semaphore(runtime.config.concurrency.max(1));
        self.daemon.swap_active(runtime);

        let mut summary = ReloadSummary::default();
        let running: Vec<String> = self.loops.keys().cloned().collect();
        for id in running {
            match wanted.get(&id) {
                Some(target) if self.loops.get(&id).is_some_and(|l| *l.target == **target) => summary.unchanged += 1,
                Some(_) => {
                    summary.changed += 1;
                    if let Some(old) = self.loops.remove(&id) {
                        old.abort.abort();
                    }
                }
                None => {
                    summary.removed += 1;
                    if let Some(old) = self.loops.remove(&id) {
                        old.abort.abort();
                    }
                    self.daemon.forget(&id);
                }
            }
        }
        let mut spawned = 0;
        for (id, target) in wanted {
            if !self.loops.contains_key(&id) {
                self.spawn(target);
                spawned += 1;
            }
        }
        summary.added = spawned - summary.changed;
        tracing::info!(event = "reloaded", summary = %summary, "configuration reloaded");
        Ok(summary)
    }

    fn resize_semaphore(&mut self, permits: usize) {
        if permits > self.permits {
            self.semaphore.add_permits(permits - self.permits);
        } else if permits < self.permits {
            shrink(&self.semaphore, self.permits - permits);
        }
        self.permits = permits;
    }
}

/// Takes `by` permits out of circulation for good. `forget_permits` only removes permits that
/// are free now; the rest are held by running audits, so a task waits for them to come back and
/// forgets them then. Concurrency thus settles at exactly the new limit after a reload.
fn shrink(semaphore: &Arc<Semaphore>, by: usize) {
    let shortfall = by - semaphore.forget_permits(by);
    if shortfall == 0 {
        return;
    }
    let semaphore = semaphore.clone();
    let shortfall = u32::try_from(shortfall).unwrap_or(u32::MAX);
    tokio::spawn(async move {
        if let Ok(permits) = semaphore.acquire_many(shortfall).await {
            permits.forget();
        }
    });
}

/// The targets of `config` this replica owns.
fn owned_targets(config: &Config, daemon: &Daemon) -> Vec<Arc<Target>> {
    config
        .targets
        .iter()
        .filter(|t| daemon.shard.owns(t.shard_key()))
        .cloned()
        .map(Arc::new)
        .collect()
}

/// Spread of the start-up round: long enough that a thousand targets do not hit the resolver
/// in the same millisecond, short enough that the daemon is ready soon.
fn startup_offset(target: &Target) -> Duration {
    let spread = (target.settings.interval / 4).min(Duration::from_secs(10));
    spread.mul_f64(fraction(&target.id, 1))
}

/// Offset of the second audit after the first: between half and one and a half intervals,
/// fixed per target, so after the first round audits are spread evenly over the interval.
fn steady_offset(target: &Target) -> Duration {
    let interval = target.settings.interval;
    interval / 2 + interval.mul_f64(fraction(&target.id, 2))
}

fn fraction(id: &str, salt: u32) -> f64 {
    (stable_hash(id, salt) >> 11) as f64 / (1u64 << 53) as f64
}

async fn target_loop(target: Arc<Target>, daemon: Arc<Daemon>, semaphore: Arc<Semaphore>, stop: CancellationToken) {
    let interval = target.settings.interval.max(Duration::from_secs(1));
    let start = Instant::now() + startup_offset(&target);
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = tokio::time::sleep_until(start) => {}
    }
    audit_once(&target, &daemon, &semaphore, &stop, start).await;
    let mut ticker = tokio::time::interval_at(start + steady_offset(&target), interval);
    // After a stall (a suspended VM, a long GC of the host) the next audit runs once, not once
    // per missed tick.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        let scheduled = tokio::select! {
            _ = stop.cancelled() => return,
            scheduled = ticker.tick() => scheduled,
        };
        audit_once(&target, &daemon, &semaphore, &stop, scheduled).await;
    }
}

/// Extra time beyond the target's own timeout before an audit is abandoned; probes honour
/// the timeout themselves, this only guards against a bug turning into a stuck slot.
const AUDIT_SAFETY_MARGIN: Duration = Duration::from_secs(5);

async fn audit_once(
    target: &Arc<Target>,
    daemon: &Daemon,
    semaphore: &Semaphore,
    stop: &CancellationToken,
    scheduled: Instant,
) {
    let _permit = tokio::select! {
        _ = stop.cancelled() => return,
        permit = semaphore.acquire() => match permit {
            Ok(permit) => permit,
            Err(_) => return,
        },
    };
    let lag = Instant::now().saturating_duration_since(scheduled);
    daemon.ops.schedule_lag.observe(lag.as_secs_f64());
    let runtime = daemon.active();
    // Boxed: the audit's state machine is large, and inline it would make every sleeping
    // target's task that large too (10,000 of them between audits).
    let audit = Box::pin(runner::audit_target(&runtime.prober, target, &runtime.plan));
    match tokio::time::timeout(target.settings.timeout + AUDIT_SAFETY_MARGIN, audit).await {
        Ok(verdict) => daemon.record(target, verdict),
        Err(_) => {
            tracing::error!(event = "audit_overran", target = %target.id, "audit overran its timeout and was abandoned")
        }
    }
}

#[cfg(test)]
mod shrink_tests {
    use super::*;

    #[tokio::test]
    async fn shrinking_while_permits_are_held_settles_at_the_new_limit() {
        let semaphore = Arc::new(Semaphore::new(4));
        let held: Vec<_> = (0..3)
            .map(|_| semaphore.clone().try_acquire_owned().expect("free permit"))
            .collect();
        shrink(&semaphore, 3); // 4 -> 1 with only one permit free
        assert_eq!(semaphore.available_permits(), 0);
        drop(held);
        // The forgetting task has taken the two permits that came back; one stays.
        let one = semaphore.clone().acquire_owned().await.expect("one permit remains");
        tokio::task::yield_now().await;
        assert_eq!(semaphore.available_permits(), 0, "exactly one permit in circulation");
        drop(one);
        assert_eq!(semaphore.available_permits(), 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::target::{TargetSettings, TargetUrl};

    fn target(id: &str, interval: u64) -> Target {
        let url = TargetUrl::parse(id).expect("url");
        Target::from_url(
            url,
            TargetSettings {
                interval: Duration::from_secs(interval),
                ..TargetSettings::default()
            },
        )
    }

    #[test]
    fn offsets_stay_in_their_windows_and_spread_out() {
        let mut steady = Vec::new();
        for i in 0..200 {
            let t = target(&format!("s{i}.haiduong.gov.vn"), 60);
            let first = startup_offset(&t);
            assert!(first < Duration::from_secs(10));
            let second = steady_offset(&t);
            assert!(
                second >= Duration::from_secs(30) && second < Duration::from_secs(90),
                "{second:?}"
            );
            steady.push(second.as_secs());
        }
        // Spread: every 10-second bucket of the 60 s window gets some targets.
        for bucket in 0..6 {
            let low = 30 + bucket * 10;
            assert!(
                steady.iter().any(|s| (low..low + 10).contains(s)),
                "no target in [{low},{})",
                low + 10
            );
        }
    }

    #[test]
    fn offsets_are_stable_across_runs() {
        let t = target("haiduong.gov.vn", 300);
        assert_eq!(steady_offset(&t), steady_offset(&t.clone()));
    }
}
