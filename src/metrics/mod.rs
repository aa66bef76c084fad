//! Prometheus exposition: the metrics contract of docs/metrics.md, rendered from the latest
//! snapshots at scrape time (so a removed target's series vanish with its snapshot), plus the
//! daemon's own operational metrics. OpenMetrics or text 0.0.4, by content negotiation.

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

use crate::checks::Status;
use crate::history::snapshots::{Snapshots, TargetSnapshot};
use crate::history::store::StoreHealth;
use crate::model::goals::Goal;
use crate::model::policy::Requirement;
use crate::probe::addr::IpFamily;
use crate::probe::http::AddressFetch;

/// Content type of OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of the classic Prometheus text format.
pub const TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Which exposition format a scraper asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposition {
    OpenMetrics,
    Text,
}

impl Exposition {
    /// OpenMetrics when the Accept header offers it, as Prometheus does; text 0.0.4 otherwise.
    pub fn negotiate(accept: Option<&str>) -> Exposition {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Exposition::OpenMetrics,
            _ => Exposition::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Exposition::Text => TEXT_CONTENT_TYPE,
        }
    }
}

/// Renders a registry in the chosen format.
pub fn render(registry: &Registry, format: Exposition) -> Result<String, std::fmt::Error> {
    let mut out = String::with_capacity(64 * 1024);
    match format {
        Exposition::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, registry)?,
        Exposition::Text => prometheus_client::encoding::prometheus_text::encode(&mut out, registry)?,
    }
    Ok(out)
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

/// Builds the daemon's registry: target metrics from `snapshots`, goals from `goals`,
/// operational metrics from `ops` and `store`.
pub fn daemon_registry(
    snapshots: Arc<Snapshots>,
    goals: Arc<dyn GoalSource>,
    ops: &OpsMetrics,
    store: Arc<StoreHealth>,
    shard: &str,
) -> Registry {
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
    registry.register_collector(Box::new(GoalCollector {
        snapshots: snapshots.clone(),
        goals,
    }));
    registry.register_collector(Box::new(SnapshotCollector { snapshots }));
    registry
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

/// A registry holding one `/probe` result and its duration.
pub fn probe_registry(snapshot: TargetSnapshot, duration_seconds: f64) -> Registry {
    let mut registry = Registry::with_prefix("vnready");
    let duration: Gauge<f64, AtomicU64> = Gauge::default();
    duration.set(duration_seconds);
    registry.register_with_unit(
        "probe_duration",
        "Wall time of this on-demand audit",
        Unit::Seconds,
        duration,
    );
    registry.register_collector(Box::new(FixedCollector {
        snapshots: vec![Arc::new(snapshot)],
    }));
    registry
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

#[derive(Debug)]
struct SnapshotCollector {
    snapshots: Arc<Snapshots>,
}

impl Collector for SnapshotCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        encode_targets(encoder, &self.snapshots.all())
    }
}

#[derive(Debug)]
struct FixedCollector {
    snapshots: Vec<Arc<TargetSnapshot>>,
}

impl Collector for FixedCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        encode_targets(encoder, &self.snapshots)
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

/// Every per-target family of the contract, over the given snapshots.
fn encode_targets(mut encoder: DescriptorEncoder, snapshots: &[Arc<TargetSnapshot>]) -> Result<(), std::fmt::Error> {
    let mut families = TargetFamilies::new();
    for snapshot in snapshots {
        families.push(snapshot);
    }
    families.encode(&mut encoder)
}

/// The per-target metric families, filled one snapshot at a time: the one place a verdict
/// becomes metric values.
struct TargetFamilies {
    target_info: FamilyOut,
    ratio: FamilyOut,
    compliant: FamilyOut,
    last_audit: FamilyOut,
    audit_seconds: FamilyOut,
    interval: FamilyOut,
    passed: FamilyOut,
    required: FamilyOut,
    status: FamilyOut,
    last_change: FamilyOut,
    probe_success: FamilyOut,
    durations: FamilyOut,
    status_code: FamilyOut,
    addresses: FamilyOut,
    name_servers: FamilyOut,
    not_after: FamilyOut,
    cert_valid: FamilyOut,
    cert_info: FamilyOut,
    version_info: FamilyOut,
    ipv6_only_blocking: FamilyOut,
    script_hosts: FamilyOut,
}

