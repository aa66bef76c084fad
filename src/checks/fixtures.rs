//! A healthy dual-stack site as plain data, for unit tests to break one fact at a time.

use crate::model::target::{Target, TargetSettings, TargetUrl};
use crate::probe::addr::{classify, IpFamily};
use crate::probe::address::AddressLevel;
use crate::probe::certificate::CertificateLevel;
use crate::probe::dns::{DnssecState, HostRecords, LookupOutcome, NameServerAddresses, ZoneFacts};
use crate::probe::host::HostLevel;
use crate::probe::http::{AddressFetch, FetchError, Phase, PhaseTimings, PlainHttpFacts, ResponseFacts};
use crate::probe::legacy_tls::{AddressLegacyTls, LegacyTlsOutcome};
use crate::probe::nameserver::NsQueryOutcome;
use crate::probe::page::PageLevel;
use crate::probe::security_txt::{AddressSecurityTxt, SecurityTxtAnswer};
use crate::probe::tls::{CertFacts, TlsFacts};
use crate::probe::{NsAddressQuery, Observations, ProbeSet, ZoneLevel};

pub const NOW: i64 = 1_800_000_000;
const BODY: &str =
    "<html><head><title>Cổng thông tin</title></head><body><p>Tin tức sự kiện trong tỉnh hôm nay</p></body></html>";

pub fn target() -> Target {
    Target::from_url(
        TargetUrl::parse("https://example.vn/").unwrap(),
        TargetSettings::default(),
    )
}

fn cert(subject: &str, issuer: &str, issuer_is_trust_anchor: bool) -> CertFacts {
    CertFacts {
        subject: subject.into(),
        issuer: issuer.into(),
        serial: "01".into(),
        not_before: NOW - 86400,
        not_after: NOW + 90 * 86400,
        dns_names: vec!["example.vn".into()],
        sha256: "00".into(),
        self_signed: false,
        key: "EC 256".into(),
        rsa_bits: None,
        weak_signature: None,
        issuer_is_trust_anchor,
        is_trust_anchor: false,
        crl_urls: Vec::new(),
        ocsp_urls: Vec::new(),
    }
}

fn fetch(ip: &str) -> AddressFetch {
    let ip = ip.parse().unwrap();
    AddressFetch {
        ip,
        family: IpFamily::of(&ip),
        timings: PhaseTimings {
            resolve: Some(0.01),
            connect: Some(0.01),
            tls: Some(0.02),
            processing: Some(0.05),
            transfer: Some(0.01),
        },
        tls: Some(TlsFacts {
            host: "example.vn".into(),
            version: "TLS 1.3".into(),
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
            alpn: Some("http/1.1".into()),
            chain: vec![
                cert("CN=example.vn", "CN=Intermediate", false),
                cert("CN=Intermediate", "CN=Root", true),
            ],
            verify_failure: None,
            handshake_completed: true,
            staple: None,
            chain_der: Vec::new(),
        }),
        hop_handshakes: Vec::new(),
        hop_addresses: Vec::new(),
        failed_hop: None,
        responses: vec![ResponseFacts {
            url: "https://example.vn/".into(),
            ip,
            status: 200,
            headers: [
                ("strict-transport-security", "max-age=31536000; includeSubDomains"),
                ("x-frame-options", "SAMEORIGIN"),
                ("x-content-type-options", "nosniff"),
                ("referrer-policy", "strict-origin-when-cross-origin"),
                (
                    "content-security-policy",
                    "default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'",
                ),
            ]
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
            location: None,
            meta_refresh: None,
        }],
        final_url: Some("https://example.vn/".into()),
        body_bytes: BODY.len(),
        body_truncated: false,
        body: BODY.as_bytes().to_vec(),
        error: None,
        obsolete_suite: None,
        connections: 1,
    }
}

/// A valid security.txt at the well-known location (expires about four months after [`NOW`]).
fn security_txt(ip: &str) -> AddressSecurityTxt {
    let body = "Contact: mailto:soc@example.vn\nExpires: 2027-06-01T00:00:00Z\nPreferred-Languages: vi, en\nCanonical: https://example.vn/.well-known/security.txt\n";
    AddressSecurityTxt {
        ip: ip.parse().unwrap(),
        well_known: SecurityTxtAnswer {
            url: "https://example.vn/.well-known/security.txt".into(),
            final_url: "https://example.vn/.well-known/security.txt".into(),
            status: Some(200),
            content_type: Some("text/plain; charset=utf-8".into()),
            body: body.into(),
            bytes: body.len(),
            truncated: false,
            redirect_elsewhere: None,
            error: None,
        },
        legacy: None,
    }
}

