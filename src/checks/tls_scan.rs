//! tls.ciphers, tls.key_exchange and tls.features: the deep TLS scan of every usable address
//! of both families, judged as internet.nl judges its first address per family (NCSC-NL
//! levels). One verdict per fault: a suite is judged here, a protocol version by tls.modern.

use serde_json::{json, Value};

use super::findings::Gaps;
use super::input::CheckFn;
use super::result::{not_tested, pass, reason, CheckResult};
use crate::model::catalogue::CheckId;
use crate::model::cipher_suites::{by_code, name_of, SuiteClass};
use crate::probe::addr::IpFamily;
use crate::probe::tls_hello::{group_name, SECP224R1};
use crate::probe::tls_scan::TlsScan;
use crate::probe::Observations;

pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[
    (CheckId::TlsCiphers, |input| {
        judged(CheckId::TlsCiphers, input.observations, ciphers)
    }),
    (CheckId::TlsKeyExchange, |input| {
        judged(CheckId::TlsKeyExchange, input.observations, key_exchange)
    }),
    (CheckId::TlsFeatures, |input| {
        judged(CheckId::TlsFeatures, input.observations, features)
    }),
];

/// The fields of a scan each check reports in `observed` (the rest belongs to the others: a
/// daemon keeps every result's `observed`, so each carries only what it judged).
fn fields_for(id: CheckId) -> &'static [&'static str] {
    match id {
        CheckId::TlsCiphers => &["tls13_suites", "tls12_suites", "tls12_complete", "server_preference"],
        CheckId::TlsKeyExchange => &[
            "tls12_groups",
            "tls13_groups",
            "dhe_bits",
            "sha1_signatures",
            "sha224_signatures",
            "x25519mlkem768",
        ],
        _ => &[
            "secure_renegotiation",
            "extended_master_secret",
            "compression",
            "early_data",
            "client_renegotiation",
        ],
    }
}

/// What the scans of a target's addresses showed for one check.
#[derive(Default)]
struct Findings {
    gaps: Gaps,
    judged: usize,
}

/// Runs `judge` on the scan of every usable address; an address without a usable scan is named
/// as untested, so the check never passes on part of the site.
fn judged(id: CheckId, obs: &Observations, judge: fn(&TlsScan, &str, &mut Findings)) -> CheckResult {
    let observed =
        json!({ "scans": obs.address.tls_scans.iter().map(|scan| describe(scan, fields_for(id))).collect::<Vec<_>>() });
    if !obs.probes.tls_scan {
        return not_tested(
            id,
            "the TLS scan did not run",
            "chưa quét TLS",
            &[] as &[&str],
            observed,
        );
    }
    let mut found = Findings::default();
    let usable: Vec<_> = obs
        .usable(IpFamily::Ipv6)
        .chain(obs.usable(IpFamily::Ipv4))
        .map(|address| address.ip)
        .collect();
    if usable.is_empty() {
        return not_tested(
            id,
            "no usable address to scan",
            "không có địa chỉ để quét",
            &[] as &[&str],
            observed,
        );
    }
    for ip in usable {
        let at = format!("[{ip}]");
        let Some(scan) = obs.address.tls_scans.iter().find(|scan| scan.ip == ip) else {
            found.gaps.untested.push(format!("{at}: not scanned"));
            continue;
        };
        if scan.tls12_suites.is_empty() && scan.tls13_suites.is_empty() {
            let why = match scan.incomplete.is_empty() {
                true => "refused every TLS 1.2 and 1.3 hello".to_string(),
                false => scan.incomplete.join("; "),
            };
            found.gaps.untested.push(format!("{at}: {why}"));
            continue;
        }
        found.judged += 1;
        judge(scan, &at, &mut found);
    }
    finish(id, found, observed)
}