impl TargetFamilies {
    fn new() -> TargetFamilies {
        TargetFamilies {
        target_info: FamilyOut::info(
            "target",
            "Who owns the target and how it is classified; join on target for grouping",
        ),
        ratio: FamilyOut::gauge(
            "target_compliance_ratio",
            "Share (0-1) of the target's applicable required checks that pass",
        ),
        compliant: FamilyOut::gauge(
            "target_compliant",
            "Whether every required check of the target passes (1) or not (0)",
        ),
        last_audit: FamilyOut::seconds(
            "target_last_audit_timestamp",
            "Unix time the target's latest audit finished; stale values mean probing stopped",
        ),
        audit_seconds: FamilyOut::seconds("target_audit_duration", "Wall time of the target's latest audit"),
        interval: FamilyOut::seconds(
            "target_interval",
            "How often the target is audited; alerts compare it with the last audit time",
        ),
        passed: FamilyOut::gauge(
            "check_passed",
            "Whether the check passes (1; warn counts as pass) or fails or could not be tested (0); absent when not applicable",
        ),
        required: FamilyOut::gauge(
            "check_required",
            "Whether the target's policy requires the check (1) or only recommends it (0); absent when exempt",
        ),
        status: FamilyOut::gauge(
            "check_status",
            "The check's status as a number: 0 pass, 1 warn, 2 fail, 3 error, 4 skip",
        ),
        last_change: FamilyOut::seconds(
            "check_last_change_timestamp",
            "Unix time the check last changed status (\"failing since\"); survives restarts",
        ),
        probe_success: FamilyOut::gauge(
            "probe_success",
            "Whether every usable address of the family answered with an expected status (0 when it has none)",
        ),
        durations: FamilyOut::seconds(
            "http_duration",
            "Seconds per phase of the request on the family's first address",
        ),
        status_code: FamilyOut::gauge(
            "http_status_code",
            "Final HTTP status on the family's first address after redirects",
        ),
        addresses: FamilyOut::gauge("dns_addresses", "Usable (accepted) addresses of the host per family"),
        name_servers: FamilyOut::gauge(
            "dns_name_servers",
            "Name servers of the target's zone that have at least one usable address of the family",
        ),
        not_after: FamilyOut::seconds(
            "tls_cert_not_after_timestamp",
            "Unix time the leaf certificate expires; exported even when the certificate is invalid",
        ),
        cert_valid: FamilyOut::gauge(
            "tls_cert_valid",
            "Whether the presented chain verifies for the host (1) or not (0)",
        ),
        cert_info: FamilyOut::info(
            "tls_cert",
            "The leaf certificate's issuer, subject and SHA-256 fingerprint",
        ),
        version_info: FamilyOut::info("tls_version", "TLS version negotiated on the first address"),
        script_hosts: FamilyOut::info(
            "script_host",
            "A third-party host the page loads scripts or frames from; a new one is the classic sign of injection",
        ),
        ipv6_only_blocking: FamilyOut::gauge(
            "ipv6_only_blocking_hosts",
            "Hosts the page loads from that fail over IPv6 alone (ipv6.only); the site page names them",
        ),
        }
    }

    fn push(&mut self, snapshot: &TargetSnapshot) {
        self.push_target(snapshot);
        self.push_checks(snapshot);
        for family in [IpFamily::Ipv4, IpFamily::Ipv6] {
            self.push_family(snapshot, family);
        }
        self.push_certificate(snapshot);
    }