pub fn observations() -> Observations {
    let v4 = "203.162.4.190";
    let v6 = "2402:800::1";
    let query = |name: &str, ip: &str| NsAddressQuery {
        name: name.into(),
        address: format!("[{ip}]:53").parse().unwrap(),
        outcome: NsQueryOutcome::Answered {
            transport: "udp".into(),
            authoritative: true,
            rcode: "NOERROR".into(),
            has_soa: true,
        },
    };
    Observations {
        host: "example.vn".into(),
        probes: ProbeSet::ALL,
        dns: HostLevel {
            records: HostRecords {
                a: LookupOutcome::Records {
                    values: vec![v4.into()],
                },
                aaaa: LookupOutcome::Records {
                    values: vec![v6.into()],
                },
                cname_chain: Vec::new(),
                resolve_seconds: 0.01,
            },
            addresses: vec![classify(v4.parse().unwrap(), &[]), classify(v6.parse().unwrap(), &[])],
            caa: None,
        },
        address: AddressLevel {
            fetches: vec![fetch(v4), fetch(v6)],
            plain_http: [v4, v6]
                .iter()
                .map(|ip| PlainHttpFacts {
                    url: "http://example.vn/".into(),
                    ip: Some(ip.parse().unwrap()),
                    status: Some(301),
                    location: Some("https://example.vn/".into()),
                    error: None,
                })
                .collect(),
            legacy_tls: [v4, v6]
                .iter()
                .map(|ip| AddressLegacyTls {
                    ip: ip.parse().unwrap(),
                    outcome: LegacyTlsOutcome::Refused {
                        how: "alert protocol_version".into(),
                    },
                })
                .collect(),
            pmtu: Vec::new(),
            security_txt: [v4, v6].iter().map(|ip| security_txt(ip)).collect(),
            tls_scans: [v4, v6].iter().map(|ip| tls_scan(ip)).collect(),
            dane: None,
        },
        zone: ZoneLevel {
            facts: Some(ZoneFacts {
                apex: "example.vn".into(),
                soa: LookupOutcome::Records {
                    values: vec!["ns1.example.vn hostmaster.example.vn 1".into()],
                },
                ns: LookupOutcome::Records {
                    values: vec!["ns1.example.vn".into(), "ns2.example.vn".into()],
                },
                name_servers: ["ns1.example.vn", "ns2.example.vn"]
                    .iter()
                    .map(|name| NameServerAddresses {
                        name: (*name).into(),
                        a: LookupOutcome::Records {
                            values: vec!["203.162.0.1".into()],
                        },
                        aaaa: LookupOutcome::Records {
                            values: vec!["2402:800:20::1".into()],
                        },
                    })
                    .collect(),
            }),
            ns_queries: vec![
                query("ns1.example.vn", "2402:800:20::1"),
                query("ns2.example.vn", "2402:800:20::2"),
            ],
            dnssec: Some(DnssecState::Secure),
        },
        accept_ranges: Vec::new(),
        mail: None,
        page: PageLevel::default(),
        certificates: CertificateLevel::default(),
        routing: None,
        started_at: NOW as f64,
        duration_seconds: 0.2,
    }
}

/// Replaces the AAAA with `ip` everywhere it appears.
pub fn set_aaaa(obs: &mut Observations, ip: &str) {
    obs.dns.records.aaaa = LookupOutcome::Records {
        values: vec![ip.into()],
    };
    obs.dns.addresses.retain(|a| a.family == IpFamily::Ipv4);
    let classified = classify(ip.parse().unwrap(), &[]);
    obs.dns.addresses.push(classified);
    obs.address.fetches.retain(|f| f.family == IpFamily::Ipv4);
}

/// Makes every fetch of `family` fail with `kind` at connect.
pub fn break_fetch(obs: &mut Observations, family: IpFamily, kind: &str) {
    for fetch in obs.address.fetches.iter_mut().filter(|f| f.family == family) {
        fetch.responses.clear();
        fetch.tls = None;
        fetch.final_url = None;
        fetch.error = Some(FetchError {
            phase: Phase::Connect,
            kind: kind.into(),
            message: format!("connection {kind}"),
        });
    }
}

pub fn set_header(obs: &mut Observations, name: &str, value: &str) {
    for fetch in &mut obs.address.fetches {
        fetch.responses[0].headers.retain(|(key, _)| key != name);
        fetch.responses[0].headers.push((name.into(), value.into()));
    }
}

/// Asserts a result's status and that its English reason says `needle`, showing the reason
/// when it does not.
#[track_caller]
pub fn assert_verdict(result: &crate::checks::CheckResult, status: crate::checks::Status, needle: &str) {
    assert_eq!(result.status, status, "{}: {}", result.id, result.reason.en);
    assert_reason(result, needle);
}

/// Asserts that a result's English reason says `needle`.
#[track_caller]
pub fn assert_reason(result: &crate::checks::CheckResult, needle: &str) {
    assert!(
        result.reason.en.contains(needle),
        "{}: {:?} not in {}",
        result.id,
        needle,
        result.reason.en
    );
}

/// A modern server's deep scan: TLS 1.3 and ECDHE-GCM only, X25519 and P-256, every feature.
pub fn tls_scan(ip: &str) -> crate::probe::tls_scan::TlsScan {
    use crate::probe::tls_hello::{SECP256R1, X25519};
    let mut scan = crate::probe::tls_scan::TlsScan::empty(ip.parse().expect("fixture address"));
    scan.scanned_at = 1_800_000_000.0;
    scan.handshakes = 20;
    scan.tls13_suites = vec![0x1302, 0x1303, 0x1301];
    scan.tls12_suites = vec![0xc030, 0xc02f, 0xcca8];
    scan.server_preference = Some(true);
    scan.tls12_groups = vec![X25519, SECP256R1];
    scan.tls13_groups = vec![X25519, SECP256R1];
    scan.sha1_signatures = Some(false);
    scan.sha224_signatures = Some(false);
    scan.secure_renegotiation = Some(true);
    scan.extended_master_secret = Some(true);
    scan.compression = Some(false);
    scan.post_quantum = Some(false);
    scan.early_data = Some(false);
    scan.client_renegotiation = Some(false);
    scan
}
