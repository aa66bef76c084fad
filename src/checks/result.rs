//! What a check decides: a status, a reason in both languages and the values behind it.
//! Plain data that every sink reads; no sink re-derives a status from facts.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::catalogue::CheckId;
use crate::model::goals::MetChecks;

/// Outcome of one check. `Error` means "could not be tested" and never counts as a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }

    /// The inverse of [`Status::as_str`], for values read back from the store.
    pub fn parse(text: &str) -> Option<Status> {
        [Status::Pass, Status::Warn, Status::Fail, Status::Skip, Status::Error]
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// Whether the check counts as met for a score or a plan goal: it passed, perhaps with a
    /// warning. `skip` is not met (it did not apply) and `error` never is.
    pub fn counts_as_met(self) -> bool {
        matches!(self, Status::Pass | Status::Warn)
    }

    /// Whether this is a finding someone must act on: a failure, or a check that could not be
    /// tested (never silently good).
    pub fn is_problem(self) -> bool {
        matches!(self, Status::Fail | Status::Error)
    }

    /// Whether a required check with this status lets a CI gate through.
    pub fn satisfies_requirement(self) -> bool {
        matches!(self, Status::Pass | Status::Warn | Status::Skip)
    }
}

/// A one-line reason in both languages the users read. Shared text: most sites of a round
/// have the same reasons, and a daemon keeps one copy of each (see [`ReasonPool`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub en: Arc<str>,
    pub vi: Arc<str>,
}

impl Reason {
    pub fn new(en: impl Into<String>, vi: impl Into<String>) -> Reason {
        Reason {
            en: Arc::from(en.into()),
            vi: Arc::from(vi.into()),
        }
    }
}

/// One shared copy of each reason text a daemon keeps between audits. Most sites of a round
/// pass with the same words ("all 2 IPv6 address(es) serve the site"), and at 10,000 sites
/// the copies came to a tenth of the daemon's memory. Texts no kept reason uses any more are
/// dropped whenever the pool has doubled since it was last pruned.
#[derive(Debug, Default)]
pub struct ReasonPool {
    texts: Mutex<PoolTexts>,
}

#[derive(Debug, Default)]
struct PoolTexts {
    set: HashSet<Arc<str>>,
    prune_at: usize,
}

/// The pool is never pruned below this many texts.
const REASON_POOL_FLOOR: usize = 1024;

impl ReasonPool {
    /// Points `reason` at the pool's copy of its texts (adding them when new).
    pub fn share(&self, reason: &mut Reason) {
        let mut texts = self.texts.lock().unwrap_or_else(|p| p.into_inner());
        reason.en = texts.intern(&reason.en);
        reason.vi = texts.intern(&reason.vi);
        if texts.set.len() >= texts.prune_at {
            texts.set.retain(|text| Arc::strong_count(text) > 1);
            texts.prune_at = (texts.set.len() * 2).max(REASON_POOL_FLOOR);
        }
    }

    /// How many distinct texts the pool holds.
    pub fn len(&self) -> usize {
        self.texts.lock().unwrap_or_else(|p| p.into_inner()).set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PoolTexts {
    fn intern(&mut self, text: &Arc<str>) -> Arc<str> {
        if let Some(shared) = self.set.get(text) {
            return shared.clone();
        }
        self.set.insert(text.clone());
        text.clone()
    }
}

/// The result of one check: what was decided, why, and the values it was decided on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: CheckId,
    pub status: Status,
    pub reason: Reason,
    pub observed: Value,
}

/// The observation fields that outlive judging: a daemon keeps a check's status and reason
/// between audits and, of what it observed, only these numbers (metrics export them).
pub const EXPORTED_OBSERVATIONS: &[&str] = &["blocking_hosts"];

impl CheckResult {
    /// Drops what the check observed except [`EXPORTED_OBSERVATIONS`], releasing the memory.
    pub fn keep_exported_observations(&mut self) {
        let kept: serde_json::Map<String, Value> = match std::mem::take(&mut self.observed) {
            Value::Object(fields) => fields
                .into_iter()
                .filter(|(key, _)| EXPORTED_OBSERVATIONS.contains(&key.as_str()))
                .collect(),
            _ => serde_json::Map::new(),
        };
        if !kept.is_empty() {
            self.observed = Value::Object(kept);
        }
    }

