//! The verdict for one target: checks, policy outcome and the facts behind them. Every sink
//! (CLI output, metrics, store, reports) reads this and never re-derives a status.

use std::net::IpAddr;

use serde::Serialize;

use crate::checks::http::{judge_address, FetchVerdict};
use crate::checks::{CheckId, CheckResult, Status};
use crate::model::target::{host_for_display, Category, Target};
use crate::probe::addr::{AddressClass, IpFamily};
use crate::probe::http::PhaseTimings;
use crate::probe::Observations;

/// One address of the target as a person wants to see it.
#[derive(Clone, Debug, Serialize)]
pub struct AddressReport {
    pub ip: IpAddr,
    pub family: IpFamily,
    pub class: AddressClass,
    pub probed: bool,
    /// The fetch from this address passes http.up's own judgement (answered, expected status,
    /// every hop sound). Decided here once so no sink re-derives it.
    pub works: bool,
    /// Why a user over this address does not get the site, when the fetch says so.
    pub broken: Option<String>,
    /// The address could not be tested (no route from this monitor, a TLS dialect this
    /// auditor does not speak): neither up nor down.
    pub untested: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub tls_version: Option<String>,
    pub timings: Option<PhaseTimings>,
}

/// Everything decided about one target in one audit.
#[derive(Clone, Debug, Serialize)]
pub struct TargetVerdict {
    /// The target exactly as given (URL or host).
    pub target: String,
    pub host: String,
    pub host_display: String,
    pub url: String,
    pub name: Option<String>,
    pub agency: Option<String>,
    pub category: Category,
    pub district: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    pub tags: Vec<String>,
    pub checks: Vec<CheckResult>,
    pub required: Vec<CheckId>,
    /// Every required check passed (warn and skip do not block).
    pub passed: bool,
    /// Share of applicable required checks that pass, 0..=1.
    pub compliance_ratio: f64,
    pub addresses: Vec<AddressReport>,
    pub observations: Observations,
}

impl TargetVerdict {
    pub fn new(
        target: &Target,
        checks: Vec<CheckResult>,
        required: Vec<CheckId>,
        observations: Observations,
    ) -> TargetVerdict {
        let (passed, compliance_ratio) = judge(&checks, &required);
        let addresses = observations
            .dns
            .addresses
            .iter()
            .map(|address| {
                let fetch = observations.address.fetches.iter().find(|fetch| fetch.ip == address.ip);
                let judged = fetch.map(|f| judge_address(&observations, f, &target.settings.expect_status));
                AddressReport {
                    ip: address.ip,
                    family: address.family,
                    class: address.class.clone(),
                    probed: fetch.is_some(),
                    works: judged == Some(FetchVerdict::Works),
                    broken: judged.as_ref().and_then(|v| v.broken()).map(str::to_string),
                    untested: judged.as_ref().is_some_and(|v| v.untested().is_some()),
                    status: fetch.and_then(|f| f.final_status()),
                    error: fetch.and_then(|f| f.error.as_ref()).map(ToString::to_string),
                    tls_version: fetch.and_then(|f| f.tls.as_ref()).map(|t| t.version.clone()),
                    timings: fetch.map(|f| f.timings.clone()),
                }
            })
            .collect();
        TargetVerdict {
            target: target.id.clone(),
            host: target.host().to_string(),
            host_display: host_for_display(target.host()),
            url: target.url.to_string(),
            name: target.name.clone(),
            agency: target.agency.clone(),
            category: target.category,
            district: target.district.clone(),
            province: target.province.clone(),
            tags: target.tags.clone(),
            checks,
            required,
            passed,
            compliance_ratio,
            addresses,
            observations,
        }
    }

    /// Drops response bodies: they are only needed while judging, and a verdict kept for
    /// /metrics, the status page or the store must not hold a megabyte per address.
    pub fn drop_bodies(&mut self) {
        for fetch in &mut self.observations.address.fetches {
            fetch.body = Vec::new();
        }
        if let Some(crawler) = &mut self.observations.page.crawler {
            crawler.body = Vec::new();
        }
    }

