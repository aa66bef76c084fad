//! The per-target families of the metrics contract (docs/metrics.md): the one place a verdict
//! becomes metric values. A scrape writes them family by family, target by target, straight
//! into the response: nothing the size of the whole exposition (40 MB for 10,000 targets) is
//! ever held, and a removed target's series vanish with its snapshot.

use std::sync::Arc;

use super::exposition::Exposition;
use super::text::{escaped, label_tail, line_prefix, write_prefixed, write_with_tail, FamilyDef};
use crate::checks::{CheckId, Status};
use crate::history::snapshots::TargetSnapshot;
use crate::model::catalogue::CATALOGUE;
use crate::model::policy::Requirement;
use crate::probe::addr::IpFamily;
use crate::probe::tls::{CertFacts, TlsFacts};

/// The per-target families (written in the order of [`FAMILIES`]). About 40 series per audited site (blackbox
/// exports about 22 per probe and one family): a check is one series, plus one more while
/// it is not passing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum F {
    TargetInfo,
    ComplianceRatio,
    Compliant,
    LastAudit,
    Interval,
    AvailabilitySlo,
    CheckStatus,
    CheckLastChange,
    ProbeSuccess,
    HttpDuration,
    HttpStatusCode,
    DnsAddresses,
    DnsNameServers,
    TlsNotAfter,
    TlsCertValid,
    TlsCert,
    Ipv6OnlyBlocking,
    ScriptHost,
    TlsScan,
}

/// Every family with its definition, in exposition order.
static FAMILIES: [(F, FamilyDef); 19] = [
    (
        F::TargetInfo,
        FamilyDef::info(
            "vnready_target_info",
            "Who owns the target and how it is classified; join on target for grouping",
        ),
    ),
    (
        F::ComplianceRatio,
        FamilyDef::gauge(
            "vnready_target_compliance_ratio",
            "Share (0-1) of the target's applicable required checks that pass",
        ),
    ),
    (
        F::Compliant,
        FamilyDef::gauge(
            "vnready_target_compliant",
            "Whether every required check of the target passes (1) or not (0)",
        ),
    ),
    (
        F::LastAudit,
        FamilyDef::seconds(
            "vnready_target_last_audit_timestamp_seconds",
            "Unix time the target's latest audit finished; stale values mean probing stopped",
        ),
    ),
    (
        F::Interval,
        FamilyDef::seconds(
            "vnready_target_interval_seconds",
            "How often the target is audited; alerts compare it with the last audit time",
        ),
    ),
    (
        F::AvailabilitySlo,
        FamilyDef::gauge(
            "vnready_target_slo_availability_ratio",
            "The availability objective (0-1) of the target's category (slo: in targets.yaml); absent without one; burn-rate alerts divide by 1 minus it",
        ),
    ),
    (
        F::CheckStatus,
        FamilyDef::gauge(
            "vnready_check_status",
            "The check's status: 0 pass, 1 warn, 2 fail, 3 error; requirement is required, recommended or exempt by the target's policy; absent when the check does not apply",
        ),
    ),
    (
        F::CheckLastChange,
        FamilyDef::seconds(
            "vnready_check_last_change_timestamp_seconds",
            "Unix time the check took its current status (failing since), present while it warns, fails or errs; survives restarts",
        ),
    ),
    (
        F::ProbeSuccess,
        FamilyDef::gauge(
            "vnready_probe_success",
            "Whether every usable address of the family answered with an expected status (0 when it has none); absent when this monitor could not test the family (no route, a TLS dialect it does not speak)",
        ),
    ),
    (
        F::HttpDuration,
        FamilyDef::seconds(
            "vnready_http_duration_seconds",
            "Seconds per phase (connect, tls, processing, transfer) of the request on the family's first address",
        ),
    ),
    (
        F::HttpStatusCode,
        FamilyDef::gauge(
            "vnready_http_status_code",
            "Final HTTP status on the family's first address after redirects",
        ),
    ),
    (
        F::DnsAddresses,
        FamilyDef::gauge(
            "vnready_dns_addresses",
            "Usable (accepted) addresses of the host per family",
        ),
    ),
    (
        F::DnsNameServers,
        FamilyDef::gauge(
            "vnready_dns_name_servers",
            "Name servers of the target's zone that have at least one usable address of the family",
        ),
    ),
    (
        F::TlsNotAfter,
        FamilyDef::seconds(
            "vnready_tls_cert_not_after_timestamp_seconds",
            "Unix time the leaf certificate expires; exported even when the certificate is invalid",
        ),
    ),
    (
        F::TlsCertValid,
        FamilyDef::gauge(
            "vnready_tls_cert_valid",
            "Whether the presented chain verifies for the host on every address (1) or not (0)",
        ),
    ),
    (
        F::TlsCert,
        FamilyDef::info(
            "vnready_tls_cert_info",
            "The leaf certificate's issuer, subject and SHA-256 fingerprint, and the TLS version negotiated",
        ),
    ),
    (
        F::Ipv6OnlyBlocking,
        FamilyDef::gauge(
            "vnready_ipv6_only_blocking_hosts",
            "Hosts the page loads from that fail over IPv6 alone (ipv6.only); absent when none; the site page names them",
        ),
    ),
    (
        F::ScriptHost,
        FamilyDef::info(
            "vnready_script_host_info",
            "A third-party host the page loads scripts or frames from; a new one is the classic sign of injection",
        ),
    ),
    (
        F::TlsScan,
        FamilyDef::seconds(
            "vnready_tls_scan_timestamp_seconds",
            "Unix time of the oldest deep TLS scan (suites, groups, features) of the target's addresses, kept for deep_interval; post_quantum says whether every address selects X25519MLKEM768 (yes, no, unknown)",
        ),
    ),
];

