//! The daemon's shared state and what happens when an audit finishes: history advances,
//! events are logged, the store is told, the snapshot for /metrics is replaced. The scheduler
//! decides when to audit; the web layer reads; this module is the one place that writes.

pub mod events;
pub mod shard;
pub mod supervisor;
pub mod uptime;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::audit::plan::AuditPlan;
use crate::audit::verdict::TargetVerdict;
use crate::config::Config;
use crate::daemon::shard::Shard;
use crate::history::snapshots::{Snapshots, TargetSnapshot};
use crate::history::store::{AuditRecord, StateRow, StoreHealth, StoreWriter, StoredHistory};
use crate::history::{self, CheckStates, WatchedFacts};
use crate::metrics::OpsMetrics;
use crate::model::clock::unix_now;
use crate::model::target::Target;
use crate::probe::Prober;

/// What a reload swaps as one unit.
pub struct ActiveConfig {
    pub config: Config,
    pub prober: Arc<Prober>,
    pub plan: AuditPlan,
}

/// What the daemon remembers about a target between audits.
#[derive(Clone, Debug, Default)]
struct Remembered {
    states: CheckStates,
    facts: WatchedFacts,
}

/// State shared by the scheduler, the web handlers and the signal handlers.
pub struct Daemon {
    active: RwLock<Arc<ActiveConfig>>,
    pub snapshots: Arc<Snapshots>,
    pub ops: OpsMetrics,
    pub store_health: Arc<StoreHealth>,
    store: Mutex<Option<StoreWriter>>,
    memory: Mutex<HashMap<String, Remembered>>,
    first_round: Mutex<HashSet<String>>,
    ready: AtomicBool,
    pub shard: Shard,
    /// The reason texts the kept snapshots share.
    reasons: crate::checks::ReasonPool,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}

impl crate::metrics::GoalSource for Daemon {
    fn goals(&self) -> Vec<crate::model::goals::Goal> {
        self.active().config.goals.clone()
    }
}

impl Daemon {
    pub fn new(
        active: ActiveConfig,
        history: StoredHistory,
        store: StoreWriter,
        store_health: Arc<StoreHealth>,
        shard: Shard,
    ) -> Daemon {
        let mut memory: HashMap<String, Remembered> = HashMap::new();
        for (target, states) in history.checks {
            memory.entry(target).or_default().states = states;
        }
        for (target, facts) in history.facts {
            memory.entry(target).or_default().facts = facts;
        }
        let owned: HashSet<String> = active
            .config
            .targets
            .iter()
            .filter(|t| shard.owns(t.shard_key()))
            .map(|t| t.id.clone())
            .collect();
        let daemon = Daemon {
            active: RwLock::new(Arc::new(active)),
            snapshots: Arc::new(Snapshots::default()),
            ops: OpsMetrics::default(),
            store_health,
            store: Mutex::new(Some(store)),
            memory: Mutex::new(memory),
            ready: AtomicBool::new(owned.is_empty()),
            first_round: Mutex::new(owned),
            shard,
            reasons: crate::checks::ReasonPool::default(),
        };
        daemon.note_config_loaded();
        if daemon.is_ready() {
            tracing::info!(event = "ready", "no targets owned by this replica: ready at once");
        }
        daemon
    }

    /// The current config, prober and plan.
    pub fn active(&self) -> Arc<ActiveConfig> {
        self.active.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Swaps in a validated active and updates the reload gauges.
    pub fn swap_active(&self, active: ActiveConfig) {
        *self.active.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(active);
        self.note_config_loaded();
    }

    fn note_config_loaded(&self) {
        let active = self.active();
        let configured = active.config.targets.len();
        let owned = active
            .config
            .targets
            .iter()
            .filter(|t| self.shard.owns(t.shard_key()))
            .count();
        self.ops.targets.set(owned as i64);
        self.ops.targets_configured.set(configured as i64);
        self.ops.reload_successful.set(1);
        self.ops.reload_success_timestamp.set(unix_now());
    }

    /// A reload was rejected: the running config stays, Prometheus is told.
    pub fn note_reload_failed(&self) {
        self.ops.reload_successful.set(0);
    }

    /// Ready once every owned target has been audited at least once.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Forgets a target that left the config: its series go, its history stays on disk.
    pub fn forget(&self, target_id: &str) {
        let mut memory = self.lock_memory();
        memory.remove(target_id);
        self.snapshots.remove(target_id);
        drop(memory);
        self.lock_first_round().remove(target_id);
        self.update_ready();
    }

    fn lock_memory(&self) -> std::sync::MutexGuard<'_, HashMap<String, Remembered>> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_first_round(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.first_round.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update_ready(&self) {
        if self.lock_first_round().is_empty() && !self.ready.swap(true, Ordering::Relaxed) {
            tracing::info!(event = "ready", "first round of audits complete");
        }
    }

    /// Takes one finished audit into history, logs, store and metrics.
    pub fn record(&self, target: &Arc<Target>, mut verdict: TargetVerdict) {
        let audited_at = unix_now();
        verdict.drop_bodies();
        let current_facts = WatchedFacts::of(&verdict);
        // Serialised before the lock below is taken: it is the costly part of recording.
        let verdict_json = serde_json::to_string(&verdict).unwrap_or_else(|_| "{}".into());
        verdict.compact_for_memory(&self.reasons);
        // The memory lock is held from the membership check to the snapshot insert, and
        // `forget` takes it too: an audit finishing while its target is being removed can
        // never resurrect the target's series.
        let mut memory = self.lock_memory();
        if !self.active().config.targets.iter().any(|t| t.id == target.id) {
            return;
        }
        let remembered = memory.entry(target.id.clone()).or_default();
        let (states, transitions) = history::advance(&remembered.states, &verdict, audited_at);
        let changes = history::fact_changes(&remembered.facts, &current_facts);
        let facts = current_facts.or_previous(&remembered.facts);
        remembered.states = states.clone();
        remembered.facts = facts.clone();
        for transition in &transitions {
            events::check_changed(&target.id, transition);
        }
        for change in &changes {
            events::fact_changed(&target.id, change);
        }
        let record = AuditRecord {
            target: target.id.clone(),
            audited_at,
            states: verdict
                .checks
                .iter()
                .filter_map(|result| {
                    states.get(&result.id).map(|state| StateRow {
                        check: result.id,
                        state: *state,
                        reason: result.reason.clone(),
                    })
                })
                .collect(),
            transitions,
            facts,
            verdict_json,
            availability: history::uptime::observe(&verdict, target.settings.interval.as_secs_f64()),
        };
        if let Some(store) = self.store.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            store.submit(record);
        }
        let (compliant, seconds) = (verdict.passed, verdict.observations.duration_seconds);
        self.ops.count_audit(compliant);
        self.ops.audit_duration.observe(seconds);
        self.snapshots.insert(TargetSnapshot {
            target: target.clone(),
            verdict,
            states,
            audited_at,
        });
        drop(memory);
        // Logged once /metrics and the status page show the audit: a reader of this line (an
        // operator, a test) never finds the site missing from them.
        tracing::debug!(
            event = "audited",
            target = %target.id,
            compliant,
            seconds,
            "audit finished"
        );
        self.lock_first_round().remove(&target.id);
        self.update_ready();
    }

    /// Writes everything queued to the store and closes it; called once at shutdown.
    pub fn flush_store(&self) {
        let writer = self.store.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(writer) = writer {
            writer.flush_and_close();
        }
    }
}