    pub fn new(id: CheckId, status: Status, reason: Reason, observed: Value) -> CheckResult {
        CheckResult {
            id,
            status,
            reason,
            observed,
        }
    }
}

/// A reason from two texts, each a literal with inline format arguments
/// (`reason!("{n} address(es)", "{n} địa chỉ")`) or any expression that converts to a String.
/// With [`pass`], [`warn`], [`fail`], [`skip`] and [`error`], a verdict reads as one line.
macro_rules! reason {
    ($en:literal, $vi:literal $(,)?) => {
        $crate::checks::result::Reason::new(format!($en), format!($vi))
    };
    ($en:expr, $vi:expr $(,)?) => {
        $crate::checks::result::Reason::new($en, $vi)
    };
}
pub(crate) use reason;

/// A passing result.
pub fn pass(id: CheckId, reason: Reason, observed: Value) -> CheckResult {
    CheckResult::new(id, Status::Pass, reason, observed)
}

/// A warning: met, but worth someone's attention.
pub fn warn(id: CheckId, reason: Reason, observed: Value) -> CheckResult {
    CheckResult::new(id, Status::Warn, reason, observed)
}

/// A failure the site must fix.
pub fn fail(id: CheckId, reason: Reason, observed: Value) -> CheckResult {
    CheckResult::new(id, Status::Fail, reason, observed)
}

/// Not applicable to this target.
pub fn skip(id: CheckId, reason: Reason, observed: Value) -> CheckResult {
    CheckResult::new(id, Status::Skip, reason, observed)
}

/// Could not be tested: never a pass.
pub fn error(id: CheckId, reason: Reason, observed: Value) -> CheckResult {
    CheckResult::new(id, Status::Error, reason, observed)
}

/// The `error` result for what could not be tested: never a pass, and the reason names each
/// address or hop ("could not be tested: [2402:800::1] …").
pub(crate) fn not_tested<T: AsRef<str>>(id: CheckId, en: &str, vi: &str, items: &[T], observed: Value) -> CheckResult {
    let list = join(items);
    CheckResult::new(
        id,
        Status::Error,
        Reason::new(format!("{en}: {list}"), format!("{vi}: {list}")),
        observed,
    )
}

/// A pass or warning judged on the addresses this monitor can reach, naming the ones it has
/// no route to (a monitor without IPv6): the reason says which were not tested and why.
pub(crate) fn noting_gaps<T: AsRef<str>>(mut result: CheckResult, gaps: &[T]) -> CheckResult {
    if gaps.is_empty() || !result.status.counts_as_met() {
        return result;
    }
    let list = join(gaps);
    result.reason = Reason::new(
        format!("{}; not tested from this monitor: {list}", result.reason.en),
        format!("{}; chưa kiểm tra được từ máy giám sát này: {list}", result.reason.vi),
    );
    if let Value::Object(fields) = &mut result.observed {
        fields.insert(
            "not_tested_from_this_monitor".into(),
            Value::from(gaps.iter().map(|gap| gap.as_ref().to_string()).collect::<Vec<_>>()),
        );
    }
    result
}

/// Items of a reason, "; "-separated.
fn join<T: AsRef<str>>(items: &[T]) -> String {
    let mut list = String::new();
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            list.push_str("; ");
        }
        list.push_str(item.as_ref());
    }
    list
}

/// What a check found wrong, each finding in both languages, in the order found: the reason
/// lists them all, so an operator sees every address and hop at once.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    en: Vec<String>,
    vi: Vec<String>,
}

impl Findings {
    pub fn push(&mut self, en: impl Into<String>, vi: impl Into<String>) {
        self.en.push(en.into());
        self.vi.push(vi.into());
    }

    pub fn is_empty(&self) -> bool {
        self.en.is_empty()
    }

    /// The findings as one reason, each language "; "-separated after its prefix (which may be
    /// empty).
    pub fn reason(&self, prefix_en: &str, prefix_vi: &str) -> Reason {
        Reason::new(
            format!("{prefix_en}{}", join(&self.en)),
            format!("{prefix_vi}{}", join(&self.vi)),
        )
    }
}

/// A target's results answer a plan goal's question "is this check met?".
impl MetChecks for [CheckResult] {
    fn met(&self, id: CheckId) -> bool {
        self.iter()
            .any(|result| result.id == id && result.status.counts_as_met())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_and_warn_count_as_met_and_error_never_does() {
        let results: Vec<CheckResult> = [
            (CheckId::Ipv6Aaaa, Status::Warn),
            (CheckId::TlsValid, Status::Error),
            (CheckId::DnsDnssec, Status::Skip),
            (CheckId::HttpUp, Status::Pass),
        ]
        .into_iter()
        .map(|(id, status)| CheckResult::new(id, status, Reason::new("", ""), Value::Null))
        .collect();
        assert!(results.met(CheckId::Ipv6Aaaa) && results.met(CheckId::HttpUp));
        assert!(!results.met(CheckId::TlsValid) && !results.met(CheckId::DnsDnssec));
        assert!(!results.met(CheckId::DomainVn), "a check that did not run is not met");
    }

    #[test]
    fn the_reason_pool_keeps_one_copy_and_forgets_texts_no_one_holds() {
        let pool = ReasonPool::default();
        let mut first = Reason::new("all 2 address(es) serve the site", "cả 2 địa chỉ");
        let mut second = Reason::new("all 2 address(es) serve the site", "cả 2 địa chỉ");
        pool.share(&mut first);
        pool.share(&mut second);
        assert!(Arc::ptr_eq(&first.en, &second.en) && Arc::ptr_eq(&first.vi, &second.vi));
        assert_eq!(pool.len(), 2);
        drop((first, second));
        for n in 0..REASON_POOL_FLOOR {
            pool.share(&mut Reason::new(format!("unique {n}"), format!("riêng {n}")));
        }
        assert!(
            pool.len() < REASON_POOL_FLOOR,
            "texts nobody holds were pruned: {}",
            pool.len()
        );
    }
}