    /// Who the target is and how it stands as a whole.
    fn push_target(&mut self, snapshot: &TargetSnapshot) {
        for host in snapshot.verdict.observations.script_hosts.iter().flatten() {
            let labels = vec![("target", snapshot.target.id.clone()), ("host", host.clone())];
            self.script_hosts.push(labels, 1.0);
        }
        let id = snapshot.target.id.clone();
        let verdict = &snapshot.verdict;
        let target = || vec![("target", id.clone())];
        self.target_info.push(
            vec![
                ("target", id.clone()),
                ("name", verdict.name.clone().unwrap_or_default()),
                ("agency", verdict.agency.clone().unwrap_or_default()),
                ("category", verdict.category.as_str().to_string()),
                ("district", verdict.district.clone().unwrap_or_default()),
            ],
            1.0,
        );
        self.ratio.push(target(), verdict.compliance_ratio);
        self.compliant.push(target(), f64::from(u8::from(verdict.passed)));
        self.last_audit.push(target(), snapshot.audited_at);
        self.audit_seconds.push(target(), verdict.observations.duration_seconds);
        self.interval
            .push(target(), snapshot.target.settings.interval.as_secs_f64());
    }

    /// Each check's status, whether it is required, and since when it has been so.
    fn push_checks(&mut self, snapshot: &TargetSnapshot) {
        let id = snapshot.target.id.clone();
        let verdict = &snapshot.verdict;
        for result in &verdict.checks {
            let labels = vec![("target", id.clone()), ("check", result.id.as_str().to_string())];
            if result.status != Status::Skip {
                let ok = result.status.counts_as_met();
                self.passed.push(labels.clone(), f64::from(u8::from(ok)));
            }
            match snapshot.target.policy.requirement(result.id) {
                Requirement::Required => self.required.push(labels.clone(), 1.0),
                Requirement::Recommended => self.required.push(labels.clone(), 0.0),
                Requirement::Exempt => {}
            }
            self.status.push(labels.clone(), status_number(result.status));
            if let Some(state) = snapshot.states.get(&result.id) {
                self.last_change.push(labels, state.since);
            }
            // The check counted them; the metric only carries the number.
            if let Some(count) = result.observed.get("blocking_hosts").and_then(|n| n.as_f64()) {
                self.ipv6_only_blocking.push(vec![("target", id.clone())], count);
            }
        }
    }

    /// Addresses, name servers, reachability and timings of one address family.
    fn push_family(&mut self, snapshot: &TargetSnapshot, family: IpFamily) {
        let id = snapshot.target.id.clone();
        let verdict = &snapshot.verdict;
        let observations = &verdict.observations;
        let family_label = family.as_str().to_string();
        let labels = vec![("target", id.clone()), ("ip_family", family_label.clone())];
        let usable = observations.usable(family).count();
        self.addresses.push(labels.clone(), usable as f64);
        let fetches: Vec<&AddressFetch> = observations.fetches_of(family).collect();
        let mut probed = verdict
            .addresses
            .iter()
            .filter(|a| a.family == family && a.probed)
            .peekable();
        let success = probed.peek().is_some() && probed.all(|address| address.works);
        self.probe_success.push(labels.clone(), f64::from(u8::from(success)));
        if let Some(first) = fetches.first() {
            if let Some(code) = first.final_status() {
                self.status_code.push(labels.clone(), f64::from(code));
            }
            let timings = &first.timings;
            for (phase, value) in [
                ("resolve", timings.resolve),
                ("connect", timings.connect),
                ("tls", timings.tls),
                ("processing", timings.processing),
                ("transfer", timings.transfer),
            ] {
                if let Some(seconds) = value {
                    let mut phase_labels = labels.clone();
                    phase_labels.push(("phase", phase.to_string()));
                    self.durations.push(phase_labels, seconds);
                }
            }
        }
        if let Some(zone) = &observations.zone {
            let count = zone
                .name_servers
                .iter()
                .filter(|server| {
                    let lookup = match family {
                        IpFamily::Ipv4 => &server.a,
                        IpFamily::Ipv6 => &server.aaaa,
                    };
                    crate::probe::dns::addresses_of(lookup)
                        .iter()
                        .any(|ip| observations.accepts(*ip))
                })
                .count();
            self.name_servers.push(labels, count as f64);
        }
    }