/// Writes every per-target family over the given snapshots: each family's header once, then
/// its lines for every target in order (both formats want a family's samples together).
pub fn write_families(
    out: &mut dyn std::io::Write,
    snapshots: &[Arc<TargetSnapshot>],
    format: Exposition,
) -> std::io::Result<()> {
    const FLUSH_AT: usize = 32 * 1024;
    let mut lines = String::with_capacity(2 * FLUSH_AT);
    let mut header = String::new();
    let targets: Vec<std::borrow::Cow<'_, str>> = snapshots.iter().map(|s| escaped(&s.target.id)).collect();
    for (family, def) in &FAMILIES {
        let prefix = line_prefix(def.name);
        let mut header_written = false;
        let mut flush = |lines: &mut String, out: &mut dyn std::io::Write| -> std::io::Result<()> {
            if lines.is_empty() {
                return Ok(());
            }
            if !header_written {
                header.clear();
                def.write_header(&mut header, format);
                out.write_all(header.as_bytes())?;
                header_written = true;
            }
            out.write_all(lines.as_bytes())?;
            lines.clear();
            Ok(())
        };
        for (snapshot, target) in snapshots.iter().zip(&targets) {
            write_target_family(&mut lines, *family, &prefix, snapshot, target);
            if lines.len() >= FLUSH_AT {
                flush(&mut lines, out)?;
            }
        }
        flush(&mut lines, out)?;
    }
    Ok(())
}

/// Appends one target's samples of one family to `out`.
struct Lines<'a> {
    out: &'a mut String,
    /// `name{target="`, built once per family and scrape.
    prefix: &'a str,
    /// The target's id, escaped for a label value.
    target: &'a str,
}

impl Lines<'_> {
    fn put(&mut self, extra: &[(&str, &str)], value: f64) {
        write_prefixed(self.out, self.prefix, self.target, extra, value, true);
    }

    /// A sample whose extra label values are the program's own words: nothing to escape.
    fn put_fixed(&mut self, extra: &[(&str, &'static str)], value: f64) {
        write_prefixed(self.out, self.prefix, self.target, extra, value, false);
    }

    /// A sample whose labels after the target are a prepared [`label_tail`].
    fn put_tail(&mut self, tail: &str, value: f64) {
        write_with_tail(self.out, self.prefix, self.target, tail, value);
    }
}

const REQUIREMENTS: [Requirement; 3] = [Requirement::Required, Requirement::Recommended, Requirement::Exempt];

/// Where a check and requirement's tail sits in [`check_status_tail`]'s table.
fn tail_slot(id: CheckId, requirement: Requirement) -> usize {
    id as usize * REQUIREMENTS.len() + REQUIREMENTS.iter().position(|r| *r == requirement).unwrap_or(0)
}

/// The label tail of every `vnready_check_status` line, by check and requirement, built once.
fn check_status_tail(id: CheckId, requirement: Requirement) -> &'static str {
    static TAILS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let mut tails = vec![String::new(); CATALOGUE.len() * REQUIREMENTS.len()];
        for id in CheckId::all() {
            for requirement in REQUIREMENTS {
                if let Some(tail) = tails.get_mut(tail_slot(id, requirement)) {
                    *tail = label_tail(&[("check", id.as_str()), ("requirement", requirement.as_str())]);
                }
            }
        }
        tails
    });
    TAILS
        .get(tail_slot(id, requirement))
        .map(String::as_str)
        .unwrap_or_default()
}

