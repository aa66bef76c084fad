//! targets.yaml: strict parsing (unknown and duplicate keys are errors) and resolution into
//! [`Config`], with every error naming the file, line and column.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::model::catalogue::CheckId;
use crate::model::goals::{Goal, Ratio};
use crate::model::invalid::invalid_value;
use crate::model::policy::{PolicyOverride, TargetPolicy};
use crate::probe::{self, ResolverSettings, TrustSettings, DEFAULT_NS_PORT};
use url::Url;

use crate::model::duration::HumanDuration;
use crate::model::target::{self, Category, StatusRange, Target, TargetSettings, TargetUrl};

/// Why a config could not be used. Every variant names the file so a reload error in a log is
/// actionable on its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed or does not match the schema.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// The YAML is malformed and the parser could not say where.
    #[error("{file}: {message}")]
    Unlocated { file: String, message: String },
}

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
struct RawDefaults {
    interval: Option<HumanDuration>,
    timeout: Option<HumanDuration>,
    category: Option<Category>,
    expect_status: Option<Vec<StatusRange>>,
    tls_expiry_warn: Option<HumanDuration>,
    tls_expiry_fail: Option<HumanDuration>,
    max_body_bytes: Option<usize>,
    concurrency: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawResolver {
    #[serde(default)]
    servers: Vec<ResolverAddr>,
    ns_port: Option<u16>,
    trust_anchor: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    #[serde(default)]
    extra_roots: Vec<PathBuf>,
    #[serde(default, deserialize_with = "deserialize_ranges")]
    accept_ranges: Vec<IpNet>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    url: Spanned<TargetUrl>,
    name: Option<String>,
    agency: Option<String>,
    category: Option<Category>,
    district: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    interval: Option<HumanDuration>,
    timeout: Option<HumanDuration>,
    http_url: Option<Spanned<String>>,
    expect_status: Option<Vec<StatusRange>>,
    tls_expiry_warn: Option<Spanned<HumanDuration>>,
    tls_expiry_fail: Option<HumanDuration>,
    #[serde(default, deserialize_with = "deserialize_ranges")]
    accept_ranges: Vec<IpNet>,
    policy: Option<Spanned<RawPolicy>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    resolver: RawResolver,
    #[serde(default)]
    trust: RawTrust,
    #[serde(default)]
    probe_endpoint: RawProbeEndpoint,
    #[serde(default)]
    policy: std::collections::BTreeMap<Category, Spanned<RawPolicy>>,
    #[serde(default)]
    goals: Vec<RawGoal>,
    targets: Vec<RawTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    require: Vec<CheckId>,
    #[serde(default)]
    recommend: Vec<CheckId>,
    #[serde(default)]
    exempt: Vec<CheckId>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGoal {
    id: Spanned<String>,
    title: String,
    title_en: Option<String>,
    #[serde(default)]
    categories: Vec<Category>,
    checks: Vec<CheckId>,
    target: Option<Ratio>,
    deadline: Spanned<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProbeEndpoint {
    #[serde(default)]
    allow_host_suffixes: Vec<Spanned<String>>,
}

/// A fully resolved configuration: defaults applied, paths made absolute, everything validated.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Config {
    pub targets: Vec<Target>,
    /// What the prober needs from the file: resolvers and what to trust.
    pub probe: probe::Settings,
    pub concurrency: usize,
    /// Host suffixes (ASCII, no leading dot) that the daemon's `/probe` endpoint may audit on
    /// request besides the listed targets; empty means listed targets only.
    pub probe_allow_suffixes: Vec<String>,
    /// Plan goals, in file order.
    pub goals: Vec<Goal>,
    /// The file this came from, for reloads and messages.
    pub source: Option<PathBuf>,
}

/// Command-line values that override or extend the file; kept apart from [`Config`] so a
/// reload re-applies them to the new file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub resolvers: Vec<SocketAddr>,
    pub accept_ranges: Vec<IpNet>,
    pub extra_roots: Vec<PathBuf>,
    pub trust_anchor: Option<PathBuf>,
    pub timeout: Option<std::time::Duration>,
    pub concurrency: Option<usize>,
}

impl Overrides {
    /// Replaces resolvers, timeout and concurrency; adds ranges and roots.
    pub fn apply(&self, config: &mut Config) {
        if !self.resolvers.is_empty() {
            config.probe.resolver.servers = self.resolvers.clone();
        }
        config
            .probe
            .trust
            .accept_ranges
            .extend(self.accept_ranges.iter().copied());
        config.probe.trust.extra_roots.extend(self.extra_roots.iter().cloned());
        if let Some(anchor) = &self.trust_anchor {
            config.probe.resolver.trust_anchor = Some(anchor.clone());
        }
        if let Some(concurrency) = self.concurrency {
            config.concurrency = concurrency;
        }
        if let Some(timeout) = self.timeout {
            for target in &mut config.targets {
                target.settings.timeout = timeout;
            }
        }
    }
}

/// Default number of targets audited at once.
pub const DEFAULT_CONCURRENCY: usize = 32;

impl Config {
    /// A config with no file: command-line targets and defaults only.
    pub fn empty() -> Config {
        Config {
            targets: Vec::new(),
            probe: probe::Settings::default(),
            concurrency: DEFAULT_CONCURRENCY,
            probe_allow_suffixes: Vec::new(),
            goals: Vec::new(),
            source: None,
        }
    }

