//! Command-line interface: `check` (one-shot audit / CI gate) and `validate`. anyhow lives only
//! here, at the edge; everything below returns typed errors.

pub mod serve;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use futures::StreamExt;

use crate::audit::plan;
use crate::audit::plan::AuditPlan;
use crate::audit::runner;
use crate::checks::CheckId;
use crate::config::{self, Config, Overrides, ResolverAddr};
use crate::model::duration::HumanDuration;
use crate::model::target::{Target, TargetSettings, TargetUrl};
use crate::output::{self, Format};
use crate::probe::Prober;

/// Exit code when every required check passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code when a required check failed or could not be tested.
pub const EXIT_FAIL: u8 = 1;
/// Exit code for usage and configuration errors.
pub const EXIT_USAGE: u8 = 2;

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
    /// The targets file: names, agencies, categories, policies and goals come from it.
    #[arg(long = "config", short = 'c', value_name = "FILE", default_value = "targets.yaml")]
    pub config: PathBuf,
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
    /// Audit only this replica's share of the targets: K/N, replica K (1-based) of N.
    #[arg(long = "shard", value_name = "K/N", default_value = "1/1")]
    pub shard: crate::daemon::shard::Shard,
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
    /// DNSSEC trust anchor: a file of DNSKEY records trusted besides the root's (a lab zone, an
    /// internal root); replaces the file's `resolver.trust_anchor`.
    #[arg(long = "trust-anchor", value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,
    /// Time allowed per target; bounds every phase (DNS, connect, TLS, HTTP). E.g. 10s.
    #[arg(long = "timeout", value_name = "DURATION")]
    pub timeout: Option<HumanDuration>,
    /// How many targets are audited at once.
    #[arg(long = "concurrency", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: Option<u32>,
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
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The targets file to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// An error that means "the user asked for something wrong": exit 2, not 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Entry point used by `main`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { EXIT_USAGE } else { EXIT_PASS });
        }
    };
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.log_level.as_deref().unwrap_or(default_level), cli.log_format);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("vnready: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The filter for `--log.level`: a bare level applies to vnready alone (the DNS library's
/// DNSSEC validator alone logs whole DNS messages at WARN/ERROR for every unsigned zone);
/// anything else is a full directive for experts, as RUST_LOG is.
pub fn log_directive(level: &str) -> String {
    let bare = ["error", "warn", "info", "debug", "trace", "off"];
    let level = level.trim();
    if bare.contains(&level.to_ascii_lowercase().as_str()) {
        format!("off,vnready={}", level.to_ascii_lowercase())
    } else {
        level.to_string()
    }
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(log_directive(level)))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off,vnready=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        // Fields at the top level and no tracing target, so `target` is always the site.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_target(false)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs a parsed command line and returns the exit code. Every field is destructured so none
/// is silently ignored.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let Cli {
        command,
        log_level: _,
        log_format: _,
    } = cli;
    match command {
        Command::Validate(ValidateArgs { file }) => match Config::load(&file) {
            Ok(config) => {
                println!("{}: OK, {} target(s)", file.display(), config.targets.len());
                Ok(EXIT_PASS)
            }
            Err(err) => {
                eprintln!("{err}");
                Ok(EXIT_USAGE)
            }
        },
        Command::Check(args) => run_check(args),
        Command::Serve(args) => run_serve(args),
        Command::Report(args) => run_report(args),
    }
}