/// One family's lines for one target: the one place a verdict becomes metric values.
fn write_target_family(out: &mut String, family: F, prefix: &str, snapshot: &TargetSnapshot, target: &str) {
    let mut lines = Lines { out, prefix, target };
    let verdict = &snapshot.verdict;
    let observations = &verdict.observations;
    match family {
        // One series per target: the oldest scan of any address, so an alert on the scan's age
        // sees the stalest; the per-address figures are in `observed`.
        F::TlsScan => {
            let scans: Vec<_> = observations
                .address
                .tls_scans
                .iter()
                .filter(|scan| scan.scanned_at > 0.0)
                .collect();
            if let Some(oldest) = scans.iter().map(|scan| scan.scanned_at).reduce(f64::min) {
                let post_quantum = if scans.iter().all(|scan| scan.post_quantum == Some(true)) {
                    "yes"
                } else if scans.iter().any(|scan| scan.post_quantum == Some(false)) {
                    "no"
                } else {
                    "unknown"
                };
                lines.put_fixed(&[("post_quantum", post_quantum)], oldest);
            }
        }
        F::TargetInfo => lines.put(
            &[
                ("name", verdict.name.as_deref().unwrap_or_default()),
                ("agency", verdict.agency.as_deref().unwrap_or_default()),
                ("category", verdict.category.as_str()),
                ("district", verdict.district.as_deref().unwrap_or_default()),
            ],
            1.0,
        ),
        F::ComplianceRatio => lines.put(&[], verdict.compliance_ratio),
        F::Compliant => lines.put(&[], f64::from(u8::from(verdict.passed))),
        F::LastAudit => lines.put(&[], snapshot.audited_at),
        F::Interval => lines.put(&[], snapshot.target.settings.interval.as_secs_f64()),
        F::AvailabilitySlo => {
            if let Some(objective) = snapshot.target.settings.availability_slo {
                lines.put(&[], objective);
            }
        }
        // Each applicable check's status and requirement; skipped checks have no series.
        F::CheckStatus => {
            for result in verdict.checks.iter().filter(|r| r.status != Status::Skip) {
                let requirement = snapshot.target.policy.requirement(result.id);
                lines.put_tail(check_status_tail(result.id, requirement), status_number(result.status));
            }
        }
        // Since when a check has not been passing; passing checks carry no "since".
        F::CheckLastChange => {
            for result in &verdict.checks {
                if matches!(result.status, Status::Pass | Status::Skip) {
                    continue;
                }
                if let Some(state) = snapshot.states.get(&result.id) {
                    lines.put_fixed(&[("check", result.id.as_str())], state.since);
                }
            }
        }
        F::ProbeSuccess => {
            for ip in IP_FAMILIES {
                let probed: Vec<_> = verdict
                    .addresses
                    .iter()
                    .filter(|a| a.family == ip && a.probed)
                    .collect();
                // A family this monitor could not test at all (no IPv6 route here, a TLS dialect
                // it does not speak) is not a failure of the site: no sample, so availability
                // rules and SLO alerts leave it out rather than count it down.
                let untested = !probed.is_empty() && probed.iter().all(|a| a.untested && a.broken.is_none());
                if untested {
                    continue;
                }
                let success = !probed.is_empty() && probed.iter().all(|address| address.works);
                lines.put_fixed(&[("ip_family", ip.as_str())], f64::from(u8::from(success)));
            }
        }
        F::HttpDuration => {
            for ip in IP_FAMILIES {
                let Some(first) = observations.fetches_of(ip).next() else {
                    continue;
                };
                let timings = &first.timings;
                for (phase, value) in [
                    ("connect", timings.connect),
                    ("tls", timings.tls),
                    ("processing", timings.processing),
                    ("transfer", timings.transfer),
                ] {
                    if let Some(seconds) = value {
                        lines.put_fixed(&[("ip_family", ip.as_str()), ("phase", phase)], seconds);
                    }
                }
            }
        }
        F::HttpStatusCode => {
            for ip in IP_FAMILIES {
                if let Some(code) = observations.fetches_of(ip).next().and_then(|f| f.final_status()) {
                    lines.put_fixed(&[("ip_family", ip.as_str())], f64::from(code));
                }
            }
        }
        F::DnsAddresses => {
            for ip in IP_FAMILIES {
                lines.put_fixed(&[("ip_family", ip.as_str())], observations.usable(ip).count() as f64);
            }
        }
        F::DnsNameServers => {
            let Some(zone) = &observations.zone.facts else { return };
            for ip in IP_FAMILIES {
                let count = zone
                    .name_servers
                    .iter()
                    .filter(|server| {
                        let lookup = match ip {
                            IpFamily::Ipv4 => &server.a,
                            IpFamily::Ipv6 => &server.aaaa,
                        };
                        lookup
                            .values()
                            .iter()
                            .filter_map(|value| value.parse().ok())
                            .any(|address| observations.accepts(address))
                    })
                    .count();
                lines.put_fixed(&[("ip_family", ip.as_str())], count as f64);
            }
        }
        F::TlsNotAfter => {
            if let Some(leaf) = reported_leaf(snapshot) {
                lines.put(&[], leaf.not_after as f64);
            }
        }
        // Valid only if the chain verifies on every address.
        F::TlsCertValid => {
            if handshakes(snapshot).next().is_some() {
                let all_valid = observations
                    .address
                    .fetches
                    .iter()
                    .all(|f| f.tls.as_ref().is_some_and(|t| t.verify_failure.is_none()));
                lines.put(&[], f64::from(u8::from(all_valid)));
            }
        }
        F::TlsCert => {
            if let Some(leaf) = reported_leaf(snapshot) {
                let version = handshakes(snapshot)
                    .find(|tls| tls.handshake_completed)
                    .map(|tls| tls.version.as_str())
                    .unwrap_or_default();
                lines.put(
                    &[
                        ("issuer", &leaf.issuer),
                        ("subject", &leaf.subject),
                        ("fingerprint_sha256", &leaf.sha256),
                        ("tls_version", version),
                    ],
                    1.0,
                );
            }
        }
        // The check counted them; the metric only carries the number, and only when some block.
        F::Ipv6OnlyBlocking => {
            let observed = verdict.check(CheckId::Ipv6Only).map(|result| &result.observed);
            if let Some(count) = observed.and_then(|o| o.get("blocking_hosts")).and_then(|n| n.as_f64()) {
                if count > 0.0 {
                    lines.put(&[], count);
                }
            }
        }
        F::ScriptHost => {
            for host in observations.page.script_hosts.iter().flatten() {
                lines.put(&[("host", host)], 1.0);
            }
        }
    }
}

