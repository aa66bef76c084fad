//! Prometheus exposition: the metrics contract of docs/metrics.md, rendered from the latest
//! snapshots at scrape time (so a removed target's series vanish with its snapshot), plus the
//! daemon's own operational metrics. OpenMetrics or text 0.0.4, by content negotiation.

pub mod exposition;
pub mod targets;
pub mod text;

pub use exposition::{Exposition, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::history::snapshots::{Snapshots, TargetSnapshot};
use crate::history::store::StoreHealth;
use crate::model::goals::Goal;

/// Renders a registry in the chosen format.
pub fn render(registry: &Registry, format: Exposition) -> Result<String, std::fmt::Error> {
    let mut out = String::with_capacity(16 * 1024);
    match format {
        Exposition::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, registry)?,
        Exposition::Text => prometheus_client::encoding::prometheus_text::encode(&mut out, registry)?,
    }
    Ok(out)
}

/// Writes a registry, then the per-target families after it, with OpenMetrics' `# EOF` last.
fn write_with_targets(
    registry: &Registry,
    snapshots: &[Arc<TargetSnapshot>],
    format: Exposition,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let head = render(registry, format).map_err(std::io::Error::other)?;
    let eof = "# EOF\n";
    let head = match format {
        Exposition::OpenMetrics => head.strip_suffix(eof).unwrap_or(&head),
        Exposition::Text => &head,
    };
    out.write_all(head.as_bytes())?;
    targets::write_families(out, snapshots, format)?;
    if format == Exposition::OpenMetrics {
        out.write_all(eof.as_bytes())?;
    }
    Ok(())
}

/// What `/metrics` serves: the daemon's registry (operational metrics, goals, store health)
/// and every owned target's families, written from the latest snapshots at scrape time.
#[derive(Debug)]
pub struct DaemonExposition {
    registry: Registry,
    snapshots: Arc<Snapshots>,
}

impl DaemonExposition {
    /// Writes the whole exposition to `out` as it goes (a scrape streams it, gzipped or
    /// not, instead of building 40 MB of text for 10,000 targets). Runs off the probing
    /// workers.
    pub fn write(&self, format: Exposition, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        write_with_targets(&self.registry, &self.snapshots.all(), format, out)
    }
}

type Labels = Vec<(&'static str, String)>;

/// The daemon's own counters and gauges, updated as it works.
#[derive(Debug)]
pub struct OpsMetrics {
    pub reload_successful: Gauge,
    pub reload_success_timestamp: Gauge<f64, AtomicU64>,
    pub probes: Family<Labels, Counter>,
    pub targets: Gauge,
    pub targets_configured: Gauge,
    pub schedule_lag: Histogram,
    pub audit_duration: Histogram,
    /// `/probe` audits running now.
    pub probe_requests_in_flight: Gauge,
    /// `/probe` requests answered 429 because every slot was busy.
    pub probe_requests_throttled: Counter,
}

impl Default for OpsMetrics {
    fn default() -> Self {
        OpsMetrics {
            reload_successful: Gauge::default(),
            reload_success_timestamp: Gauge::default(),
            probes: Family::default(),
            targets: Gauge::default(),
            targets_configured: Gauge::default(),
            schedule_lag: Histogram::new(exponential_buckets(0.001, 4.0, 10)),
            audit_duration: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            probe_requests_in_flight: Gauge::default(),
            probe_requests_throttled: Counter::default(),
        }
    }
}

impl OpsMetrics {
    /// Counts one finished audit by outcome.
    pub fn count_audit(&self, compliant: bool) {
        let result = if compliant { "compliant" } else { "noncompliant" };
        self.probes
            .get_or_create_owned(&vec![("result", result.to_string())])
            .inc();
    }
}

/// Where the goal collector finds the current goals (they change on reload).
pub trait GoalSource: Send + Sync + std::fmt::Debug + 'static {
    fn goals(&self) -> Vec<Goal>;
}

