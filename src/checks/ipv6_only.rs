//! ipv6.only: would the site work for a user with IPv6 and nothing else (no IPv4, no NAT64)?
//! The page and every redirect hop over IPv6, name servers that answer over IPv6, and every
//! host the page loads scripts, styles, fonts, images, frames or its login form from.

use serde_json::json;

use super::http::{judge_fetch, unreachable_round_robin_members, FetchVerdict};
use super::input::CheckFn;
use super::result::{fail, not_tested, pass, reason, warn, CheckResult};
use crate::model::catalogue::CheckId;
use crate::model::target::StatusRange;
use crate::probe::addr::IpFamily;
use crate::probe::nameserver::NsQueryOutcome;
use crate::probe::resources::HostOutcome;
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::Ipv6Only, |input| {
    only(input.observations, &input.target.settings.expect_status)
})];

/// Pass when the page, the name servers and every resource host work over IPv6 alone; fail
/// naming each blocking host and why; warn when the host list was cut at the cap.
pub fn only(obs: &Observations, expect: &[StatusRange]) -> CheckResult {
    let id = CheckId::Ipv6Only;
    let mut blocking: Vec<String> = Vec::new();
    let mut untested: Vec<String> = Vec::new();

    let page_works = page_over_ipv6(obs, expect, &mut blocking, &mut untested);
    name_servers_over_ipv6(obs, &mut blocking, &mut untested);
    let mut blocking_hosts: Vec<&str> = Vec::new();
    match &obs.page.resources {
        Some(resources) => {
            for host in &resources.hosts {
                let name = host.host.as_str();
                let problem = match &host.outcome {
                    HostOutcome::PageHost | HostOutcome::Works { .. } => None,
                    HostOutcome::NoAaaa { .. } => Some(format!("{name}: no AAAA")),
                    HostOutcome::NoUsableAaaa { addresses } => {
                        let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                        Some(format!("{name}: no usable IPv6 address ({})", list.join(", ")))
                    }
                    HostOutcome::Ipv4Literal => Some(format!("{name}: an IPv4 address written in the page")),
                    HostOutcome::Failed { message, .. } if message == "IPv6 timeout" => {
                        Some(format!("{name}: IPv6 timeout"))
                    }
                    HostOutcome::Failed { ip, message } => Some(format!("{name}: over IPv6 [{ip}]: {message}")),
                    HostOutcome::LookupFailed { lookup } => {
                        untested.push(format!("{name}: AAAA lookup {lookup}"));
                        None
                    }
                };
                if let Some(problem) = problem {
                    blocking.push(format!("{problem} ({})", host.kinds.join(", ")));
                    blocking_hosts.push(name);
                }
            }
        }
        None if page_works => untested.push("the page over IPv6 had no body to read resources from".into()),
        None => {}
    }
    let observed = json!({
        "blocking_hosts": blocking_hosts.len(),
        "blocking": blocking,
        "resources": obs.page.resources,
    });
    if !blocking.is_empty() {
        let list = blocking.join("; ");
        return fail(
            id,
            reason!(
                "not usable over IPv6 alone: {list}",
                "chưa dùng được khi chỉ có IPv6: {list}"
            ),
            observed,
        );
    }
    if !untested.is_empty() {
        return not_tested(id, "could not be tested", "không kiểm tra được", &untested, observed);
    }
    let hosts = obs.page.resources.as_ref().map(|r| r.hosts.len()).unwrap_or_default();
    if let Some(cut) = obs.page.resources.as_ref().filter(|r| !r.unprobed.is_empty()) {
        let skipped = cut.unprobed.join(", ");
        return warn(id, reason!("works over IPv6 alone for the {hosts} resource hosts probed; not probed (over the cap): {skipped}", "dùng được khi chỉ có IPv6 với {hosts} máy chủ tài nguyên đã kiểm tra; chưa kiểm tra (vượt giới hạn): {skipped}"), observed);
    }
    pass(
        id,
        reason!(
            "works over IPv6 alone: the page, its name servers and all {hosts} resource hosts",
            "dùng được khi chỉ có IPv6: trang, máy chủ tên miền và cả {hosts} máy chủ tài nguyên"
        ),
        observed,
    )
}

/// The page and its redirects over every usable IPv6 address. Returns whether one worked.
fn page_over_ipv6(
    obs: &Observations,
    expect: &[StatusRange],
    blocking: &mut Vec<String>,
    untested: &mut Vec<String>,
) -> bool {
    if obs.usable(IpFamily::Ipv6).next().is_none() {
        blocking.push(format!("{}: no usable AAAA, the site itself is unreachable", obs.host));
        return false;
    }
    // A documentation or ULA AAAA beside the public ones strands the users given it.
    for member in unreachable_round_robin_members(obs, IpFamily::Ipv6) {
        blocking.push(format!("{}: {member}", obs.host));
    }
    let mut works = false;
    for fetch in obs.fetches_of(IpFamily::Ipv6) {
        match judge_fetch(fetch, expect) {
            FetchVerdict::Works => works = true,
            FetchVerdict::Broken(why) => blocking.push(format!("{}: {why}", obs.host)),
            FetchVerdict::Untested(why) | FetchVerdict::NotFromHere(why) => untested.push(why),
        }
    }
    works
}