fn finish(id: CheckId, found: Findings, observed: Value) -> CheckResult {
    let info = id.info();
    let observed = match found.gaps.conclude(
        id,
        observed,
        |list| reason!(list.to_string(), list.to_string()),
        ("could not be scanned", "không quét được"),
        |list| reason!(list.to_string(), list.to_string()),
    ) {
        Ok(result) => return result,
        Err(observed) => observed,
    };
    let count = found.judged;
    let (en, vi) = (info.title_en, info.title_vi);
    pass(
        id,
        reason!(
            "{en}: holds on all {count} address(es)",
            "{vi}: đạt trên cả {count} địa chỉ"
        ),
        observed,
    )
}

/// An address's scan in readable names, for `observed`: its address, age and gaps, and `fields`.
fn describe(scan: &TlsScan, fields: &[&str]) -> Value {
    let names = |codes: &[u16]| codes.iter().map(|code| name_of(*code)).collect::<Vec<_>>();
    let groups = |codes: &[u16]| codes.iter().map(|code| group_name(*code)).collect::<Vec<_>>();
    let all = json!({
        "ip": scan.ip,
        "scanned_at": scan.scanned_at,
        "age_seconds": (crate::model::clock::unix_now() - scan.scanned_at).max(0.0).round(),
        "handshakes": scan.handshakes,
        "tls13_suites": names(&scan.tls13_suites),
        "tls12_suites": names(&scan.tls12_suites),
        "tls12_complete": scan.tls12_complete,
        "server_preference": scan.server_preference,
        "tls12_groups": groups(&scan.tls12_groups),
        "tls13_groups": groups(&scan.tls13_groups),
        "dhe_bits": scan.dhe_bits,
        "sha1_signatures": scan.sha1_signatures,
        "sha224_signatures": scan.sha224_signatures,
        "secure_renegotiation": scan.secure_renegotiation,
        "extended_master_secret": scan.extended_master_secret,
        "compression": scan.compression,
        "x25519mlkem768": scan.post_quantum,
        "early_data": scan.early_data,
        "client_renegotiation": scan.client_renegotiation,
        "incomplete": scan.incomplete,
    });
    let keep = ["ip", "scanned_at", "age_seconds", "handshakes", "incomplete"];
    match all {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(key, _)| keep.contains(&key.as_str()) || fields.contains(&key.as_str()))
                .collect(),
        ),
        other => other,
    }
}

/// The scan's unanswered questions whose text starts with one of `topics`.
fn unanswered(scan: &TlsScan, at: &str, topics: &[&str], found: &mut Findings) {
    for gap in &scan.incomplete {
        if topics.iter().any(|topic| gap.starts_with(topic)) {
            found.gaps.untested.push(format!("{at}: {gap}"));
        }
    }
}

fn ciphers(scan: &TlsScan, at: &str, found: &mut Findings) {
    unanswered(scan, at, &["TLS 1.2 suites", "TLS 1.3 suites", "suite order"], found);
    for code in scan.tls13_suites.iter().chain(&scan.tls12_suites) {
        let Some(suite) = by_code(*code) else { continue };
        match suite.class {
            SuiteClass::Good => {}
            SuiteClass::PhaseOut => {
                found
                    .gaps
                    .warnings
                    .push(format!("{at} accepts {} ({}, phase-out)", suite.name, suite.weakness()))
            }
            SuiteClass::Insufficient => found.gaps.problems.push(format!(
                "{at} accepts {} ({}, insufficient)",
                suite.name,
                suite.weakness()
            )),
        }
    }
    let class = |code: &u16| by_code(*code).map(|suite| suite.class);
    let weaker_than_good = scan
        .tls12_suites
        .iter()
        .any(|code| class(code) != Some(SuiteClass::Good));
    let good_too = scan
        .tls12_suites
        .iter()
        .any(|code| class(code) == Some(SuiteClass::Good));
    match (scan.server_preference, scan.tls12_suites.first()) {
        (Some(true), Some(first)) if class(first) != Some(SuiteClass::Good) && good_too => found
            .gaps
            .warnings
            .push(format!("{at} prefers {} over its good suites", name_of(*first))),
        (Some(false), _) if weaker_than_good && good_too => found.gaps.warnings.push(format!(
            "{at} does not enforce its suite order: a client that lists a weaker suite first gets it"
        )),
        _ => {}
    }
}

