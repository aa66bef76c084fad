//! `vnready report`: facts from the history store or a fresh audit, built into a report and
//! written in the chosen format, optionally compared with an earlier JSON report.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::Context;

use super::args::{ReportArgs, ReportFormat};
use super::edge::{async_runtime, load_config, usage, UsageError, EXIT_PASS};
use crate::audit::runner;
use crate::config::Config;
use crate::history::uptime;
use crate::model::clock::unix_now;
use crate::probe::Prober;
use crate::report::national::NationalReport;
use crate::report::sweep_input::{self, Spool};
use crate::report::{self, national_render, source, Report};
use std::path::PathBuf;

pub(super) fn run(args: ReportArgs) -> anyhow::Result<u8> {
    if !args.from.is_empty() {
        return from_sweeps(&args);
    }
    let config_path = args.config.clone().unwrap_or_else(|| PathBuf::from("targets.yaml"));
    let mut config = match load_config(&config_path) {
        Ok(config) => config,
        Err(UsageError(message)) => return usage(&message),
    };
    args.probe.apply(&mut config);
    let previous = match args.compare.as_deref().map(read_earlier_report).transpose() {
        Ok(previous) => previous,
        Err(UsageError(message)) => return usage(&message),
    };
    let now = unix_now();
    let period = match period_of(&args, now) {
        Ok(period) => period,
        Err(message) => return usage(&message),
    };
    let known = match known_facts(&args, &config, now, period) {
        Ok(known) => known,
        Err(UsageError(message)) => return usage(&message),
    };
    let inputs = source::inputs(&config, known);
    let report = Report::build_for(&config, &inputs, args.lang, now, period);
    drop(inputs);
    let comparison = previous.as_ref().map(|old| report::compare(old, &report));
    let bytes: Vec<u8> = match args.format {
        ReportFormat::Csv => report::csv::render_table(&report, args.group_by, args.table).into_bytes(),
        ReportFormat::Markdown => report::markdown::render(&report, args.group_by, comparison.as_ref()).into_bytes(),
        ReportFormat::Html => report::html::render(&report, args.group_by, comparison.as_ref()).into_bytes(),
        ReportFormat::Json => return write_json(&report, args.output.as_deref()),
        ReportFormat::Xlsx => {
            if args.output.is_none() && std::io::stdout().is_terminal() {
                return usage("--format xlsx writes a binary file: give --output FILE.xlsx");
            }
            report::xlsx::render(&report).context("building the workbook")?
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().lock().write_all(&bytes).context("writing output")?,
    }
    Ok(EXIT_PASS)
}

/// `report --from`: the national report over sweep files, in one streaming pass.
fn from_sweeps(args: &ReportArgs) -> anyhow::Result<u8> {
    let config = match args.config.as_deref().map(load_config).transpose() {
        Ok(config) => config,
        Err(UsageError(message)) => return usage(&message),
    };
    let mut spool = Spool::new().context("opening the report's spool")?;
    for pattern in &args.from {
        let files = match sweep_input::expand(pattern) {
            Ok(files) => files,
            Err(err) => return usage(&format!("--from {err}")),
        };
        for file in files {
            if let Err(err) = spool.read_file(&file) {
                return usage(&format!("--from {err}"));
            }
        }
    }
    if spool.unreadable > 0 {
        eprintln!(
            "vnready: {} of {} line(s) are not sweep records and were left out",
            spool.unreadable, spool.lines
        );
    }
    let report = NationalReport::build(&spool, config.as_ref(), args.lang).context("reading the spool")?;
    if args.format == ReportFormat::Xlsx {
        if args.output.is_none() && std::io::stdout().is_terminal() {
            return usage("--format xlsx writes a binary file: give --output FILE.xlsx");
        }
        let bytes = national_render::xlsx(&report, &spool, args.output.as_deref())?;
        if let Some(bytes) = bytes {
            std::io::stdout().lock().write_all(&bytes).context("writing output")?;
        }
        return Ok(EXIT_PASS);
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let written = match args.format {
        ReportFormat::Csv => national_render::csv(&report, &spool, args.table, &mut out),
        ReportFormat::Markdown => national_render::markdown(&report, &spool, &mut out),
        ReportFormat::Html => national_render::html(&report, &spool, &mut out),
        ReportFormat::Json => national_render::json(&report, &spool, &mut out),
        ReportFormat::Xlsx => Ok(()),
    };
    match written {
        Err(national_render::RenderError::Table) => usage(&national_render::RenderError::Table.to_string()),
        other => {
            other?;
            out.flush().context("writing output")?;
            Ok(EXIT_PASS)
        }
    }
}

/// JSON is streamed: a year of outages is not held twice, as the model and as its text.
fn write_json(report: &Report, output: Option<&std::path::Path>) -> anyhow::Result<u8> {
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    serde_json::to_writer_pretty(&mut out, report).context("writing the JSON report")?;
    out.flush().context("writing the JSON report")?;
    Ok(EXIT_PASS)
}

fn read_earlier_report(path: &std::path::Path) -> Result<Report, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| UsageError(format!("--compare {}: cannot read: {err}", path.display())))?;
    serde_json::from_str::<Report>(&text).map_err(|err| {
        UsageError(format!(
            "--compare {}: not a vnready JSON report: {err}",
            path.display()
        ))
    })
}

/// `--since` / `--until` as a period ending no later than now.
fn period_of(args: &ReportArgs, now: f64) -> Result<report::Period, String> {
    let from = uptime::parse_moment(&args.since, now).map_err(|err| format!("--since: {err}"))?;
    let to = match &args.until {
        Some(text) => uptime::parse_moment(text, now).map_err(|err| format!("--until: {err}"))?,
        None => now,
    }
    .min(now);
    if from >= to {
        return Err(format!("--since {} is not before --until", args.since));
    }
    Ok(report::Period { from, to })
}

/// The store's facts, or a fresh audit's (with the store's "since" times when there is one).
fn known_facts(
    args: &ReportArgs,
    config: &Config,
    now: f64,
    period: report::Period,
) -> Result<source::Known, UsageError> {
    let stored = if args.storage_path.exists() {
        Some(
            source::from_store(&args.storage_path, (period.from, period.to))
                .map_err(|err| UsageError(err.to_string()))?,
        )
    } else {
        None
    };
    if !args.audit {
        return stored.ok_or_else(|| {
            UsageError(format!(
                "no history at {}: run `vnready serve`, point --storage.path at its store, or use --audit",
                args.storage_path.display()
            ))
        });
    }
    let plan = crate::daemon::supervisor::daemon_plan(config.concurrency);
    let runtime = async_runtime().map_err(|err| UsageError(format!("{err:#}")))?;
    let verdicts = runtime.block_on(async {
        let prober = Prober::new(&config.probe).map_err(|err| UsageError(err.to_string()))?;
        let audits = runner::audit_all(Arc::new(prober), &config.targets, Arc::new(plan), &|_| {});
        Ok::<_, UsageError>(audits.await)
    })?;
    Ok(source::from_audit(&verdicts, stored, now))
}