/// An IPv6-only resolver must reach at least one of the zone's name servers over IPv6.
fn name_servers_over_ipv6(obs: &Observations, blocking: &mut Vec<String>, untested: &mut Vec<String>) {
    let Some(zone) = &obs.zone.facts else {
        untested.push("the zone's name servers were not probed".into());
        return;
    };
    if zone.name_servers.is_empty() {
        untested.push(format!(
            "the zone's name servers could not be found ({})",
            zone.ns.label()
        ));
        return;
    }
    let queries = &obs.zone.ns_queries;
    if queries.iter().any(|query| query.outcome.is_authoritative()) {
        return;
    }
    let not_from_here: Vec<String> = queries
        .iter()
        .filter(|query| matches!(query.outcome, NsQueryOutcome::NoRoute { .. }))
        .map(|query| format!("{} [{}]: {}", query.name, query.address.ip(), query.outcome))
        .collect();
    if !not_from_here.is_empty() {
        // None answered, and some could not even be asked from here: not the zone's fault.
        untested.extend(not_from_here);
        return;
    }
    {
        let apex = &zone.apex;
        blocking.push(format!(
            "no name server of {apex} answers over IPv6: an IPv6-only resolver cannot find the site"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{assert_reason, observations};
    use crate::checks::Status;
    use crate::probe::resources::{ResourceFacts, ResourceHost};

    fn host(name: &str, outcome: HostOutcome) -> ResourceHost {
        ResourceHost {
            host: name.into(),
            url: format!("https://{name}/x"),
            kinds: vec!["script"],
            outcome,
        }
    }

    fn with_hosts(hosts: Vec<ResourceHost>, unprobed: Vec<String>) -> Observations {
        let mut obs = observations();
        obs.page.resources = Some(ResourceFacts {
            page: "https://portal.example.gov.vn/".into(),
            hosts,
            unprobed,
        });
        obs
    }

    fn expect() -> Vec<StatusRange> {
        vec![StatusRange::SUCCESS]
    }

    #[test]
    fn blocking_hosts_are_named_with_why() {
        let obs = with_hosts(
            vec![
                host(
                    "static.cdn.com",
                    HostOutcome::NoAaaa {
                        lookup: "NOERROR, no data".into(),
                    },
                ),
                host(
                    "fonts.x.vn",
                    HostOutcome::Failed {
                        ip: "2001:db8::1".parse().expect("ip"),
                        message: "IPv6 timeout".into(),
                    },
                ),
                host(
                    "ok.example.vn",
                    HostOutcome::Works {
                        ip: "2001:db8::2".parse().expect("ip"),
                        status: 200,
                    },
                ),
            ],
            Vec::new(),
        );
        let result = only(&obs, &expect());
        assert_eq!(result.status, Status::Fail, "{}", result.reason.en);
        assert!(result.reason.en.contains("static.cdn.com: no AAAA"));
        assert!(result.reason.en.contains("fonts.x.vn: IPv6 timeout"));
        assert!(!result.reason.en.contains("ok.example.vn"));
        assert_eq!(result.observed["blocking_hosts"], 2);
    }

    #[test]
    fn a_clean_page_passes_and_a_cut_list_warns() {
        let works = || HostOutcome::Works {
            ip: "2001:db8::2".parse().expect("ip"),
            status: 200,
        };
        let clean = with_hosts(vec![host("cdn.example.vn", works())], Vec::new());
        assert_eq!(
            only(&clean, &expect()).status,
            Status::Pass,
            "{}",
            only(&clean, &expect()).reason.en
        );
        let cut = with_hosts(vec![host("cdn.example.vn", works())], vec!["more.example.vn".into()]);
        let result = only(&cut, &expect());
        assert_eq!(result.status, Status::Warn);
        assert!(result.reason.en.contains("more.example.vn"));
    }

    #[test]
    fn a_non_public_aaaa_beside_a_public_one_blocks() {
        let mut obs = with_hosts(Vec::new(), Vec::new());
        let documentation = crate::probe::addr::classify("2001:db8::9".parse().expect("ip"), &[]);
        obs.dns.addresses.push(documentation);
        let result = only(&obs, &expect());
        assert_eq!(result.status, Status::Fail, "{}", result.reason.en);
        assert_reason(&result, "[2001:db8::9] is published");
    }

    #[test]
    fn a_failed_lookup_is_never_a_pass() {
        let obs = with_hosts(
            vec![host(
                "slow.example.vn",
                HostOutcome::LookupFailed {
                    lookup: "timeout".into(),
                },
            )],
            Vec::new(),
        );
        assert_eq!(only(&obs, &expect()).status, Status::Error);
    }
}
