//! ipv6.aaaa, ipv6.reachable, ipv6.same_content and ipv6.ns.

use serde_json::json;

use super::http::{judge_address, judge_fetch, FetchVerdict};
use super::input::CheckFn;
use super::result::{error, fail, not_tested, pass, reason, skip, CheckResult, Findings};
use super::similarity::{first_difference, similarity, title, SAME_CONTENT_THRESHOLD};
use crate::model::catalogue::CheckId;
use crate::model::target::StatusRange;
use crate::probe::addr::{AddressClass, IpFamily};
use crate::probe::dns::{addresses_of, LookupOutcome};
use crate::probe::http::AddressFetch;
use crate::probe::nameserver::NsQueryOutcome;
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[
    (CheckId::Ipv6Aaaa, |input| aaaa(input.observations)),
    (CheckId::Ipv6Reachable, |input| {
        reachable(input.observations, &input.target.settings.expect_status)
    }),
    (CheckId::Ipv6SameContent, |input| same_content(input.observations)),
    (CheckId::Ipv6Ns, |input| name_servers(input.observations)),
];

/// At least one AAAA is a global unicast (or accepted) address.
pub fn aaaa(obs: &Observations) -> CheckResult {
    let id = CheckId::Ipv6Aaaa;
    let v6: Vec<_> = obs
        .dns
        .addresses
        .iter()
        .filter(|a| a.family == IpFamily::Ipv6)
        .collect();
    let observed = json!({ "aaaa": v6, "lookup": obs.dns.records.aaaa });
    if v6.iter().any(|a| a.class.is_usable()) {
        let count = v6.iter().filter(|a| a.class.is_usable()).count();
        return pass(
            id,
            reason!("{count} usable IPv6 address(es)", "có {count} địa chỉ IPv6 dùng được"),
            observed,
        );
    }
    if let Some(special) = v6.iter().find_map(|a| match &a.class {
        AddressClass::Special { block } => Some(format!("{} is {block}", a.ip)),
        _ => None,
    }) {
        return fail(
            id,
            reason!(
                "AAAA is not a global address: {special}",
                "AAAA không phải địa chỉ toàn cầu: {special}"
            ),
            observed,
        );
    }
    match &obs.dns.records.aaaa {
        LookupOutcome::Timeout | LookupOutcome::Failed { .. } => error(
            id,
            reason!(
                format!("AAAA lookup failed: {}", obs.dns.records.aaaa.label()),
                format!("không tra được AAAA: {}", obs.dns.records.aaaa.label())
            ),
            observed,
        ),
        other => fail(
            id,
            reason!(
                format!("no AAAA record ({})", other.label()),
                format!("Chưa hỗ trợ IPv6: không có bản ghi AAAA ({})", other.label())
            ),
            observed,
        ),
    }
}

