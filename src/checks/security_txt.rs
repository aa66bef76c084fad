//! http.security_txt: `/.well-known/security.txt` (RFC 9116) on every address tells whom to
//! report a vulnerability to. The parser follows the RFC's grammar (§4): `Field: value`
//! lines, `#` comments, blank lines, and the OpenPGP cleartext frame of a signed file (RFC 4880
//! §7, dash-escaped lines included). Unknown fields are allowed, as the RFC says.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::input::CheckFn;
use super::page_response::AddressFindings;
use super::result::{error, fail, not_tested, noting_gaps, pass, reason, warn, CheckResult, Reason};
use crate::model::calendar::parse_rfc3339;
use crate::model::catalogue::CheckId;
use crate::probe::security_txt::{AddressSecurityTxt, SecurityTxtAnswer};
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::HttpSecurityTxt, |input| {
    let gaps = super::http::monitor_gaps(input.observations);
    noting_gaps(security_txt(input.observations, input.now), &gaps)
})];

/// RFC 9116 §2.5.5: an `Expires` more than a year ahead is too far (files go stale).
const MAX_EXPIRES_AHEAD: i64 = 366 * 86_400;
/// A reason quotes at most this much of an offending line.
const QUOTE_CHARS: usize = 80;

/// One field as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    /// The name, lower-cased (field names are case-insensitive).
    pub name: String,
    pub value: String,
    /// 1-based line number in the file.
    pub line: usize,
}

/// A line the grammar does not allow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadLine {
    pub line: usize,
    pub text: String,
    pub why: &'static str,
}

/// A parsed security.txt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SecurityTxt {
    pub fields: Vec<Field>,
    /// Inside an OpenPGP cleartext signature frame.
    pub signed: bool,
    pub bad_lines: Vec<BadLine>,
}

impl SecurityTxt {
    pub fn values(&self, name: &str) -> Vec<&Field> {
        self.fields.iter().filter(|field| field.name == name).collect()
    }
}

fn quote(text: &str) -> String {
    if text.chars().count() <= QUOTE_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(QUOTE_CHARS).collect();
    cut.push('…');
    cut
}

/// Whether `name` is an RFC 5322 field name: printable ASCII without a colon or space.
fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// Parses a file by RFC 9116's grammar. Never fails: what does not parse is listed.
pub fn parse(text: &str) -> SecurityTxt {
    let mut parsed = SecurityTxt::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let mut index = 0;
    // The cleartext frame: the armour line, hash headers up to a blank line, then the text.
    if lines
        .first()
        .is_some_and(|line| line.trim_end() == "-----BEGIN PGP SIGNED MESSAGE-----")
    {
        parsed.signed = true;
        index = 1;
        while index < lines.len() && !lines[index].trim().is_empty() {
            if !lines[index].starts_with("Hash:") {
                parsed.bad_lines.push(BadLine {
                    line: index + 1,
                    text: quote(lines[index]),
                    why: "not an armour header (\"Hash: …\") of the signed message",
                });
            }
            index += 1;
        }
        index += 1;
    }
    let mut signature_seen = false;
    while index < lines.len() {
        let number = index + 1;
        let raw = lines[index];
        index += 1;
        if parsed.signed && raw.trim_end() == "-----BEGIN PGP SIGNATURE-----" {
            signature_seen = true;
            // The signature block runs to its end line; what follows must be empty.
            while index < lines.len() && lines[index].trim_end() != "-----END PGP SIGNATURE-----" {
                index += 1;
            }
            if index >= lines.len() {
                parsed.bad_lines.push(BadLine {
                    line: number,
                    text: quote(raw),
                    why: "the signature has no \"-----END PGP SIGNATURE-----\" line",
                });
            }
            index += 1;
            if let Some((offset, rest)) = lines.iter().enumerate().skip(index).find(|(_, l)| !l.trim().is_empty()) {
                parsed.bad_lines.push(BadLine {
                    line: offset + 1,
                    text: quote(rest),
                    why: "text after the signature is not signed",
                });
            }
            break;
        }
        // RFC 4880 §7.1: a signed line that starts with a dash is escaped with "- ".
        let line = if parsed.signed {
            raw.strip_prefix("- ").unwrap_or(raw)
        } else {
            raw
        };
        let trimmed = line.trim_end_matches([' ', '\t']);
        if trimmed.trim_start().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.split_once(':') {
            Some((name, value)) if is_field_name(name) => parsed.fields.push(Field {
                name: name.to_ascii_lowercase(),
                value: value.trim_matches([' ', '\t']).to_string(),
                line: number,
            }),
            _ => parsed.bad_lines.push(BadLine {
                line: number,
                text: quote(trimmed),
                why: "neither a \"Field: value\" line nor a # comment",
            }),
        }
    }
    if parsed.signed && !signature_seen {
        parsed.bad_lines.push(BadLine {
            line: lines.len(),
            text: String::new(),
            why: "a signed message without its \"-----BEGIN PGP SIGNATURE-----\" block",
        });
    }
    parsed
}

