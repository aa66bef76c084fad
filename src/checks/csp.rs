//! http.csp: a Content-Security-Policy **header** that limits scripts, objects and `<base>`,
//! sets `frame-ancestors` and `form-action`, and allows nothing an injected script could use.
//! Parsed as CSP Level 3 §2.2 does (policies split at commas, directives at semicolons, the
//! first of a repeated directive wins); every policy a response carries is enforced, so a
//! requirement holds when any one policy meets it (a weakness only counts when no policy
//! closes it).

use serde_json::{json, Map};

use super::input::CheckFn;
use super::page_response::{conclude, final_responses, header_lines, AddressFindings};
use super::result::{error, noting_gaps, reason, CheckResult};
use crate::model::catalogue::CheckId;
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::HttpCsp, |input| {
    let gaps = super::http::monitor_gaps(input.observations);
    noting_gaps(csp(input.observations), &gaps)
})];

/// One directive: its name (lower case) and its source list as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub sources: Vec<String>,
}

/// One policy of a header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub directives: Vec<Directive>,
}

impl Policy {
    pub fn directive(&self, name: &str) -> Option<&Directive> {
        self.directives.iter().find(|directive| directive.name == name)
    }

    /// The directive that governs `name`, falling back to `default-src` as CSP does for
    /// fetch directives.
    fn governing(&self, name: &str) -> Option<&Directive> {
        self.directive(name).or_else(|| self.directive("default-src"))
    }
}

/// Parses one serialised policy (CSP3 §2.2.1).
pub fn parse_policy(text: &str) -> Policy {
    let mut policy = Policy::default();
    for token in text.split(';') {
        let mut words = token.split_ascii_whitespace();
        let Some(name) = words.next() else { continue };
        let name = name.to_ascii_lowercase();
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') || policy.directive(&name).is_some() {
            continue;
        }
        policy.directives.push(Directive {
            name,
            sources: words.map(str::to_string).collect(),
        });
    }
    policy
}

/// Every policy of the header lines given (each line may hold several, comma-separated).
pub fn parse_header_lines(lines: &[&str]) -> Vec<Policy> {
    lines
        .iter()
        .flat_map(|line| line.split(','))
        .map(parse_policy)
        .filter(|policy| !policy.directives.is_empty())
        .collect()
}

fn keyword(source: &str, word: &str) -> bool {
    source.eq_ignore_ascii_case(word)
}

/// Whether a source list lets any site in (`*`, or a bare scheme such as `https:`).
pub fn allows_any_site(sources: &[String]) -> bool {
    sources.iter().any(|source| source == "*" || is_scheme_source(source))
}

