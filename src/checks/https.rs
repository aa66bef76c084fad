//! https.redirect and https.hsts.

use serde_json::json;

use super::input::CheckFn;
use super::result::{error, fail, not_tested, noting_gaps, pass, reason, CheckResult, Findings, Status};
use crate::model::catalogue::CheckId;
use crate::model::target::Target;
use crate::probe::http::{is_redirect, PlainHttpFacts};
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[
    (CheckId::HttpsRedirect, |input| {
        redirect(input.observations, input.target)
    }),
    (CheckId::HttpsHsts, |input| {
        let gaps = super::http::monitor_gaps(input.observations);
        noting_gaps(hsts(input.observations), &gaps)
    }),
];

/// HSTS must last at least a year (the preload list's minimum).
pub const MIN_HSTS_MAX_AGE: u64 = 31_536_000;

/// What one address's plain http:// answer means.
fn judge_plain(plain: &PlainHttpFacts, target: &Target) -> (Status, String, String) {
    let place = match plain.ip {
        Some(ip) => format!("[{ip}] "),
        None => String::new(),
    };
    if let Some(err) = &plain.error {
        let (status, en, vi) = match err.kind.as_str() {
            "refused" => (
                Status::Fail,
                "nothing answers on http:// (connection refused); visitors typing the name get no page",
                "không có dịch vụ trên http:// (từ chối kết nối)",
            ),
            "resolve" => (
                Status::Error,
                "no address to test http:// on",
                "không có địa chỉ để kiểm tra http://",
            ),
            _ => (Status::Error, "could not test http://", "không kiểm tra được http://"),
        };
        return (
            status,
            format!("{place}{en}: {}", super::http::describe_error(err)),
            format!("{place}{vi}"),
        );
    }
    let status_code = plain.status.unwrap_or_default();
    let location = plain.location.as_deref().unwrap_or_default();
    let base = url::Url::parse(&plain.url).ok();
    let next = base.and_then(|base| base.join(location).ok());
    let redirects = is_redirect(status_code);
    match next {
        Some(next) if redirects && next.scheme() == "https" && next.host_str() == Some(target.host()) => (
            Status::Pass,
            format!("{place}http:// answers {status_code} to {next}"),
            format!("{place}http:// chuyển hướng {status_code} sang {next}"),
        ),
        Some(next) if redirects && next.scheme() == "https" => (
            Status::Fail,
            format!("{place}first redirect goes to another host ({next}); HSTS cannot protect the name"),
            format!("{place}Chuyển hướng sang tên miền khác ({next}) thay vì https:// cùng tên miền"),
        ),
        Some(next) if redirects => (
            Status::Fail,
            format!("{place}redirects to {next}, not to https://"),
            format!("{place}Chuyển hướng tới {next}, không phải https://"),
        ),
        _ => (
            Status::Fail,
            format!("{place}http:// answers {status_code} without redirecting to https://"),
            format!("{place}Chưa tự chuyển sang https:// (http:// trả về {status_code})"),
        ),
    }
}