fn key_exchange(scan: &TlsScan, at: &str, found: &mut Findings) {
    unanswered(
        scan,
        at,
        &[
            "TLS 1.2 groups",
            "TLS 1.3 groups",
            "DHE",
            "SHA-1 signatures",
            "SHA-224 signatures",
        ],
        found,
    );
    for group in scan.tls13_groups.iter().chain(&scan.tls12_groups) {
        match *group {
            SECP224R1 => found
                .gaps
                .warnings
                .push(format!("{at} accepts ECDHE on secp224r1 (phase-out)")),
            // X25519, X448, the NIST curves P-256/384/521 and brainpool.
            0x0017..=0x001e => {}
            other => found
                .gaps
                .problems
                .push(format!("{at} uses the unknown group {}", group_name(other))),
        }
    }
    match scan.dhe_bits {
        Some(bits) if bits <= 2048 => found.gaps.problems.push(format!(
            "{at} offers DHE with a {bits}-bit group (ffdhe2048 or smaller: insufficient)"
        )),
        Some(bits) => found
            .gaps
            .warnings
            .push(format!("{at} offers DHE with a {bits}-bit group (phase-out)")),
        // DHE accepted but its prime not read: named, never passed over.
        None if scan
            .tls12_suites
            .iter()
            .any(|code| by_code(*code).is_some_and(|suite| suite.name.starts_with("DHE")))
            && !scan.incomplete.iter().any(|gap| gap.starts_with("DHE")) =>
        {
            found
                .gaps
                .untested
                .push(format!("{at}: DHE accepted but its group size not read"))
        }
        None => {}
    }
    if scan.sha1_signatures == Some(true) {
        found.gaps.problems.push(format!(
            "{at} signs the key exchange with SHA-1 when a client offers only SHA-1"
        ));
    }
    if scan.sha224_signatures == Some(true) {
        found.gaps.warnings.push(format!(
            "{at} signs the key exchange with SHA-224 when a client offers only SHA-224"
        ));
    }
}