fn is_scheme_source(source: &str) -> bool {
    source.len() > 1
        && source.ends_with(':')
        && source[..source.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn is_nonce_or_hash(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    ["'nonce-", "'sha256-", "'sha384-", "'sha512-"]
        .iter()
        .any(|prefix| lower.starts_with(prefix))
}

/// What a script or object source list lets an injected script do, each named (empty: none).
/// With a nonce or hash, CSP3 browsers ignore `'unsafe-inline'`; with `'strict-dynamic'` also
/// every host and scheme source, so those are not weaknesses there.
pub fn script_weaknesses(sources: &[String]) -> Vec<String> {
    let nonce = sources.iter().any(|s| is_nonce_or_hash(s));
    let strict_dynamic = nonce && sources.iter().any(|s| keyword(s, "'strict-dynamic'"));
    let mut weak = Vec::new();
    for source in sources {
        let lower = source.to_ascii_lowercase();
        let named = match lower.as_str() {
            "'unsafe-inline'" if !nonce => Some("'unsafe-inline'".to_string()),
            "'unsafe-eval'" => Some("'unsafe-eval'".to_string()),
            _ if strict_dynamic => None,
            "*" => Some("*".to_string()),
            "data:" | "http:" | "https:" => Some(lower.clone()),
            _ if is_scheme_source(&lower) => Some(lower.clone()),
            _ if lower.starts_with("http://") => Some(format!("http: ({source})")),
            _ if lower == "https://*" || lower.starts_with("https://*:") => Some(format!("https: ({source})")),
            _ => None,
        };
        if let Some(named) = named.filter(|n| !weak.contains(n)) {
            weak.push(named);
        }
    }
    weak
}

/// Whether a `base-uri` list keeps injected `<base>` tags out: `'none'`, `'self'` or named
/// hosts only.
fn base_uri_is_tight(sources: &[String]) -> bool {
    !sources.is_empty()
        && !allows_any_site(sources)
        && sources.iter().all(|s| !s.to_ascii_lowercase().starts_with("http://"))
}

/// What keeps a set of policies from being strict, each (en, vi) naming its directive.
pub fn weaknesses(policies: &[Policy]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (directive, what_en, what_vi) in [
        ("script-src", "scripts", "mã script"),
        ("object-src", "plugins (object-src)", "plugin (object-src)"),
    ] {
        let lists: Vec<(&str, &Directive)> = policies
            .iter()
            .filter_map(|policy| policy.governing(directive).map(|d| (d.name.as_str(), d)))
            .collect();
        if lists.is_empty() {
            found.push((
                format!("no {directive} or default-src: {what_en} may load from anywhere"),
                format!("thiếu {directive} hoặc default-src: {what_vi} nạp được từ mọi nơi"),
            ));
            continue;
        }
        let per_policy: Vec<(&str, Vec<String>)> = lists
            .iter()
            .map(|(name, d)| (*name, script_weaknesses(&d.sources)))
            .collect();
        if per_policy.iter().all(|(_, weak)| !weak.is_empty()) {
            let (name, weak) = &per_policy[0];
            let weak = weak.join(", ");
            found.push((
                format!("{name} allows {weak} for {what_en}"),
                format!("{name} cho phép {weak} với {what_vi}"),
            ));
        }
    }
    let base: Vec<&Directive> = policies.iter().filter_map(|p| p.directive("base-uri")).collect();
    if base.is_empty() {
        found.push((
            "no base-uri: an injected <base> tag can redirect the page's scripts".into(),
            "thiếu base-uri: thẻ <base> bị chèn có thể chuyển hướng script của trang".into(),
        ));
    } else if !base.iter().any(|d| base_uri_is_tight(&d.sources)) {
        found.push((
            format!("base-uri {} allows any site", base[0].sources.join(" ")),
            format!("base-uri {} cho phép mọi trang", base[0].sources.join(" ")),
        ));
    }
    for (directive, why_en, why_vi) in [
        (
            "frame-ancestors",
            "other sites may frame the page",
            "trang khác có thể nhúng khung trang",
        ),
        (
            "form-action",
            "forms may post anywhere",
            "biểu mẫu có thể gửi đến mọi nơi",
        ),
    ] {
        let set: Vec<&Directive> = policies.iter().filter_map(|p| p.directive(directive)).collect();
        if set.is_empty() {
            found.push((
                format!("no {directive}: {why_en}"),
                format!("thiếu {directive}: {why_vi}"),
            ));
        } else if set.iter().all(|d| allows_any_site(&d.sources)) {
            found.push((
                format!("{directive} {} allows any site", set[0].sources.join(" ")),
                format!("{directive} {} cho phép mọi trang", set[0].sources.join(" ")),
            ));
        }
    }
    found
}

/// The `content` of a `<meta http-equiv="Content-Security-Policy">` in a page, if any: noted,
/// but it does not count (it cannot set `frame-ancestors`, and it applies only after it).
pub fn meta_policy(body: &[u8]) -> Option<String> {
    // A <meta> policy only counts in the head: the first 64 KiB hold it on any real page.
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    let lower = text.to_ascii_lowercase();
    let at = lower
        .find("http-equiv=\"content-security-policy\"")
        .or_else(|| lower.find("http-equiv='content-security-policy'"))?;
    let start = lower[..at].rfind('<')?;
    let end = at + lower[at..].find('>')?;
    let tag = &text[start..end];
    let tag_lower = &lower[start..end];
    let content = tag_lower.find("content=")? + "content=".len();
    let quote = tag[content..].chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let value = &tag[content + 1..];
    Some(value[..value.find(quote)?].to_string())
}

pub fn csp(obs: &Observations) -> CheckResult {
    let id = CheckId::HttpCsp;
    let responses = final_responses(obs);
    if responses.is_empty() {
        return error(
            id,
            reason!(
                "no address answered, so no Content-Security-Policy to read",
                "không địa chỉ nào trả lời, chưa đọc được Content-Security-Policy"
            ),
            json!({}),
        );
    }
    let mut findings = AddressFindings::default();
    let mut by_address = Map::new();
    for (ip, response) in &responses {
        let lines = header_lines(response, "content-security-policy");
        let policies = parse_header_lines(&lines);
        let fetch = obs.address.fetches.iter().find(|fetch| fetch.ip == *ip);
        let meta = fetch.and_then(|fetch| meta_policy(&fetch.body));
        let report_only = header_lines(response, "content-security-policy-report-only");
        let weak = if policies.is_empty() {
            let (en, vi) = match (&meta, report_only.is_empty()) {
                (Some(_), _) => (
                    "no Content-Security-Policy header (a <meta> policy is noted but does not count)",
                    "thiếu tiêu đề Content-Security-Policy (chính sách trong thẻ <meta> không được tính)",
                ),
                (None, false) => (
                    "no Content-Security-Policy header (only Report-Only, which enforces nothing)",
                    "thiếu tiêu đề Content-Security-Policy (chỉ có Report-Only, không có hiệu lực)",
                ),
                (None, true) => (
                    "no Content-Security-Policy header",
                    "thiếu tiêu đề Content-Security-Policy",
                ),
            };
            vec![(en.to_string(), vi.to_string())]
        } else {
            weaknesses(&policies)
        };
        for (en, vi) in &weak {
            findings.push(*ip, format!("CSP: {en}"), format!("CSP: {vi}"));
        }
        by_address.insert(
            ip.to_string(),
            json!({
                "url": response.url,
                "content_security_policy": lines,
                "report_only": report_only,
                "meta": meta,
                "weaknesses": weak.iter().map(|(en, _)| en.as_str()).collect::<Vec<_>>(),
            }),
        );
    }
    let count = responses.len();
    let passed = reason!(
        "strict Content-Security-Policy on all {count} address(es)",
        "Content-Security-Policy chặt chẽ trên cả {count} địa chỉ"
    );
    let untested = reason!(
        "Content-Security-Policy not read on every address",
        "chưa đọc được Content-Security-Policy trên mọi địa chỉ"
    );
    conclude(id, obs, &findings, by_address, untested, passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::observations;
    use crate::checks::result::Status;
    use crate::probe::addr::IpFamily;

    const STRICT: &str =
        "default-src 'self'; script-src 'self' https://cdn.example.vn; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

    fn weak_of(policy: &str) -> Vec<String> {
        weaknesses(&parse_header_lines(&[policy]))
            .into_iter()
            .map(|(en, _)| en)
            .collect()
    }

    fn set_csp(obs: &mut Observations, family: Option<IpFamily>, values: &[&str]) {
        for fetch in &mut obs.address.fetches {
            if family.is_none_or(|f| f == fetch.family) {
                let response = fetch.responses.last_mut().unwrap();
                response
                    .headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("content-security-policy"));
                for value in values {
                    response
                        .headers
                        .push(("Content-Security-Policy".into(), value.to_string()));
                }
            }
        }
    }

    #[test]
    fn a_strict_policy_has_no_weakness() {
        assert!(weak_of(STRICT).is_empty(), "{:?}", weak_of(STRICT));
        let nonce = "script-src 'nonce-r4nd' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'";
        assert!(
            weak_of(nonce).is_empty(),
            "strict-dynamic with a nonce: {:?}",
            weak_of(nonce)
        );
    }

    #[test]
    fn each_weakness_is_named_with_its_directive() {
        let weak = weak_of("default-src 'self' 'unsafe-inline' 'unsafe-eval' data: *; frame-ancestors *");
        assert!(
            weak.iter()
                .any(|w| w.contains("default-src allows 'unsafe-inline', 'unsafe-eval', data:, * for scripts")),
            "{weak:?}"
        );
        assert!(weak.iter().any(|w| w.contains("no base-uri")), "{weak:?}");
        assert!(
            weak.iter().any(|w| w.contains("frame-ancestors * allows any site")),
            "{weak:?}"
        );
        assert!(weak.iter().any(|w| w.contains("no form-action")), "{weak:?}");
        let weak = weak_of(
            "script-src https:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'",
        );
        assert_eq!(weak, vec!["script-src allows https: for scripts"]);
        let weak =
            weak_of("script-src 'self' http://cdn.vn; base-uri 'self'; frame-ancestors 'self'; form-action 'self'");
        assert!(weak.iter().any(|w| w.contains("http: (http://cdn.vn)")), "{weak:?}");
        assert!(
            weak.iter().any(|w| w.contains("no object-src or default-src")),
            "{weak:?}"
        );
    }

    #[test]
    fn a_nonce_disables_unsafe_inline_but_not_unsafe_eval() {
        assert!(script_weaknesses(&["'nonce-a'".into(), "'unsafe-inline'".into()]).is_empty());
        assert_eq!(
            script_weaknesses(&["'sha256-x'".into(), "'unsafe-eval'".into()]),
            vec!["'unsafe-eval'"]
        );
    }

    #[test]
    fn every_policy_applies_so_a_second_strict_one_closes_the_first_ones_gap() {
        assert!(weaknesses(&parse_header_lines(&["script-src *", STRICT])).is_empty());
        assert!(weaknesses(&parse_header_lines(&[
            "script-src *, default-src 'self'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'"
        ]))
        .is_empty());
    }

    #[test]
    fn the_first_of_a_repeated_directive_wins() {
        let policy = parse_policy("script-src 'self'; SCRIPT-SRC *; ; bad/name x");
        assert_eq!(policy.directives.len(), 1);
        assert_eq!(policy.directive("script-src").unwrap().sources, vec!["'self'"]);
    }

    #[test]
    fn a_meta_policy_is_noted_but_does_not_count() {
        let mut obs = observations();
        set_csp(&mut obs, None, &[]);
        obs.address.fetches[0].body =
            br#"<html><head><meta http-equiv="Content-Security-Policy" content="default-src 'self'"></head></html>"#
                .to_vec();
        let result = csp(&obs);
        assert_eq!(result.status, Status::Warn);
        assert!(
            result
                .reason
                .en
                .contains("[203.162.4.190] CSP: no Content-Security-Policy header (a <meta> policy"),
            "{}",
            result.reason.en
        );
        assert_eq!(
            result.observed["addresses"]["203.162.4.190"]["meta"],
            "default-src 'self'"
        );
    }

    #[test]
    fn strict_on_ipv4_and_weak_on_ipv6_names_the_ipv6_address() {
        let mut obs = observations();
        set_csp(&mut obs, None, &[STRICT]);
        assert_eq!(csp(&obs).status, Status::Pass, "{}", csp(&obs).reason.en);
        set_csp(
            &mut obs,
            Some(IpFamily::Ipv6),
            &["default-src 'self' 'unsafe-inline'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'"],
        );
        let result = csp(&obs);
        assert_eq!(result.status, Status::Warn);
        assert!(
            result
                .reason
                .en
                .starts_with("[2402:800::1] CSP: default-src allows 'unsafe-inline'"),
            "{}",
            result.reason.en
        );
        assert!(!result.reason.en.contains("203.162.4.190"));
    }
}
