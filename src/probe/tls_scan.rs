//! The deep TLS scan of one address, as internet.nl and testssl.sh judge a server: which suites
//! it accepts (by elimination: offer everything, strike what it chose, ask again) and in whose
//! order, which key-exchange groups and DH sizes, whether it signs the key exchange with SHA-1
//! or SHA-224 when asked to, secure renegotiation, the extended master secret, compression, and
//! whether it selects the hybrid post-quantum group. Hand-built hellos only ([`super::tls_hello`]);
//! at most [`MAX_CONCURRENT`] connections at once and [`MAX_HANDSHAKES`] per address per scan.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::tls::TlsSetup;
use super::tls_hello::{
    client_hello, exchange, HelloSpec, ServerAnswer, ServerHello, SECP224R1, SECP256R1, SECP384R1, SECP521R1,
    SHA1_SIGALGS, SHA224_SIGALGS, TLS12, TLS13, X25519, X25519_MLKEM768, X448,
};
use crate::model::cipher_suites::{self, by_code, SuiteClass};

/// Handshakes one scan may start on one address.
pub const MAX_HANDSHAKES: usize = 40;
/// Connections one scan may hold open on one address at once.
pub const MAX_CONCURRENT: usize = 4;

/// TLS 1.2 suites enumerated one by one; beyond, one question per weak class (a server with
/// GnuTLS's defaults accepts more than 25).
const TLS12_SUITE_LIMIT: usize = 12;
/// Groups enumerated one by one: the five good curves (the weak secp224r1 is asked alone after
/// them, brainpool only when one of the five is missing).
const GROUP_LIMIT: usize = 5;

/// ECDHE groups asked about in TLS 1.2, best first (brainpool and secp224r1 last).
const TLS12_GROUPS: [u16; 9] = [
    X25519, SECP256R1, SECP384R1, SECP521R1, X448, 0x001a, 0x001b, 0x001c, SECP224R1,
];
/// Groups offered in TLS 1.3 (finite-field groups are not: browsers do not offer them).
const TLS13_GROUPS: [u16; 5] = [X25519, SECP256R1, SECP384R1, SECP521R1, X448];

/// What the scan of one address found. `None` fields were not asked (the address does not
/// speak that version) or not answered (named in `incomplete`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TlsScan {
    pub ip: IpAddr,
    /// Unix time of the scan, so a result kept between scans shows its age.
    pub scanned_at: f64,
    pub handshakes: usize,
    /// TLS 1.3 suites accepted, in the order the server chose them.
    pub tls13_suites: Vec<u16>,
    /// TLS 1.2 suites accepted, in the order the server chose them.
    pub tls12_suites: Vec<u16>,
    /// False when the server accepts more TLS 1.2 suites than the budget enumerates: the list
    /// then ends with one insufficient and one phase-out suite when it accepts any, which is all
    /// a verdict needs.
    pub tls12_complete: bool,
    /// Whether the server imposes its own order on TLS 1.2 suites (asked when it accepts two or
    /// more).
    pub server_preference: Option<bool>,
    /// TLS 1.2 ECDHE curves accepted.
    pub tls12_groups: Vec<u16>,
    /// TLS 1.3 key-exchange groups accepted.
    pub tls13_groups: Vec<u16>,
    /// The DH prime size of the TLS 1.2 DHE suites, when any is accepted.
    pub dhe_bits: Option<usize>,
    /// The key exchange signed with SHA-1 when only SHA-1 was offered.
    pub sha1_signatures: Option<bool>,
    /// The key exchange signed with SHA-224 when only SHA-224 was offered.
    pub sha224_signatures: Option<bool>,
    /// RFC 5746 `renegotiation_info` in the TLS 1.2 ServerHello.
    pub secure_renegotiation: Option<bool>,
    /// RFC 7627 `extended_master_secret` in the TLS 1.2 ServerHello.
    pub extended_master_secret: Option<bool>,
    /// A compression method other than null chosen when DEFLATE was offered.
    pub compression: Option<bool>,
    /// X25519MLKEM768 selected when offered first beside X25519.
    pub post_quantum: Option<bool>,
    /// TLS 1.3 early data (0-RTT) accepted for the page on a resumed connection.
    pub early_data: Option<bool>,
    /// A renegotiation the client starts accepted (TLS 1.2, asked over ECDHE-AES128-GCM).
    pub client_renegotiation: Option<bool>,
    /// Questions that could not be answered, and why.
    pub incomplete: Vec<String>,
}

