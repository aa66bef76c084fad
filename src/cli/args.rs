//! The command line as clap parses it: commands, their flags and the flag value parsers.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config, Overrides, ResolverAddr};
use crate::model::duration::HumanDuration;
use crate::output::Format;

#[derive(Debug, Parser)]
#[command(name = "vnready", version, about = "Audit IPv6, .vn and TLS readiness of government websites", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log level of vnready's own lines: error, warn, info, debug or trace (stderr). Default:
    /// info for serve, warn otherwise. Other crates (DNS, TLS, HTTP libraries) stay silent
    /// unless RUST_LOG or a full directive ("info,hickory_net=debug") asks for them.
    #[arg(long = "log.level", global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log format: text for people, json (one object per line) for a SIEM.
    #[arg(long = "log.format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit targets once and exit 0 (all required checks pass), 1 (some fail) or 2 (usage error).
    Check(CheckArgs),
    /// Run the daemon: audit every target on its interval, serve Prometheus metrics, keep history.
    Serve(ServeArgs),
    /// Write a compliance report (CSV, XLSX, HTML, Markdown, JSON) from the history store or a fresh audit.
    Report(ReportArgs),
    /// Check a targets file without probing anything; exit 0 if valid, 2 if not.
    Validate(ValidateArgs),
}

/// Report file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Xlsx,
    Html,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The targets file: names, agencies, categories, policies and goals come from it
    /// (default targets.yaml; with --from only goals, and only when given).
    #[arg(long = "config", short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Build the report from sweep outputs (`check --format jsonl`) instead of the store:
    /// files or quoted globs ('out/shard-*.jsonl'), read in one streaming pass; a target in
    /// several files counts once, its latest audit.
    #[arg(long = "from", value_name = "FILE.jsonl", num_args = 1.., conflicts_with_all = ["audit", "compare"])]
    pub from: Vec<String>,
    /// The daemon's history store.
    #[arg(long = "storage.path", value_name = "FILE", default_value = "data/vnready.db")]
    pub storage_path: PathBuf,
    /// Audit every target now instead of reading the latest results from the store ("since"
    /// still comes from the store when it exists).
    #[arg(long = "audit")]
    pub audit: bool,
    #[command(flatten)]
    pub probe: ProbeFlags,
    /// Output format.
    #[arg(long = "format", value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// Write here instead of standard output (required for xlsx on a terminal).
    #[arg(long = "output", short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Language of labels and reasons.
    #[arg(long = "lang", value_enum, default_value = "vi")]
    pub lang: crate::report::Lang,
    /// How the summary groups sites.
    #[arg(long = "group-by", value_enum, default_value = "agency")]
    pub group_by: crate::report::GroupBy,
    /// An earlier report in JSON (`--format json`): list what improved and what regressed.
    #[arg(long = "compare", value_name = "OLD.json")]
    pub compare: Option<PathBuf>,
    /// With --format csv: which table the file holds (a CSV file has one).
    #[arg(long = "table", value_enum, default_value = "compliance")]
    pub table: crate::report::csv::CsvTable,
    /// Start of the availability period: a duration back from now (30d, 12h) or a date or
    /// time (2026-11-01, 2026-11-01T08:00:00+07:00).
    #[arg(long = "since", value_name = "DURATION|DATE", default_value = "30d")]
    pub since: String,
    /// End of the availability period (a date or time); default now.
    #[arg(long = "until", value_name = "DATE")]
    pub until: Option<String>,
}

/// Default `--web.listen-address`: loopback, on a port of our own.
pub const DEFAULT_LISTEN_ADDRESS: &str = "127.0.0.1:9731";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The targets file; re-read on SIGHUP and POST /-/reload.
    #[arg(long = "config", short = 'c', value_name = "FILE", default_value = "targets.yaml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub probe: ProbeFlags,
    /// Address for /metrics, /probe and /-/*: HOST:PORT, [IPv6]:PORT or :PORT (all interfaces).
    #[arg(long = "web.listen-address", value_name = "ADDRESS", default_value = DEFAULT_LISTEN_ADDRESS)]
    pub listen_address: String,
    /// SQLite file for history (status transitions, "failing since", latest results). Empty: keep none.
    #[arg(long = "storage.path", value_name = "FILE", default_value = "data/vnready.db", value_parser = parse_storage_path)]
    pub storage_path: PathBuf,
    /// How long outages, monitoring gaps and check transitions are kept in the store (pruned
    /// hourly); each check's current state is always kept.
    #[arg(long = "storage.retention", value_name = "DURATION", default_value = "400d")]
    pub storage_retention: HumanDuration,
    #[command(flatten)]
    pub shard: ShardFlags,
    /// Prometheus exporter-toolkit web config (YAML): TLS (`tls_server_config`), basic auth
    /// (`basic_auth_users`, bcrypt hashes), response headers and a rate limit. Re-read on reload.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config: Option<PathBuf>,
    /// On SIGTERM, how long in-flight audits may run before they are cancelled.
    #[arg(long = "shutdown.grace-period", value_name = "DURATION", default_value = "10s")]
    pub grace_period: HumanDuration,
}

