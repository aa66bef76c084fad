//! The resolved configuration every other layer reads, and the command-line overrides that a
//! reload re-applies to a new file.

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use crate::model::goals::Goal;
use crate::model::target::Target;
use crate::probe;

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
    /// Replaces `routing.rpki_rtr` / `routing.rpki_vrps`.
    pub validator: Option<probe::Validator>,
    /// Replaces `routing.route_origins` with a CSV table.
    pub route_origins: Option<PathBuf>,
    /// Connection and query limits per server; each one set replaces the config's.
    pub politeness: probe::politeness::PolitenessSettings,
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
        if let Some(validator) = &self.validator {
            config.probe.routing.validator = Some(validator.clone());
        }
        let limits = &mut config.probe.politeness;
        if let Some(limit) = self.politeness.per_address_connections {
            limits.per_address_connections = Some(limit);
        }
        if let Some(qps) = self.politeness.per_nameserver_qps {
            limits.per_nameserver_qps = Some(qps);
        }
        if let Some(path) = &self.route_origins {
            config.probe.routing.origins = probe::RouteOrigins::Table { path: path.clone() };
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
    /// Keeps only the targets this config adds or changes relative to `old` (`check
    /// --baseline`: a CI job gates the sites a change touches, not the whole province).
    pub fn keep_added_or_changed_since(&mut self, old: &Config) {
        self.targets
            .retain(|target| !old.targets.iter().any(|before| before == target));
    }

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
}