/// Every usable AAAA gets a user the site: TCP, TLS, HTTP, after redirects over IPv6, at an
/// expected status. A failure IPv4 shares is not an IPv6 fault, and a monitor without IPv6
/// cannot blame the site.
pub fn reachable(obs: &Observations, expect: &[StatusRange]) -> CheckResult {
    let id = CheckId::Ipv6Reachable;
    let fetches: Vec<_> = obs.fetches_of(IpFamily::Ipv6).collect();
    let summary: Vec<_> = fetches
        .iter()
        .map(|f| json!({ "ip": f.ip, "status": f.final_status(), "final_url": f.final_url, "error": f.error, "timings": f.timings }))
        .collect();
    let observed = json!({ "addresses": summary, "expect_status": expect });
    if obs.usable(IpFamily::Ipv6).next().is_none() {
        if !obs.dns.records.aaaa.is_authoritative_answer()
            && !matches!(obs.dns.records.aaaa, LookupOutcome::ServFail | LookupOutcome::Refused)
        {
            let label = obs.dns.records.aaaa.label();
            return error(
                id,
                reason!("AAAA lookup failed: {label}", "không tra được AAAA: {label}"),
                observed,
            );
        }
        return fail(
            id,
            reason!(
                "no usable IPv6 address to reach",
                "Chưa hỗ trợ IPv6: không có địa chỉ IPv6 để truy cập"
            ),
            observed,
        );
    }
    if fetches.is_empty() {
        return error(
            id,
            reason!("IPv6 addresses were not fetched", "chưa truy cập thử qua IPv6"),
            observed,
        );
    }
    let mut verdicts: Vec<FetchVerdict> = fetches.iter().map(|f| judge_address(obs, f, expect)).collect();
    verdicts.extend(
        super::http::unreachable_round_robin_members(obs, IpFamily::Ipv6)
            .into_iter()
            .map(FetchVerdict::Broken),
    );
    if verdicts.iter().all(|v| matches!(v, FetchVerdict::NotFromHere(_))) {
        return error(
            id,
            reason!(
                "this monitor has no IPv6 connectivity: no route to the site's IPv6 addresses",
                "máy giám sát không có kết nối IPv6: không có tuyến tới địa chỉ IPv6 của trang"
            ),
            observed,
        );
    }
    let broken: Vec<&str> = verdicts.iter().filter_map(FetchVerdict::broken).collect();
    let untested: Vec<&str> = verdicts.iter().filter_map(FetchVerdict::untested).collect();
    if !broken.is_empty() {
        let list = broken.join("; ");
        let v4: Vec<FetchVerdict> = obs.fetches_of(IpFamily::Ipv4).map(|f| judge_fetch(f, expect)).collect();
        let ipv4_fails_too = !v4.is_empty() && v4.iter().all(|v| *v != FetchVerdict::Works);
        if ipv4_fails_too {
            return error(
                id,
                reason!(
                    "fails on both families, so not an IPv6 fault: {list}",
                    "lỗi trên cả IPv4 và IPv6, không phải lỗi riêng IPv6: {list}"
                ),
                observed,
            );
        }
        return fail(
            id,
            reason!(
                "IPv6 users do not get the site: {list}",
                "Không truy cập được qua IPv6: {list}"
            ),
            observed,
        );
    }
    if !untested.is_empty() {
        return not_tested(
            id,
            "IPv6 could not be tested",
            "không kiểm tra được IPv6",
            &untested,
            observed,
        );
    }
    let count = fetches.len();
    pass(
        id,
        reason!(
            "all {count} IPv6 address(es) serve the site",
            "cả {count} địa chỉ IPv6 đều phục vụ trang"
        ),
        observed,
    )
}

/// Every IPv6 address serves what IPv4 serves: same status and similar normalised body.
pub fn same_content(obs: &Observations) -> CheckResult {
    let id = CheckId::Ipv6SameContent;
    if obs.usable(IpFamily::Ipv4).next().is_none() || obs.usable(IpFamily::Ipv6).next().is_none() {
        return skip(
            id,
            reason!(
                "needs addresses of both IPv4 and IPv6 to compare",
                "cần địa chỉ của cả IPv4 và IPv6 để so sánh"
            ),
            json!({}),
        );
    }
    // An address that gave no answer was never compared: it is named, never passed over.
    let silent = super::http::untested_fetches(obs, |fetch| !fetch.answered(), "no answer");
    let v4 = obs.fetches_of(IpFamily::Ipv4).find(|f| f.answered());
    let v6: Vec<&AddressFetch> = obs.fetches_of(IpFamily::Ipv6).filter(|f| f.answered()).collect();
    let Some(v4) = v4.filter(|_| !v6.is_empty()) else {
        return not_tested(
            id,
            "no answer over one family to compare",
            "một họ địa chỉ không trả lời nên không so sánh được",
            &silent,
            json!({}),
        );
    };
    let body4 = String::from_utf8_lossy(&v4.body);
    let status4 = v4.final_status();
    let mut compared = Vec::new();
    let mut differences = Findings::default();
    let mut lowest = 1.0f64;
    for v6 in &v6 {
        let body6 = String::from_utf8_lossy(&v6.body);
        let score = similarity(&body4, &body6);
        let status6 = v6.final_status();
        lowest = lowest.min(score);
        compared.push(json!({ "ip": v6.ip, "status": status6, "final_url": v6.final_url, "bytes": v6.body_bytes, "title": title(&body6), "similarity": (score * 1000.0).round() / 1000.0 }));
        if status4 != status6 {
            let (s4, s6) = (fmt_status(status4), fmt_status(status6));
            differences.push(
                format!("[{}] status differs: IPv4 {s4}, IPv6 {s6}", v6.ip),
                format!("[{}] mã trạng thái khác nhau: IPv4 {s4}, IPv6 {s6}", v6.ip),
            );
            continue;
        }
        if score >= SAME_CONTENT_THRESHOLD {
            continue;
        }
        let percent = (score * 100.0).round();
        let detail = match (title(&body4), title(&body6)) {
            (t4, t6) if t4 != t6 => format!(
                "titles differ: IPv4 {:?}, IPv6 {:?}",
                t4.unwrap_or_default(),
                t6.unwrap_or_default()
            ),
            _ => match first_difference(&body4, &body6) {
                Some((a, b)) => format!("first difference: IPv4 \"{a}\" vs IPv6 \"{b}\""),
                None => "bodies differ".into(),
            },
        };
        differences.push(
            format!("[{}] serves different content ({percent}% similar); {detail}", v6.ip),
            format!("[{}] nội dung khác IPv4 (giống {percent}%); {detail}", v6.ip),
        );
    }
    let observed = json!({
        "ipv4": { "ip": v4.ip, "status": status4, "final_url": v4.final_url, "bytes": v4.body_bytes, "title": title(&body4) },
        "ipv6": compared,
        "threshold": SAME_CONTENT_THRESHOLD,
    });
    if !differences.is_empty() {
        return fail(
            id,
            differences.reason("IPv6 ", "Nội dung qua IPv6 khác IPv4: "),
            observed,
        );
    }
    if !silent.is_empty() {
        return not_tested(
            id,
            "not compared on every address",
            "chưa so sánh được trên mọi địa chỉ",
            &silent,
            observed,
        );
    }
    let percent = (lowest * 100.0).round();
    pass(
        id,
        reason!(
            format!("same page on all {} IPv6 address(es) ({percent}% similar)", v6.len()),
            format!("cùng nội dung trên cả {} địa chỉ IPv6 (giống {percent}%)", v6.len())
        ),
        observed,
    )
}

