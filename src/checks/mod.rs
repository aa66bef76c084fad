//! Checks are pure functions from [`Observations`] to a [`CheckResult`]. They never do I/O,
//! so every verdict can be unit-tested from plain data and re-derived by any sink.

pub mod catalogue;
pub mod dns;
pub mod domain;
pub mod http;
pub mod https;
pub mod ipv6;
pub mod similarity;
pub mod tls;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use catalogue::CheckId;

use crate::probe::Observations;
use crate::target::Target;

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

    /// Whether a required check with this status lets a CI gate through.
    pub fn satisfies_requirement(self) -> bool {
        matches!(self, Status::Pass | Status::Warn | Status::Skip)
    }
}

/// A one-line reason in both languages the users read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub en: String,
    pub vi: String,
}

impl Reason {
    pub fn new(en: impl Into<String>, vi: impl Into<String>) -> Reason {
        Reason {
            en: en.into(),
            vi: vi.into(),
        }
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

impl CheckResult {
    pub fn new(id: CheckId, status: Status, reason: Reason, observed: Value) -> CheckResult {
        CheckResult {
            id,
            status,
            reason,
            observed,
        }
    }
}

/// The `error` result for what could not be tested: never a pass, and the reason names each
/// address or hop ("could not be tested: [2402:800::1] …").
pub(crate) fn not_tested(id: CheckId, en: &str, vi: &str, items: &[&str], observed: Value) -> CheckResult {
    let list = items.join("; ");
    CheckResult::new(
        id,
        Status::Error,
        Reason::new(format!("{en}: {list}"), format!("{vi}: {list}")),
        observed,
    )
}

/// Runs the given checks over one target's observations.
pub fn evaluate(target: &Target, observations: &Observations, ids: &[CheckId]) -> Vec<CheckResult> {
    ids.iter().map(|id| evaluate_one(*id, target, observations)).collect()
}

fn evaluate_one(id: CheckId, target: &Target, obs: &Observations) -> CheckResult {
    match id {
        CheckId::DnsResolves => dns::resolves(obs),
        CheckId::DnsDnssec => dns::dnssec(obs),
        CheckId::Ipv6Aaaa => ipv6::aaaa(obs),
        CheckId::Ipv6Reachable => ipv6::reachable(obs, &target.settings.expect_status),
        CheckId::Ipv6SameContent => ipv6::same_content(obs),
        CheckId::Ipv6Ns => ipv6::name_servers(obs),
        CheckId::DomainVn => domain::vn(obs),
        CheckId::DomainGovVn => domain::gov_vn(obs),
        CheckId::TlsValid => tls::valid(obs),
        CheckId::TlsExpiry => tls::expiry(obs, &target.settings, now_unix()),
        CheckId::TlsModern => tls::modern(obs),
        CheckId::TlsChainComplete => tls::chain_complete(obs),
        CheckId::HttpsRedirect => https::redirect(obs, target),
        CheckId::HttpsHsts => https::hsts(obs),
        CheckId::HttpUp => http::up(obs, &target.settings.expect_status),
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod fixtures;