/// Plain http:// on the host, on every address of both families, answers with a redirect whose
/// first hop is https:// on the same host, and no hop of the https:// fetch goes back to http://.
pub fn redirect(obs: &Observations, target: &Target) -> CheckResult {
    let id = CheckId::HttpsRedirect;
    if !obs.probes.plain_http || obs.address.plain_http.is_empty() {
        return error(
            id,
            reason!("plain HTTP was not probed", "chưa kiểm tra HTTP thường"),
            json!({}),
        );
    }
    let downgrades: Vec<(std::net::IpAddr, url::Url)> = obs
        .address
        .fetches
        .iter()
        .filter_map(|fetch| fetch.downgrade().map(|url| (fetch.ip, url)))
        .collect();
    let observed = json!({ "plain_http": obs.address.plain_http, "downgrades": downgrades.iter().map(|(ip, url)| json!({ "ip": ip, "to": url.as_str() })).collect::<Vec<_>>() });
    if let Some((ip, url)) = downgrades.first() {
        return fail(
            id,
            reason!(
                "[{ip}] https:// redirects back to {url}: downgrades HTTPS",
                "[{ip}] https:// chuyển hướng ngược về {url} (hạ cấp về http)"
            ),
            observed,
        );
    }
    // Addresses this monitor has no route to are named, not judged (a monitor without IPv6).
    let (gaps, reachable): (Vec<&PlainHttpFacts>, Vec<&PlainHttpFacts>) = obs
        .address
        .plain_http
        .iter()
        .partition(|plain| plain.error.as_ref().is_some_and(|err| err.kind == "no_route"));
    let gaps: Vec<String> = gaps
        .iter()
        .map(|plain| {
            let message = plain.error.as_ref().map(|err| err.message.as_str()).unwrap_or_default();
            match plain.ip {
                Some(ip) => format!("[{ip}] {message}"),
                None => message.to_string(),
            }
        })
        .collect();
    if reachable.is_empty() {
        return not_tested(
            id,
            "http:// could not be tested",
            "không kiểm tra được http://",
            &gaps,
            observed,
        );
    }
    let judged: Vec<(Status, String, String)> = reachable.iter().map(|plain| judge_plain(plain, target)).collect();
    for wanted in [Status::Fail, Status::Error] {
        let hits: Vec<&(Status, String, String)> = judged.iter().filter(|(status, _, _)| *status == wanted).collect();
        if !hits.is_empty() {
            let en: Vec<&str> = hits.iter().map(|(_, en, _)| en.as_str()).collect();
            let vi: Vec<&str> = hits.iter().map(|(_, _, vi)| vi.as_str()).collect();
            return CheckResult::new(id, wanted, reason!(en.join("; "), vi.join("; ")), observed);
        }
    }
    let (_, en, vi) = &judged[0];
    let (en, vi) = if judged.len() > 1 {
        (
            format!("{en} (and the same on all {} addresses)", judged.len()),
            format!("{vi} (giống nhau trên cả {} địa chỉ)", judged.len()),
        )
    } else {
        (en.clone(), vi.clone())
    };
    noting_gaps(pass(id, reason!(en, vi), observed), &gaps)
}

/// Parses max-age out of a Strict-Transport-Security value.
pub fn hsts_max_age(value: &str) -> Option<u64> {
    value.split(';').find_map(|directive| {
        let (name, raw) = directive.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        raw.trim().trim_matches('"').parse().ok()
    })
}

