//! The address level: what each usable address of the host does, probed on every one of them
//! (a site's second server is often the one nobody updated). Each probe here has the same
//! shape: the context and the host's addresses in, one fact per usable address out.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use super::addr::classify;
use super::context::Context;
use super::dns::addresses_of;
use super::host::HostLevel;
use super::http::{AddressFetch, FetchError, KeptConnection, Phase, PlainHttpFacts};
use super::legacy_tls::{self, AddressLegacyTls};
use super::pmtu::{self, AddressPmtu};
use super::progress::Progress;
use super::tls_scan::{self, TlsScan};

/// Per-address facts of the target's host.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AddressLevel {
    /// One fetch per usable address, when fetching was asked for.
    pub fetches: Vec<AddressFetch>,
    /// One plain http:// request per usable address of the http:// host (when probed).
    pub plain_http: Vec<PlainHttpFacts>,
    /// The legacy ClientHello's outcome on every usable address (when probed).
    pub legacy_tls: Vec<AddressLegacyTls>,
    /// Every address whose fetch stalled after connecting, and what 1280-byte packets did
    /// there (when `ipv6.pmtu` ran; both families).
    pub pmtu: Vec<AddressPmtu>,
    /// security.txt on every address whose page came back (when probed).
    pub security_txt: Vec<super::security_txt::AddressSecurityTxt>,
    /// The deep TLS scan of every usable address (when probed; kept for `deep_interval`).
    pub tls_scans: Vec<TlsScan>,
    /// `_PORT._tcp.HOST` TLSA and, when there are records, the chain each address presented
    /// (when tls.dane runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dane: Option<DaneFacts>,
}

/// The site's TLSA answer and what to match it against.
#[derive(Clone, Debug, Serialize)]
pub struct DaneFacts {
    pub tlsa: super::mail::TlsaLookup,
    /// Per address that completed a handshake, the digests of its chain, leaf first.
    pub chains: Vec<(IpAddr, Vec<super::smtp::ChainDigests>)>,
}

/// The TLSA records of the site's HTTPS service, validated when there are any.
pub async fn tlsa(cx: &Context<'_>) -> Option<super::mail::TlsaLookup> {
    if !cx.probes.tls_dane {
        return None;
    }
    let name = format!("_{}._tcp.{}", cx.target.https_port(), cx.host());
    let (records, dnssec) = cx
        .shared
        .dns
        .lookup_validated(&name, hickory_resolver::proto::rr::RecordType::TLSA, cx.deadline)
        .await;
    Some(super::mail::TlsaLookup { name, records, dnssec })
}