impl TlsScan {
    /// Nothing found yet about `ip`.
    pub fn empty(ip: IpAddr) -> TlsScan {
        TlsScan {
            ip,
            scanned_at: 0.0,
            handshakes: 0,
            tls13_suites: Vec::new(),
            tls12_suites: Vec::new(),
            tls12_complete: true,
            server_preference: None,
            tls12_groups: Vec::new(),
            tls13_groups: Vec::new(),
            dhe_bits: None,
            sha1_signatures: None,
            sha224_signatures: None,
            secure_renegotiation: None,
            extended_master_secret: None,
            compression: None,
            post_quantum: None,
            early_data: None,
            client_renegotiation: None,
            incomplete: Vec::new(),
        }
    }

    /// Whether the address speaks TLS 1.2 (any TLS 1.2 suite accepted).
    pub fn speaks_tls12(&self) -> bool {
        !self.tls12_suites.is_empty()
    }
}

/// Connections and the handshake budget of one scan.
struct Budget {
    address: SocketAddr,
    deadline: Instant,
    used: AtomicUsize,
    open: Semaphore,
}

enum Asked {
    Hello(ServerHello),
    Refused,
    /// No answer to judge (connect failed, timeout, garbage, budget spent).
    Unanswered(String),
}

impl Budget {
    async fn ask(&self, spec: &HelloSpec<'_>) -> Asked {
        if self.used.fetch_add(1, Ordering::SeqCst) >= MAX_HANDSHAKES {
            return Asked::Unanswered(format!("more than {MAX_HANDSHAKES} handshakes needed"));
        }
        let Ok(_permit) = self.open.acquire().await else {
            return Asked::Unanswered("scan stopped".into());
        };
        let hello = client_hello(spec);
        let attempt = async {
            let mut stream = super::politeness::connect(self.address, None).await?;
            let _ = stream.get_ref().set_nodelay(true);
            exchange(&mut stream, &hello).await
        };
        match tokio::time::timeout_at(self.deadline, attempt).await {
            Err(_) => Asked::Unanswered("timeout".into()),
            Ok(Err(err)) => Asked::Unanswered(err.to_string()),
            Ok(Ok(ServerAnswer::Refused { .. })) => Asked::Refused,
            Ok(Ok(ServerAnswer::Hello(hello))) => Asked::Hello(hello),
        }
    }
}