const IP_FAMILIES: [IpFamily; 2] = [IpFamily::Ipv4, IpFamily::Ipv6];

/// Every address's TLS handshake, in address order.
fn handshakes(snapshot: &TargetSnapshot) -> impl Iterator<Item = &TlsFacts> {
    snapshot
        .verdict
        .observations
        .address
        .fetches
        .iter()
        .filter_map(|f| f.tls.as_ref())
}

/// The leaf that expires soonest across addresses (the first one when none has a date).
fn reported_leaf(snapshot: &TargetSnapshot) -> Option<&CertFacts> {
    let soonest = handshakes(snapshot)
        .filter_map(|tls| tls.chain.first())
        .filter(|leaf| leaf.not_after > 0)
        .min_by_key(|leaf| leaf.not_after);
    soonest.or_else(|| handshakes(snapshot).next().and_then(|tls| tls.chain.first()))
}

/// The numeric code of a status in `vnready_check_status`; ordered by severity.
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
pub(super) mod tests {
    use super::*;
    use crate::audit::fixtures;
    use crate::checks::fixtures::target as fixture_target;
    use crate::checks::CheckId;
    use crate::history::{CheckState, CheckStates};

    /// A snapshot with ipv6.aaaa in `status` (and its since), tls.valid passing, dnssec skipped.
    pub(in crate::metrics) fn snapshot(status: Status) -> TargetSnapshot {
        let verdict = fixtures::verdict_with(&[
            (CheckId::Ipv6Aaaa, status),
            (CheckId::TlsValid, Status::Pass),
            (CheckId::DnsDnssec, Status::Skip),
        ]);
        let mut states = CheckStates::new();
        for id in [CheckId::Ipv6Aaaa, CheckId::TlsValid] {
            states.insert(
                id,
                CheckState {
                    status,
                    since: 1_700_000_000.0,
                },
            );
        }
        TargetSnapshot {
            target: Arc::new(fixture_target()),
            verdict,
            states,
            audited_at: 1_800_000_000.0,
        }
    }

