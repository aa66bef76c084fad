//! https.redirect and https.hsts.

use serde_json::json;

use super::{CheckId, CheckResult, Reason, Status};
use crate::probe::Observations;
use crate::target::Target;

/// HSTS must last at least a year (the preload list's minimum).
pub const MIN_HSTS_MAX_AGE: u64 = 31_536_000;

/// Plain http:// on the host answers with a redirect whose first hop is https:// on the same host.
pub fn redirect(obs: &Observations, target: &Target) -> CheckResult {
    let id = CheckId::HttpsRedirect;
    let Some(plain) = &obs.plain_http else {
        return CheckResult::new(
            id,
            Status::Error,
            Reason::new("plain HTTP was not probed", "chưa kiểm tra HTTP thường"),
            json!({}),
        );
    };
    let observed = json!(plain);
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
        return CheckResult::new(id, status, Reason::new(format!("{en}: {}", err.message), vi), observed);
    }
    let status_code = plain.status.unwrap_or_default();
    let location = plain.location.as_deref().unwrap_or_default();
    let base = url::Url::parse(&plain.url).ok();
    let next = base.and_then(|base| base.join(location).ok());
    let is_redirect = matches!(status_code, 301 | 302 | 303 | 307 | 308);
    match next {
        Some(next) if is_redirect && next.scheme() == "https" && next.host_str() == Some(target.host()) => {
            CheckResult::new(
                id,
                Status::Pass,
                Reason::new(
                    format!("http:// answers {status_code} to {next}"),
                    format!("http:// chuyển hướng {status_code} sang {next}"),
                ),
                observed,
            )
        }
        Some(next) if is_redirect && next.scheme() == "https" => CheckResult::new(
            id,
            Status::Fail,
            Reason::new(
                format!("first redirect goes to another host ({next}); HSTS cannot protect the name"),
                format!("Chuyển hướng sang tên miền khác ({next}) thay vì https:// cùng tên miền"),
            ),
            observed,
        ),
        Some(next) if is_redirect => CheckResult::new(
            id,
            Status::Fail,
            Reason::new(
                format!("redirects to {next}, not to https://"),
                format!("Chuyển hướng tới {next}, không phải https://"),
            ),
            observed,
        ),
        _ => CheckResult::new(
            id,
            Status::Fail,
            Reason::new(
                format!("http:// answers {status_code} without redirecting to https://"),
                format!("Chưa tự chuyển sang https:// (http:// trả về {status_code})"),
            ),
            observed,
        ),
    }
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

/// Strict-Transport-Security with max-age ≥ one year on the site's own https responses.
pub fn hsts(obs: &Observations) -> CheckResult {
    let id = CheckId::HttpsHsts;
    let first_responses: Vec<_> = obs.fetches.iter().filter_map(|fetch| fetch.responses.first()).collect();
    if first_responses.is_empty() {
        return CheckResult::new(
            id,
            Status::Error,
            Reason::new(
                "no https response to read HSTS from",
                "không có phản hồi https để kiểm tra HSTS",
            ),
            json!({}),
        );
    }
    let values: Vec<Option<&str>> = first_responses
        .iter()
        .map(|response| response.header("strict-transport-security"))
        .collect();
    let observed = json!({ "strict_transport_security": values, "minimum_max_age": MIN_HSTS_MAX_AGE });
    let ages: Vec<Option<u64>> = values.iter().map(|value| value.and_then(hsts_max_age)).collect();
    if ages.iter().any(Option::is_none) {
        return CheckResult::new(
            id,
            Status::Fail,
            Reason::new(
                "no Strict-Transport-Security header",
                "Chưa bật HSTS (thiếu Strict-Transport-Security)",
            ),
            observed,
        );
    }
    let shortest = ages.iter().flatten().min().copied().unwrap_or_default();
    if shortest < MIN_HSTS_MAX_AGE {
        let days = shortest / 86400;
        return CheckResult::new(
            id,
            Status::Fail,
            Reason::new(
                format!("HSTS max-age {shortest} s ({days} days) is under one year"),
                format!("HSTS quá ngắn: max-age {shortest} giây ({days} ngày), cần tối thiểu một năm"),
            ),
            observed,
        );
    }
    CheckResult::new(
        id,
        Status::Pass,
        Reason::new(format!("HSTS max-age {shortest}"), format!("HSTS max-age {shortest}")),
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
        for fetch in &mut obs.fetches {
            fetch.responses[0].headers.clear();
        }
        assert_eq!(hsts(&obs).status, Status::Fail);
    }

    #[test]
    fn redirect_cases() {
        let target = target();
        let mut obs = observations();
        assert_eq!(redirect(&obs, &target).status, Status::Pass);
        let plain = obs.plain_http.as_mut().unwrap();
        plain.status = Some(200);
        plain.location = None;
        assert!(redirect(&obs, &target).reason.vi.contains("Chưa tự chuyển"));
        let plain = obs.plain_http.as_mut().unwrap();
        plain.status = Some(301);
        plain.location = Some("https://www.example.com/".into());
        assert!(redirect(&obs, &target).reason.en.contains("another host"));
        let plain = obs.plain_http.as_mut().unwrap();
        plain.error = Some(FetchError {
            phase: crate::probe::http::Phase::Connect,
            kind: "refused".into(),
            message: "refused".into(),
        });
        assert_eq!(redirect(&obs, &target).status, Status::Fail);
    }
}