/// Scans `address` for `host` (its SNI) by `deadline`; `tls` and `path` are for the 0-RTT
/// question, which needs a real handshake and the page.
pub async fn scan(address: SocketAddr, host: &str, path: &str, tls: &TlsSetup, deadline: Instant) -> TlsScan {
    let budget = Budget {
        address,
        deadline,
        used: AtomicUsize::new(0),
        open: Semaphore::new(MAX_CONCURRENT),
    };
    if let Err(message) = super::route::monitor_route(address.ip()) {
        let mut scan = TlsScan::empty(address.ip());
        scan.incomplete.push(message);
        return scan;
    }
    let mut tls12 = TlsScan::empty(address.ip());
    // (the TLS 1.2 branch also asks client renegotiation; the TLS 1.3 branch 0-RTT)
    let mut tls13 = TlsScan::empty(address.ip());
    tokio::join!(
        scan_tls12(&budget, host, &mut tls12),
        scan_tls13(&budget, host, &mut tls13)
    );
    let mut incomplete = tls12.incomplete;
    incomplete.extend(tls13.incomplete);
    let mut early_data = None;
    if !tls13.tls13_suites.is_empty() {
        if budget.used.fetch_add(2, Ordering::SeqCst) + 2 > MAX_HANDSHAKES {
            incomplete.push(format!("0-RTT: more than {MAX_HANDSHAKES} handshakes needed"));
        } else {
            match super::early_data::accepted(tls, address, host, path, deadline).await {
                Ok(accepted) => early_data = Some(accepted),
                Err(why) => incomplete.push(format!("0-RTT: {why}")),
            }
        }
    }
    TlsScan {
        scanned_at: now(),
        handshakes: budget.used.load(Ordering::SeqCst).min(MAX_HANDSHAKES),
        tls13_suites: tls13.tls13_suites,
        tls13_groups: tls13.tls13_groups,
        post_quantum: tls13.post_quantum,
        early_data,
        incomplete,
        ..tls12
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Which list of the hello an elimination strikes from.
#[derive(Clone, Copy)]
enum Offered {
    Suites,
    Groups,
}

/// Offers `candidates` as the `offered` list (with `spec`'s other fields) and strikes what the
/// server chose until it refuses; returns the accepted ones in the order chosen.
#[allow(clippy::too_many_arguments)]
async fn eliminate(
    budget: &Budget,
    spec: &HelloSpec<'_>,
    offered: Offered,
    candidates: Vec<u16>,
    chosen: impl Fn(&ServerHello) -> Option<u16>,
    limit: usize,
    what: &str,
    incomplete: &mut Vec<String>,
) -> Vec<u16> {
    let mut left = candidates;
    let mut accepted = Vec::new();
    while !left.is_empty() && accepted.len() < limit {
        let offer = left.clone();
        let spec = match offered {
            Offered::Suites => HelloSpec {
                suites: &offer,
                ..spec.clone()
            },
            Offered::Groups => HelloSpec {
                groups: &offer,
                ..spec.clone()
            },
        };
        match budget.ask(&spec).await {
            Asked::Hello(hello) => {
                let Some(pick) = chosen(&hello) else { break };
                if !left.contains(&pick) {
                    incomplete.push(format!("{what}: the server chose {pick:#06x}, which was not offered"));
                    break;
                }
                left.retain(|code| *code != pick);
                accepted.push(pick);
            }
            Asked::Refused => break,
            Asked::Unanswered(why) => {
                incomplete.push(format!("{what}: {why}"));
                break;
            }
        }
    }
    accepted
}

async fn scan_tls12(budget: &Budget, host: &str, found: &mut TlsScan) {
    let base = HelloSpec::tls12(host, &[]);
    let tls12_hello = |hello: &ServerHello| (hello.version == TLS12).then_some(hello.suite);
    let mut accepted = eliminate(
        budget,
        &base,
        Offered::Suites,
        cipher_suites::tls12_codes(),
        tls12_hello,
        TLS12_SUITE_LIMIT,
        "TLS 1.2 suites",
        &mut found.incomplete,
    )
    .await;
    if accepted.is_empty() {
        return;
    }
    if accepted.len() == TLS12_SUITE_LIMIT {
        // More than the budget enumerates: ask once per weak class among the rest.
        found.tls12_complete = false;
        for class in [SuiteClass::Insufficient, SuiteClass::PhaseOut] {
            let rest: Vec<u16> = cipher_suites::tls12_codes()
                .into_iter()
                .filter(|code| !accepted.contains(code) && by_code(*code).is_some_and(|s| s.class == class))
                .collect();
            if rest.is_empty() {
                continue;
            }
            match budget
                .ask(&HelloSpec {
                    suites: &rest,
                    ..base.clone()
                })
                .await
            {
                Asked::Hello(hello) if rest.contains(&hello.suite) => accepted.push(hello.suite),
                Asked::Hello(_) | Asked::Refused => {}
                Asked::Unanswered(why) => found.incomplete.push(format!("TLS 1.2 suites: {why}")),
            }
        }
    }
    found.tls12_suites = accepted.clone();
    // The server's order or ours: the same suites offered backwards.
    if accepted.len() >= 2 {
        let reversed: Vec<u16> = accepted.iter().rev().copied().collect();
        match budget
            .ask(&HelloSpec {
                suites: &reversed,
                ..base.clone()
            })
            .await
        {
            Asked::Hello(hello) => found.server_preference = Some(hello.suite == accepted[0]),
            Asked::Refused => found
                .incomplete
                .push("suite order: refused the suites it had accepted".into()),
            Asked::Unanswered(why) => found.incomplete.push(format!("suite order: {why}")),
        }
    }
    // Renegotiation, extended master secret and compression in one hello.
    let features = HelloSpec {
        suites: &accepted,
        compression: true,
        ..base.clone()
    };
    match budget.ask(&features).await {
        Asked::Hello(hello) => {
            found.secure_renegotiation = Some(hello.has_extension(0xff01));
            found.extended_master_secret = Some(hello.has_extension(0x0017));
            found.compression = Some(hello.compression != 0);
        }
        Asked::Refused => found.compression = Some(false),
        Asked::Unanswered(why) => found.incomplete.push(format!("TLS 1.2 features: {why}")),
    }
    let kind = |prefix: &str| -> Vec<u16> {
        accepted
            .iter()
            .copied()
            .filter(|code| by_code(*code).is_some_and(|s| s.name.starts_with(prefix)))
            .collect()
    };
    // Client-initiated renegotiation, on a real TLS 1.2 handshake of our own (ECDHE-AES128-GCM).
    if accepted.iter().any(|code| matches!(code, 0xc02f | 0xc02b)) {
        if budget.used.fetch_add(1, Ordering::SeqCst) >= MAX_HANDSHAKES {
            found.incomplete.push(format!(
                "client renegotiation: more than {MAX_HANDSHAKES} handshakes needed"
            ));
        } else {
            match super::renegotiation::accepted(budget.address, host, budget.deadline).await {
                Ok(accepted) => found.client_renegotiation = Some(accepted),
                Err(why) => found.incomplete.push(format!("client renegotiation: {why}")),
            }
        }
    }
    let (ecdhe, dhe) = (kind("ECDHE"), kind("DHE"));
    let signed: Vec<u16> = ecdhe.iter().chain(&dhe).copied().collect();
    if !signed.is_empty() {
        found.sha1_signatures = weak_signatures(budget, &base, &signed, &SHA1_SIGALGS, "SHA-1", found).await;
        found.sha224_signatures = weak_signatures(budget, &base, &signed, &SHA224_SIGALGS, "SHA-224", found).await;
    }
    if !dhe.is_empty() {
        match budget
            .ask(&HelloSpec {
                suites: &dhe,
                ..base.clone()
            })
            .await
        {
            Asked::Hello(hello) => found.dhe_bits = hello.ske_dh_bits,
            Asked::Refused => found
                .incomplete
                .push("DHE: refused the DHE suites it had accepted".into()),
            Asked::Unanswered(why) => found.incomplete.push(format!("DHE: {why}")),
        }
    }
    if !ecdhe.is_empty() {
        let spec = HelloSpec {
            suites: &ecdhe,
            ..base.clone()
        };
        found.tls12_groups = eliminate(
            budget,
            &spec,
            Offered::Groups,
            TLS12_GROUPS.to_vec(),
            |hello| hello.ske_curve,
            GROUP_LIMIT,
            "TLS 1.2 groups",
            &mut found.incomplete,
        )
        .await;
        // The weak curve is asked alone when the elimination stopped before it.
        if !found.tls12_groups.contains(&SECP224R1) && found.tls12_groups.len() == GROUP_LIMIT {
            match budget
                .ask(&HelloSpec {
                    groups: &[SECP224R1],
                    ..spec.clone()
                })
                .await
            {
                Asked::Hello(hello) if hello.ske_curve == Some(SECP224R1) => found.tls12_groups.push(SECP224R1),
                Asked::Hello(_) | Asked::Refused => {}
                Asked::Unanswered(why) => found.incomplete.push(format!("TLS 1.2 groups: {why}")),
            }
        }
    }
}

/// Whether the key exchange comes signed with one of `sigalgs` when only those are offered.
async fn weak_signatures(
    budget: &Budget,
    base: &HelloSpec<'_>,
    suites: &[u16],
    sigalgs: &[u16],
    what: &str,
    found: &mut TlsScan,
) -> Option<bool> {
    let spec = HelloSpec {
        suites,
        sigalgs,
        ..base.clone()
    };
    match budget.ask(&spec).await {
        Asked::Hello(hello) => Some(hello.ske_sigalg.is_some_and(|alg| sigalgs.contains(&alg))),
        Asked::Refused => Some(false),
        Asked::Unanswered(why) => {
            found.incomplete.push(format!("{what} signatures: {why}"));
            None
        }
    }
}

async fn scan_tls13(budget: &Budget, host: &str, found: &mut TlsScan) {
    let suites = cipher_suites::tls13_codes();
    let base = HelloSpec {
        version: TLS13,
        groups: &TLS13_GROUPS,
        ..HelloSpec::tls12(host, &suites)
    };
    let tls13_hello = |hello: &ServerHello| (hello.version == TLS13).then_some(hello.suite);
    found.tls13_suites = eliminate(
        budget,
        &base,
        Offered::Suites,
        suites.clone(),
        tls13_hello,
        suites.len(),
        "TLS 1.3 suites",
        &mut found.incomplete,
    )
    .await;
    if found.tls13_suites.is_empty() {
        return;
    }
    let tls13_group = |hello: &ServerHello| (hello.version == TLS13).then_some(hello.group).flatten();
    found.tls13_groups = eliminate(
        budget,
        &base,
        Offered::Groups,
        TLS13_GROUPS.to_vec(),
        tls13_group,
        GROUP_LIMIT,
        "TLS 1.3 groups",
        &mut found.incomplete,
    )
    .await;
    let hybrid = [X25519_MLKEM768, X25519];
    match budget
        .ask(&HelloSpec {
            groups: &hybrid,
            ..base.clone()
        })
        .await
    {
        Asked::Hello(hello) => found.post_quantum = Some(hello.group == Some(X25519_MLKEM768)),
        Asked::Refused => found.post_quantum = Some(false),
        Asked::Unanswered(why) => found.incomplete.push(format!("post-quantum group: {why}")),
    }
}
