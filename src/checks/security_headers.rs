//! http.security_headers: framing limited, `nosniff`, and a referrer policy that does not leak,
//! on the final response of every address. Header values are combined the way browsers do:
//! the first X-Frame-Options value wins, a CSP `frame-ancestors` replaces X-Frame-Options
//! (HTML Standard, "check a navigation response's adherence to X-Frame-Options"), the first
//! X-Content-Type-Options value counts (Fetch Standard, "determine nosniff"), and the last
//! valid Referrer-Policy token wins (Referrer Policy §8.1).

use serde_json::{json, Map};

use super::csp;
use super::input::CheckFn;
use super::page_response::{conclude, final_responses, header_lines, header_values, AddressFindings};
use super::result::{error, noting_gaps, reason, CheckResult};
use crate::model::catalogue::CheckId;
use crate::probe::http::ResponseFacts;
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::HttpSecurityHeaders, |input| {
    let gaps = super::http::monitor_gaps(input.observations);
    noting_gaps(security_headers(input.observations), &gaps)
})];

/// Referrer policies that send no full URL to another origin.
const TIGHT_REFERRER_POLICIES: [&str; 4] = [
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
];
/// Referrer policies that send the URL, or the origin over plain http, to other sites.
const LEAKING_REFERRER_POLICIES: [&str; 4] = [
    "unsafe-url",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
];

/// How one response limits who may frame it.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// `frame-ancestors` in an enforced CSP limits it (X-Frame-Options is then ignored).
    FrameAncestors(String),
    /// X-Frame-Options DENY or SAMEORIGIN.
    XFrameOptions(String),
    /// Framing is not limited; the text says why.
    Open(&'static str, &'static str),
}

/// Framing as a browser decides it for this response.
pub fn framing(response: &ResponseFacts) -> Framing {
    let policies = csp::parse_header_lines(&header_lines(response, "content-security-policy"));
    let ancestors: Vec<&csp::Directive> = policies
        .iter()
        .filter_map(|policy| policy.directive("frame-ancestors"))
        .collect();
    if !ancestors.is_empty() {
        return match ancestors
            .iter()
            .find(|directive| !csp::allows_any_site(&directive.sources))
        {
            Some(limiting) => Framing::FrameAncestors(limiting.sources.join(" ")),
            None => Framing::Open(
                "CSP frame-ancestors allows any site to frame the page",
                "CSP frame-ancestors cho phép mọi trang nhúng khung trang này",
            ),
        };
    }
    match header_values(response, "x-frame-options").first() {
        None => Framing::Open(
            "no X-Frame-Options (nor CSP frame-ancestors): any site can frame the page (clickjacking)",
            "thiếu X-Frame-Options (và CSP frame-ancestors): trang khác có thể nhúng khung trang này (clickjacking)",
        ),
        Some(value) if value.eq_ignore_ascii_case("deny") || value.eq_ignore_ascii_case("sameorigin") => {
            Framing::XFrameOptions(value.to_ascii_uppercase())
        }
        Some(value) if value.to_ascii_lowercase().starts_with("allow-from") => Framing::Open(
            "X-Frame-Options ALLOW-FROM is ignored by browsers: framing is not limited",
            "X-Frame-Options ALLOW-FROM bị trình duyệt bỏ qua: chưa chống nhúng khung",
        ),
        Some(_) => Framing::Open(
            "X-Frame-Options has a value browsers do not know: framing is not limited",
            "X-Frame-Options có giá trị trình duyệt không hiểu: chưa chống nhúng khung",
        ),
    }
}

/// The referrer policy a browser applies: the last token it knows.
pub fn referrer_policy(response: &ResponseFacts) -> Option<String> {
    header_values(response, "referrer-policy")
        .into_iter()
        .rev()
        .map(str::to_ascii_lowercase)
        .find(|token| {
            TIGHT_REFERRER_POLICIES.contains(&token.as_str()) || LEAKING_REFERRER_POLICIES.contains(&token.as_str())
        })
}

/// Whether the response forbids MIME sniffing (the first X-Content-Type-Options value).
pub fn nosniff(response: &ResponseFacts) -> bool {
    header_values(response, "x-content-type-options")
        .first()
        .is_some_and(|value| value.eq_ignore_ascii_case("nosniff"))
}

pub fn security_headers(obs: &Observations) -> CheckResult {
    let id = CheckId::HttpSecurityHeaders;
    let responses = final_responses(obs);
    if responses.is_empty() {
        return error(
            id,
            reason!(
                "no address answered, so no response headers to read",
                "không địa chỉ nào trả lời, chưa đọc được tiêu đề phản hồi"
            ),
            json!({}),
        );
    }
    let mut findings = AddressFindings::default();
    let mut by_address = Map::new();
    for (ip, response) in &responses {
        let framing = framing(response);
        if let Framing::Open(en, vi) = framing {
            findings.push(*ip, en, vi);
        }
        let sniff = nosniff(response);
        if !sniff {
            findings.push(
                *ip,
                "no X-Content-Type-Options: nosniff",
                "thiếu X-Content-Type-Options: nosniff",
            );
        }
        let referrer = referrer_policy(response);
        match referrer.as_deref() {
            None => findings.push(*ip, "no Referrer-Policy", "thiếu Referrer-Policy"),
            Some(policy) if LEAKING_REFERRER_POLICIES.contains(&policy) => findings.push(
                *ip,
                format!("Referrer-Policy {policy} sends page addresses to other sites"),
                format!("Referrer-Policy {policy} gửi địa chỉ trang cho trang khác"),
            ),
            Some(_) => {}
        }
        by_address.insert(
            ip.to_string(),
            json!({
                "url": response.url,
                "x_frame_options": header_lines(response, "x-frame-options"),
                "x_content_type_options": header_lines(response, "x-content-type-options"),
                "referrer_policy": header_lines(response, "referrer-policy"),
                "framing": framing_label(&framing),
                "nosniff": sniff,
                "effective_referrer_policy": referrer,
            }),
        );
    }
    let count = responses.len();
    let passed = reason!(
        "framing limited, nosniff and a tight referrer policy on all {count} address(es)",
        "chống nhúng khung, nosniff và chính sách referrer chặt trên cả {count} địa chỉ"
    );
    let untested = reason!(
        "security headers not read on every address",
        "chưa đọc được tiêu đề bảo mật trên mọi địa chỉ"
    );
    conclude(id, obs, &findings, by_address, untested, passed)
}