fn features(scan: &TlsScan, at: &str, found: &mut Findings) {
    unanswered(scan, at, &["0-RTT"], found);
    if scan.early_data == Some(true) {
        found.gaps.problems.push(format!(
            "{at} accepts TLS 1.3 early data (0-RTT) for the page: the request can be replayed"
        ));
    }
    if !scan.speaks_tls12() {
        return;
    }
    unanswered(scan, at, &["TLS 1.2 features", "client renegotiation"], found);
    match scan.client_renegotiation {
        Some(true) => found.gaps.warnings.push(format!(
            "{at} accepts a renegotiation the client starts (each costs the server a full handshake)"
        )),
        Some(false) => {}
        // Asked over ECDHE with AES-128-GCM; a server without it is not asked (named).
        None if !scan.tls12_suites.iter().any(|code| matches!(code, 0xc02f | 0xc02b)) => found.gaps.untested.push(
            format!("{at}: client renegotiation not asked (no ECDHE-AES128-GCM suite)"),
        ),
        None => {}
    }
    let checks = [
        (
            scan.secure_renegotiation,
            false,
            "no secure renegotiation (RFC 5746 renegotiation_info)",
        ),
        (
            scan.extended_master_secret,
            false,
            "no extended master secret (RFC 7627)",
        ),
        (scan.compression, true, "accepts TLS compression (CRIME)"),
    ];
    for (value, bad, what) in checks {
        match value {
            Some(value) if value == bad => found.gaps.problems.push(format!("{at} {what}")),
            Some(_) => {}
            // An unanswered feature hello is already named through `unanswered`; any other
            // missing answer is named here, so the check never passes without it.
            None if !scan.incomplete.iter().any(|gap| gap.starts_with("TLS 1.2 features")) => {
                found.gaps.untested.push(format!("{at}: {what}: not answered"))
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::observations;
    use crate::checks::result::Status;

    fn judge_with(id: CheckId, change: impl Fn(&mut TlsScan)) -> CheckResult {
        let mut obs = observations();
        obs.probes.tls_scan = true;
        change(&mut obs.address.tls_scans[1]);
        let judge: fn(&TlsScan, &str, &mut Findings) = match id {
            CheckId::TlsCiphers => ciphers,
            CheckId::TlsKeyExchange => key_exchange,
            _ => features,
        };
        judged(id, &obs, judge)
    }

    #[test]
    fn a_modern_server_passes_all_three() {
        for id in [CheckId::TlsCiphers, CheckId::TlsKeyExchange, CheckId::TlsFeatures] {
            let result = judge_with(id, |_| {});
            assert_eq!(result.status, Status::Pass, "{id:?}: {}", result.reason.en);
            assert!(result.reason.en.contains("all 2 address(es)"));
        }
    }

    #[test]
    fn weak_suites_are_named_with_the_address() {
        let result = judge_with(CheckId::TlsCiphers, |scan| scan.tls12_suites.push(0x002f));
        assert_eq!(result.status, Status::Fail);
        assert!(result
            .reason
            .en
            .contains("accepts AES128-SHA (RSA key exchange: no forward secrecy, insufficient)"));
        assert!(result.reason.en.starts_with('['));
        let result = judge_with(CheckId::TlsCiphers, |scan| scan.tls12_suites.push(0xc027));
        assert_eq!(result.status, Status::Warn);
        let result = judge_with(CheckId::TlsCiphers, |scan| scan.tls12_suites.insert(0, 0x009e));
        assert_eq!(result.status, Status::Warn);
        assert!(result
            .reason
            .en
            .contains("prefers DHE-RSA-AES128-GCM-SHA256 over its good suites"));
        let result = judge_with(CheckId::TlsCiphers, |scan| {
            scan.tls12_suites.clear();
            scan.tls13_suites.clear();
            scan.incomplete.push("TLS 1.2 suites: timeout".into());
        });
        assert_eq!(result.status, Status::Error, "an address not scanned never passes");
    }

    #[test]
    fn key_exchange_and_features_faults() {
        let result = judge_with(CheckId::TlsKeyExchange, |scan| scan.dhe_bits = Some(2048));
        assert_eq!(result.status, Status::Fail);
        let result = judge_with(CheckId::TlsKeyExchange, |scan| scan.dhe_bits = Some(3072));
        assert_eq!(result.status, Status::Warn);
        let result = judge_with(CheckId::TlsKeyExchange, |scan| scan.sha1_signatures = Some(true));
        assert_eq!(result.status, Status::Fail);
        let result = judge_with(CheckId::TlsKeyExchange, |scan| scan.tls12_groups.push(SECP224R1));
        assert_eq!(result.status, Status::Warn);
        let result = judge_with(CheckId::TlsFeatures, |scan| scan.secure_renegotiation = Some(false));
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("RFC 5746"));
        let result = judge_with(CheckId::TlsFeatures, |scan| scan.compression = Some(true));
        assert_eq!(result.status, Status::Fail);
        let result = judge_with(CheckId::TlsFeatures, |scan| scan.early_data = Some(true));
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("0-RTT"));
        let result = judge_with(CheckId::TlsFeatures, |scan| {
            scan.tls12_suites.clear();
            scan.secure_renegotiation = None;
        });
        assert_eq!(
            result.status,
            Status::Pass,
            "TLS 1.3 only: the TLS 1.2 parts do not apply"
        );
    }
}