    /// Shrinks a judged verdict to what the daemon keeps in memory between audits (status
    /// page, metrics, goals), after its full JSON went to the store: each check's status and
    /// reason (texts shared through `reasons`) with only the counts metrics export, every address with its
    /// timings, each fetch's leaf certificate and final response, and the zone's name
    /// servers. Ten thousand full verdicts held the daemon at a gigabyte.
    pub fn compact_for_memory(&mut self, reasons: &crate::checks::ReasonPool) {
        self.drop_bodies();
        for check in &mut self.checks {
            check.keep_exported_observations();
            reasons.share(&mut check.reason);
        }
        let observations = &mut self.observations;
        for fetch in &mut observations.address.fetches {
            fetch.hop_handshakes = Vec::new();
            fetch.hop_addresses = Vec::new();
            let last = fetch.responses.pop();
            fetch.responses = last.into_iter().collect();
            for response in &mut fetch.responses {
                response.headers = Vec::new();
            }
            if let Some(tls) = &mut fetch.tls {
                tls.chain.truncate(1);
                tls.chain_der = Vec::new();
                for leaf in &mut tls.chain {
                    leaf.crl_urls = Vec::new();
                }
            }
        }
        observations.address.plain_http = Vec::new();
        observations.address.legacy_tls = Vec::new();
        observations.address.pmtu = Vec::new();
        observations.zone.ns_queries = Vec::new();
        observations.zone.dnssec = None;
        observations.mail = None;
        observations.page.resources = None;
        observations.page.crawler = None;
        observations.certificates = Default::default();
        observations.address.fetches.shrink_to_fit();
        self.addresses.shrink_to_fit();
    }

    /// The result of one check, if it ran.
    pub fn check(&self, id: CheckId) -> Option<&CheckResult> {
        self.checks.iter().find(|check| check.id == id)
    }

    /// Required checks that block the gate.
    pub fn blocking(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks
            .iter()
            .filter(|c| self.required.contains(&c.id) && !c.status.satisfies_requirement())
    }

    pub fn status_of(&self, id: CheckId) -> Option<Status> {
        self.check(id).map(|check| check.status)
    }
}

/// Whether every required check passed, and the share of applicable required checks passing.
/// `error` counts against: a check that could not be tested is never a pass.
pub fn judge(results: &[CheckResult], required: &[CheckId]) -> (bool, f64) {
    let applicable: Vec<&CheckResult> = results
        .iter()
        .filter(|r| required.contains(&r.id) && r.status != Status::Skip)
        .collect();
    let passed = results
        .iter()
        .filter(|r| required.contains(&r.id))
        .all(|r| r.status.satisfies_requirement());
    let ratio = if applicable.is_empty() {
        1.0
    } else {
        applicable.iter().filter(|r| r.status.counts_as_met()).count() as f64 / applicable.len() as f64
    };
    (passed, ratio)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Reason;

    fn result(id: CheckId, status: Status) -> CheckResult {
        CheckResult::new(id, status, Reason::new("", ""), serde_json::Value::Null)
    }

    #[test]
    fn error_blocks_and_skip_does_not() {
        let results = vec![
            result(CheckId::TlsValid, Status::Pass),
            result(CheckId::Ipv6SameContent, Status::Skip),
        ];
        assert_eq!(
            judge(&results, &[CheckId::TlsValid, CheckId::Ipv6SameContent]),
            (true, 1.0)
        );
        let results = vec![
            result(CheckId::TlsValid, Status::Error),
            result(CheckId::Ipv6Aaaa, Status::Pass),
        ];
        assert_eq!(judge(&results, &[CheckId::TlsValid, CheckId::Ipv6Aaaa]), (false, 0.5));
    }

    #[test]
    fn unrequired_failures_do_not_block() {
        let results = vec![
            result(CheckId::TlsValid, Status::Pass),
            result(CheckId::HttpsHsts, Status::Fail),
        ];
        assert!(judge(&results, &[CheckId::TlsValid]).0);
    }
}
