//! The latest verdict of every target the daemon owns: what /metrics, the status page and
//! reloads read. Entries are replaced whole, so a reader never sees half an audit.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::audit::verdict::TargetVerdict;
use crate::history::CheckStates;
use crate::model::target::Target;

/// One target's last audit with the "since" of each check.
#[derive(Clone, Debug)]
pub struct TargetSnapshot {
    pub target: Arc<Target>,
    /// Bodies stripped: they are only needed while judging.
    pub verdict: TargetVerdict,
    /// Empty for one-off `/probe` audits, which have no history.
    pub states: CheckStates,
    /// Unix seconds when the audit finished.
    pub audited_at: f64,
}

/// Latest snapshots keyed by target id.
#[derive(Debug, Default)]
pub struct Snapshots {
    inner: RwLock<BTreeMap<String, Arc<TargetSnapshot>>>,
}

impl Snapshots {
    pub fn insert(&self, snapshot: TargetSnapshot) {
        let mut map = self.inner.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.insert(snapshot.target.id.clone(), Arc::new(snapshot));
    }

    /// Drops a target that left the config, so its series disappear.
    pub fn remove(&self, target_id: &str) {
        let mut map = self.inner.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.remove(target_id);
    }

    pub fn get(&self, target_id: &str) -> Option<Arc<TargetSnapshot>> {
        let map = self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(target_id).cloned()
    }

    /// Every snapshot in target-id order; the lock is held only while the `Arc`s are copied.
    pub fn all(&self) -> Vec<Arc<TargetSnapshot>> {
        let map = self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        let map = self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
