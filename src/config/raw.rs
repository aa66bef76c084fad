//! The file's schema as written: strict (unknown and duplicate keys are errors), with the
//! positions of the values later checks must point at.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::model::catalogue::CheckId;
use crate::model::duration::HumanDuration;
use crate::model::goals::Ratio;
use crate::model::invalid::invalid_value;
use crate::model::target::{Category, StatusRange, TargetUrl};

/// A resolver address given as `IP` or `IP:PORT` (`[v6]:PORT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolverAddr(pub SocketAddr);

impl ResolverAddr {
    pub fn parse(text: &str) -> Result<ResolverAddr, String> {
        let text = text.trim();
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(ResolverAddr(SocketAddr::new(ip, 53)));
        }
        text.parse::<SocketAddr>()
            .map(ResolverAddr)
            .map_err(|_| format!("invalid resolver {text:?}: expected IP, IP:PORT or [IPv6]:PORT"))
    }
}

impl std::str::FromStr for ResolverAddr {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ResolverAddr::parse(text)
    }
}

impl<'de> Deserialize<'de> for ResolverAddr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ResolverAddr::parse(&text).map_err(|message| invalid_value(&text, &message))
    }
}

/// A CIDR accepted for addresses that would otherwise be special-purpose.
fn deserialize_ranges<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    texts
        .iter()
        .map(|text| parse_cidr(text).map_err(|message| invalid_value(text, &message)))
        .collect()
}

/// Parses `2001:db8::/32` or a bare address (taken as a single host).
pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("invalid range {text:?}: expected CIDR like 2001:db8::/32"))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) interval: Option<HumanDuration>,
    pub(super) deep_interval: Option<HumanDuration>,
    pub(super) timeout: Option<HumanDuration>,
    pub(super) category: Option<Category>,
    pub(super) expect_status: Option<Vec<StatusRange>>,
    pub(super) tls_expiry_warn: Option<HumanDuration>,
    pub(super) tls_expiry_fail: Option<HumanDuration>,
    pub(super) max_body_bytes: Option<usize>,
    pub(super) mail_domain: Option<Spanned<String>>,
    pub(super) mail: Option<RawMail>,
    pub(super) max_resource_hosts: Option<usize>,
    pub(super) concurrency: Option<usize>,
}

/// `mail:` in `defaults` or on a target: how the mail domain signs its mail.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    /// DKIM selectors (`s=` of the domain's signatures), each checked for a strong key.
    #[serde(default)]
    pub(super) dkim_selectors: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResolver {
    #[serde(default)]
    pub(super) servers: Vec<ResolverAddr>,
    pub(super) ns_port: Option<u16>,
    pub(super) smtp_port: Option<u16>,
    pub(super) trust_anchor: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrust {
    #[serde(default)]
    pub(super) extra_roots: Vec<PathBuf>,
    #[serde(default, deserialize_with = "deserialize_ranges")]
    pub(super) accept_ranges: Vec<IpNet>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) url: Spanned<TargetUrl>,
    pub(super) name: Option<String>,
    pub(super) agency: Option<String>,
    pub(super) category: Option<Category>,
    pub(super) district: Option<String>,
    pub(super) province: Option<String>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    pub(super) interval: Option<HumanDuration>,
    pub(super) deep_interval: Option<HumanDuration>,
    pub(super) timeout: Option<HumanDuration>,
    pub(super) http_url: Option<Spanned<String>>,
    pub(super) expect_status: Option<Vec<StatusRange>>,
    pub(super) tls_expiry_warn: Option<Spanned<HumanDuration>>,
    pub(super) tls_expiry_fail: Option<HumanDuration>,
    pub(super) mail_domain: Option<Spanned<String>>,
    pub(super) mail: Option<RawMail>,
    pub(super) max_resource_hosts: Option<usize>,
    #[serde(default, deserialize_with = "deserialize_ranges")]
    pub(super) accept_ranges: Vec<IpNet>,
    pub(super) policy: Option<Spanned<RawPolicy>>,
    #[serde(default)]
    pub(super) content: RawTargetContent,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) defaults: RawDefaults,
    #[serde(default)]
    pub(super) resolver: RawResolver,
    #[serde(default)]
    pub(super) trust: RawTrust,
    #[serde(default)]
    pub(super) probe_endpoint: RawProbeEndpoint,
    #[serde(default)]
    pub(super) policy: std::collections::BTreeMap<Category, Spanned<RawPolicy>>,
    #[serde(default)]
    pub(super) goals: Vec<RawGoal>,
    #[serde(default)]
    pub(super) content: RawContent,
    #[serde(default)]
    pub(super) routing: RawRouting,
    /// Service level objectives per category: `slo: { state_portal: { availability: 99.5% } }`.
    #[serde(default)]
    pub(super) slo: std::collections::BTreeMap<Category, RawSlo>,
    pub(super) targets: Vec<RawTarget>,
}

/// A category's objectives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlo {
    /// Share of monitored time each address family must be up, e.g. `99.5%`.
    pub(super) availability: Spanned<Ratio>,
}

/// `routing:`: where route origins and validated ROA payloads come from (`routing.rpki`).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouting {
    /// `dns` (Team Cymru's TXT format, the default) or the path of a CSV table.
    pub(super) route_origins: Option<String>,
    pub(super) origin_zones: Option<RawOriginZones>,
    /// An RTR server, `HOST:PORT`.
    pub(super) rpki_rtr: Option<Spanned<String>>,
    /// A VRP JSON file (rpki-client or Routinator format).
    pub(super) rpki_vrps: Option<Spanned<PathBuf>>,
}

/// The DNS zones route origins are asked under (Team Cymru's by default).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOriginZones {
    pub(super) ipv4: String,
    pub(super) ipv6: String,
}

/// `content:` at the top: keywords added for every target and the crawler's User-Agent.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContent {
    #[serde(default)]
    pub(super) keywords: Vec<String>,
    #[serde(default)]
    pub(super) allow: Vec<String>,
    pub(super) crawler_user_agent: Option<String>,
}

/// `content:` on a target: words this site may use (a lottery company's "xổ số").
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTargetContent {
    #[serde(default)]
    pub(super) allow: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    #[serde(default)]
    pub(super) require: Vec<CheckId>,
    #[serde(default)]
    pub(super) recommend: Vec<CheckId>,
    #[serde(default)]
    pub(super) exempt: Vec<CheckId>,
    pub(super) reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGoal {
    pub(super) id: Spanned<String>,
    pub(super) title: String,
    pub(super) title_en: Option<String>,
    #[serde(default)]
    pub(super) categories: Vec<Category>,
    pub(super) checks: Vec<CheckId>,
    pub(super) target: Option<Ratio>,
    pub(super) deadline: Spanned<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProbeEndpoint {
    #[serde(default)]
    pub(super) allow_host_suffixes: Vec<Spanned<String>>,
}
