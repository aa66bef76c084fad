//! http.up: every family that has addresses answers with an expected status.

use serde_json::json;

use super::input::CheckFn;
use super::result::{error, fail, not_tested, noting_gaps, pass, reason, CheckResult, Reason};
use crate::model::catalogue::CheckId;
use crate::model::target::StatusRange;
use crate::probe::addr::{AddressClass, IpFamily};
use crate::probe::dns::LookupOutcome;
use crate::probe::http::AddressFetch;
use crate::probe::Observations;

pub use super::untested::{describe_error, monitor_gaps, not_from_here, untested_fetches, untested_here};

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::HttpUp, |input| {
    up(input.observations, &input.target.settings.expect_status)
})];

/// How one address's fetch went, judged against the statuses the target expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchVerdict {
    /// The page arrived at an expected status, over every hop.
    Works,
    /// A user over this address does not get the page; the text says why.
    Broken(String),
    /// Could not be tested (a TLS dialect this auditor does not speak); never a pass and never
    /// blamed on the site.
    Untested(String),
    /// This monitor has no route to the address (a monitor without IPv6): not the site's
    /// fault, and not a test of it. Checks about IPv6 call it untested; the others judge the
    /// addresses the monitor can reach and name this one.
    NotFromHere(String),
}

impl FetchVerdict {
    /// Why users over this address do not get the page, if they do not.
    pub fn broken(&self) -> Option<&str> {
        match self {
            FetchVerdict::Broken(why) => Some(why),
            _ => None,
        }
    }

    /// Why this address could not be tested, if it could not (from here or at all).
    pub fn untested(&self) -> Option<&str> {
        match self {
            FetchVerdict::Untested(why) | FetchVerdict::NotFromHere(why) => Some(why),
            _ => None,
        }
    }
}

/// Judges one address's fetch: every hop, its certificates, the final status, and every other
/// address of each redirect host on the way.
pub fn judge_fetch(fetch: &AddressFetch, expect: &[StatusRange]) -> FetchVerdict {
    let verdict = judge_chain(fetch, expect);
    if verdict != FetchVerdict::Works {
        return verdict;
    }
    let ip = fetch.ip;
    for hop in &fetch.hop_addresses {
        // Worded as a failure of the main chain at that hop: "[site] redirect to URL [hop]: why".
        let at = |why: String| {
            let prefix = format!("[{}] ", hop.fetch.ip);
            let why = why.strip_prefix(&prefix).map(str::to_string).unwrap_or(why);
            format!("[{ip}] redirect to {} [{}]: {why}", hop.url, hop.fetch.ip)
        };
        match judge_chain(&hop.fetch, expect) {
            FetchVerdict::Works => {}
            FetchVerdict::Broken(why) => return FetchVerdict::Broken(at(why)),
            FetchVerdict::Untested(why) => return FetchVerdict::Untested(at(why)),
            FetchVerdict::NotFromHere(why) => return FetchVerdict::NotFromHere(at(why)),
        }
    }
    FetchVerdict::Works
}

/// [`judge_fetch`], naming a path-MTU blackhole when that is why the address failed.
pub fn judge_address(obs: &Observations, fetch: &AddressFetch, expect: &[StatusRange]) -> FetchVerdict {
    match judge_fetch(fetch, expect) {
        FetchVerdict::Works => FetchVerdict::Works,
        _ if super::pmtu::is_blackhole(obs, fetch.ip) => FetchVerdict::Broken(super::pmtu::blackhole_words(fetch.ip).0),
        other => other,
    }
}