/// How good one file is, by RFC 9116's rules.
#[derive(Debug, Default)]
pub struct Judgement {
    /// Breaks a MUST: the file is invalid.
    pub invalid: Vec<(String, String)>,
    /// Allowed, but worth fixing.
    pub weak: Vec<(String, String)>,
}

/// Whether a media type is `text/plain; charset=utf-8` (case-insensitive, quotes allowed).
pub fn is_plain_utf8(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else { return false };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("text/plain") {
        return false;
    }
    parts.any(|parameter| {
        let Some((name, value)) = parameter.split_once('=') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("charset") && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
    })
}

fn same_location(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
                && a.path() == b.path()
        }
        _ => false,
    }
}

/// Judges a served file found at `url` with `content_type`, as of `now`.
pub fn judge(file: &SecurityTxt, url: &str, content_type: Option<&str>, now: i64) -> Judgement {
    let mut out = Judgement::default();
    if !is_plain_utf8(content_type) {
        let shown = content_type.unwrap_or("none");
        out.invalid.push((
            format!("Content-Type is {shown}, not text/plain; charset=utf-8"),
            format!("Content-Type là {shown}, không phải text/plain; charset=utf-8"),
        ));
    }
    for bad in &file.bad_lines {
        let (line, text, why) = (bad.line, &bad.text, bad.why);
        out.invalid.push((
            format!("line {line} \"{text}\": {why}"),
            format!("dòng {line} \"{text}\" sai cú pháp ({why})"),
        ));
    }
    let contacts = file.values("contact");
    let usable_contact = contacts.iter().any(|field| {
        let value = field.value.to_ascii_lowercase();
        value.starts_with("mailto:") || value.starts_with("https://") || value.starts_with("tel:")
    });
    for field in contacts
        .iter()
        .filter(|f| f.value.to_ascii_lowercase().starts_with("http://"))
    {
        let (line, value) = (field.line, quote(&field.value));
        out.invalid.push((
            format!("line {line} \"Contact: {value}\": a web contact must use https"),
            format!("dòng {line} \"Contact: {value}\": địa chỉ web phải dùng https"),
        ));
    }
    if !usable_contact {
        out.invalid.push((
            "no Contact: field with a mailto:, https: or tel: address".into(),
            "thiếu trường Contact: với địa chỉ mailto:, https: hoặc tel:".into(),
        ));
    }
    let expires = file.values("expires");
    match expires.as_slice() {
        [] => out
            .invalid
            .push(("no Expires: field".into(), "thiếu trường Expires:".into())),
        [field] => {
            let (line, value) = (field.line, quote(&field.value));
            match parse_rfc3339(&field.value).filter(|_| field.value.trim().len() > 10) {
                None => out.invalid.push((
                    format!("line {line} \"Expires: {value}\" is not an RFC 3339 date-time"),
                    format!("dòng {line} \"Expires: {value}\" không đúng định dạng ngày giờ RFC 3339"),
                )),
                Some(at) if at <= now => out.invalid.push((
                    format!("line {line} \"Expires: {value}\" has passed"),
                    format!("dòng {line} \"Expires: {value}\" đã hết hạn"),
                )),
                Some(at) if at - now > MAX_EXPIRES_AHEAD => out.weak.push((
                    format!("line {line} \"Expires: {value}\" is more than a year ahead"),
                    format!("dòng {line} \"Expires: {value}\" xa hơn một năm"),
                )),
                Some(_) => {}
            }
        }
        [_, second, ..] => {
            let n = expires.len();
            let line = second.line;
            out.invalid.push((
                format!("Expires: appears {n} times (line {line} again); exactly one is allowed"),
                format!("trường Expires: xuất hiện {n} lần (lặp lại ở dòng {line}); chỉ được có một"),
            ));
        }
    }
    let languages = file.values("preferred-languages");
    if languages.len() > 1 {
        let line = languages[1].line;
        out.invalid.push((
            format!("Preferred-Languages: appears again on line {line}; at most one is allowed"),
            format!("trường Preferred-Languages: lặp lại ở dòng {line}; chỉ được có một"),
        ));
    }
    let canonical = file.values("canonical");
    if !canonical.is_empty() && !canonical.iter().any(|field| same_location(&field.value, url)) {
        let (line, value) = (canonical[0].line, quote(&canonical[0].value));
        out.invalid.push((
            format!("line {line} \"Canonical: {value}\" names another location than {url}"),
            format!("dòng {line} \"Canonical: {value}\" trỏ tới nơi khác, không phải {url}"),
        ));
    }
    out
}

