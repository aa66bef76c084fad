//! What is audited: a site's URL, who owns it and which plan category it falls under.

use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

pub use crate::model::category::Category;
use crate::model::invalid::invalid_value;
use crate::model::policy::TargetPolicy;

/// A target URL after normalisation: scheme defaulted to https, host lower-cased, IDN in
/// punycode, trailing dot removed. Keeps the text the user wrote so outputs can echo it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetUrl {
    /// Exactly what the user wrote; used as the target's id in every output.
    pub given: String,
    /// The https URL the main fetch uses.
    pub url: Url,
}

/// A target URL longer than this is refused before it is parsed (a site's address, not data).
pub const MAX_URL_LENGTH: usize = 2048;

/// Why an ASCII host cannot be a DNS name (RFC 1035: labels of 1–63 octets, 253 in all).
fn dns_name_problem(host: &str) -> Option<String> {
    if host.len() > 253 {
        return Some(format!(
            "the host name is {} characters long; DNS allows 253",
            host.len()
        ));
    }
    host.split('.').find_map(|label| match label.len() {
        0 => Some("the host name has an empty label".to_string()),
        1..=63 => None,
        n => Some(format!(
            "a label of the host name is {n} characters long; DNS allows 63"
        )),
    })
}

/// The first 80 characters of a user's text, for messages about very long input.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(80).collect();
    format!("{head:?}…")
}

impl TargetUrl {
    /// Accepts "https://host/path", "http://host" or a bare "host"; rejects IP literals because
    /// the rules are about names (.vn, name servers, certificates).
    pub fn parse(text: &str) -> Result<TargetUrl, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("empty target: expected a URL like https://example.gov.vn/ or a host name".into());
        }
        if trimmed.len() > MAX_URL_LENGTH {
            return Err(format!(
                "invalid URL {}: {} characters long; at most {MAX_URL_LENGTH}",
                shorten(trimmed),
                trimmed.len()
            ));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_string()
        } else {
            format!("https://{trimmed}")
        };
        let mut url = Url::parse(&with_scheme).map_err(|err| format!("invalid URL {trimmed:?}: {err}"))?;
        match url.scheme() {
            "https" => {}
            "http" => {
                // The audit is about HTTPS; the plain-http side is probed separately.
                url.set_scheme("https")
                    .map_err(|()| format!("invalid URL {trimmed:?}: cannot switch to https"))?;
                if url.port() == Some(80) {
                    let _ = url.set_port(None);
                }
            }
            other => {
                return Err(format!(
                    "invalid URL {trimmed:?}: scheme {other:?} is not supported (expected https:// or http://)"
                ))
            }
        }
        let host = match url.host() {
            Some(url::Host::Domain(domain)) => domain.trim_end_matches('.').to_ascii_lowercase(),
            Some(_) => {
                return Err(format!(
                    "invalid URL {trimmed:?}: an IP address is not a site name; give the host name"
                ))
            }
            None => return Err(format!("invalid URL {trimmed:?}: no host")),
        };
        if !host.contains('.') {
            return Err(format!(
                "invalid URL {trimmed:?}: {host:?} is not a fully qualified host name"
            ));
        }
        if let Some(problem) = dns_name_problem(&host) {
            return Err(format!("invalid URL {}: {problem}", shorten(trimmed)));
        }
        url.set_host(Some(&host))
            .map_err(|err| format!("invalid URL {trimmed:?}: {err}"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "invalid URL {trimmed:?}: credentials in URLs are not supported"
            ));
        }
        url.set_fragment(None);
        Ok(TargetUrl {
            given: trimmed.to_string(),
            url,
        })
    }

    /// The ASCII (punycode) host name.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for TargetUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TargetUrl::parse(&text).map_err(|message| invalid_value(&text, &message))
    }
}

/// Parses a plain-http URL used for the redirect check.
pub fn parse_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|err| format!("invalid URL {text:?}: {err}"))?;
    if url.scheme() != "http" || url.host_str().is_none() {
        return Err(format!("invalid http_url {text:?}: expected http://HOST[:PORT]/"));
    }
    Ok(url)
}

/// Turns a punycode host back into Vietnamese letters for people to read.
pub fn host_for_display(ascii_host: &str) -> String {
    let (unicode, result) = idna::domain_to_unicode(ascii_host);
    if result.is_ok() {
        unicode
    } else {
        ascii_host.to_string()
    }
}

/// Whether `host` is `suffix` or under it, label-wise (so "evil-gov.vn" is not under "gov.vn").
pub fn host_is_under(host: &str, suffix: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let suffix = suffix.trim_matches('.').to_ascii_lowercase();
    host == suffix || host.ends_with(&format!(".{suffix}"))
}

/// A host suffix as written in the config ("haiduong.gov.vn", ".gov.vn", "cổng.vn") in the
/// ASCII form hosts are compared in; rejects anything that is not a domain name.
pub fn normalise_host_suffix(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_matches('.');
    let ascii = idna::domain_to_ascii(trimmed).map_err(|_| format!("invalid host suffix {text:?}"))?;
    if ascii.is_empty() || ascii.parse::<std::net::IpAddr>().is_ok() || ascii.contains(['/', ':', ' ']) {
        return Err(format!(
            "invalid host suffix {text:?}: expected a domain such as haiduong.gov.vn"
        ));
    }
    Ok(ascii)
}

