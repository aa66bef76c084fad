//! From the file as written to a [`Config`]: defaults applied to every target, category and
//! target policies merged, paths made absolute, goals and suffixes validated.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde_saphyr::{Location, Spanned};
use url::Url;

use super::error::{ConfigError, SourceFile};
use super::raw::{RawConfig, RawDefaults, RawGoal, RawPolicy, RawResolver, RawRouting, RawTarget, RawTrust};
use super::resolved::{Config, DEFAULT_CONCURRENCY};
use crate::model::duration::HumanDuration;
use crate::model::goals::{parse_deadline, Goal};
use crate::model::policy::{PolicyOverride, TargetPolicy};
use crate::model::target::{self, Category, StatusRange, Target, TargetSettings};
use crate::probe::{self, ResolverSettings, TrustSettings, DEFAULT_NS_PORT, DEFAULT_SMTP_PORT};

type Source<'a> = SourceFile<'a>;

pub(super) fn resolve(raw: RawConfig, file: &str, base_dir: &Path, path: &Path) -> Result<Config, ConfigError> {
    let source = Source { file, base_dir };
    let mut base = default_settings(&raw.defaults, &source)?;
    base.content.keywords = raw.content.keywords;
    base.content.allow = raw.content.allow;
    if let Some(agent) = raw.content.crawler_user_agent {
        base.content.crawler_user_agent = agent;
    }
    let default_category = raw.defaults.category.unwrap_or_default();
    let concurrency = raw.defaults.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if concurrency == 0 {
        return Err(source.unlocated("defaults.concurrency must be at least 1"));
    }
    let mut category_overrides = BTreeMap::new();
    for (category, spanned) in raw.policy {
        category_overrides.insert(category, policy_override(&source, spanned)?);
    }
    let mut seen: HashMap<String, Location> = HashMap::new();
    let mut targets = Vec::with_capacity(raw.targets.len());
    for entry in raw.targets {
        let location = entry.url.referenced;
        let key = entry.url.value.url.as_str().to_string();
        if let Some(first) = seen.insert(key.clone(), location) {
            return Err(source.at(
                location,
                format!(
                    "duplicate target {key}: already listed at line {}; each site appears once",
                    first.line()
                ),
            ));
        }
        targets.push(resolve_target(
            entry,
            &base,
            default_category,
            &category_overrides,
            &source,
        )?);
    }
    for (category, slo) in &raw.slo {
        let objective = slo.availability.value.0;
        if !(objective > 0.0 && objective < 1.0) {
            return Err(source.at(
                slo.availability.referenced,
                format!(
                    "slo.{}.availability must be above 0% and below 100% (an objective of 100% leaves no error budget)",
                    category.as_str()
                ),
            ));
        }
        for target in targets.iter_mut().filter(|t| t.category == *category) {
            target.settings.availability_slo = Some(objective);
        }
    }
    let mut probe_allow_suffixes = Vec::new();
    for suffix in raw.probe_endpoint.allow_host_suffixes {
        let ascii =
            target::normalise_host_suffix(&suffix.value).map_err(|message| source.at(suffix.referenced, message))?;
        probe_allow_suffixes.push(ascii);
    }
    Ok(Config {
        targets,
        probe: probe_settings(raw.resolver, raw.trust, raw.routing, &source)?,
        concurrency,
        probe_allow_suffixes,
        goals: resolve_goals(raw.goals, &source)?,
        source: Some(path.to_path_buf()),
    })
}

/// Fields a target shares with `defaults:`; each one given replaces the inherited value.
struct SettingsFields<'a> {
    interval: Option<HumanDuration>,
    deep_interval: Option<HumanDuration>,
    timeout: Option<HumanDuration>,
    expect_status: Option<&'a Vec<StatusRange>>,
    tls_expiry_warn: Option<HumanDuration>,
    tls_expiry_fail: Option<HumanDuration>,
}

impl SettingsFields<'_> {
    fn apply_to(&self, settings: &mut TargetSettings) {
        let set = |slot: &mut Duration, value: Option<HumanDuration>| {
            if let Some(value) = value {
                *slot = value.0;
            }
        };
        set(&mut settings.interval, self.interval);
        set(&mut settings.deep_interval, self.deep_interval);
        set(&mut settings.timeout, self.timeout);
        set(&mut settings.tls_expiry_warn, self.tls_expiry_warn);
        set(&mut settings.tls_expiry_fail, self.tls_expiry_fail);
        if let Some(value) = self.expect_status {
            settings.expect_status = value.clone();
        }
    }
}

const EXPIRY_ORDER: &str = "tls_expiry_fail must not exceed tls_expiry_warn";