/// Builds what the daemon exposes: target metrics from `snapshots`, goals from `goals`,
/// operational metrics from `ops` and `store`.
pub fn daemon_exposition(
    snapshots: Arc<Snapshots>,
    goals: Arc<dyn GoalSource>,
    ops: &OpsMetrics,
    store: Arc<StoreHealth>,
    shard: &str,
) -> DaemonExposition {
    let mut registry = Registry::with_prefix("vnready");
    registry.register(
        "build",
        "Build of vnready that produced these metrics",
        Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
    );
    registry.register(
        "shard",
        "Share of the targets this replica audits (--shard K/N)",
        Info::new(vec![("shard", shard.to_string())]),
    );
    registry.register(
        "config_last_reload_successful",
        "Whether the last configuration reload succeeded (1) or was rejected (0)",
        ops.reload_successful.clone(),
    );
    registry.register_with_unit(
        "config_last_reload_success_timestamp",
        "Unix time of the last successful configuration load",
        Unit::Seconds,
        ops.reload_success_timestamp.clone(),
    );
    registry.register(
        "probes",
        "Audits finished, by whether every required check passed",
        ops.probes.clone(),
    );
    registry.register(
        "targets",
        "Targets this replica owns and audits on its schedule",
        ops.targets.clone(),
    );
    registry.register(
        "targets_configured",
        "Targets in the configuration file, across all shards",
        ops.targets_configured.clone(),
    );
    registry.register_with_unit(
        "schedule_lag",
        "How late audits start compared with their scheduled time (waiting for a concurrency slot)",
        Unit::Seconds,
        ops.schedule_lag.clone(),
    );
    registry.register_with_unit(
        "audit_duration",
        "Wall time of whole audits (all probes of one target)",
        Unit::Seconds,
        ops.audit_duration.clone(),
    );
    registry.register(
        "probe_requests_in_flight",
        "/probe audits running now; at the limit (defaults.concurrency) more requests get 429",
        ops.probe_requests_in_flight.clone(),
    );
    registry.register(
        "probe_requests_throttled",
        "/probe requests refused with 429 because every /probe slot was busy",
        ops.probe_requests_throttled.clone(),
    );
    registry.register_collector(Box::new(StoreCollector { health: store }));
    registry.register_collector(Box::new(MonitorCollector));
    registry.register_collector(Box::new(GoalCollector {
        snapshots: snapshots.clone(),
        goals,
    }));
    DaemonExposition { registry, snapshots }
}

#[derive(Debug)]
struct GoalCollector {
    snapshots: Arc<Snapshots>,
    goals: Arc<dyn GoalSource>,
}

impl Collector for GoalCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let goals = self.goals.goals();
        if goals.is_empty() {
            return Ok(());
        }
        let snapshots = self.snapshots.all();
        let mut info = FamilyOut::info("goal", "A plan goal: its titles and deadline (YYYY-MM-DD)");
        let mut target_ratio = FamilyOut::gauge("goal_target_ratio", "Share of covered targets the goal asks for");
        let mut achieved = FamilyOut::gauge(
            "goal_achieved_ratio",
            "Share of covered targets meeting the goal now (this replica's targets; with shards use goal_met_targets / goal_targets)",
        );
        let mut deadline = FamilyOut::seconds("goal_deadline_timestamp", "End of the goal's deadline day (UTC+7)");
        let mut covered = FamilyOut::gauge("goal_targets", "Targets the goal covers (exempted ones left out)");
        let mut met = FamilyOut::gauge("goal_met_targets", "Covered targets meeting the goal");
        for goal in &goals {
            let progress = goal.progress(
                snapshots
                    .iter()
                    .map(|s| (s.target.as_ref(), s.verdict.checks.as_slice())),
            );
            let id = || vec![("goal", goal.id.clone())];
            info.push(
                vec![
                    ("goal", goal.id.clone()),
                    ("title", goal.title_vi.clone()),
                    ("title_en", goal.title_en.clone()),
                    ("deadline", goal.deadline.clone()),
                ],
                1.0,
            );
            target_ratio.push(id(), goal.target_ratio);
            achieved.push(id(), progress.achieved_ratio);
            deadline.push(id(), goal.deadline_unix as f64);
            covered.push(id(), progress.targets as f64);
            met.push(id(), progress.met as f64);
        }
        for family in [&info, &target_ratio, &achieved, &deadline, &covered, &met] {
            family.encode(&mut encoder)?;
        }
        Ok(())
    }
}

/// The exposition of one `/probe` audit: its duration and the target's families.
pub fn render_probe(
    snapshot: &Arc<TargetSnapshot>,
    duration_seconds: f64,
    format: Exposition,
) -> std::io::Result<Vec<u8>> {
    let mut registry = Registry::with_prefix("vnready");
    let duration: Gauge<f64, AtomicU64> = Gauge::default();
    duration.set(duration_seconds);
    registry.register_with_unit(
        "probe_duration",
        "Wall time of this on-demand audit",
        Unit::Seconds,
        duration,
    );
    let mut out = Vec::with_capacity(8 * 1024);
    write_with_targets(&registry, std::slice::from_ref(snapshot), format, &mut out)?;
    Ok(out)
}

/// What the monitor itself can reach, asked of the kernel at each scrape (a route lookup,
/// nothing sent): a province's IPv6 figures mean nothing from a monitor without IPv6.
#[derive(Debug)]
struct MonitorCollector;