/// An inclusive range of acceptable HTTP status codes, written "200" or "200-299".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    pub low: u16,
    pub high: u16,
}

impl StatusRange {
    /// Any 2xx: what a healthy landing page answers after redirects.
    pub const SUCCESS: StatusRange = StatusRange { low: 200, high: 299 };

    pub fn contains(&self, status: u16) -> bool {
        (self.low..=self.high).contains(&status)
    }

    pub fn parse(text: &str) -> Result<StatusRange, String> {
        let parse_code = |part: &str| -> Result<u16, String> {
            let code: u16 = part
                .trim()
                .parse()
                .map_err(|_| format!("invalid status {text:?}: expected e.g. 200 or \"200-299\""))?;
            if !(100..=599).contains(&code) {
                return Err(format!("invalid status {text:?}: codes run from 100 to 599"));
            }
            Ok(code)
        };
        let (low, high) = match text.split_once('-') {
            Some((low, high)) => (parse_code(low)?, parse_code(high)?),
            None => {
                let code = parse_code(text)?;
                (code, code)
            }
        };
        if low > high {
            return Err(format!("invalid status range {text:?}: low end is above high end"));
        }
        Ok(StatusRange { low, high })
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Code(u16),
            Text(String),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Code(code) => code.to_string(),
            Raw::Text(text) => text,
        };
        StatusRange::parse(&text).map_err(|message| invalid_value(&text, &message))
    }
}

/// Per-target knobs that change how probes run or how checks judge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetSettings {
    pub timeout: Duration,
    pub interval: Duration,
    /// How long a deep TLS scan (suites, groups, features) is kept before the address is
    /// scanned again (`deep_interval`, default 24 h): it costs tens of handshakes.
    pub deep_interval: Duration,
    pub expect_status: Vec<StatusRange>,
    pub tls_expiry_warn: Duration,
    pub tls_expiry_fail: Duration,
    pub max_body_bytes: usize,
    /// Special-purpose ranges this target may legitimately use (labs, internal networks).
    pub accept_ranges: Vec<IpNet>,
    /// The domain whose mail `mail.ipv6` audits; `None`: the site's zone apex.
    pub mail_domain: Option<String>,
    /// DKIM selectors the mail domain signs with (`mail.dkim_selectors`), each checked for a
    /// strong key.
    pub dkim_selectors: Vec<String>,
    /// Distinct resource hosts `ipv6.only` probes at most.
    pub max_resource_hosts: usize,
    /// What `content.clean` looks for and how it asks as a search crawler.
    pub content: ContentSettings,
    /// The availability objective of the target's category (`slo:`), 0–1, if any.
    pub availability_slo: Option<f64>,
}

/// `content:` in targets.yaml: extra keywords for every target, words one target may use
/// (a lottery company's "xổ số"), and the crawler's User-Agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContentSettings {
    /// Added to the shipped gambling list.
    pub keywords: Vec<String>,
    /// Keywords that do not count for this target.
    pub allow: Vec<String>,
    pub crawler_user_agent: String,
}

/// The User-Agent of the cloaking request: what injected spam is usually shown to.
pub const DEFAULT_CRAWLER_USER_AGENT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

impl Default for ContentSettings {
    fn default() -> Self {
        ContentSettings {
            keywords: Vec::new(),
            allow: Vec::new(),
            crawler_user_agent: DEFAULT_CRAWLER_USER_AGENT.to_string(),
        }
    }
}

impl Default for TargetSettings {
    fn default() -> Self {
        TargetSettings {
            timeout: Duration::from_secs(10),
            interval: Duration::from_secs(300),
            deep_interval: Duration::from_secs(86_400),
            expect_status: vec![StatusRange::SUCCESS],
            tls_expiry_warn: Duration::from_secs(21 * 86400),
            tls_expiry_fail: Duration::from_secs(7 * 86400),
            max_body_bytes: 1024 * 1024,
            accept_ranges: Vec::new(),
            mail_domain: None,
            dkim_selectors: Vec::new(),
            max_resource_hosts: 20,
            content: ContentSettings::default(),
            availability_slo: None,
        }
    }
}

/// One site to audit, with everything needed to probe and judge it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    /// The URL or host exactly as the user gave it; the key in every output.
    pub id: String,
    #[serde(serialize_with = "serialize_url")]
    pub url: Url,
    /// Where the http→https redirect is tested; `http://HOST/` unless configured.
    #[serde(serialize_with = "serialize_url")]
    pub http_url: Url,
    pub name: Option<String>,
    pub agency: Option<String>,
    pub category: Category,
    pub district: Option<String>,
    /// The province or city that owns the site, for national reports over many provinces.
    pub province: Option<String>,
    pub tags: Vec<String>,
    pub settings: TargetSettings,
    /// Which checks are required, recommended or exempt for this target.
    pub policy: TargetPolicy,
}

fn serialize_url<S: serde::Serializer>(url: &Url, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(url.as_str())
}