/// What one address serves, judged.
enum AddressVerdict {
    Valid { legacy: bool, weak: Vec<(String, String)> },
    Invalid(Vec<(String, String)>),
    Missing(String, String),
    Untested(String),
}

/// Whether an answer looks like a security.txt at all: a 200 that is plain text, or that at
/// least holds the fields one must (a site answering every path with its HTML home page has
/// no security.txt, it has a catch-all route).
fn looks_served(answer: &SecurityTxtAnswer, file: &SecurityTxt) -> bool {
    answer.served()
        && (answer
            .content_type
            .as_deref()
            .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("text/plain"))
            || !file.values("contact").is_empty()
            || !file.values("expires").is_empty())
}

fn why_missing(answer: &SecurityTxtAnswer) -> String {
    if let Some(elsewhere) = &answer.redirect_elsewhere {
        return format!("redirects to another host ({elsewhere}), not followed");
    }
    match answer.status {
        Some(200) => format!(
            "answers 200 with {}, not a security.txt",
            answer.content_type.as_deref().unwrap_or("no Content-Type")
        ),
        Some(status) => format!("status {status}"),
        None => "no answer".into(),
    }
}

fn judge_address(facts: &AddressSecurityTxt, now: i64) -> (AddressVerdict, Value) {
    let well_known = &facts.well_known;
    if let Some(err) = &well_known.error {
        let why = super::http::describe_error(err);
        return (AddressVerdict::Untested(why), json!({ "well_known": well_known }));
    }
    let parsed = parse(&well_known.body);
    if looks_served(well_known, &parsed) {
        let judged = judge(&parsed, &well_known.final_url, well_known.content_type.as_deref(), now);
        let observed = json!({ "well_known": well_known, "file": parsed, "signed": parsed.signed });
        if !judged.invalid.is_empty() {
            return (AddressVerdict::Invalid(judged.invalid), observed);
        }
        return (
            AddressVerdict::Valid {
                legacy: false,
                weak: judged.weak,
            },
            observed,
        );
    }
    let first_why = why_missing(well_known);
    let Some(legacy) = facts.legacy.as_ref() else {
        return (
            AddressVerdict::Missing(first_why, String::new()),
            json!({ "well_known": well_known }),
        );
    };
    let legacy_parsed = parse(&legacy.body);
    if legacy.error.is_none() && looks_served(legacy, &legacy_parsed) {
        let judged = judge(&legacy_parsed, &legacy.final_url, legacy.content_type.as_deref(), now);
        let observed = json!({ "well_known": well_known, "legacy": legacy, "file": legacy_parsed, "signed": legacy_parsed.signed });
        if !judged.invalid.is_empty() {
            return (AddressVerdict::Invalid(judged.invalid), observed);
        }
        return (
            AddressVerdict::Valid {
                legacy: true,
                weak: judged.weak,
            },
            observed,
        );
    }
    let legacy_why = match &legacy.error {
        Some(err) => super::http::describe_error(err),
        None => why_missing(legacy),
    };
    (
        AddressVerdict::Missing(first_why, legacy_why),
        json!({ "well_known": well_known, "legacy": legacy }),
    )
}