fn run_report(args: ReportArgs) -> anyhow::Result<u8> {
    use crate::report::{self, source, Report};
    let ReportArgs {
        config: config_path,
        storage_path,
        audit,
        probe,
        format,
        output,
        lang,
        group_by,
        compare,
    } = args;
    let mut config = match Config::load(&config_path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return Ok(EXIT_USAGE);
        }
    };
    probe.apply(&mut config);
    let previous = match &compare {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            match serde_json::from_str::<Report>(&text) {
                Ok(report) => Some(report),
                Err(err) => {
                    return usage(&format!(
                        "--compare {}: not a vnready JSON report: {err}",
                        path.display()
                    ))
                }
            }
        }
        None => None,
    };
    let now = crate::model::clock::unix_now();
    let stored = if storage_path.exists() {
        match source::from_store(&storage_path) {
            Ok(known) => Some(known),
            Err(err) => return usage(&err.to_string()),
        }
    } else {
        None
    };
    let known = if audit {
        let plan = crate::daemon::supervisor::daemon_plan(config.concurrency);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let verdicts = runtime.block_on(async {
            let prober = Prober::new(&config.probe).map_err(|err| UsageError(err.to_string()))?;
            Ok::<_, UsageError>(runner::audit_all(&prober, &config.targets, &plan, &|_| {}).await)
        });
        match verdicts {
            Ok(verdicts) => source::from_audit(&verdicts, stored, now),
            Err(err) => return usage(&err.to_string()),
        }
    } else {
        match stored {
            Some(known) => known,
            None => {
                return usage(&format!(
                    "no history at {}: run `vnready serve`, point --storage.path at its store, or use --audit",
                    storage_path.display()
                ))
            }
        }
    };
    let inputs = source::inputs(&config, &known);
    let report = Report::build(&config, &inputs, lang, now);
    let comparison = previous.as_ref().map(|old| report::compare(old, &report));
    let bytes: Vec<u8> = match format {
        ReportFormat::Csv => report::csv::render(&report, group_by).into_bytes(),
        ReportFormat::Markdown => report::markdown::render(&report, group_by, comparison.as_ref()).into_bytes(),
        ReportFormat::Html => report::html::render(&report, group_by, comparison.as_ref()).into_bytes(),
        ReportFormat::Json => serde_json::to_vec_pretty(&report).context("encoding JSON")?,
        ReportFormat::Xlsx => {
            if output.is_none() && std::io::stdout().is_terminal() {
                return usage("--format xlsx writes a binary file: give --output FILE.xlsx");
            }
            report::xlsx::render(&report).context("building the workbook")?
        }
    };
    match output {
        Some(path) => std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().lock().write_all(&bytes).context("writing output")?,
    }
    Ok(EXIT_PASS)
}