/// Judges one chain of requests from one address.
fn judge_chain(fetch: &AddressFetch, expect: &[StatusRange]) -> FetchVerdict {
    let ip = fetch.ip;
    if let Some(suite) = &fetch.obsolete_suite {
        return FetchVerdict::Untested(format!(
            "[{ip}] offers only obsolete TLS suites ({suite}) that this auditor does not speak; page not fetched"
        ));
    }
    if let Some(hop) = fetch.hop_handshakes.iter().find(|hop| hop.tls.verify_failure.is_some()) {
        let message = hop
            .tls
            .verify_failure
            .as_ref()
            .map(|f| f.message.as_str())
            .unwrap_or_default();
        return FetchVerdict::Broken(format!(
            "[{ip}] redirect to {} lands on an invalid certificate: {message}",
            hop.url
        ));
    }
    match (fetch.final_status(), &fetch.error) {
        (_, Some(err)) if err.kind == "no_route" => FetchVerdict::NotFromHere(format!("[{ip}] {}", err.message)),
        (_, Some(err)) if err.kind == "blocked" => FetchVerdict::Broken(format!("[{ip}] {}", err.message)),
        (_, Some(err)) => match &fetch.failed_hop {
            Some(hop) => FetchVerdict::Broken(format!("[{ip}] redirect to {hop}: {}", describe_error(err))),
            None => FetchVerdict::Broken(format!("[{ip}] {}", describe_error(err))),
        },
        (Some(status), None) if !expect.iter().any(|range| range.contains(status)) => {
            let hops = fetch.responses.len().saturating_sub(1);
            if hops > 0 {
                FetchVerdict::Broken(format!("[{ip}] status {status} after {hops} redirect(s)"))
            } else {
                FetchVerdict::Broken(format!("[{ip}] status {status}"))
            }
        }
        (None, None) => FetchVerdict::Broken(format!("[{ip}] no response")),
        _ => FetchVerdict::Works,
    }
}

/// Non-public addresses published beside usable ones of the same family: round-robin hands
/// them to some visitors, who then cannot reach the site ("[10.0.0.5] is Private-Use").
pub fn unreachable_round_robin_members(obs: &Observations, family: IpFamily) -> Vec<String> {
    if obs.usable(family).next().is_none() {
        return Vec::new();
    }
    obs.dns
        .addresses
        .iter()
        .filter(|a| a.family == family)
        .filter_map(|a| match &a.class {
            AddressClass::Special { block } => Some(format!(
                "[{}] is published but is {block}, so visitors given it cannot reach the site",
                a.ip
            )),
            _ => None,
        })
        .collect()
}

