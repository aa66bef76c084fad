//! ipv6.pmtu: full-size packets get through on every usable IPv6 address. A fetch that
//! connected and then stalled was asked again with 1280-byte packets (see
//! [`crate::probe::pmtu`]): stalls at full size and works small is a path-MTU blackhole.

use std::net::IpAddr;

use serde_json::json;

use super::input::CheckFn;
use super::result::{error, fail, not_tested, pass, reason, skip, CheckResult, Findings};
use super::untested::{describe_error, not_from_here};
use crate::model::catalogue::CheckId;
use crate::probe::addr::IpFamily;
use crate::probe::http::{AddressFetch, Phase};
use crate::probe::pmtu::SmallPackets;
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::Ipv6Pmtu, |input| pmtu(input.observations))];

/// What one address's fetch says about its path.
#[derive(Debug, PartialEq, Eq)]
pub enum PathVerdict {
    /// Full-size packets came through (the handshake's certificate flight, or the page).
    Carries,
    /// Stalled after connecting with full-size packets, worked with 1280-byte ones.
    Blackhole,
    /// Could not be told: no connection, no answer at any size, or not tried from here.
    Untested(String),
}

/// The path verdict of one fetch.
pub fn path_of(obs: &Observations, fetch: &AddressFetch) -> PathVerdict {
    let ip = fetch.ip;
    let finished = fetch.answered() && fetch.error.is_none();
    if let Some(retry) = obs.address.pmtu.iter().find(|retry| retry.ip == ip) {
        return match (&retry.small_packets, finished) {
            // Slow, but it all came in the end.
            (_, true) => PathVerdict::Carries,
            (SmallPackets::Answered { .. }, false) => PathVerdict::Blackhole,
            (SmallPackets::Failed { error }, false) => PathVerdict::Untested(format!(
                "[{ip}] the server does not answer at any size (1280-byte packets: {})",
                describe_error(error)
            )),
        };
    }
    if let Some(why) = not_from_here(fetch) {
        return PathVerdict::Untested(why);
    }
    if fetch.answered() || fetch.tls.as_ref().is_some_and(|tls| !tls.chain.is_empty()) {
        return PathVerdict::Carries;
    }
    match &fetch.error {
        Some(err) if err.phase == Phase::Connect => PathVerdict::Untested(format!(
            "[{ip}] no TCP connection ({}), so the path was not tried",
            describe_error(err)
        )),
        Some(err) => PathVerdict::Untested(format!("[{ip}] {}", describe_error(err))),
        None => PathVerdict::Untested(format!("[{ip}] no response")),
    }
}

/// Whether `ip`'s path is a blackhole, for the reachability checks to say so.
pub fn is_blackhole(obs: &Observations, ip: IpAddr) -> bool {
    obs.address
        .fetches
        .iter()
        .find(|fetch| fetch.ip == ip)
        .is_some_and(|fetch| path_of(obs, fetch) == PathVerdict::Blackhole)
}

/// The reason a blackholed address gives, in both languages.
pub fn blackhole_words(ip: IpAddr) -> (String, String) {
    let family = if ip.is_ipv6() { "IPv6" } else { "IPv4" };
    let icmp = if ip.is_ipv6() {
        "ICMPv6 Packet Too Big"
    } else {
        "ICMP Fragmentation Needed"
    };
    (
        format!("path MTU blackhole over {family}: [{ip}] stalls with full-size packets and works with 1280-byte packets ({icmp} is probably filtered on the path)"),
        format!("nghẽn MTU trên đường truyền {family}: [{ip}] treo với gói tin kích thước đầy đủ và chạy được với gói 1280 byte (gói {icmp} có lẽ bị chặn trên đường truyền)"),
    )
}