    fn text_of(snapshot: &TargetSnapshot) -> String {
        text_of_all(&[Arc::new(snapshot.clone())])
    }

    fn text_of_all(snapshots: &[Arc<TargetSnapshot>]) -> String {
        let mut out = Vec::new();
        write_families(&mut out, snapshots, Exposition::Text).expect("write to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn a_check_is_one_series_plus_failing_since_while_it_does_not_pass() {
        let text = text_of(&snapshot(Status::Fail));
        let id = fixture_target().id;
        assert!(text.contains(&format!(
            "vnready_check_status{{target=\"{id}\",check=\"ipv6.aaaa\",requirement=\"recommended\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "vnready_check_last_change_timestamp_seconds{{target=\"{id}\",check=\"ipv6.aaaa\"}} 1700000000\n"
        )));
        // Passing checks carry no "since"; skipped ones are absent.
        assert!(text.contains("check=\"tls.valid\",requirement="), "{text}");
        assert!(!text.contains("dns.dnssec"), "{text}");
        assert!(!text.contains(&format!(
            "last_change_timestamp_seconds{{target=\"{id}\",check=\"tls.valid\"}}"
        )));
    }

    #[test]
    fn families_are_grouped_under_one_header_across_targets() {
        let mut second = snapshot(Status::Pass);
        let mut other = fixture_target();
        other.id = "https://other.gov.vn/".into();
        second.target = Arc::new(other);
        let out = text_of_all(&[Arc::new(snapshot(Status::Fail)), Arc::new(second)]);
        assert_eq!(out.matches("# TYPE vnready_check_status gauge").count(), 1);
        let header = out.find("# TYPE vnready_check_status").unwrap_or_default();
        let next_header = out[header + 1..].find("# HELP").map_or(out.len(), |i| header + 1 + i);
        let section = &out[header..next_header];
        assert!(
            section.contains("other.gov.vn") && section.contains(&fixture_target().id),
            "{section}"
        );
    }

    #[test]
    fn every_family_is_listed_once() {
        let mut listed: Vec<String> = FAMILIES.iter().map(|(family, _)| format!("{family:?}")).collect();
        listed.sort();
        listed.dedup();
        // As many distinct families as the enum has variants (TlsScan is the last).
        assert_eq!(listed.len(), F::TlsScan as usize + 1);
    }

    #[test]
    fn lines_larger_than_one_flush_keep_their_family_header_once() {
        let many: Vec<Arc<TargetSnapshot>> = (0..2000)
            .map(|i| {
                let mut snapshot = snapshot(Status::Fail);
                let mut target = fixture_target();
                target.id = format!("https://site{i}.gov.vn/");
                snapshot.target = Arc::new(target);
                Arc::new(snapshot)
            })
            .collect();
        let out = text_of_all(&many);
        assert_eq!(out.matches("# TYPE vnready_check_status gauge").count(), 1);
        assert_eq!(out.matches("vnready_check_status{").count(), 2 * 2000);
        let statuses = out.find("# TYPE vnready_check_status").unwrap_or_default();
        let since = out.find("# TYPE vnready_check_last_change").unwrap_or_default();
        assert!(
            out[statuses..since].contains("site1999.gov.vn"),
            "a family's lines are split"
        );
    }

    #[test]
    fn a_verdict_compacted_for_memory_exports_the_same_lines() {
        let mut full = snapshot(Status::Fail);
        let blocking = fixtures::verdict_with(&[(CheckId::Ipv6Only, Status::Fail)]).checks;
        full.verdict.checks.extend(blocking.into_iter().map(|mut check| {
            check.observed = serde_json::json!({"blocking_hosts": 2, "blocking": ["a: no AAAA"]});
            check
        }));
        let before = text_of(&full);
        assert!(before.contains("vnready_ipv6_only_blocking_hosts{"), "{before}");
        assert!(before.contains("vnready_tls_cert_info{"), "{before}");
        let mut compact = full.clone();
        compact
            .verdict
            .compact_for_memory(&crate::checks::ReasonPool::default());
        assert_eq!(text_of(&compact), before);
    }
}
