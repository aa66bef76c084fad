//! The per-target families of the metrics contract (docs/metrics.md): the one place a verdict
//! becomes metric values. Each target's lines are encoded once per audit and kept, so a scrape
//! of 10,000 targets copies text instead of re-encoding half a million samples.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use super::text::{write_sample, FamilyDef};
use super::Exposition;
use crate::checks::Status;
use crate::history::snapshots::{Snapshots, TargetSnapshot};
use crate::probe::addr::IpFamily;
use crate::probe::http::AddressFetch;

/// The per-target families in exposition order. About 40 series per audited site (blackbox
/// exports about 22 per probe and one family): a check is one series, plus one more while
/// it is not passing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum F {
    TargetInfo,
    ComplianceRatio,
    Compliant,
    LastAudit,
    Interval,
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
}

const FAMILY_COUNT: usize = F::ScriptHost as usize + 1;

static FAMILIES: [FamilyDef; FAMILY_COUNT] = [
    FamilyDef::info(
        "vnready_target_info",
        "Who owns the target and how it is classified; join on target for grouping",
    ),
    FamilyDef::gauge(
        "vnready_target_compliance_ratio",
        "Share (0-1) of the target's applicable required checks that pass",
    ),
    FamilyDef::gauge(
        "vnready_target_compliant",
        "Whether every required check of the target passes (1) or not (0)",
    ),
    FamilyDef::seconds(
        "vnready_target_last_audit_timestamp_seconds",
        "Unix time the target's latest audit finished; stale values mean probing stopped",
    ),
    FamilyDef::seconds(
        "vnready_target_interval_seconds",
        "How often the target is audited; alerts compare it with the last audit time",
    ),
    FamilyDef::gauge(
        "vnready_check_status",
        "The check's status: 0 pass, 1 warn, 2 fail, 3 error; requirement is required, recommended or exempt by the target's policy; absent when the check does not apply",
    ),
    FamilyDef::seconds(
        "vnready_check_last_change_timestamp_seconds",
        "Unix time the check took its current status (failing since), present while it warns, fails or errs; survives restarts",
    ),
    FamilyDef::gauge(
        "vnready_probe_success",
        "Whether every usable address of the family answered with an expected status (0 when it has none)",
    ),
    FamilyDef::seconds(
        "vnready_http_duration_seconds",
        "Seconds per phase (connect, tls, processing, transfer) of the request on the family's first address",
    ),
    FamilyDef::gauge(
        "vnready_http_status_code",
        "Final HTTP status on the family's first address after redirects",
    ),
    FamilyDef::gauge(
        "vnready_dns_addresses",
        "Usable (accepted) addresses of the host per family",
    ),
    FamilyDef::gauge(
        "vnready_dns_name_servers",
        "Name servers of the target's zone that have at least one usable address of the family",
    ),
    FamilyDef::seconds(
        "vnready_tls_cert_not_after_timestamp_seconds",
        "Unix time the leaf certificate expires; exported even when the certificate is invalid",
    ),
    FamilyDef::gauge(
        "vnready_tls_cert_valid",
        "Whether the presented chain verifies for the host on every address (1) or not (0)",
    ),
    FamilyDef::info(
        "vnready_tls_cert_info",
        "The leaf certificate's issuer, subject and SHA-256 fingerprint, and the TLS version negotiated",
    ),
    FamilyDef::gauge(
        "vnready_ipv6_only_blocking_hosts",
        "Hosts the page loads from that fail over IPv6 alone (ipv6.only); absent when none; the site page names them",
    ),
    FamilyDef::info(
        "vnready_script_host_info",
        "A third-party host the page loads scripts or frames from; a new one is the classic sign of injection",
    ),
];

/// One target's encoded lines, family by family.
#[derive(Debug)]
pub struct TargetBlock {
    text: String,
    /// Where each family's lines end in `text`; family `i` starts where `i - 1` ends.
    ends: [usize; FAMILY_COUNT],
}

impl TargetBlock {
    fn family(&self, index: usize) -> &str {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.text[start..self.ends[index]]
    }

    /// Encodes every per-target family of one snapshot.
    pub fn encode(snapshot: &TargetSnapshot) -> TargetBlock {
        let mut parts: [String; FAMILY_COUNT] = Default::default();
        let mut writer = BlockWriter {
            parts: &mut parts,
            id: &snapshot.target.id,
        };
        writer.target(snapshot);
        writer.checks(snapshot);
        for family in [IpFamily::Ipv4, IpFamily::Ipv6] {
            writer.family(snapshot, family);
        }
        writer.certificate(snapshot);
        let mut text = String::with_capacity(parts.iter().map(String::len).sum());
        let mut ends = [0; FAMILY_COUNT];
        for (index, part) in parts.iter().enumerate() {
            text.push_str(part);
            ends[index] = text.len();
        }
        TargetBlock { text, ends }
    }

    /// Bytes of exposition text in this block.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }
}

