//! Checks are pure functions from [`Observations`] to a [`CheckResult`]. They never do I/O,
//! so every verdict can be unit-tested from plain data and re-derived by any sink.

pub mod dns;
pub mod domain;
pub mod http;
pub mod https;
pub mod ipv6;
pub mod result;
pub mod similarity;
pub mod tls;

pub use crate::model::catalogue::CheckId;
pub use result::{CheckResult, Reason, Status};

use crate::model::target::Target;
use crate::probe::Observations;

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
        CheckId::TlsExpiry => tls::expiry(obs, &target.settings, obs.started_at as i64),
        CheckId::TlsModern => tls::modern(obs),
        CheckId::TlsChainComplete => tls::chain_complete(obs),
        CheckId::HttpsRedirect => https::redirect(obs, target),
        CheckId::HttpsHsts => https::hsts(obs),
        CheckId::HttpUp => http::up(obs, &target.settings.expect_status),
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