impl Target {
    /// A target from a bare command-line argument, with default settings.
    pub fn from_url(target_url: TargetUrl, settings: TargetSettings) -> Target {
        let http_url = default_http_url(&target_url.url);
        Target {
            id: target_url.given.clone(),
            url: target_url.url,
            http_url,
            name: None,
            agency: None,
            category: Category::Other,
            district: None,
            province: None,
            tags: Vec::new(),
            settings,
            policy: TargetPolicy::default_for(Category::Other),
        }
    }

    /// Puts the target in a category with that category's default policy (`check --policy`).
    pub fn set_category(&mut self, category: Category) {
        self.category = category;
        self.policy = TargetPolicy::default_for(category);
    }

    /// What shards are chosen by: the normalised URL, so `haiduong.gov.vn` on a command line,
    /// `https://HaiDuong.gov.vn/` in a file and the same URL in targets.yaml land on the same
    /// shard in `check --shard` and `serve --shard`.
    pub fn shard_key(&self) -> &str {
        self.url.as_str()
    }

    /// The ASCII (punycode) host name.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The TCP port of the https URL.
    pub fn https_port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }
}

/// `http://HOST/` for an https URL: where a user typing the bare name lands.
pub fn default_http_url(https_url: &Url) -> Url {
    let host = https_url.host_str().unwrap_or_default();
    Url::parse(&format!("http://{host}/")).unwrap_or_else(|_| https_url.clone())
}

/// The registrable part a link must stay under to be on-site: `x.gov.vn` style names keep three
/// labels, others two.
pub fn site_domain(host: &str) -> String {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let second_level = [
        "gov", "edu", "com", "net", "org", "ac", "info", "int", "health", "biz", "name", "pro",
    ];
    let keep =
        if labels.len() >= 3 && labels[labels.len() - 1] == "vn" && second_level.contains(&labels[labels.len() - 2]) {
            3
        } else {
            2
        };
    labels[labels.len().saturating_sub(keep)..].join(".")
}

/// Whether `link_host` lies outside the site's domain (see [`site_domain`]).
pub fn off_site(link_host: &str, domain: &str) -> bool {
    !(link_host == domain || link_host.ends_with(&format!(".{domain}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_cannot_be_dns_names_are_refused() {
        let long_label = format!("https://{}.gov.vn/", "a".repeat(64));
        assert!(TargetUrl::parse(&long_label).unwrap_err().contains("DNS allows 63"));
        let long_name = format!("https://{}gov.vn/", "abcdefghi.".repeat(26));
        assert!(TargetUrl::parse(&long_name).unwrap_err().contains("DNS allows 253"));
        let long_url = format!("https://a.gov.vn/{}", "x".repeat(3000));
        assert!(TargetUrl::parse(&long_url).unwrap_err().contains("at most 2048"));
        assert!(TargetUrl::parse(&format!("https://{}.gov.vn/", "a".repeat(63))).is_ok());
    }

    #[test]
    fn bare_host_becomes_https() {
        let t = TargetUrl::parse("haiduong.gov.vn").unwrap();
        assert_eq!(t.url.as_str(), "https://haiduong.gov.vn/");
        assert_eq!(t.given, "haiduong.gov.vn");
    }

    #[test]
    fn idn_host_is_punycoded_and_readable_again() {
        let t = TargetUrl::parse("https://cổngthôngtin.vn/").unwrap();
        assert!(t.host().starts_with("xn--"), "{}", t.host());
        assert_eq!(host_for_display(t.host()), "cổngthôngtin.vn");
    }

    #[test]
    fn trailing_dot_and_case_are_normalised() {
        let t = TargetUrl::parse("HTTPS://SoYTe.HaiDuong.gov.vn./x").unwrap();
        assert_eq!(t.host(), "soyte.haiduong.gov.vn");
    }

    #[test]
    fn http_scheme_is_audited_over_https() {
        let t = TargetUrl::parse("http://baohaiduong.vn").unwrap();
        assert_eq!(t.url.scheme(), "https");
    }

    #[test]
    fn rejects_ip_literals_and_other_schemes() {
        assert!(TargetUrl::parse("https://1.2.3.4/").unwrap_err().contains("IP address"));
        assert!(TargetUrl::parse("ftp://a.vn/").unwrap_err().contains("not supported"));
        assert!(TargetUrl::parse("localhost").unwrap_err().contains("fully qualified"));
        assert!(TargetUrl::parse("https://exa mple.vn/").is_err());
    }

    #[test]
    fn suffix_match_is_label_wise() {
        assert!(host_is_under("a.gov.vn", "gov.vn"));
        assert!(host_is_under("gov.vn", ".gov.vn"));
        assert!(!host_is_under("evilgov.vn", "gov.vn"));
        assert!(host_is_under("x.vn.", "vn"));
    }

    #[test]
    fn status_ranges() {
        assert_eq!(StatusRange::parse("200-299").unwrap(), StatusRange::SUCCESS);
        assert!(StatusRange::parse("301").unwrap().contains(301));
        assert!(StatusRange::parse("299-200").is_err());
        assert!(StatusRange::parse("700").is_err());
    }
}