    /// The certificate: every address's counts (the soonest expiry; valid only if all verify).
    fn push_certificate(&mut self, snapshot: &TargetSnapshot) {
        let id = snapshot.target.id.clone();
        let target = || vec![("target", id.clone())];
        let observations = &snapshot.verdict.observations;
        let handshakes: Vec<_> = observations.fetches.iter().filter_map(|f| f.tls.as_ref()).collect();
        let soonest = handshakes
            .iter()
            .filter_map(|tls| tls.chain.first())
            .filter(|leaf| leaf.not_after > 0)
            .min_by_key(|leaf| leaf.not_after);
        if let Some(tls) = handshakes.first() {
            if let Some(leaf) = soonest.or(tls.chain.first()) {
                self.not_after.push(target(), leaf.not_after as f64);
                self.cert_info.push(
                    vec![
                        ("target", id.clone()),
                        ("issuer", leaf.issuer.clone()),
                        ("subject", leaf.subject.clone()),
                        ("fingerprint_sha256", leaf.sha256.clone()),
                    ],
                    1.0,
                );
            }
            let all_valid = observations
                .fetches
                .iter()
                .all(|f| f.tls.as_ref().is_some_and(|t| t.verify_failure.is_none()));
            self.cert_valid.push(target(), f64::from(u8::from(all_valid)));
            if tls.handshake_completed {
                self.version_info
                    .push(vec![("target", id.clone()), ("version", tls.version.clone())], 1.0);
            }
        }
    }

    fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in [
            &self.target_info,
            &self.ratio,
            &self.compliant,
            &self.last_audit,
            &self.audit_seconds,
            &self.interval,
            &self.passed,
            &self.required,
            &self.status,
            &self.last_change,
            &self.probe_success,
            &self.durations,
            &self.status_code,
            &self.addresses,
            &self.name_servers,
            &self.not_after,
            &self.cert_valid,
            &self.cert_info,
            &self.version_info,
            &self.ipv6_only_blocking,
            &self.script_hosts,
        ] {
            family.encode(encoder)?;
        }
        Ok(())
    }
}

/// The numeric code of a status in `vnready_check_status`; ordered by severity for pass..error.
pub fn status_number(status: Status) -> f64 {
    match status {
        Status::Pass => 0.0,
        Status::Warn => 1.0,
        Status::Fail => 2.0,
        Status::Error => 3.0,
        Status::Skip => 4.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::fixtures;
    use crate::checks::fixtures::target as fixture_target;
    use crate::checks::CheckId;
    use crate::history::CheckState;

    fn snapshot() -> TargetSnapshot {
        let verdict = fixtures::verdict_with(&[(CheckId::Ipv6Aaaa, Status::Fail), (CheckId::DnsDnssec, Status::Skip)]);
        let mut states = crate::history::CheckStates::new();
        states.insert(
            CheckId::Ipv6Aaaa,
            CheckState {
                status: Status::Fail,
                since: 1_700_000_000.0,
            },
        );
        TargetSnapshot {
            target: Arc::new(fixture_target()),
            verdict,
            states,
            audited_at: 1_800_000_000.0,
        }
    }

    #[test]
    fn both_formats_carry_the_contract_and_skip_is_not_a_sample_of_check_passed() {
        let registry = probe_registry(snapshot(), 0.5);
        let text = render(&registry, Exposition::Text).expect("render");
        let id = fixture_target().id;
        assert!(text.contains(&format!(
            "vnready_check_passed{{target=\"{id}\",check=\"ipv6.aaaa\"}} 0"
        )));
        assert!(!text.contains("check=\"dns.dnssec\"} 1"), "{text}");
        assert!(text.contains(&format!(
            "vnready_check_last_change_timestamp_seconds{{target=\"{id}\",check=\"ipv6.aaaa\"}} 1700000000.0"
        )));
        assert!(text.contains("# TYPE vnready_target_info gauge"));
        assert!(text.contains("vnready_tls_cert_not_after_timestamp_seconds{"));
        assert!(!text.contains("# EOF"));

        let open = render(&registry, Exposition::OpenMetrics).expect("render");
        assert!(open.ends_with("# EOF\n"));
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