fn default_settings(defaults: &RawDefaults, source: &Source<'_>) -> Result<TargetSettings, ConfigError> {
    let mut settings = TargetSettings::default();
    SettingsFields {
        interval: defaults.interval,
        deep_interval: defaults.deep_interval,
        timeout: defaults.timeout,
        expect_status: defaults.expect_status.as_ref(),
        tls_expiry_warn: defaults.tls_expiry_warn,
        tls_expiry_fail: defaults.tls_expiry_fail,
    }
    .apply_to(&mut settings);
    if let Some(value) = defaults.max_body_bytes {
        settings.max_body_bytes = value;
    }
    if let Some(domain) = &defaults.mail_domain {
        settings.mail_domain = Some(mail_domain(domain, source)?);
    }
    if let Some(mail) = &defaults.mail {
        settings.dkim_selectors = dkim_selectors(mail, source)?;
    }
    if let Some(value) = defaults.max_resource_hosts {
        settings.max_resource_hosts = value;
    }
    if settings.tls_expiry_fail > settings.tls_expiry_warn {
        return Err(source.unlocated(&format!("defaults: {EXPIRY_ORDER}")));
    }
    Ok(settings)
}

fn resolve_target(
    entry: RawTarget,
    base: &TargetSettings,
    default_category: Category,
    category_overrides: &BTreeMap<Category, PolicyOverride>,
    source: &Source<'_>,
) -> Result<Target, ConfigError> {
    let url_location = entry.url.referenced;
    let target_url = entry.url.value;
    let mut settings = base.clone();
    SettingsFields {
        interval: entry.interval,
        deep_interval: entry.deep_interval,
        timeout: entry.timeout,
        expect_status: entry.expect_status.as_ref(),
        tls_expiry_warn: entry.tls_expiry_warn.as_ref().map(|s| s.value),
        tls_expiry_fail: entry.tls_expiry_fail,
    }
    .apply_to(&mut settings);
    if settings.tls_expiry_fail > settings.tls_expiry_warn {
        let location = entry.tls_expiry_warn.map(|s| s.referenced).unwrap_or(url_location);
        return Err(source.at(location, EXPIRY_ORDER.into()));
    }
    settings.accept_ranges.extend(entry.accept_ranges);
    settings.content.allow.extend(entry.content.allow);
    if let Some(domain) = &entry.mail_domain {
        settings.mail_domain = Some(mail_domain(domain, source)?);
    }
    if let Some(mail) = &entry.mail {
        settings.dkim_selectors = dkim_selectors(mail, source)?;
    }
    if let Some(value) = entry.max_resource_hosts {
        settings.max_resource_hosts = value;
    }
    let http_url: Url = match entry.http_url {
        Some(spanned) => {
            target::parse_http_url(&spanned.value).map_err(|message| source.at(spanned.referenced, message))?
        }
        None => target::default_http_url(&target_url.url),
    };
    let category = entry.category.unwrap_or(default_category);
    let mut policy = TargetPolicy::default_for(category);
    if let Some(change) = category_overrides.get(&category) {
        policy.apply(change);
    }
    if let Some(spanned) = entry.policy {
        policy.apply(&policy_override(source, spanned)?);
    }
    Ok(Target {
        id: target_url.given.clone(),
        url: target_url.url,
        http_url,
        name: entry.name,
        agency: entry.agency,
        category,
        district: entry.district,
        province: entry.province,
        tags: entry.tags,
        settings,
        policy,
    })
}

/// A mail domain as written (IDN or ASCII, any case), as the ASCII name DNS is asked about.
fn mail_domain(spanned: &Spanned<String>, source: &Source<'_>) -> Result<String, ConfigError> {
    target::normalise_host_suffix(&spanned.value)
        .map_err(|message| source.at(spanned.referenced, format!("mail_domain: {message}")))
}

/// DKIM selectors as DNS asks for them: one or more labels of letters, digits, `-` and `_`.
fn dkim_selectors(mail: &super::raw::RawMail, source: &Source<'_>) -> Result<Vec<String>, ConfigError> {
    let mut selectors = Vec::new();
    for spanned in &mail.dkim_selectors {
        let selector = spanned.value.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid = !selector.is_empty()
            && selector.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !valid {
            return Err(source.at(
                spanned.referenced,
                format!(
                    "mail.dkim_selectors: {:?} is not a DKIM selector (expected DNS labels such as \"default\" or \"s2026._mail\")",
                    spanned.value
                ),
            ));
        }
        if !selectors.contains(&selector) {
            selectors.push(selector);
        }
    }
    Ok(selectors)
}