/// Flags shared by `check` and `serve`; they override the config file.
#[derive(Debug, Args, Clone, Default)]
pub struct ProbeFlags {
    /// DNS resolver to use instead of the file's or the system's (repeatable): IP, IP:PORT or [IPv6]:PORT.
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    pub resolvers: Vec<ResolverAddr>,
    /// Accept addresses in this special-purpose range as usable (repeatable; adds to the file's ranges).
    #[arg(long = "accept-range", value_name = "CIDR", value_parser = parse_cidr_flag)]
    pub accept_ranges: Vec<ipnet::IpNet>,
    /// Extra trusted root CA in PEM, e.g. Vietnam's national root (repeatable; adds to the file's roots).
    #[arg(long = "extra-root", value_name = "PEM")]
    pub extra_roots: Vec<PathBuf>,
    /// DNSSEC trust anchor: a file of DNSKEY or DS records, or IANA's root-anchors.xml, trusted
    /// besides the root's (a lab zone, an internal root); replaces the file's
    /// `resolver.trust_anchor`.
    #[arg(long = "trust-anchor", value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,
    /// Time allowed per target; bounds every phase (DNS, connect, TLS, HTTP). E.g. 10s.
    #[arg(long = "timeout", value_name = "DURATION")]
    pub timeout: Option<HumanDuration>,
    /// How many targets are audited at once.
    #[arg(long = "concurrency", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: Option<u32>,
    /// RPKI validator to ask for validated ROA payloads over RTR (RFC 8210): Routinator,
    /// StayRTR, rpki-client's RTR daemon. Replaces the file's `routing.rpki_rtr`/`rpki_vrps`.
    #[arg(long = "rpki-rtr", value_name = "HOST:PORT", value_parser = config::parse_rtr_address, conflicts_with = "rpki_vrps")]
    pub rpki_rtr: Option<String>,
    /// Validated ROA payloads from a JSON file (rpki-client's or Routinator's format).
    #[arg(long = "rpki-vrps", value_name = "FILE")]
    pub rpki_vrps: Option<PathBuf>,
    /// Route origins from a local CSV table (`prefix,asn` per line) instead of DNS.
    #[arg(long = "route-origins", value_name = "FILE.csv")]
    pub route_origins: Option<PathBuf>,
    /// At most this many connections open at once to one server address (every probe, every
    /// port). Default: 4 for `check`, no limit for `serve`.
    #[arg(long = "per-address-concurrency", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub per_address_concurrency: Option<u32>,
    /// At most this many DNS queries a second counted against one authoritative name server
    /// (a zone's queries are spread over its servers). Default: 20 for `check`, no limit for
    /// `serve`.
    #[arg(long = "per-nameserver-qps", value_name = "QPS", value_parser = parse_positive_rate)]
    pub per_nameserver_qps: Option<f64>,
}

/// A rate above zero (queries or targets per second).
pub fn parse_positive_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "invalid rate {text:?}: expected a number above 0, e.g. 20 or 0.5"
        )),
    }
}

/// A path from the command line, made absolute against the working directory (a daemon's
/// reload must still find it).
fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Any path, including the empty one that turns history off.
fn parse_storage_path(text: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(text))
}

fn parse_category(text: &str) -> Result<crate::model::target::Category, String> {
    crate::model::target::Category::parse(text).ok_or_else(|| {
        format!("unknown category {text:?}: expected state_portal, e_newspaper, general_info, education, health, e_commerce or other")
    })
}

fn parse_cidr_flag(text: &str) -> Result<ipnet::IpNet, String> {
    config::parse_cidr(text)
}