/// Strict-Transport-Security with max-age ≥ one year on the site's own https responses, on
/// every address: an operator who set it on the IPv4 server and not the IPv6 one is named.
pub fn hsts(obs: &Observations) -> CheckResult {
    let id = CheckId::HttpsHsts;
    let answered: Vec<(std::net::IpAddr, Option<&str>)> = obs
        .address
        .fetches
        .iter()
        .filter_map(|fetch| Some((fetch.ip, fetch.responses.first()?.header("strict-transport-security"))))
        .collect();
    if answered.is_empty() {
        let why = reason!(
            "no https response to read HSTS from",
            "không có phản hồi https để kiểm tra HSTS"
        );
        return error(id, why, json!({}));
    }
    let mut by_address = serde_json::Map::new();
    let mut problems = Findings::default();
    let mut shortest = u64::MAX;
    for (ip, value) in &answered {
        let max_age = value.and_then(hsts_max_age);
        by_address.insert(
            ip.to_string(),
            json!({ "strict_transport_security": value, "max_age": max_age }),
        );
        match max_age {
            None => problems.push(
                format!("[{ip}] no Strict-Transport-Security header"),
                format!("[{ip}] chưa bật HSTS (thiếu Strict-Transport-Security)"),
            ),
            Some(age) if age < MIN_HSTS_MAX_AGE => problems.push(
                format!("[{ip}] HSTS max-age {age} s ({} days) is under one year", age / 86400),
                format!(
                    "[{ip}] HSTS quá ngắn: max-age {age} giây ({} ngày), cần tối thiểu một năm",
                    age / 86400
                ),
            ),
            Some(age) => shortest = shortest.min(age),
        }
    }
    let observed = json!({ "addresses": by_address, "minimum_max_age": MIN_HSTS_MAX_AGE });
    if !problems.is_empty() {
        return fail(id, problems.reason("", ""), observed);
    }
    let unanswered = super::http::untested_here(obs, |fetch| !fetch.answered(), "no answer");
    if !unanswered.is_empty() {
        return not_tested(
            id,
            "HSTS not read on every address",
            "chưa đọc được HSTS trên mọi địa chỉ",
            &unanswered,
            observed,
        );
    }
    let count = answered.len();
    pass(
        id,
        reason!(
            "HSTS max-age {shortest} on all {count} address(es)",
            "HSTS max-age {shortest} trên cả {count} địa chỉ"
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::probe::http::FetchError;

    #[test]
    fn parses_max_age_forms() {
        assert_eq!(hsts_max_age("max-age=31536000; includeSubDomains"), Some(31_536_000));
        assert_eq!(hsts_max_age("includeSubDomains; MAX-AGE=\"600\""), Some(600));
        assert_eq!(hsts_max_age("preload"), None);
    }

    #[test]
    fn hsts_missing_short_and_good() {
        let mut obs = observations();
        assert_eq!(hsts(&obs).status, Status::Pass);
        set_header(&mut obs, "strict-transport-security", "max-age=300");
        assert!(hsts(&obs).reason.en.contains("under one year"));
        obs.address.fetches[0].responses[0].headers =
            vec![("strict-transport-security".into(), "max-age=31536000".into())];
        obs.address.fetches[1].responses[0].headers = vec![("strict-transport-security".into(), "max-age=0".into())];
        let result = hsts(&obs);
        assert_verdict(
            &result,
            Status::Fail,
            "[2402:800::1] HSTS max-age 0 s (0 days) is under one year",
        );
        assert!(!result.reason.en.contains("203.162.4.190"), "{}", result.reason.en);
        assert_eq!(result.observed["addresses"]["203.162.4.190"]["max_age"], 31_536_000);
        assert_eq!(result.observed["addresses"]["2402:800::1"]["max_age"], 0);
        for fetch in &mut obs.address.fetches {
            fetch.responses[0].headers.clear();
        }
        assert_eq!(hsts(&obs).status, Status::Fail);
    }

    #[test]
    fn hsts_not_read_on_an_address_is_an_error_naming_it() {
        let mut obs = observations();
        break_fetch(&mut obs, crate::probe::addr::IpFamily::Ipv6, "refused");
        let result = hsts(&obs);
        assert_verdict(&result, Status::Error, "[2402:800::1] connection refused");
    }

    #[test]
    fn redirect_cases() {
        let target = target();
        let mut obs = observations();
        assert_eq!(redirect(&obs, &target).status, Status::Pass);
        let plain = &mut obs.address.plain_http[1];
        plain.status = Some(200);
        plain.location = None;
        let result = redirect(&obs, &target);
        assert_eq!(result.status, Status::Fail, "one family serving plain http fails");
        assert!(result.reason.vi.contains("Chưa tự chuyển"));
        assert_reason(&result, "[2402:800::1]");
        let plain = &mut obs.address.plain_http[0];
        plain.status = Some(301);
        plain.location = Some("https://www.example.com/".into());
        assert!(redirect(&obs, &target).reason.en.contains("another host"));
        let plain = &mut obs.address.plain_http[0];
        plain.error = Some(FetchError {
            phase: crate::probe::http::Phase::Connect,
            kind: "refused".into(),
            message: "refused".into(),
        });
        assert_eq!(redirect(&obs, &target).status, Status::Fail);
    }

    #[test]
    fn https_redirecting_back_to_http_is_a_downgrade() {
        let target = target();
        let mut obs = observations();
        let fetch = &mut obs.address.fetches[0];
        fetch.responses[0].status = 301;
        fetch.responses[0].location = Some("http://example.vn/home".into());
        let mut landing = fetch.responses[0].clone();
        landing.url = "http://example.vn/home".into();
        landing.status = 200;
        landing.location = None;
        fetch.responses.push(landing);
        let result = redirect(&obs, &target);
        assert_verdict(&result, Status::Fail, "downgrades HTTPS");
    }
}