pub fn security_txt(obs: &Observations, now: i64) -> CheckResult {
    let id = CheckId::HttpSecurityTxt;
    if !obs.address.fetches.iter().any(|fetch| fetch.answered()) {
        return error(
            id,
            reason!(
                "no address answered, so security.txt could not be asked for",
                "không địa chỉ nào trả lời, chưa hỏi được security.txt"
            ),
            json!({}),
        );
    }
    let mut invalid = AddressFindings::default();
    let mut weak = AddressFindings::default();
    let mut untested = super::http::untested_here(obs, |fetch| !fetch.answered(), "no answer");
    let mut by_address = Map::new();
    let mut valid = 0;
    for fetch in obs.address.fetches.iter().filter(|fetch| fetch.answered()) {
        let ip: IpAddr = fetch.ip;
        let Some(facts) = obs.address.security_txt.iter().find(|facts| facts.ip == ip) else {
            untested.push(format!("[{ip}] security.txt was not asked for"));
            continue;
        };
        let (verdict, observed) = judge_address(facts, now);
        by_address.insert(ip.to_string(), observed);
        match verdict {
            AddressVerdict::Untested(why) => untested.push(format!("[{ip}] {why}")),
            AddressVerdict::Invalid(problems) => {
                for (en, vi) in problems {
                    invalid.push(ip, format!("security.txt {en}"), format!("security.txt {vi}"));
                }
            }
            AddressVerdict::Missing(first, legacy) => {
                let legacy_en = if legacy.is_empty() {
                    String::new()
                } else {
                    format!(", /security.txt {legacy}")
                };
                let legacy_vi = if legacy.is_empty() {
                    String::new()
                } else {
                    format!(", /security.txt {legacy}")
                };
                weak.push(
                    ip,
                    format!("no security.txt (/.well-known/security.txt {first}{legacy_en}): researchers have no one to report to"),
                    format!("chưa có security.txt (/.well-known/security.txt {first}{legacy_vi}): không có nơi tiếp nhận báo cáo lỗ hổng"),
                );
            }
            AddressVerdict::Valid { legacy, weak: notes } => {
                valid += 1;
                if legacy {
                    weak.push(
                        ip,
                        "security.txt found only at the legacy /security.txt, not /.well-known/security.txt",
                        "security.txt chỉ có ở vị trí cũ /security.txt, chưa có ở /.well-known/security.txt",
                    );
                }
                for (en, vi) in notes {
                    weak.push(ip, format!("security.txt {en}"), format!("security.txt {vi}"));
                }
            }
        }
    }
    let observed = json!({ "addresses": Value::Object(by_address), "not_tested": untested });
    if !invalid.is_empty() {
        return fail(id, invalid.reason(), observed);
    }
    if !untested.is_empty() {
        return not_tested(
            id,
            "security.txt not read on every address",
            "chưa đọc được security.txt trên mọi địa chỉ",
            &untested,
            observed,
        );
    }
    if !weak.is_empty() {
        return warn(id, weak.reason(), observed);
    }
    pass(
        id,
        Reason::new(
            format!("a valid security.txt on all {valid} address(es)"),
            format!("security.txt hợp lệ trên cả {valid} địa chỉ"),
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{observations, NOW};
    use crate::checks::result::Status;

    const URL: &str = "https://example.vn/.well-known/security.txt";

    fn good(expires: &str) -> String {
        format!("# Báo cáo lỗ hổng\nContact: mailto:soc@example.vn\nContact: https://example.vn/lien-he\nExpires: {expires}\nPreferred-Languages: vi, en\nCanonical: {URL}\n")
    }

    fn set_file(obs: &mut Observations, body: &str, content_type: &str) {
        for facts in &mut obs.address.security_txt {
            facts.well_known.body = body.to_string();
            facts.well_known.bytes = body.len();
            facts.well_known.content_type = Some(content_type.to_string());
        }
    }

    #[test]
    fn the_healthy_fixture_passes() {
        let result = security_txt(&observations(), NOW);
        assert_eq!(result.status, Status::Pass, "{}", result.reason.en);
    }

    #[test]
    fn a_signed_file_parses_with_dash_escapes() {
        let text = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n- # dash-escaped comment\nContact: mailto:a@b.vn\r\nExpires: 2027-06-01T00:00:00Z\n-----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCgAdFiEE\n-----END PGP SIGNATURE-----\n";
        let file = parse(text);
        assert!(file.signed && file.bad_lines.is_empty(), "{file:?}");
        assert_eq!(file.values("contact")[0].value, "mailto:a@b.vn");
        assert_eq!(file.values("expires")[0].line, 6);
        let unsigned_tail = format!("{text}Contact: mailto:evil@x.vn\n");
        assert!(parse(&unsigned_tail)
            .bad_lines
            .iter()
            .any(|b| b.why.contains("not signed")));
    }

    #[test]
    fn each_invalid_case_quotes_its_line() {
        let judged = |body: &str, ct: &str| {
            judge(&parse(body), URL, Some(ct), NOW)
                .invalid
                .into_iter()
                .map(|(en, _)| en)
                .collect::<Vec<_>>()
        };
        let plain = "text/plain; charset=utf-8";
        assert!(judged(&good("2027-06-01T00:00:00Z"), plain).is_empty());
        assert!(judged(&good("2027-06-01T00:00:00Z"), "text/plain")
            .iter()
            .any(|e| e.contains("Content-Type is text/plain,")));
        assert!(judged("Expires: 2027-06-01T00:00:00Z\n", plain)
            .iter()
            .any(|e| e.contains("no Contact")));
        assert!(judged("Contact: mailto:a@b.vn\n", plain)
            .iter()
            .any(|e| e == "no Expires: field"));
        let past = judged(&good("2020-01-01T00:00:00Z"), plain);
        assert!(
            past.iter()
                .any(|e| e.contains("line 4 \"Expires: 2020-01-01T00:00:00Z\" has passed")),
            "{past:?}"
        );
        let twice = format!("{}Expires: 2027-07-01T00:00:00Z\n", good("2027-06-01T00:00:00Z"));
        assert!(judged(&twice, plain).iter().any(|e| e.contains("appears 2 times")));
        let other = good("2027-06-01T00:00:00Z").replace(URL, "https://other.vn/.well-known/security.txt");
        assert!(judged(&other, plain)
            .iter()
            .any(|e| e.contains("names another location")));
        let junk = format!("{}this line is junk\n", good("2027-06-01T00:00:00Z"));
        assert!(
            judged(&junk, plain)
                .iter()
                .any(|e| e.contains("line 7 \"this line is junk\"")),
            "{:?}",
            judged(&junk, plain)
        );
        assert!(judged("Contact: http://x.vn/\nExpires: 2027-06-01T00:00:00Z\n", plain)
            .iter()
            .any(|e| e.contains("must use https")));
        assert!(judged("Contact: mailto:a@b.vn\nExpires: 2027-06-01\n", plain)
            .iter()
            .any(|e| e.contains("not an RFC 3339")));
    }

    #[test]
    fn expires_more_than_a_year_ahead_is_a_warning() {
        let mut obs = observations();
        set_file(&mut obs, &good("2029-01-01T00:00:00Z"), "text/plain; charset=utf-8");
        let result = security_txt(&obs, NOW);
        assert_eq!(result.status, Status::Warn, "{}", result.reason.en);
        assert!(result.reason.en.contains("more than a year ahead"));
    }

    #[test]
    fn a_catch_all_html_page_is_no_security_txt_and_the_legacy_file_is_a_warning() {
        let mut obs = observations();
        set_file(&mut obs, "<html>home</html>", "text/html");
        for facts in &mut obs.address.security_txt {
            facts.legacy = Some(SecurityTxtAnswer {
                url: "https://example.vn/security.txt".into(),
                final_url: "https://example.vn/security.txt".into(),
                status: Some(404),
                ..SecurityTxtAnswer::default()
            });
        }
        let result = security_txt(&obs, NOW);
        assert_eq!(result.status, Status::Warn, "{}", result.reason.en);
        assert!(
            result
                .reason
                .en
                .contains("answers 200 with text/html, not a security.txt, /security.txt status 404"),
            "{}",
            result.reason.en
        );
        let body = good("2027-06-01T00:00:00Z").replace(URL, "https://example.vn/security.txt");
        for facts in &mut obs.address.security_txt {
            let legacy = facts.legacy.as_mut().unwrap();
            legacy.status = Some(200);
            legacy.content_type = Some("text/plain; charset=utf-8".into());
            legacy.body = body.clone();
        }
        let result = security_txt(&obs, NOW);
        assert_eq!(result.status, Status::Warn);
        assert!(
            result.reason.en.contains("only at the legacy /security.txt"),
            "{}",
            result.reason.en
        );
    }

    #[test]
    fn invalid_on_one_address_fails_naming_it() {
        let mut obs = observations();
        obs.address.security_txt[1].well_known.body = "Contact: mailto:a@b.vn\n".into();
        let result = security_txt(&obs, NOW);
        assert_eq!(result.status, Status::Fail);
        assert_eq!(&*result.reason.en, "[2402:800::1] security.txt no Expires: field");
    }

    #[test]
    fn an_address_not_asked_is_an_error() {
        let mut obs = observations();
        obs.address.security_txt.pop();
        let result = security_txt(&obs, NOW);
        assert_eq!(result.status, Status::Error);
        assert!(result
            .reason
            .en
            .contains("[2402:800::1] security.txt was not asked for"));
    }
}