    /// Reads and validates a file; nothing is returned unless the whole file is good.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses config text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let raw: RawConfig = serde_saphyr::from_str(text).map_err(|err| yaml_error(&file, text, &err))?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        resolve(raw, &file, &base_dir, path)
    }
}

fn yaml_error(file: &str, text: &str, err: &serde_saphyr::Error) -> ConfigError {
    let message = clean_message(&err.to_string());
    match err.location() {
        Some(location) => {
            let (line, column) = refine_unknown_field(text, &message, location.line(), location.column());
            ConfigError::Invalid {
                file: file.to_string(),
                line,
                column,
                message,
            }
        }
        None => ConfigError::Unlocated {
            file: file.to_string(),
            message,
        },
    }
}

/// serde-saphyr's display can carry its own "at line X column Y" and a source snippet; we
/// print the position ourselves in the `file:line:col:` form editors understand.
fn clean_message(display: &str) -> String {
    let first_line = display.lines().next().unwrap_or(display).trim();
    let without_position = match first_line.find(" at line ") {
        Some(index) => &first_line[..index],
        None => first_line,
    };
    let without_prefix = without_position.strip_prefix("error: ").unwrap_or(without_position);
    let without_prefix = match without_prefix.find(", expected invalid ") {
        Some(index) => &without_prefix[index + ", expected ".len()..],
        None => without_prefix,
    };
    // "line 2 column 5: unknown field" → "unknown field"
    let without_leading_position = match without_prefix.strip_prefix("line ") {
        Some(rest) => rest
            .split_once(": ")
            .map(|(_, message)| message)
            .unwrap_or(without_prefix),
        None => without_prefix,
    };
    without_leading_position.trim().to_string()
}

/// The parser reports an unknown field at the start of its mapping; point at the key itself,
/// which is what the user has to fix.
fn refine_unknown_field(text: &str, message: &str, line: u64, column: u64) -> (u64, u64) {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return refine_bad_value(text, message, line, column);
    };
    let Some(field) = rest.split('`').next() else {
        return (line, column);
    };
    let indent = column.saturating_sub(1) as usize;
    for (index, text_line) in text.lines().enumerate().skip(line.saturating_sub(1) as usize) {
        let leading = text_line.len() - text_line.trim_start_matches([' ', '-']).len();
        let key = text_line.trim_start_matches([' ', '-']);
        if index + 1 > line as usize && leading < indent && !key.is_empty() && !key.starts_with('#') {
            break;
        }
        if leading == indent && (key.starts_with(&format!("{field}:")) || key.starts_with(&format!("\"{field}\":"))) {
            return (index as u64 + 1, leading as u64 + 1);
        }
    }
    (line, column)
}

/// Our own value errors quote the offending text (`invalid duration "soon": ..`), but the
/// parser can only place them at the enclosing mapping; find the value itself from there.
fn refine_bad_value(text: &str, message: &str, line: u64, column: u64) -> (u64, u64) {
    let Some(quoted) = message.split('"').nth(1).filter(|value| !value.is_empty()) else {
        return (line, column);
    };
    for (index, text_line) in text.lines().enumerate().skip(line.saturating_sub(1) as usize) {
        if let Some(position) = text_line.find(quoted) {
            return (index as u64 + 1, position as u64 + 1);
        }
    }
    (line, column)
}