impl Collector for MonitorCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let up = i64::from(crate::probe::route::monitor_has_ipv6());
        let gauge = encoder.encode_descriptor(
            "monitor_ipv6_up",
            "Whether this monitor has a route to the global IPv6 Internet (0: IPv6 results are not tested from here)",
            None,
            MetricType::Gauge,
        )?;
        prometheus_client::metrics::gauge::ConstGauge::new(up).encode(gauge)
    }
}

#[derive(Debug)]
struct StoreCollector {
    health: Arc<StoreHealth>,
}

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let healthy = i64::from(self.health.healthy());
        let gauge = encoder.encode_descriptor(
            "store_healthy",
            "Whether the last history write succeeded (0: disk full or store broken; probing continues)",
            None,
            MetricType::Gauge,
        )?;
        prometheus_client::metrics::gauge::ConstGauge::new(healthy).encode(gauge)?;
        let errors = encoder.encode_descriptor(
            "store_write_errors",
            "History writes that failed",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.health.write_errors()).encode(errors)?;
        let dropped = encoder.encode_descriptor(
            "store_dropped_records",
            "Audit records dropped because the history writer fell behind",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.health.dropped()).encode(dropped)?;
        Ok(())
    }
}

/// One family: its descriptor and every sample, emitted together as the formats require.
struct FamilyOut {
    name: &'static str,
    help: &'static str,
    unit: Option<Unit>,
    metric_type: MetricType,
    samples: Vec<(Labels, f64)>,
}

impl FamilyOut {
    fn gauge(name: &'static str, help: &'static str) -> FamilyOut {
        FamilyOut {
            name,
            help,
            unit: None,
            metric_type: MetricType::Gauge,
            samples: Vec::new(),
        }
    }

    fn seconds(name: &'static str, help: &'static str) -> FamilyOut {
        FamilyOut {
            unit: Some(Unit::Seconds),
            ..FamilyOut::gauge(name, help)
        }
    }

    fn info(name: &'static str, help: &'static str) -> FamilyOut {
        FamilyOut {
            metric_type: MetricType::Info,
            ..FamilyOut::gauge(name, help)
        }
    }

    fn push(&mut self, labels: Labels, value: f64) {
        self.samples.push((labels, value));
    }

    fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if self.samples.is_empty() {
            return Ok(());
        }
        let mut metric = encoder.encode_descriptor(self.name, self.help, self.unit.as_ref(), self.metric_type)?;
        for (labels, value) in &self.samples {
            let mut sample = metric.encode_family(labels)?;
            if self.metric_type == MetricType::Info {
                sample.encode_info(&Vec::<(&str, String)>::new())?;
            } else {
                sample.encode_gauge(value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::target as fixture_target;
    use crate::checks::Status;

    #[test]
    fn both_formats_carry_the_contract_and_the_probe_duration() {
        let snapshot = Arc::new(targets::tests::snapshot(Status::Fail));
        let text = String::from_utf8(render_probe(&snapshot, 0.5, Exposition::Text).expect("render")).expect("UTF-8");
        let id = fixture_target().id;
        assert!(text.contains(&format!(
            "vnready_check_status{{target=\"{id}\",check=\"ipv6.aaaa\",requirement=\"recommended\"}} 2\n"
        )));
        assert!(!text.contains("dns.dnssec"), "{text}");
        assert!(text.contains(&format!(
            "vnready_check_last_change_timestamp_seconds{{target=\"{id}\",check=\"ipv6.aaaa\"}} 1700000000\n"
        )));
        assert!(text.contains("# TYPE vnready_target_info gauge"));
        assert!(text.contains("vnready_tls_cert_not_after_timestamp_seconds{"));
        assert!(text.contains("vnready_probe_duration_seconds 0.5"));
        assert!(!text.contains("# EOF"));

        let open =
            String::from_utf8(render_probe(&snapshot, 0.5, Exposition::OpenMetrics).expect("render")).expect("UTF-8");
        assert!(open.ends_with("# EOF\n"));
        assert_eq!(open.matches("# EOF").count(), 1);
        assert!(open.contains("# TYPE vnready_target info"));
        assert!(open.contains("# UNIT vnready_http_duration_seconds seconds"));
    }

    #[test]
    fn negotiation_follows_prometheus_accept_header() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Exposition::negotiate(Some(prometheus)), Exposition::OpenMetrics);
        assert_eq!(Exposition::negotiate(Some("text/plain")), Exposition::Text);
        assert_eq!(Exposition::negotiate(None), Exposition::Text);
    }
}