/// Every family that has addresses answers with an expected status on every address and hop.
pub fn up(obs: &Observations, expect: &[StatusRange]) -> CheckResult {
    let id = CheckId::HttpUp;
    let summary: Vec<_> = obs
        .address.fetches
        .iter()
        .map(|f| json!({ "ip": f.ip, "family": f.family, "status": f.final_status(), "final_url": f.final_url, "error": f.error, "obsolete_suite": f.obsolete_suite }))
        .collect();
    let observed = json!({ "fetches": summary, "expect_status": expect });
    let lookups = [&obs.dns.records.a, &obs.dns.records.aaaa];
    if obs.dns.addresses.is_empty()
        && lookups
            .iter()
            .all(|o| matches!(o, LookupOutcome::Timeout | LookupOutcome::Failed { .. }))
    {
        let label = obs.dns.records.a.label();
        return error(
            id,
            reason!(
                "could not resolve the host: {label}",
                "không phân giải được tên miền: {label}"
            ),
            observed,
        );
    }
    if obs.address.fetches.is_empty() {
        let reason = if obs.dns.addresses.is_empty() {
            Reason::new("no address to fetch", "không có địa chỉ để truy cập")
        } else {
            Reason::new(
                "no usable address to fetch (all special-purpose)",
                "không có địa chỉ dùng được (toàn địa chỉ đặc biệt)",
            )
        };
        return fail(id, reason, observed);
    }
    let mut broken = Vec::new();
    let mut untested = Vec::new();
    // A family whose lookup itself failed while the other answered is not "no addresses":
    // its addresses were never seen, so it was never tested (timeout) or is broken (SERVFAIL).
    for (family, lookup) in [("A", &obs.dns.records.a), ("AAAA", &obs.dns.records.aaaa)] {
        match lookup {
            LookupOutcome::Timeout | LookupOutcome::Failed { .. } => untested.push(format!(
                "the {family} lookup failed ({}), so that family was not tested",
                lookup.label()
            )),
            LookupOutcome::ServFail | LookupOutcome::Refused => {
                broken.push(format!("the {family} lookup answers {}", lookup.label()))
            }
            _ => {}
        }
    }
    let mut gaps = Vec::new();
    let mut works = 0;
    for family in [IpFamily::Ipv4, IpFamily::Ipv6] {
        broken.extend(unreachable_round_robin_members(obs, family));
        for fetch in obs.fetches_of(family) {
            match judge_address(obs, fetch, expect) {
                FetchVerdict::Works => works += 1,
                FetchVerdict::Broken(why) => broken.push(why),
                FetchVerdict::Untested(why) => untested.push(why),
                FetchVerdict::NotFromHere(why) => gaps.push(why),
            }
        }
    }
    if works == 0 && broken.is_empty() {
        // Nothing was tested at all: the gaps are no pass.
        untested.append(&mut gaps);
    }
    if !broken.is_empty() {
        let list = broken.join("; ");
        return fail(id, reason!("down: {list}", "Trang không hoạt động: {list}"), observed);
    }
    if !untested.is_empty() {
        return not_tested(id, "could not be tested", "không kiểm tra được", &untested, observed);
    }
    let result = pass(
        id,
        reason!(
            format!("all {works} reachable address(es) answer"),
            format!("cả {works} địa chỉ kiểm tra được đều hoạt động")
        ),
        observed,
    );
    noting_gaps(result, &gaps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    #[test]
    fn all_up_passes_and_one_family_down_fails() {
        let mut obs = observations();
        assert_eq!(up(&obs, &[StatusRange::SUCCESS]).status, Status::Pass);
        break_fetch(&mut obs, IpFamily::Ipv6, "timeout");
        let result = up(&obs, &[StatusRange::SUCCESS]);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("timeout"));
    }

    #[test]
    fn a_private_address_beside_public_ones_fails() {
        let mut obs = observations();
        obs.dns
            .addresses
            .push(crate::probe::addr::classify("10.0.0.5".parse().unwrap(), &[]));
        let result = up(&obs, &[StatusRange::SUCCESS]);
        assert_verdict(&result, Status::Fail, "[10.0.0.5] is published but is Private-Use");
    }

    #[test]
    fn a_family_whose_lookup_timed_out_is_untested_not_passed() {
        let mut obs = observations();
        obs.dns.records.a = LookupOutcome::Timeout;
        obs.dns.addresses.retain(|a| a.family == IpFamily::Ipv6);
        obs.address.fetches.retain(|f| f.family == IpFamily::Ipv6);
        let result = up(&obs, &[StatusRange::SUCCESS]);
        assert_verdict(&result, Status::Error, "the A lookup failed (timeout)");
        obs.dns.records.a = LookupOutcome::ServFail;
        assert_eq!(up(&obs, &[StatusRange::SUCCESS]).status, Status::Fail);
    }

    #[test]
    fn a_dead_address_of_a_redirect_host_is_named_whichever_was_tried_first() {
        let mut obs = observations();
        let site = obs.address.fetches[1].clone();
        let refused = || crate::probe::http::FetchError {
            phase: crate::probe::http::Phase::Connect,
            kind: "refused".into(),
            message: "connection refused".into(),
        };
        // The main chain went through the dead address.
        let mut through_dead = site.clone();
        through_dead.error = Some(refused());
        through_dead.failed_hop = Some("https://sso.example.vn/login [2402:800::5]".into());
        // The main chain went through the live one; the dead one was asked beside it.
        let mut beside = site.clone();
        let mut dead = crate::checks::fixtures::observations().address.fetches[1].clone();
        dead.ip = "2402:800::5".parse().unwrap();
        dead.responses.clear();
        dead.error = Some(refused());
        beside.hop_addresses.push(crate::probe::http::HopAddressFetch {
            url: "https://sso.example.vn/login".into(),
            fetch: dead,
        });
        for fetch in [through_dead, beside] {
            obs.address.fetches[1] = fetch;
            let result = up(&obs, &[StatusRange::SUCCESS]);
            assert_verdict(
                &result,
                Status::Fail,
                "[2402:800::1] redirect to https://sso.example.vn/login [2402:800::5]: connection refused",
            );
        }
    }

    #[test]
    fn unexpected_status_fails() {
        let mut obs = observations();
        obs.address.fetches[0].responses[0].status = 503;
        assert!(up(&obs, &[StatusRange::SUCCESS]).reason.en.contains("503"));
    }
}