/// The chains the fetches were shown, as DANE compares them; only computed when TLSA records
/// exist (read before the certificate level takes the chains).
pub fn dane(tlsa: Option<super::mail::TlsaLookup>, fetches: &[AddressFetch]) -> Option<DaneFacts> {
    let tlsa = tlsa?;
    let chains = match tlsa.records {
        super::dns::LookupOutcome::Records { .. } => fetches
            .iter()
            .filter_map(|fetch| {
                let tls = fetch.tls.as_ref()?;
                let chain = tls
                    .chain_der
                    .iter()
                    .map(|der| super::smtp::ChainDigests::of(der))
                    .collect();
                Some((fetch.ip, chain))
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(DaneFacts { tlsa, chains })
}

/// The fetches, and for each the connection its page came back on while it can carry one more
/// request (kept only when a later probe asks on it).
pub struct Fetched {
    pub fetches: Vec<AddressFetch>,
    pub kept: Vec<Option<KeptConnection>>,
    pub pmtu: Vec<AddressPmtu>,
}

/// The target's URL fetched over every usable address, redirects followed within the family.
/// A handshake rustls refuses is tried once more with a hand-built hello, to tell "obsolete
/// suites only" from "no TLS".
pub async fn fetch(cx: &Context<'_>, host: &HostLevel) -> Fetched {
    if !cx.probes.fetch {
        return Fetched {
            fetches: Vec::new(),
            kept: Vec::new(),
            pmtu: Vec::new(),
        };
    }
    let http = cx.http();
    let target = cx.target;
    let resolve_seconds = host.records.resolve_seconds;
    let fetched = futures::future::join_all(host.usable().iter().map(|ip| async {
        let progress = std::sync::Arc::new(Progress::default());
        let watched = http.watched_by(&progress);
        let fetch = watched.fetch_keeping(
            &target.url,
            *ip,
            cx.deadline,
            target.settings.max_body_bytes,
            resolve_seconds,
        );
        let ((mut fetch, kept), pmtu) = if cx.probes.pmtu {
            pmtu::watch(cx, *ip, &progress, fetch).await
        } else {
            (fetch.await, None)
        };
        // Only the crawler and security.txt ask again; any other connection closes now.
        let kept = kept.filter(|_| cx.probes.crawler || cx.probes.security_txt);
        let refused_handshake = fetch.responses.is_empty()
            && fetch
                .error
                .as_ref()
                .is_some_and(|e| e.phase == Phase::Tls && e.kind == "tls");
        if refused_handshake {
            let address = SocketAddr::new(*ip, target.https_port());
            fetch.obsolete_suite = legacy_tls::probe_obsolete_suites(address, cx.host(), cx.deadline).await;
        }
        (fetch, kept, pmtu)
    }))
    .await;
    let mut out = Fetched {
        fetches: Vec::new(),
        kept: Vec::new(),
        pmtu: Vec::new(),
    };
    for (fetch, kept, pmtu) in fetched {
        out.fetches.push(fetch);
        out.kept.push(kept);
        out.pmtu.extend(pmtu);
    }
    out
}

/// One plain http:// request on every usable address of the http:// host: a redirect that
/// only one address or family does is not a redirect a user can count on.
pub async fn plain_http(cx: &Context<'_>, host: &HostLevel) -> Vec<PlainHttpFacts> {
    if !cx.probes.plain_http {
        return Vec::new();
    }
    let target = cx.target;
    let http_host = target.http_url.host_str().unwrap_or_default();
    let addresses: Vec<IpAddr> = if http_host == target.host() {
        host.usable()
    } else {
        let records = cx.shared.dns.host_records(http_host, cx.deadline).await;
        addresses_of(&records.a)
            .into_iter()
            .chain(addresses_of(&records.aaaa))
            .filter(|ip| classify(*ip, &cx.accept).class.is_usable())
            .collect()
    };
    if addresses.is_empty() {
        return vec![PlainHttpFacts {
            url: target.http_url.to_string(),
            ip: None,
            status: None,
            location: None,
            error: Some(FetchError {
                phase: Phase::Resolve,
                kind: "resolve".into(),
                message: "no usable address for the http:// host".into(),
            }),
        }];
    }
    let http = cx.http();
    futures::future::join_all(
        addresses
            .iter()
            .map(|ip| http.plain_http(&target.http_url, *ip, cx.deadline)),
    )
    .await
}

/// The leaf each address presented to the fetch, by its SHA-256: the deep scan of an address is
/// shared by every site on it that presents the same certificate (a province's subdomains on
/// one server with one wildcard), since a server picks its TLS settings per address and
/// certificate, not per name.
pub fn leaves(fetches: &[AddressFetch]) -> Vec<(IpAddr, String)> {
    fetches
        .iter()
        .filter_map(|fetch| {
            let leaf = fetch.tls.as_ref()?.chain.first()?;
            Some((fetch.ip, leaf.sha256.clone()))
        })
        .collect()
}

/// The deep TLS scan of every usable address, shared by the sites on it that present the same
/// certificate and kept for the target's `deep_interval` (a scan that could not finish is kept
/// for one `interval` only).
pub async fn tls_scans(cx: &Context<'_>, host: &HostLevel, leaves: &[(IpAddr, String)]) -> Vec<TlsScan> {
    if !cx.probes.tls_scan {
        return Vec::new();
    }
    let settings = &cx.target.settings;
    futures::future::join_all(host.usable().iter().map(|ip| async {
        let address = SocketAddr::new(*ip, cx.target.https_port());
        let key = match leaves.iter().find(|(at, _)| *at == *ip) {
            Some((_, leaf)) => format!("{address}|{leaf}"),
            None => format!("{address}|{}", cx.host()),
        };
        let compute = || async {
            let path = cx.target.url.path();
            let scan = tls_scan::scan(address, cx.host(), path, &cx.shared.tls, cx.deadline).await;
            let keep = match scan.incomplete.is_empty() {
                true => settings.deep_interval,
                false => settings.interval.min(settings.deep_interval),
            };
            (scan, keep)
        };
        cx.shared
            .tls_scans
            .get_or_compute(&key, cx.deadline, compute)
            .await
            .unwrap_or_else(|| {
                let mut scan = TlsScan::empty(*ip);
                scan.incomplete
                    .push("another audit's scan of this address did not finish in time".into());
                scan
            })
    }))
    .await
}

/// The legacy (TLS 1.0/1.1) ClientHello on every usable address.
pub async fn legacy_tls(cx: &Context<'_>, host: &HostLevel) -> Vec<AddressLegacyTls> {
    if !cx.probes.legacy_tls {
        return Vec::new();
    }
    futures::future::join_all(host.usable().iter().map(|ip| async {
        let address = SocketAddr::new(*ip, cx.target.https_port());
        AddressLegacyTls {
            ip: *ip,
            outcome: legacy_tls::probe_legacy_tls(address, cx.host(), cx.deadline).await,
        }
    }))
    .await
}
