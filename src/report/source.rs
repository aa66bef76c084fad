//! Where a report's facts come from: the daemon's history store, or a fresh audit (with the
//! store's "since" times when there is one).

use std::collections::HashMap;
use std::path::Path;

use crate::audit::verdict::TargetVerdict;
use crate::checks::CheckResult;
use crate::config::Config;
use crate::history::store::{HistoryStore, SqliteStore, StoreError};
use crate::history::{self, CheckStates};

/// Latest results and states per target id.
#[derive(Debug, Default)]
pub struct Known {
    pub checks: HashMap<String, (f64, Vec<CheckResult>)>,
    pub states: HashMap<String, CheckStates>,
}

/// Reads the store; a verdict that does not decode is skipped with a warning, not fatal.
pub fn from_store(path: &Path) -> Result<Known, StoreError> {
    let mut store = SqliteStore::open_existing(path)?;
    let history = store.load()?;
    let mut known = Known {
        states: history.checks,
        ..Known::default()
    };
    for (target, audited_at, json) in store.latest_all()? {
        let checks = serde_json::from_str::<serde_json::Value>(&json)
            .ok()
            .and_then(|value| serde_json::from_value::<Vec<CheckResult>>(value["checks"].clone()).ok());
        match checks {
            Some(checks) => {
                known.checks.insert(target, (audited_at, checks));
            }
            None => tracing::warn!(target = %target, "stored verdict does not decode; left out of the report"),
        }
    }
    Ok(known)
}

/// Known facts from fresh verdicts; "since" continues the store's history when there is one.
pub fn from_audit(verdicts: &[TargetVerdict], stored: Option<Known>, now: f64) -> Known {
    let stored = stored.unwrap_or_default();
    let mut known = Known::default();
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

/// The inputs for [`super::Report::build`], in config order.
pub fn inputs<'a>(config: &'a Config, known: &Known) -> Vec<super::SiteInput<'a>> {
    config
        .targets
        .iter()
        .map(|target| {
            let (audited_at, checks) = match known.checks.get(&target.id) {
                Some((at, checks)) => (Some(*at), checks.clone()),
                None => (None, Vec::new()),
            };
            super::SiteInput {
                target,
                checks,
                states: known.states.get(&target.id).cloned().unwrap_or_default(),
                audited_at,
            }
        })
        .collect()
}