fn run_serve(args: ServeArgs) -> anyhow::Result<u8> {
    let ServeArgs {
        config,
        probe,
        listen_address,
        storage_path,
        shard,
        grace_period,
    } = args;
    let listen = match crate::cli::serve::parse_listen_address(&listen_address) {
        Ok(address) => address,
        Err(message) => return usage(&format!("--web.listen-address: {message}")),
    };
    let options = crate::cli::serve::ServeOptions {
        config,
        overrides: probe.overrides(),
        listen,
        storage: Some(storage_path).filter(|p| !p.as_os_str().is_empty()),
        shard,
        grace: grace_period.0,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match runtime.block_on(crate::cli::serve::run(options)) {
        Ok(()) => Ok(EXIT_PASS),
        Err(err) => {
            tracing::error!(error = %err, "vnready serve could not start");
            eprintln!("vnready: {err}");
            Ok(EXIT_USAGE)
        }
    }
}

fn run_check(args: CheckArgs) -> anyhow::Result<u8> {
    let CheckArgs {
        targets,
        config: config_path,
        probe,
        require,
        policy: policy_category,
        baseline,
        only,
        format,
        no_progress,
    } = args;
    let mut config = match &config_path {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(err) => {
                eprintln!("{err}");
                return Ok(EXIT_USAGE);
            }
        },
        None => Config::empty(),
    };
    if let Some(old_path) = &baseline {
        let old = match Config::load(old_path) {
            Ok(old) => old,
            Err(err) => {
                eprintln!("{err}");
                return Ok(EXIT_USAGE);
            }
        };
        let before = config.targets.len();
        config.targets = added_or_changed(&old, config.targets);
        eprintln!(
            "vnready: {} of {before} target(s) added or changed since {}",
            config.targets.len(),
            old_path.display()
        );
        if config.targets.is_empty() && targets.is_empty() {
            println!("No targets added or changed: nothing to audit.");
            return Ok(EXIT_PASS);
        }
    }
    for text in &targets {
        match TargetUrl::parse(text) {
            Ok(url) => config.targets.push(Target::from_url(url, TargetSettings::default())),
            Err(message) => return usage(&format!("target {text:?}: {message}")),
        }
    }
    if config.targets.is_empty() {
        return usage("no targets: give URLs or host names, or --config FILE");
    }
    if let Some(category) = policy_category {
        for target in &mut config.targets {
            target.set_category(category);
        }
    }
    let judge_by_policy = policy_category.is_some() || config_path.is_some();
    probe.apply(&mut config);
    let require = match require.as_deref().map(CheckId::parse_list).transpose() {
        Ok(ids) => ids,
        Err(message) => return usage(&format!("--require: {message}")),
    };
    let only = match only.as_deref().map(CheckId::parse_list).transpose() {
        Ok(ids) => ids,
        Err(message) => return usage(&format!("--only: {message}")),
    };
    let mut checks = plan::checks_to_run(only.as_deref(), require.as_deref());
    if only.is_some() && require.is_none() && judge_by_policy {
        // A gate judged by policy must not pass because --only left a required check out.
        let added = plan::add_required_checks(&mut checks, &config.targets);
        if !added.is_empty() {
            let names: Vec<&str> = added.iter().map(|id| id.as_str()).collect();
            eprintln!(
                "vnready: --only: also running {} (required by the targets' policy)",
                names.join(", ")
            );
        }
    }
    let required = match require {
        Some(ids) => Some(ids),
        None if judge_by_policy => None,
        None => Some(checks.clone()),
    };
    let plan = AuditPlan {
        required,
        checks: checks.clone(),
        concurrency: config.concurrency,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let prober = match Prober::new(&config.probe) {
            Ok(prober) => prober,
            Err(err) => return Err(UsageError(err.to_string())),
        };
        let progress = progress_bar(config.targets.len(), no_progress);
        let mut verdicts = runner::audit_stream(&prober, &config.targets, &plan);
        // JSON is written target by target, so memory follows the concurrency, not the number
        // of sites; the table and JUnit need every verdict before they can start.
        let mut json = match format {
            Format::Json => Some(
                output::json::JsonStream::begin(std::io::BufWriter::new(std::io::stdout().lock()), &checks)
                    .map_err(|err| UsageError(format!("writing output: {err}")))?,
            ),
            _ => None,
        };
        let mut kept = Vec::new();
        let mut all_passed = true;
        while let Some(verdict) = verdicts.next().await {
            if let Some(bar) = &progress {
                bar.set_message(verdict.target.clone());
                bar.inc(1);
            }
            all_passed &= verdict.passed;
            match json.as_mut() {
                Some(stream) => stream
                    .push(&verdict)
                    .map_err(|err| UsageError(format!("writing output: {err}")))?,
                None => kept.push(verdict),
            }
        }
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        if let Some(stream) = json {
            stream
                .finish()
                .map_err(|err| UsageError(format!("writing output: {err}")))?;
        }
        Ok((kept, all_passed))
    });
    let (verdicts, all_passed) = match outcome {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("vnready: {err}");
            return Ok(EXIT_USAGE);
        }
    };
    let rendered = match format {
        Format::Text => output::text::render(&verdicts, &checks),
        Format::Junit => output::junit::render(&verdicts, &checks),
        Format::Json => String::new(),
    };
    if !rendered.is_empty() {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(rendered.as_bytes()).context("writing output")?;
        if !rendered.ends_with('\n') {
            stdout.write_all(b"\n").context("writing output")?;
        }
    }
    Ok(if all_passed { EXIT_PASS } else { EXIT_FAIL })
}

/// Targets of the new file that the old one lacks or lists with different settings.
fn added_or_changed(old: &Config, new_targets: Vec<Target>) -> Vec<Target> {
    new_targets
        .into_iter()
        .filter(|target| !old.targets.iter().any(|before| before == target))
        .collect()
}

fn usage(message: &str) -> anyhow::Result<u8> {
    eprintln!("vnready: {message}");
    Ok(EXIT_USAGE)
}

/// A bar on stderr when a person is watching and the run is long enough to need one.
fn progress_bar(total: usize, disabled: bool) -> Option<indicatif::ProgressBar> {
    if disabled || total < 5 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} {wide_msg}") {
        bar.set_style(style);
    }
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_silences_other_crates_and_a_directive_is_kept() {
        assert_eq!(log_directive("info"), "off,vnready=info");
        assert_eq!(log_directive("ERROR"), "off,vnready=error");
        assert_eq!(log_directive("info,hickory_net=debug"), "info,hickory_net=debug");
    }
}