fn framing_label(framing: &Framing) -> String {
    match framing {
        Framing::FrameAncestors(sources) => format!("frame-ancestors {sources}"),
        Framing::XFrameOptions(value) => format!("X-Frame-Options {value}"),
        Framing::Open(..) => "not limited".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{break_fetch, observations};
    use crate::checks::result::Status;
    use crate::probe::addr::IpFamily;

    fn set(obs: &mut Observations, family: Option<IpFamily>, headers: &[(&str, &str)]) {
        for fetch in &mut obs.address.fetches {
            if family.is_none_or(|f| f == fetch.family) {
                let response = fetch.responses.last_mut().unwrap();
                response.headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            }
        }
    }

    const GOOD: [(&str, &str); 3] = [
        ("X-Frame-Options", "SAMEORIGIN"),
        ("x-content-type-options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ];

    #[test]
    fn the_healthy_fixture_passes() {
        let obs = observations();
        assert_eq!(
            security_headers(&obs).status,
            Status::Pass,
            "{:?}",
            security_headers(&obs).reason
        );
    }

    #[test]
    fn a_header_forgotten_on_the_ipv6_server_is_named_by_address() {
        let mut obs = observations();
        set(&mut obs, Some(IpFamily::Ipv6), &GOOD[1..]);
        let result = security_headers(&obs);
        assert_eq!(result.status, Status::Warn);
        assert!(
            result.reason.en.starts_with("[2402:800::1] no X-Frame-Options"),
            "{}",
            result.reason.en
        );
        assert!(!result.reason.en.contains("203.162.4.190"), "{}", result.reason.en);
    }

    #[test]
    fn first_x_frame_options_wins_and_allow_from_is_ignored() {
        let mut obs = observations();
        set(
            &mut obs,
            None,
            &[
                ("X-Frame-Options", "ALLOW-FROM https://a.vn/"),
                ("X-Frame-Options", "DENY"),
                GOOD[1],
                GOOD[2],
            ],
        );
        assert!(security_headers(&obs).reason.en.contains("ALLOW-FROM is ignored"));
        set(
            &mut obs,
            None,
            &[("X-Frame-Options", "deny, allow-from x"), GOOD[1], GOOD[2]],
        );
        assert_eq!(security_headers(&obs).status, Status::Pass);
    }

    #[test]
    fn csp_frame_ancestors_replaces_x_frame_options() {
        let mut obs = observations();
        set(
            &mut obs,
            None,
            &[("Content-Security-Policy", "frame-ancestors 'self'"), GOOD[1], GOOD[2]],
        );
        assert_eq!(security_headers(&obs).status, Status::Pass);
        set(
            &mut obs,
            None,
            &[
                ("Content-Security-Policy", "frame-ancestors *"),
                GOOD[0],
                GOOD[1],
                GOOD[2],
            ],
        );
        assert!(security_headers(&obs)
            .reason
            .en
            .contains("frame-ancestors allows any site"));
    }

    #[test]
    fn the_last_known_referrer_token_wins() {
        let mut obs = observations();
        set(
            &mut obs,
            None,
            &[
                GOOD[0],
                GOOD[1],
                ("referrer-policy", "no-referrer, unsafe-url"),
                ("Referrer-Policy", "bogus"),
            ],
        );
        let result = security_headers(&obs);
        assert!(
            result.reason.en.contains("Referrer-Policy unsafe-url sends"),
            "{}",
            result.reason.en
        );
        set(
            &mut obs,
            None,
            &[GOOD[0], GOOD[1], ("Referrer-Policy", "unsafe-url, same-origin")],
        );
        assert_eq!(security_headers(&obs).status, Status::Pass);
        set(
            &mut obs,
            None,
            &[GOOD[0], ("X-Content-Type-Options", "nosniff-ish"), GOOD[2]],
        );
        assert!(security_headers(&obs).reason.en.contains("no X-Content-Type-Options"));
    }

    #[test]
    fn an_address_that_did_not_answer_is_an_error_and_none_answering_too() {
        let mut obs = observations();
        break_fetch(&mut obs, IpFamily::Ipv6, "refused");
        let result = security_headers(&obs);
        assert_eq!(result.status, Status::Error);
        assert!(
            result.reason.en.contains("[2402:800::1] connection refused"),
            "{}",
            result.reason.en
        );
        break_fetch(&mut obs, IpFamily::Ipv4, "refused");
        assert_eq!(security_headers(&obs).status, Status::Error);
    }
}