fn located(file: &str, location: serde_saphyr::Location, message: String) -> ConfigError {
    ConfigError::Invalid {
        file: file.to_string(),
        line: location.line(),
        column: location.column(),
        message,
    }
}

/// A policy override from the file; relaxing or tightening a policy needs a recorded reason.
fn policy_override(file: &str, spanned: Spanned<RawPolicy>) -> Result<PolicyOverride, ConfigError> {
    let raw = spanned.value;
    let reason = raw.reason.map(|r| r.trim().to_string()).unwrap_or_default();
    if reason.is_empty() {
        return Err(located(
            file,
            spanned.referenced,
            "policy override without a reason: add `reason:` (e.g. the approving document)".into(),
        ));
    }
    Ok(PolicyOverride {
        require: raw.require,
        recommend: raw.recommend,
        exempt: raw.exempt,
        reason,
    })
}

fn resolve(raw: RawConfig, file: &str, base_dir: &Path, path: &Path) -> Result<Config, ConfigError> {
    let mut base = TargetSettings::default();
    let defaults = raw.defaults;
    if let Some(value) = defaults.interval {
        base.interval = value.0;
    }
    if let Some(value) = defaults.timeout {
        base.timeout = value.0;
    }
    if let Some(value) = defaults.expect_status {
        base.expect_status = value;
    }
    if let Some(value) = defaults.tls_expiry_warn {
        base.tls_expiry_warn = value.0;
    }
    if let Some(value) = defaults.tls_expiry_fail {
        base.tls_expiry_fail = value.0;
    }
    if let Some(value) = defaults.max_body_bytes {
        base.max_body_bytes = value;
    }
    if base.tls_expiry_fail > base.tls_expiry_warn {
        return Err(ConfigError::Unlocated {
            file: file.to_string(),
            message: "defaults: tls_expiry_fail must not exceed tls_expiry_warn".into(),
        });
    }
    let default_category = defaults.category.unwrap_or_default();
    let mut category_overrides = std::collections::BTreeMap::new();
    for (category, spanned) in raw.policy {
        category_overrides.insert(category, policy_override(file, spanned)?);
    }

    let mut seen: HashMap<String, serde_saphyr::Location> = HashMap::new();
    let mut targets = Vec::with_capacity(raw.targets.len());
    for entry in raw.targets {
        let url_location = entry.url.referenced;
        let target_url = entry.url.value;
        let key = target_url.url.as_str().to_string();
        if let Some(first) = seen.get(&key) {
            return Err(located(
                file,
                url_location,
                format!(
                    "duplicate target {key}: already listed at line {}; each site appears once",
                    first.line()
                ),
            ));
        }
        seen.insert(key, url_location);

        let mut settings = base.clone();
        if let Some(value) = entry.interval {
            settings.interval = value.0;
        }
        if let Some(value) = entry.timeout {
            settings.timeout = value.0;
        }
        if let Some(value) = entry.expect_status {
            settings.expect_status = value;
        }
        if let Some(value) = entry.tls_expiry_fail {
            settings.tls_expiry_fail = value.0;
        }
        let warn_location = entry
            .tls_expiry_warn
            .as_ref()
            .map(|s| s.referenced)
            .unwrap_or(url_location);
        if let Some(value) = entry.tls_expiry_warn {
            settings.tls_expiry_warn = value.value.0;
        }
        if settings.tls_expiry_fail > settings.tls_expiry_warn {
            return Err(located(
                file,
                warn_location,
                "tls_expiry_fail must not exceed tls_expiry_warn".into(),
            ));
        }
        settings.accept_ranges.extend(entry.accept_ranges);
        let http_url: Url = match entry.http_url {
            Some(spanned) => {
                target::parse_http_url(&spanned.value).map_err(|message| located(file, spanned.referenced, message))?
            }
            None => target::default_http_url(&target_url.url),
        };
        let category = entry.category.unwrap_or(default_category);
        let mut policy = TargetPolicy::default_for(category);
        if let Some(change) = category_overrides.get(&category) {
            policy.apply(change);
        }
        if let Some(spanned) = entry.policy {
            policy.apply(&policy_override(file, spanned)?);
        }
        targets.push(Target {
            id: target_url.given.clone(),
            url: target_url.url,
            http_url,
            name: entry.name,
            agency: entry.agency,
            category,
            district: entry.district,
            tags: entry.tags,
            settings,
            policy,
        });
    }

    let extra_roots = raw
        .trust
        .extra_roots
        .into_iter()
        .map(|root| if root.is_absolute() { root } else { base_dir.join(root) })
        .collect();
    let concurrency = defaults.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if concurrency == 0 {
        return Err(ConfigError::Unlocated {
            file: file.to_string(),
            message: "defaults.concurrency must be at least 1".into(),
        });
    }
    let mut goals: Vec<Goal> = Vec::new();
    for raw_goal in raw.goals {
        let id = raw_goal.id.value.trim().to_string();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(located(
                file,
                raw_goal.id.referenced,
                format!("invalid goal id {id:?}: expected letters, digits, '_', '-' or '.'"),
            ));
        }
        if goals.iter().any(|g| g.id == id) {
            return Err(located(
                file,
                raw_goal.id.referenced,
                format!("duplicate goal id {id:?}"),
            ));
        }
        let deadline_unix = crate::model::goals::parse_deadline(&raw_goal.deadline.value)
            .map_err(|message| located(file, raw_goal.deadline.referenced, message))?;
        if raw_goal.checks.is_empty() {
            return Err(located(
                file,
                raw_goal.id.referenced,
                format!("goal {id:?} lists no checks"),
            ));
        }
        goals.push(Goal {
            title_en: raw_goal.title_en.unwrap_or_else(|| raw_goal.title.clone()),
            title_vi: raw_goal.title,
            id,
            categories: raw_goal.categories,
            checks: raw_goal.checks,
            target_ratio: raw_goal.target.map(|r| r.0).unwrap_or(1.0),
            deadline: raw_goal.deadline.value.trim().to_string(),
            deadline_unix,
        });
    }
    let mut probe_allow_suffixes = Vec::new();
    for suffix in raw.probe_endpoint.allow_host_suffixes {
        let ascii = target::normalise_host_suffix(&suffix.value)
            .map_err(|message| located(file, suffix.referenced, message))?;
        probe_allow_suffixes.push(ascii);
    }
    Ok(Config {
        targets,
        probe: probe::Settings {
            resolver: ResolverSettings {
                servers: raw.resolver.servers.into_iter().map(|r| r.0).collect(),
                ns_port: raw.resolver.ns_port.unwrap_or(DEFAULT_NS_PORT),
                trust_anchor: raw.resolver.trust_anchor.map(|path| {
                    if path.is_absolute() {
                        path
                    } else {
                        base_dir.join(path)
                    }
                }),
            },
            trust: TrustSettings {
                extra_roots,
                accept_ranges: raw.trust.accept_ranges,
            },
        },
        concurrency,
        probe_allow_suffixes,
        goals,
        source: Some(path.to_path_buf()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/vnready/targets.yaml"))
    }

    const GOOD: &str = "\
defaults:
  timeout: 5s
  interval: 1m
resolver:
  servers: [\"127.0.0.1:5353\", \"::1\"]
trust:
  extra_roots: [vn-root.pem]
  accept_ranges: [\"fd00::/8\"]
targets:
  - url: https://haiduong.gov.vn/
    name: Cổng thông tin
    agency: UBND tỉnh
    category: state_portal
    district: TP Hải Dương
    tags: [portal]
  - url: baohaiduong.vn
    category: e_newspaper
    timeout: 20s
    expect_status: [200, \"300-399\"]
";

    #[test]
    fn good_file_resolves_defaults_and_overrides() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.targets.len(), 2);
        assert_eq!(config.targets[0].settings.timeout.as_secs(), 5);
        assert_eq!(config.targets[1].settings.timeout.as_secs(), 20);
        assert_eq!(config.targets[1].settings.interval.as_secs(), 60);
        assert_eq!(config.targets[0].category, Category::StatePortal);
        assert_eq!(config.probe.resolver.servers[1], "[::1]:53".parse().unwrap());
        assert_eq!(
            config.probe.trust.extra_roots[0],
            PathBuf::from("/etc/vnready/vn-root.pem")
        );
        assert_eq!(config.targets[1].http_url.as_str(), "http://baohaiduong.vn/");
    }

    /// A table of broken files with the exact position and the words the user will see.
    #[test]
    fn invalid_files_name_line_column_and_expectation() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "targets:\n  - url: https://a.vn/\n    policy:\n      exempt: [ipv6.aaaa]\n",
                "targets.yaml:4:",
                "without a reason",
            ),
            (
                "policy:\n  state_portal:\n    require: [ipv6.magic]\n    reason: x\ntargets: []\n",
                "targets.yaml:3:",
                "ipv6.magic",
            ),
            (
                "goals:\n  - id: g\n    title: t\n    checks: [ipv6.aaaa]\n    target: 120%\n    deadline: 2025-12-31\ntargets: []\n",
                "targets.yaml:5:",
                "invalid ratio",
            ),
            (
                "goals:\n  - id: g\n    title: t\n    checks: [ipv6.aaaa]\n    deadline: 2025-02-30\ntargets: []\n",
                "targets.yaml:5:",
                "invalid date",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    nmae: x\n",
                "targets.yaml:3:",
                "nmae",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    url: https://b.vn/\n",
                "targets.yaml:3:",
                "duplicate",
            ),
            (
                "targets:\n  - url: \"ftp://a.vn/\"\n",
                "targets.yaml:2:",
                "not supported",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    timeout: soon\n",
                "targets.yaml:3:",
                "invalid duration",
            ),
            (
                "targets:\n  - url: https://a.vn/\n  - url: a.vn\n",
                "targets.yaml:3:",
                "duplicate target",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    category: bank\n",
                "targets.yaml:3:",
                "bank",
            ),
            (
                "resolver:\n  servers: [nonsense]\ntargets: []\n",
                "targets.yaml:2:",
                "invalid resolver",
            ),
            (
                "trust:\n  accept_ranges: [\"10.0.0.0/33\"]\ntargets: []\n",
                "targets.yaml:2:",
                "invalid range",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    tls_expiry_warn: 1d\n    tls_expiry_fail: 2d\n",
                "targets.yaml:3:",
                "must not exceed",
            ),
        ];
        for (text, position, words) in cases {
            let message = parse(text).unwrap_err().to_string();
            assert!(
                message.contains(position),
                "{text:?}: expected {position} in {message:?}"
            );
            assert!(message.contains(words), "{text:?}: expected {words:?} in {message:?}");
        }
    }

    #[test]
    fn policies_apply_category_then_target_overrides_and_goals_resolve() {
        let text = "policy:\n  state_portal:\n    require: [dns.dnssec]\n    reason: Kế hoạch 2026\n\
goals:\n  - id: v6\n    title: IPv6\n    categories: [state_portal]\n    checks: [ipv6.aaaa]\n    target: \"95%\"\n    deadline: 2025-12-31\n\
targets:\n  - url: https://a.gov.vn/\n    category: state_portal\n    policy:\n      exempt: [ipv6.reachable]\n      reason: Công văn 1\n  - url: https://b.vn/\n    category: e_newspaper\n";
        let config = parse(text).expect("valid");
        let portal = &config.targets[0].policy;
        assert_eq!(
            portal.requirement(CheckId::DnsDnssec),
            crate::model::policy::Requirement::Required
        );
        assert_eq!(
            portal.requirement(CheckId::Ipv6Reachable),
            crate::model::policy::Requirement::Exempt
        );
        assert_eq!(
            portal.reasons,
            vec!["Kế hoạch 2026".to_string(), "Công văn 1".to_string()]
        );
        assert_eq!(config.targets[1].policy.required, vec![CheckId::DomainVn]);
        assert_eq!(config.goals[0].target_ratio, 0.95);
        assert_eq!(config.goals[0].title_en, "IPv6");
    }

    #[test]
    fn missing_targets_key_is_an_error() {
        let message = parse("defaults:\n  timeout: 5s\n").unwrap_err().to_string();
        assert!(message.contains("targets"), "{message}");
    }
}
