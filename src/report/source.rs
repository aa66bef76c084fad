//! Where a report's facts come from: the daemon's history store, or a fresh audit (with the
//! store's "since" times when there is one).

use std::collections::HashMap;
use std::path::Path;

use crate::audit::verdict::TargetVerdict;
use crate::checks::CheckResult;
use crate::config::Config;
use crate::history::store::{FamilyHistory, HistoryStore, SqliteStore, StoreError};
use crate::history::{self, CheckStates};

/// Latest results and states per target id.
#[derive(Debug, Default)]
pub struct Known {
    pub checks: HashMap<String, (f64, Vec<CheckResult>)>,
    pub states: HashMap<String, CheckStates>,
    /// Availability history per target (from the store).
    pub uptime: HashMap<String, Vec<FamilyHistory>>,
}

/// The part of a stored verdict a report reads; the rest (observations) is skipped unparsed.
#[derive(serde::Deserialize)]
struct StoredChecks {
    checks: Vec<CheckResult>,
}

/// Reads the store, with availability history overlapping `period`; a verdict that does not
/// decode is skipped with a warning, not fatal.
pub fn from_store(path: &Path, period: (f64, f64)) -> Result<Known, StoreError> {
    let mut store = SqliteStore::open_existing(path)?;
    let history = store.load()?;
    let mut known = Known {
        states: history.checks,
        ..Known::default()
    };
    for history in store.uptime_between(period.0, period.1)? {
        known.uptime.entry(history.target.clone()).or_default().push(history);
    }
    store.each_latest(
        |target, audited_at, json| match serde_json::from_str::<StoredChecks>(json) {
            Ok(stored) => {
                let mut checks = stored.checks;
                checks.iter_mut().for_each(CheckResult::keep_exported_observations);
                known.checks.insert(target, (audited_at, checks));
            }
            Err(_) => tracing::warn!(target = %target, "stored verdict does not decode; left out of the report"),
        },
    )?;
    Ok(known)
}

/// Known facts from fresh verdicts; "since" continues the store's history when there is one.
pub fn from_audit(verdicts: &[TargetVerdict], stored: Option<Known>, now: f64) -> Known {
    let stored = stored.unwrap_or_default();
    let mut known = Known {
        uptime: stored.uptime.clone(),
        ..Known::default()
    };
    for verdict in verdicts {
        let previous = stored.states.get(&verdict.target).cloned().unwrap_or_default();
        let (states, _) = history::advance(&previous, verdict, now);
        known.states.insert(verdict.target.clone(), states);
        known
            .checks
            .insert(verdict.target.clone(), (now, verdict.checks.clone()));
    }
    known
}

/// The inputs for [`super::Report::build`], in config order; the facts move into them.
pub fn inputs(config: &Config, mut known: Known) -> Vec<super::SiteInput<'_>> {
    config
        .targets
        .iter()
        .map(|target| {
            let (audited_at, checks) = match known.checks.remove(&target.id) {
                Some((at, checks)) => (Some(at), checks),
                None => (None, Vec::new()),
            };
            super::SiteInput {
                target,
                checks,
                states: known.states.remove(&target.id).unwrap_or_default(),
                audited_at,
                uptime: known.uptime.remove(&target.id).unwrap_or_default(),
            }
        })
        .collect()
}