fn fmt_status(status: Option<u16>) -> String {
    status.map(|s| s.to_string()).unwrap_or_else(|| "none".into())
}

/// At least two name servers have a usable AAAA and every one answers authoritatively over IPv6.
pub fn name_servers(obs: &Observations) -> CheckResult {
    let id = CheckId::Ipv6Ns;
    let Some(zone) = &obs.zone.facts else {
        return error(
            id,
            reason!("name servers were not probed", "chưa kiểm tra máy chủ tên miền"),
            json!({}),
        );
    };
    let observed =
        json!({ "zone": zone.apex, "ns": zone.ns, "name_servers": zone.name_servers, "queries": obs.zone.ns_queries });
    if zone.name_servers.is_empty() {
        let label = zone.ns.label();
        return error(
            id,
            reason!(
                "could not find the zone's name servers ({label})",
                "không tìm được máy chủ tên miền ({label})"
            ),
            observed,
        );
    }
    let mut without_v6 = Vec::new();
    let mut not_answering = Vec::new();
    let mut not_from_here = Vec::new();
    let mut with_v6 = 0;
    for server in &zone.name_servers {
        let queries: Vec<_> = obs.zone.ns_queries.iter().filter(|q| q.name == server.name).collect();
        if queries.is_empty() {
            if matches!(server.aaaa, LookupOutcome::Timeout | LookupOutcome::Failed { .. })
                && addresses_of(&server.aaaa).is_empty()
            {
                not_answering.push(format!("{} (AAAA lookup {})", server.name, server.aaaa.label()));
            } else {
                without_v6.push(server.name.clone());
            }
            continue;
        }
        with_v6 += 1;
        for query in queries.iter().filter(|q| !q.outcome.is_authoritative()) {
            let line = format!("{} [{}]: {}", query.name, query.address.ip(), query.outcome);
            match query.outcome {
                NsQueryOutcome::NoRoute { .. } => not_from_here.push(line),
                _ => not_answering.push(line),
            }
        }
    }
    if !not_answering.is_empty() {
        let list = not_answering.join("; ");
        return fail(
            id,
            reason!(
                "not authoritative over IPv6: {list}",
                "máy chủ tên miền không trả lời qua IPv6: {list}"
            ),
            observed,
        );
    }
    if !without_v6.is_empty() || with_v6 < 2 {
        let list = if without_v6.is_empty() {
            "-".to_string()
        } else {
            without_v6.join(", ")
        };
        return fail(
            id,
            reason!(
                "{with_v6} name server(s) with IPv6, need at least 2 and all; without IPv6: {list}",
                "chỉ {with_v6} máy chủ tên miền có IPv6 (cần tất cả, tối thiểu 2); chưa có IPv6: {list}"
            ),
            observed,
        );
    }
    if !not_from_here.is_empty() {
        return not_tested(
            id,
            "could not be tested: this monitor has no IPv6 route to the name servers",
            "không kiểm tra được: máy giám sát không có tuyến IPv6 tới máy chủ tên miền",
            &not_from_here,
            observed,
        );
    }
    pass(
        id,
        reason!(
            "all {with_v6} name servers answer over IPv6",
            "cả {with_v6} máy chủ tên miền trả lời qua IPv6"
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;
    use crate::probe::nameserver::NsQueryOutcome;

    #[test]
    fn dual_stack_site_passes_every_ipv6_check() {
        let obs = observations();
        assert_eq!(aaaa(&obs).status, Status::Pass);
        assert_eq!(reachable(&obs, &[StatusRange::SUCCESS]).status, Status::Pass);
        assert_eq!(same_content(&obs).status, Status::Pass);
        assert_eq!(name_servers(&obs).status, Status::Pass);
    }

    #[test]
    fn documentation_aaaa_fails_with_the_block_named() {
        let mut obs = observations();
        set_aaaa(&mut obs, "2001:db8::1");
        let result = aaaa(&obs);
        assert_verdict(&result, Status::Fail, "Documentation");
        assert_eq!(reachable(&obs, &[StatusRange::SUCCESS]).status, Status::Fail);
    }

    #[test]
    fn missing_aaaa_says_no_ipv6_in_vietnamese() {
        let mut obs = observations();
        obs.dns.records.aaaa = LookupOutcome::NoData;
        obs.dns.addresses.retain(|a| a.family == IpFamily::Ipv4);
        obs.address.fetches.retain(|f| f.family == IpFamily::Ipv4);
        assert!(aaaa(&obs).reason.vi.starts_with("Chưa hỗ trợ IPv6"));
        assert_eq!(same_content(&obs).status, Status::Skip);
    }

    #[test]
    fn an_ipv6_address_that_did_not_answer_is_not_compared_and_not_passed() {
        let mut obs = observations();
        break_fetch(&mut obs, IpFamily::Ipv6, "timeout");
        let result = same_content(&obs);
        assert_verdict(&result, Status::Error, "[2402:800::1] timeout");
    }

    #[test]
    fn unreachable_ipv6_names_address_and_phase() {
        let mut obs = observations();
        break_fetch(&mut obs, IpFamily::Ipv6, "refused");
        let result = reachable(&obs, &[StatusRange::SUCCESS]);
        assert_eq!(result.status, Status::Fail);
        assert!(
            result.reason.en.contains("refused") && result.reason.en.contains("2402:800::1"),
            "{}",
            result.reason.en
        );
    }

    #[test]
    fn different_body_over_ipv6_fails_with_titles() {
        let mut obs = observations();
        for fetch in obs.address.fetches.iter_mut().filter(|f| f.family == IpFamily::Ipv6) {
            fetch.body =
                b"<html><title>Trang bao tri</title><body>He thong dang bao tri, vui long quay lai sau.</body></html>"
                    .to_vec();
        }
        let result = same_content(&obs);
        assert_verdict(&result, Status::Fail, "titles differ");
    }

    #[test]
    fn name_servers_without_aaaa_or_not_authoritative_fail() {
        let mut obs = observations();
        obs.zone.ns_queries.retain(|q| q.name != "ns2.example.vn");
        if let Some(zone) = obs.zone.facts.as_mut() {
            zone.name_servers[1].aaaa = LookupOutcome::NoData;
        }
        let result = name_servers(&obs);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("ns2.example.vn"));

        let mut obs = observations();
        obs.zone.ns_queries[0].outcome = NsQueryOutcome::Failed {
            message: "udp: timeout; tcp: timeout".into(),
        };
        assert!(name_servers(&obs).reason.en.contains("not authoritative"));
    }
}