impl ProbeFlags {
    /// The flags as overrides that a reload re-applies.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            resolvers: self.resolvers.iter().map(|r| r.0).collect(),
            accept_ranges: self.accept_ranges.clone(),
            extra_roots: self.extra_roots.clone(),
            trust_anchor: self.trust_anchor.clone(),
            timeout: self.timeout.map(|t| t.0),
            concurrency: self.concurrency.map(|c| c as usize),
            validator: match (&self.rpki_rtr, &self.rpki_vrps) {
                (Some(address), _) => Some(crate::probe::Validator::Rtr {
                    address: address.clone(),
                }),
                (None, Some(path)) => Some(crate::probe::Validator::File { path: absolute(path) }),
                (None, None) => None,
            },
            route_origins: self.route_origins.as_deref().map(absolute),
            politeness: crate::probe::politeness::PolitenessSettings {
                per_address_connections: self.per_address_concurrency.map(|n| n as usize),
                per_nameserver_qps: self.per_nameserver_qps,
            },
        }
    }

    /// Applies the flags over a loaded config.
    pub fn apply(&self, config: &mut Config) {
        self.overrides().apply(config);
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// URLs or bare host names to audit (e.g. https://haiduong.gov.vn/ or soyte.haiduong.gov.vn).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Audit the targets in this YAML file (as well as any given on the command line).
    #[arg(long = "config", short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub probe: ProbeFlags,
    /// Checks that must pass for exit code 0 (comma-separated ids). Default: each target's
    /// category policy with --config or --policy, else every check that runs.
    #[arg(long = "require", value_name = "CHECK[,CHECK…]")]
    pub require: Option<String>,
    /// Judge every target as this category, with its required set (state_portal, e_newspaper,
    /// general_info, education, health, e_commerce, other).
    #[arg(long = "policy", value_name = "CATEGORY", value_parser = parse_category)]
    pub policy: Option<crate::model::target::Category>,
    /// With --config: audit only targets added or changed since this older targets file (a
    /// merge request's base).
    #[arg(long = "baseline", value_name = "OLD.yaml", requires = "config")]
    pub baseline: Option<PathBuf>,
    /// Run only these checks, and only the probes they need (comma-separated ids).
    #[arg(long = "only", value_name = "CHECK[,CHECK…]")]
    pub only: Option<String>,
    /// Output format.
    #[arg(long = "format", value_enum, default_value = "text")]
    pub format: Format,
    /// Never show a progress bar, even on a terminal.
    #[arg(long = "no-progress")]
    pub no_progress: bool,
    /// Also audit the targets in this file, one URL or host name per line (`-`: standard
    /// input), read lazily: memory follows --concurrency, not the length of the list. A line
    /// may add `province=`, `category=`, `agency=`, `name=` and `district=` fields.
    #[arg(long = "targets-file", value_name = "FILE|-")]
    pub targets_file: Option<PathBuf>,
    /// Write the output to this file instead of standard output.
    #[arg(long = "output", short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With --format jsonl and --output: skip the targets the file already holds and append
    /// the rest (a line cut short by a killed run is removed first).
    #[arg(long = "resume", requires = "output")]
    pub resume: bool,
    #[command(flatten)]
    pub shard: ShardFlags,
    /// Exit 0 even when targets fail their required checks (a sweep whose product is the
    /// report, not a gate: a batch job must not retry because sites fail); 2 still means a
    /// usage error.
    #[arg(long = "no-gate")]
    pub no_gate: bool,
    /// Start at most this many targets a second (e.g. 50 or 0.5).
    #[arg(long = "max-rate", value_name = "TARGETS/S", value_parser = parse_positive_rate)]
    pub max_rate: Option<f64>,
}

/// Which share of the targets this process takes; shared by `check` and `serve`, which pick
/// by the same stable hash of the normalised URL.
#[derive(Debug, Args, Clone, Default)]
pub struct ShardFlags {
    /// Audit only this share of the targets: K/N, shard K (1-based) of N.
    #[arg(long = "shard", value_name = "K/N", conflicts_with = "shards")]
    pub shard: Option<crate::daemon::shard::Shard>,
    /// Split the targets into N shards and take the one at --shard-index.
    #[arg(long = "shards", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub shards: Option<u32>,
    /// This process's index among --shards N, from 0: a Kubernetes Indexed Job sets
    /// JOB_COMPLETION_INDEX, a StatefulSet passes its pod's ordinal. Read only with --shards.
    #[arg(long = "shard-index", value_name = "I", env = "JOB_COMPLETION_INDEX")]
    pub shard_index: Option<String>,
}

impl ShardFlags {
    /// The shard these flags name; the whole set without any.
    pub fn resolve(&self) -> Result<crate::daemon::shard::Shard, String> {
        use crate::daemon::shard::Shard;
        match (self.shard, self.shards) {
            (Some(shard), _) => Ok(shard),
            (None, Some(count)) => {
                let text = self.shard_index.as_deref().ok_or(
                    "--shards N needs --shard-index I or JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job); or use --shard K/N",
                )?;
                let index: u32 = text.trim().parse().map_err(|_| {
                    format!(
                        "shard index {text:?} (--shard-index or JOB_COMPLETION_INDEX): expected a number from 0 to {}",
                        count - 1
                    )
                })?;
                if index >= count {
                    return Err(format!(
                        "shard index {index} (--shard-index or JOB_COMPLETION_INDEX) is not below --shards {count}: expected 0 to {}",
                        count - 1
                    ));
                }
                Ok(Shard {
                    index: index + 1,
                    count,
                })
            }
            (None, None) => Ok(Shard::WHOLE),
        }
    }
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The targets file to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}