struct BlockWriter<'a> {
    parts: &'a mut [String; FAMILY_COUNT],
    id: &'a str,
}

impl BlockWriter<'_> {
    fn put(&mut self, family: F, extra: &[(&str, &str)], value: f64) {
        let mut labels: Vec<(&str, &str)> = Vec::with_capacity(extra.len() + 1);
        labels.push(("target", self.id));
        labels.extend_from_slice(extra);
        let def = &FAMILIES[family as usize];
        write_sample(&mut self.parts[family as usize], def.name, &labels, value);
    }

    /// Who the target is and how it stands as a whole.
    fn target(&mut self, snapshot: &TargetSnapshot) {
        let verdict = &snapshot.verdict;
        for host in verdict.observations.script_hosts.iter().flatten() {
            self.put(F::ScriptHost, &[("host", host)], 1.0);
        }
        self.put(
            F::TargetInfo,
            &[
                ("name", verdict.name.as_deref().unwrap_or_default()),
                ("agency", verdict.agency.as_deref().unwrap_or_default()),
                ("category", verdict.category.as_str()),
                ("district", verdict.district.as_deref().unwrap_or_default()),
            ],
            1.0,
        );
        self.put(F::ComplianceRatio, &[], verdict.compliance_ratio);
        self.put(F::Compliant, &[], f64::from(u8::from(verdict.passed)));
        self.put(F::LastAudit, &[], snapshot.audited_at);
        self.put(F::Interval, &[], snapshot.target.settings.interval.as_secs_f64());
    }

    /// Each applicable check's status and requirement, and since when it has not been passing.
    fn checks(&mut self, snapshot: &TargetSnapshot) {
        for result in &snapshot.verdict.checks {
            if result.status == Status::Skip {
                continue;
            }
            let check = result.id.as_str();
            let requirement = snapshot.target.policy.requirement(result.id).as_str();
            self.put(
                F::CheckStatus,
                &[("check", check), ("requirement", requirement)],
                status_number(result.status),
            );
            if result.status != Status::Pass {
                if let Some(state) = snapshot.states.get(&result.id) {
                    self.put(F::CheckLastChange, &[("check", check)], state.since);
                }
            }
            // The check counted them; the metric only carries the number.
            if let Some(count) = result.observed.get("blocking_hosts").and_then(|n| n.as_f64()) {
                if count > 0.0 {
                    self.put(F::Ipv6OnlyBlocking, &[], count);
                }
            }
        }
    }

    /// Addresses, name servers, reachability and timings of one address family.
    fn family(&mut self, snapshot: &TargetSnapshot, family: IpFamily) {
        let verdict = &snapshot.verdict;
        let observations = &verdict.observations;
        let ip_family = [("ip_family", family.as_str())];
        self.put(F::DnsAddresses, &ip_family, observations.usable(family).count() as f64);
        let mut probed = verdict
            .addresses
            .iter()
            .filter(|a| a.family == family && a.probed)
            .peekable();
        let success = probed.peek().is_some() && probed.all(|address| address.works);
        self.put(F::ProbeSuccess, &ip_family, f64::from(u8::from(success)));
        let first: Option<&AddressFetch> = observations.fetches_of(family).next();
        if let Some(first) = first {
            if let Some(code) = first.final_status() {
                self.put(F::HttpStatusCode, &ip_family, f64::from(code));
            }
            let timings = &first.timings;
            for (phase, value) in [
                ("connect", timings.connect),
                ("tls", timings.tls),
                ("processing", timings.processing),
                ("transfer", timings.transfer),
            ] {
                if let Some(seconds) = value {
                    self.put(
                        F::HttpDuration,
                        &[("ip_family", family.as_str()), ("phase", phase)],
                        seconds,
                    );
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
            self.put(F::DnsNameServers, &ip_family, count as f64);
        }
    }

    /// The certificate: every address's counts (the soonest expiry; valid only if all verify).
    fn certificate(&mut self, snapshot: &TargetSnapshot) {
        let observations = &snapshot.verdict.observations;
        let handshakes: Vec<_> = observations.fetches.iter().filter_map(|f| f.tls.as_ref()).collect();
        let Some(first) = handshakes.first() else {
            return;
        };
        let soonest = handshakes
            .iter()
            .filter_map(|tls| tls.chain.first())
            .filter(|leaf| leaf.not_after > 0)
            .min_by_key(|leaf| leaf.not_after);
        if let Some(leaf) = soonest.or(first.chain.first()) {
            self.put(F::TlsNotAfter, &[], leaf.not_after as f64);
            let version = handshakes
                .iter()
                .find(|tls| tls.handshake_completed)
                .map(|tls| tls.version.as_str())
                .unwrap_or_default();
            self.put(
                F::TlsCert,
                &[
                    ("issuer", &leaf.issuer),
                    ("subject", &leaf.subject),
                    ("fingerprint_sha256", &leaf.sha256),
                    ("tls_version", version),
                ],
                1.0,
            );
        }
        let all_valid = observations
            .fetches
            .iter()
            .all(|f| f.tls.as_ref().is_some_and(|t| t.verify_failure.is_none()));
        self.put(F::TlsCertValid, &[], f64::from(u8::from(all_valid)));
    }
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

/// Writes every per-target family over the given blocks: each family's header once, then its
/// lines from every block in order (both formats want a family's samples together).
pub fn write_families(
    out: &mut dyn std::io::Write,
    blocks: &[Arc<TargetBlock>],
    format: Exposition,
) -> std::io::Result<()> {
    let mut header = String::new();
    for (index, def) in FAMILIES.iter().enumerate() {
        if blocks.iter().all(|block| block.family(index).is_empty()) {
            continue;
        }
        header.clear();
        def.write_header(&mut header, format);
        out.write_all(header.as_bytes())?;
        for block in blocks {
            out.write_all(block.family(index).as_bytes())?;
        }
    }
    Ok(())
}

/// The daemon's targets as exposition blocks, re-encoded only for targets audited since the
/// last scrape.
#[derive(Debug)]
pub struct TargetExport {
    snapshots: Arc<Snapshots>,
    cache: Mutex<BlockCache>,
}

#[derive(Debug, Default)]
struct BlockCache {
    scrape: u64,
    entries: HashMap<String, CachedBlock>,
}

#[derive(Debug)]
struct CachedBlock {
    /// The snapshot the block was encoded from; a weak reference keeps its allocation (so the
    /// pointer cannot be reused by a newer snapshot) without keeping the verdict alive.
    source: Weak<TargetSnapshot>,
    block: Arc<TargetBlock>,
    seen_in: u64,
}

impl TargetExport {
    pub fn new(snapshots: Arc<Snapshots>) -> TargetExport {
        TargetExport {
            snapshots,
            cache: Mutex::new(BlockCache::default()),
        }
    }

    /// Current blocks in target-id order; targets removed by a reload leave the cache.
    pub fn blocks(&self) -> Vec<Arc<TargetBlock>> {
        let snapshots = self.snapshots.all();
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.scrape += 1;
        let scrape = cache.scrape;
        let mut blocks = Vec::with_capacity(snapshots.len());
        for snapshot in &snapshots {
            let fresh = || CachedBlock {
                source: Arc::downgrade(snapshot),
                block: Arc::new(TargetBlock::encode(snapshot)),
                seen_in: scrape,
            };
            let entry = match cache.entries.get_mut(&snapshot.target.id) {
                Some(entry) => {
                    if entry.source.as_ptr() != Arc::as_ptr(snapshot) {
                        *entry = fresh();
                    }
                    entry.seen_in = scrape;
                    entry
                }
                None => cache.entries.entry(snapshot.target.id.clone()).or_insert_with(fresh),
            };
            blocks.push(entry.block.clone());
        }
        cache.entries.retain(|_, entry| entry.seen_in == scrape);
        blocks
    }

    /// Targets whose blocks are kept.
    #[cfg(test)]
    fn cached(&self) -> usize {
        self.cache.lock().map(|cache| cache.entries.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::fixtures;
    use crate::checks::fixtures::target as fixture_target;
    use crate::checks::CheckId;
    use crate::history::{CheckState, CheckStates};

    fn snapshot(status: Status) -> TargetSnapshot {
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
        text_of_blocks(&[Arc::new(TargetBlock::encode(snapshot))])
    }

    fn text_of_blocks(blocks: &[Arc<TargetBlock>]) -> String {
        let mut out = Vec::new();
        write_families(&mut out, blocks, Exposition::Text).expect("write to memory");
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
        let blocks = vec![
            Arc::new(TargetBlock::encode(&snapshot(Status::Fail))),
            Arc::new(TargetBlock::encode(&second)),
        ];
        let out = text_of_blocks(&blocks);
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
    fn a_scrape_reencodes_only_targets_audited_since_and_forgets_removed_ones() {
        let snapshots = Arc::new(Snapshots::default());
        snapshots.insert(snapshot(Status::Fail));
        let export = TargetExport::new(snapshots.clone());
        let first = export.blocks();
        let again = export.blocks();
        assert!(Arc::ptr_eq(&first[0], &again[0]), "unchanged target re-encoded");
        snapshots.insert(snapshot(Status::Pass));
        let after_audit = export.blocks();
        assert!(
            !Arc::ptr_eq(&first[0], &after_audit[0]),
            "stale block served after an audit"
        );
        let out = text_of_blocks(&after_audit);
        assert!(
            out.contains("check=\"ipv6.aaaa\",requirement=\"recommended\"} 0\n"),
            "{out}"
        );
        snapshots.remove(&fixture_target().id);
        assert!(export.blocks().is_empty());
        assert_eq!(export.cached(), 0);
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
        compact.verdict.compact_for_memory();
        assert_eq!(text_of(&compact), before);
    }
}
