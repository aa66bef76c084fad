//! `vnready check` as a national sweep: targets streamed from a file or standard input,
//! picked by shard, skipped when an earlier run already wrote them (`--resume`), started no
//! faster than `--max-rate`, and written one JSON line each as they finish. Memory follows
//! `--concurrency`, not the length of the list.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::edge::UsageError;
use crate::audit::plan::AuditPlan;
use crate::audit::runner::{self, Admission};
use crate::audit::verdict::TargetVerdict;
use crate::config::target_lines::TargetLines;
use crate::config::Config;
use crate::daemon::shard::Shard;
use crate::model::target::{Category, Target};
use crate::output::jsonl::{self, DoneSet, LineSink};
use crate::output::{self, Format};
use crate::probe::Prober;

/// Everything a sweep is told.
pub(super) struct Sweep {
    /// Probe settings, and the targets of targets.yaml and the command line (audited first).
    pub config: Config,
    pub plan: AuditPlan,
    pub targets_file: Option<PathBuf>,
    /// `--timeout`, applied to the file's targets as the config's already have it.
    pub timeout: Option<Duration>,
    pub policy: Option<Category>,
    pub shard: Shard,
    pub resume: bool,
    pub output: Option<PathBuf>,
    pub format: Format,
    pub max_rate: Option<f64>,
}

/// How a sweep ended.
pub(super) struct SweepOutcome {
    pub all_passed: bool,
    /// A line of standard input that did not parse: the sweep stopped reading there.
    pub input_error: Option<String>,
}

/// What the reader passed over, and why (for the closing summary).
#[derive(Default)]
struct ReadCounts {
    done_before: usize,
    other_shards: usize,
    duplicates: usize,
}

/// Targets the reader thread may read ahead of the audits.
const READ_AHEAD: usize = 256;

pub(super) fn run(sweep: Sweep) -> Result<SweepOutcome, UsageError> {
    if let Some(path) = sweep.targets_file.as_deref().filter(|p| *p != Path::new("-")) {
        validate_file(path)?;
    }
    if sweep.resume && sweep.format != Format::Jsonl {
        return Err(UsageError("--resume needs --format jsonl".into()));
    }
    let done = match (&sweep.output, sweep.resume) {
        (Some(path), true) => recover(path)?,
        _ => DoneSet::default(),
    };
    let sink =
        LineSink::open(sweep.output.as_deref(), !sweep.resume).map_err(|err| UsageError(format!("--output: {err}")))?;
    let runtime = super::edge::async_runtime().map_err(|err| UsageError(format!("{err:#}")))?;
    runtime.block_on(audit_all(sweep, done, sink))
}

/// The targets an earlier run wrote to `path`, after removing a line it left cut short.
fn recover(path: &Path) -> Result<DoneSet, UsageError> {
    let recovered = jsonl::recover(path).map_err(|err| UsageError(format!("--resume {}: {err}", path.display())))?;
    if recovered.truncated_bytes > 0 {
        eprintln!(
            "vnready: {}: removed a last line cut short ({} bytes)",
            path.display(),
            recovered.truncated_bytes
        );
    }
    if recovered.unreadable > 0 {
        eprintln!(
            "vnready: {}: {} line(s) are not vnready records; their targets are audited again",
            path.display(),
            recovered.unreadable
        );
    }
    Ok(recovered.done)
}

async fn audit_all(sweep: Sweep, done: DoneSet, sink: LineSink) -> Result<SweepOutcome, UsageError> {
    let prober = Prober::new(&sweep.config.probe).map_err(|err| UsageError(err.to_string()))?;
    let admission = Admission::new(sweep.config.probe.politeness.per_address_connections);
    let (sender, receiver) = tokio::sync::mpsc::channel(READ_AHEAD);
    let reader = Reader {
        shard: sweep.shard,
        policy: sweep.policy,
        timeout: sweep.timeout,
        seen: done,
        counts: ReadCounts::default(),
    };
    let first = sweep.config.targets;
    let file = sweep.targets_file.clone();
    let reading = std::thread::spawn(move || reader.feed(first, file, sender));
    let targets = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|target| (target, receiver))
    });
    let mut verdicts = std::pin::pin!(runner::sweep_stream(
        Arc::new(prober),
        paced(targets, sweep.max_rate),
        Arc::new(sweep.plan.clone()),
        Arc::new(admission),
    ));
    let mut writer = VerdictWriter::begin(sweep.format, sink, &sweep.plan)?;
    let (mut audited, mut passed) = (0usize, 0usize);
    while let Some(verdict) = verdicts.next().await {
        audited += 1;
        passed += usize::from(verdict.passed);
        writer.push(verdict)?;
    }
    writer.finish(&sweep.plan)?;
    let (counts, input_error) = reading
        .join()
        .map_err(|_| UsageError("the targets reader stopped unexpectedly".into()))?;
    eprintln!(
        "vnready: {audited} target(s) audited ({passed} passed){}{}{}{}",
        match sweep.shard {
            Shard::WHOLE => String::new(),
            shard => format!(", shard {shard}: {} left to other shards", counts.other_shards),
        },
        if sweep.resume {
            format!(", {} already in the output", counts.done_before)
        } else {
            String::new()
        },
        if counts.duplicates > 0 {
            format!(", {} duplicate line(s) skipped", counts.duplicates)
        } else {
            String::new()
        },
        if input_error.is_some() {
            ", input stopped at an error"
        } else {
            ""
        }
    );
    Ok(SweepOutcome {
        all_passed: passed == audited,
        input_error,
    })
}