/// Full-size responses come through on every usable IPv6 address.
pub fn pmtu(obs: &Observations) -> CheckResult {
    let id = CheckId::Ipv6Pmtu;
    let ipv4_blackholes: Vec<IpAddr> = obs
        .fetches_of(IpFamily::Ipv4)
        .filter(|fetch| path_of(obs, fetch) == PathVerdict::Blackhole)
        .map(|fetch| fetch.ip)
        .collect();
    let observed = json!({ "retries": obs.address.pmtu, "ipv4_blackholes": ipv4_blackholes });
    if !obs.probes.pmtu {
        return error(
            id,
            reason!("path MTU was not probed", "chưa kiểm tra MTU đường truyền"),
            observed,
        );
    }
    if obs.usable(IpFamily::Ipv6).next().is_none() {
        return skip(
            id,
            reason!("no usable IPv6 address", "không có địa chỉ IPv6 dùng được"),
            observed,
        );
    }
    let fetches: Vec<&AddressFetch> = obs.fetches_of(IpFamily::Ipv6).collect();
    if fetches.is_empty() {
        return error(
            id,
            reason!("IPv6 addresses were not fetched", "chưa truy cập thử qua IPv6"),
            observed,
        );
    }
    let mut blackholes = Findings::default();
    let mut untested = Vec::new();
    for fetch in &fetches {
        match path_of(obs, fetch) {
            PathVerdict::Carries => {}
            PathVerdict::Blackhole => {
                let (en, vi) = blackhole_words(fetch.ip);
                blackholes.push(en, vi);
            }
            PathVerdict::Untested(why) => untested.push(why),
        }
    }
    if !blackholes.is_empty() {
        return fail(id, blackholes.reason("", ""), observed);
    }
    if !untested.is_empty() {
        return not_tested(id, "could not be tested", "không kiểm tra được", &untested, observed);
    }
    let count = fetches.len();
    pass(
        id,
        reason!(
            "full-size packets come through on all {count} IPv6 address(es)",
            "gói tin kích thước đầy đủ đi qua được trên cả {count} địa chỉ IPv6"
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;
    use crate::probe::http::FetchError;
    use crate::probe::pmtu::AddressPmtu;

    fn stalled(obs: &mut Observations, small: SmallPackets) {
        let fetch = &mut obs.address.fetches[1];
        fetch.responses.clear();
        fetch.tls = None;
        fetch.error = Some(FetchError {
            phase: Phase::Tls,
            kind: "timeout".into(),
            message: "no answer within the timeout".into(),
        });
        obs.address.pmtu.push(AddressPmtu {
            ip: fetch.ip,
            quiet_seconds: 1.0,
            bytes_before_stall: 0,
            small_packets: small,
        });
    }

    #[test]
    fn a_fetch_that_came_through_passes() {
        assert_eq!(pmtu(&observations()).status, Status::Pass);
    }

    #[test]
    fn stalling_at_full_size_and_working_small_is_a_blackhole() {
        let mut obs = observations();
        stalled(&mut obs, SmallPackets::Answered { status: 200 });
        let result = pmtu(&obs);
        assert_verdict(
            &result,
            Status::Fail,
            "path MTU blackhole over IPv6: [2402:800::1] stalls with full-size packets and works with 1280-byte packets",
        );
        assert!(is_blackhole(&obs, "2402:800::1".parse().unwrap()));
    }

    #[test]
    fn no_answer_at_any_size_is_untested() {
        let mut obs = observations();
        stalled(
            &mut obs,
            SmallPackets::Failed {
                error: FetchError {
                    phase: Phase::Tls,
                    kind: "timeout".into(),
                    message: "no answer within the timeout".into(),
                },
            },
        );
        assert_verdict(&pmtu(&obs), Status::Error, "does not answer at any size");
        // A slow server whose fetch finished after the retry began carries full-size packets.
        let mut obs = observations();
        obs.address.pmtu.push(AddressPmtu {
            ip: obs.address.fetches[1].ip,
            quiet_seconds: 1.0,
            bytes_before_stall: 0,
            small_packets: SmallPackets::Answered { status: 200 },
        });
        assert_eq!(pmtu(&obs).status, Status::Pass);
    }

    #[test]
    fn no_ipv6_skips_and_a_refused_connection_is_not_a_path_verdict() {
        let mut obs = observations();
        set_aaaa(&mut obs, "2001:db8::1");
        assert_eq!(pmtu(&obs).status, Status::Skip);
        let mut obs = observations();
        break_fetch(&mut obs, IpFamily::Ipv6, "refused");
        assert_verdict(&pmtu(&obs), Status::Error, "no TCP connection");
    }
}
