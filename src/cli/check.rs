//! `vnready check`: gather the targets, build the plan, audit, write the chosen format and
//! exit 0 (every required check passed), 1 (some did not) or 2 (usage error).

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;

use super::args::CheckArgs;
use super::edge::{async_runtime, load_config, usage, UsageError, EXIT_FAIL, EXIT_PASS, EXIT_USAGE};
use crate::audit::plan::{self, AuditPlan};
use crate::audit::runner;
use crate::audit::verdict::TargetVerdict;
use crate::checks::CheckId;
use crate::config::Config;
use crate::daemon::shard::Shard;
use crate::model::target::{Target, TargetSettings, TargetUrl};
use crate::output::{self, Format};
use crate::probe::Prober;

pub(super) fn run(args: CheckArgs) -> anyhow::Result<u8> {
    let judge_by_policy = args.policy.is_some() || args.config.is_some() || args.targets_file.is_some();
    let shard = match args.shard.resolve() {
        Ok(shard) => shard,
        Err(message) => return usage(&message),
    };
    let mut config = match gather_targets(&args) {
        Ok(Some(config)) => config,
        Ok(None) => return Ok(EXIT_PASS),
        Err(UsageError(message)) => return usage(&message),
    };
    polite_by_default(&mut config);
    let parse = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(CheckId::parse_list)
            .transpose()
            .map_err(|message| format!("{flag}: {message}"))
    };
    let (require, only) = match (parse("--require", &args.require), parse("--only", &args.only)) {
        (Ok(require), Ok(only)) => (require, only),
        (Err(message), _) | (_, Err(message)) => return usage(&message),
    };
    let (plan, added) = plan::for_check(
        only.as_deref(),
        require,
        judge_by_policy,
        &config.targets,
        config.concurrency,
    );
    if !added.is_empty() {
        let names: Vec<&str> = added.iter().map(|id| id.as_str()).collect();
        eprintln!(
            "vnready: --only: also running {} (required by the targets' policy)",
            names.join(", ")
        );
    }
    let sweeping = args.targets_file.is_some()
        || args.format == Format::Jsonl
        || shard != Shard::WHOLE
        || args.resume
        || args.output.is_some();
    if sweeping {
        let sweep = super::sweep::Sweep {
            config,
            plan,
            targets_file: args.targets_file.clone(),
            timeout: args.probe.timeout.map(|t| t.0),
            policy: args.policy,
            shard,
            resume: args.resume,
            output: args.output.clone(),
            format: args.format,
            max_rate: args.max_rate,
        };
        return match super::sweep::run(sweep) {
            Ok(outcome) => match outcome.input_error {
                Some(message) => usage(&message),
                None => Ok(if outcome.all_passed || args.no_gate {
                    EXIT_PASS
                } else {
                    EXIT_FAIL
                }),
            },
            Err(UsageError(message)) => usage(&message),
        };
    }
    let outcome = async_runtime()?.block_on(audit_and_stream(&config, &plan, args.format, args.no_progress));
    let (verdicts, all_passed) = match outcome {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("vnready: {err}");
            return Ok(EXIT_USAGE);
        }
    };
    let rendered = match args.format {
        Format::Text => output::text::render(&verdicts, &plan.checks),
        Format::Junit => output::junit::render(&verdicts, &plan.checks),
        Format::Json | Format::Jsonl => String::new(),
    };
    if !rendered.is_empty() {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(rendered.as_bytes()).context("writing output")?;
        if !rendered.ends_with('\n') {
            stdout.write_all(b"\n").context("writing output")?;
        }
    }
    Ok(if all_passed || args.no_gate {
        EXIT_PASS
    } else {
        EXIT_FAIL
    })
}

/// `check` is a batch tool that may meet thousands of sites on one shared server: unless
/// told otherwise, it opens at most 4 connections at once to one address and asks one name
/// server at most 20 questions a second (`serve` paces itself by its interval instead).
fn polite_by_default(config: &mut Config) {
    let limits = &mut config.probe.politeness;
    limits
        .per_address_connections
        .get_or_insert(DEFAULT_PER_ADDRESS_CONNECTIONS);
    limits.per_nameserver_qps.get_or_insert(DEFAULT_PER_NAMESERVER_QPS);
}

/// `--per-address-concurrency` when none is given.
pub const DEFAULT_PER_ADDRESS_CONNECTIONS: usize = 4;
/// `--per-nameserver-qps` when none is given.
pub const DEFAULT_PER_NAMESERVER_QPS: f64 = 20.0;

/// The config's targets (only those added or changed since `--baseline`), the command line's
/// targets, `--policy` applied and the probe flags over it all. `None`: nothing to audit.
fn gather_targets(args: &CheckArgs) -> Result<Option<Config>, UsageError> {
    let mut config = match &args.config {
        Some(path) => load_config(path)?,
        None => Config::empty(),
    };
    if let Some(old_path) = &args.baseline {
        let old = load_config(old_path)?;
        let before = config.targets.len();
        config.keep_added_or_changed_since(&old);
        eprintln!(
            "vnready: {} of {before} target(s) added or changed since {}",
            config.targets.len(),
            old_path.display()
        );
        if config.targets.is_empty() && args.targets.is_empty() {
            println!("No targets added or changed: nothing to audit.");
            return Ok(None);
        }
    }
    for text in &args.targets {
        let url = TargetUrl::parse(text).map_err(|message| UsageError(format!("target {text:?}: {message}")))?;
        config.targets.push(Target::from_url(url, TargetSettings::default()));
    }
    if config.targets.is_empty() && args.targets_file.is_none() {
        return Err(UsageError(
            "no targets: give URLs or host names, or --config FILE".into(),
        ));
    }
    if let Some(category) = args.policy {
        for target in &mut config.targets {
            target.set_category(category);
        }
    }
    args.probe.apply(&mut config);
    Ok(Some(config))
}

/// Audits every target. JSON is written target by target, so memory follows the concurrency,
/// not the number of sites; the table and JUnit need every verdict before they can start.
async fn audit_and_stream(
    config: &Config,
    plan: &AuditPlan,
    format: Format,
    no_progress: bool,
) -> Result<(Vec<TargetVerdict>, bool), UsageError> {
    let prober = Prober::new(&config.probe).map_err(|err| UsageError(err.to_string()))?;
    let write_error = |err: std::io::Error| UsageError(format!("writing output: {err}"));
    let progress = progress_bar(config.targets.len(), no_progress);
    let admission = runner::Admission::new(config.probe.politeness.per_address_connections);
    let mut verdicts = runner::admitted_stream(
        Arc::new(prober),
        &config.targets,
        Arc::new(plan.clone()),
        Arc::new(admission),
    );
    let mut json = match format {
        Format::Json => Some(
            output::json::JsonStream::begin(std::io::BufWriter::new(std::io::stdout().lock()), &plan.checks)
                .map_err(write_error)?,
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
            Some(stream) => stream.push(&verdict).map_err(write_error)?,
            None => kept.push(verdict),
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(stream) = json {
        stream.finish().map_err(write_error)?;
    }
    Ok((kept, all_passed))
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