/// No more than `rate` targets a second start, spaced evenly.
fn paced<S>(targets: S, rate: Option<f64>) -> impl futures::Stream<Item = Target>
where
    S: futures::Stream<Item = Target>,
{
    let interval = rate.map(|rate| Duration::from_secs_f64(1.0 / rate));
    let mut next_start = Instant::now();
    targets.then(move |target| {
        let start_at = interval.map(|interval| {
            let at = next_start.max(Instant::now());
            next_start = at + interval;
            at
        });
        async move {
            if let Some(at) = start_at {
                tokio::time::sleep_until(at).await;
            }
            target
        }
    })
}

/// Picks the targets this run audits, on its own thread so a slow pipe on standard input
/// never holds a runtime worker.
struct Reader {
    shard: Shard,
    policy: Option<Category>,
    timeout: Option<Duration>,
    /// Targets written by an earlier run, then every target started by this one.
    seen: DoneSet,
    counts: ReadCounts,
}

impl Reader {
    /// Sends `first`, then the file's targets; returns the counts and the input's error.
    fn feed(
        mut self,
        first: Vec<Target>,
        file: Option<PathBuf>,
        sender: tokio::sync::mpsc::Sender<Target>,
    ) -> (ReadCounts, Option<String>) {
        for target in first {
            if !self.offer(target, &sender) {
                return (self.counts, None);
            }
        }
        let Some(path) = file else {
            return (self.counts, None);
        };
        let lines: Box<dyn Iterator<Item = _>> = if path == Path::new("-") {
            Box::new(TargetLines::new(std::io::stdin().lock(), "-"))
        } else {
            match std::fs::File::open(&path) {
                Ok(file) => Box::new(TargetLines::new(
                    std::io::BufReader::new(file),
                    &path.display().to_string(),
                )),
                Err(err) => return (self.counts, Some(format!("{}: cannot read: {err}", path.display()))),
            }
        };
        for item in lines {
            match item {
                Ok(target) => {
                    if !self.offer(target, &sender) {
                        break;
                    }
                }
                Err(err) => return (self.counts, Some(err.to_string())),
            }
        }
        (self.counts, None)
    }

    /// Sends the target if it is this shard's and not done; `false` once nobody listens.
    fn offer(&mut self, mut target: Target, sender: &tokio::sync::mpsc::Sender<Target>) -> bool {
        if !self.shard.owns(target.shard_key()) {
            self.counts.other_shards += 1;
            return true;
        }
        if self.seen.contains(target.shard_key()) {
            self.counts.done_before += 1;
            return true;
        }
        if !self.seen.insert(target.shard_key()) {
            self.counts.duplicates += 1;
            return true;
        }
        if let Some(category) = self.policy {
            target.set_category(category);
        }
        if let Some(timeout) = self.timeout {
            target.settings.timeout = timeout;
        }
        sender.blocking_send(target).is_ok()
    }
}

/// Where verdicts go as they finish.
enum VerdictWriter {
    Lines(LineSink),
    Document(output::json::JsonStream<std::io::BufWriter<LineSink>>),
    /// The table and JUnit need every verdict before they start.
    Kept(LineSink, Format, Vec<TargetVerdict>),
}

impl VerdictWriter {
    fn begin(format: Format, sink: LineSink, plan: &AuditPlan) -> Result<VerdictWriter, UsageError> {
        Ok(match format {
            Format::Jsonl => VerdictWriter::Lines(sink),
            Format::Json => VerdictWriter::Document(
                output::json::JsonStream::begin(std::io::BufWriter::new(sink), &plan.checks).map_err(write_error)?,
            ),
            Format::Text | Format::Junit => VerdictWriter::Kept(sink, format, Vec::new()),
        })
    }

    fn push(&mut self, verdict: TargetVerdict) -> Result<(), UsageError> {
        match self {
            VerdictWriter::Lines(sink) => {
                let line = jsonl::line_for(&verdict, verdict.observations.started_at).map_err(write_error)?;
                sink.write_line(&line).map_err(write_error)
            }
            VerdictWriter::Document(stream) => stream.push(&verdict).map_err(write_error),
            VerdictWriter::Kept(_, _, kept) => {
                kept.push(verdict);
                Ok(())
            }
        }
    }

    fn finish(self, plan: &AuditPlan) -> Result<(), UsageError> {
        match self {
            VerdictWriter::Lines(_) => Ok(()),
            VerdictWriter::Document(stream) => stream.finish().map(drop).map_err(write_error),
            VerdictWriter::Kept(mut sink, format, verdicts) => {
                let rendered = match format {
                    Format::Junit => output::junit::render(&verdicts, &plan.checks),
                    _ => output::text::render(&verdicts, &plan.checks),
                };
                sink.write_all(rendered.as_bytes()).map_err(write_error)?;
                sink.flush().map_err(write_error)
            }
        }
    }
}

fn write_error(err: std::io::Error) -> UsageError {
    UsageError(format!("writing output: {err}"))
}

/// Reads the whole file once, parsing every line, so a typo on line 400,000 stops the sweep
/// before it starts rather than hours into it.
fn validate_file(path: &Path) -> Result<(), UsageError> {
    let file =
        std::fs::File::open(path).map_err(|err| UsageError(format!("{}: cannot read: {err}", path.display())))?;
    let errors: Vec<String> = TargetLines::new(std::io::BufReader::new(file), &path.display().to_string())
        .filter_map(|item| item.err().map(|err| err.to_string()))
        .take(10)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(UsageError(errors.join("\n")))
    }
}