/// A policy override from the file; relaxing or tightening a policy needs a recorded reason.
fn policy_override(source: &Source<'_>, spanned: Spanned<RawPolicy>) -> Result<PolicyOverride, ConfigError> {
    let raw = spanned.value;
    let reason = raw.reason.map(|r| r.trim().to_string()).unwrap_or_default();
    if reason.is_empty() {
        return Err(source.at(
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

fn resolve_goals(raw_goals: Vec<RawGoal>, source: &Source<'_>) -> Result<Vec<Goal>, ConfigError> {
    let mut goals: Vec<Goal> = Vec::new();
    for raw in raw_goals {
        let id = raw.id.value.trim().to_string();
        let valid_id = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if !valid_id {
            return Err(source.at(
                raw.id.referenced,
                format!("invalid goal id {id:?}: expected letters, digits, '_', '-' or '.'"),
            ));
        }
        if goals.iter().any(|g| g.id == id) {
            return Err(source.at(raw.id.referenced, format!("duplicate goal id {id:?}")));
        }
        let deadline_unix =
            parse_deadline(&raw.deadline.value).map_err(|message| source.at(raw.deadline.referenced, message))?;
        if raw.checks.is_empty() {
            return Err(source.at(raw.id.referenced, format!("goal {id:?} lists no checks")));
        }
        goals.push(Goal {
            title_en: raw.title_en.unwrap_or_else(|| raw.title.clone()),
            title_vi: raw.title,
            id,
            categories: raw.categories,
            checks: raw.checks,
            target_ratio: raw.target.map(|r| r.0).unwrap_or(1.0),
            deadline: raw.deadline.value.trim().to_string(),
            deadline_unix,
        });
    }
    Ok(goals)
}

/// `HOST:PORT` of an RTR server, or why not.
pub fn parse_rtr_address(text: &str) -> Result<String, String> {
    let text = text.trim();
    let port = text
        .rsplit_once(':')
        .map(|(host, port)| (host.trim_matches(|c| c == '[' || c == ']'), port));
    match port {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => Ok(text.to_string()),
        _ => Err(format!(
            "invalid RTR server {text:?}: expected HOST:PORT, e.g. rtr.example.vn:3323 or [2001:db8::1]:3323"
        )),
    }
}

fn routing_settings(raw: RawRouting, source: &Source<'_>) -> Result<probe::RoutingSettings, ConfigError> {
    let mut origins = match raw.route_origins.as_deref().map(str::trim) {
        None | Some("dns") => probe::RouteOrigins::default(),
        Some(path) => probe::RouteOrigins::Table {
            path: source.absolute(std::path::Path::new(path)),
        },
    };
    if let (Some(zones), probe::RouteOrigins::Dns { .. }) = (raw.origin_zones, &origins) {
        origins = probe::RouteOrigins::Dns {
            ipv4_zone: zones.ipv4.trim().trim_end_matches('.').to_string(),
            ipv6_zone: zones.ipv6.trim().trim_end_matches('.').to_string(),
        };
    }
    let validator = match (raw.rpki_rtr, raw.rpki_vrps) {
        (Some(rtr), Some(_)) => {
            return Err(source.at(rtr.referenced, "give either `rpki_rtr` or `rpki_vrps`, not both".into()))
        }
        (Some(rtr), None) => Some(probe::Validator::Rtr {
            address: parse_rtr_address(&rtr.value).map_err(|message| source.at(rtr.referenced, message))?,
        }),
        (None, Some(file)) => Some(probe::Validator::File {
            path: source.absolute(&file.value),
        }),
        (None, None) => None,
    };
    Ok(probe::RoutingSettings { origins, validator })
}

fn probe_settings(
    resolver: RawResolver,
    trust: RawTrust,
    routing: RawRouting,
    source: &Source<'_>,
) -> Result<probe::Settings, ConfigError> {
    Ok(probe::Settings {
        resolver: ResolverSettings {
            servers: resolver.servers.into_iter().map(|r| r.0).collect(),
            ns_port: resolver.ns_port.unwrap_or(DEFAULT_NS_PORT),
            smtp_port: resolver.smtp_port.unwrap_or(DEFAULT_SMTP_PORT),
            trust_anchor: resolver.trust_anchor.map(|path| source.absolute(&path)),
        },
        trust: TrustSettings {
            extra_roots: trust.extra_roots.iter().map(|root| source.absolute(root)).collect(),
            accept_ranges: trust.accept_ranges,
        },
        routing: routing_settings(routing, source)?,
        politeness: Default::default(),
    })
}
