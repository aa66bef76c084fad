//! Probes do I/O and record facts. They never judge: that is the checks' job.
//!
//! [`Prober::observe`] runs the probes a target needs, all bounded by one deadline, and returns
//! [`Observations`]: plain data that checks, outputs and the store all read. Facts are grouped
//! by the level that owns and shares them, each built by one file from a [`context::Context`]:
//! the host ([`host`]), each of its addresses ([`address`]), the page ([`page`]), the
//! certificates served ([`certificate`]), the zone ([`zone`], once per zone and round) and the
//! mail domain ([`mail`], once per domain and round).

pub mod addr;
pub mod address;
pub mod caa;
pub mod certificate;
pub mod context;
pub mod crl;
pub mod dns;
pub mod early_data;
pub mod host;
pub mod html;
pub mod http;
pub mod legacy_tls;
pub mod mail;
pub mod mail_auth;
pub mod mail_domain;
pub mod memo;
pub mod mta_sts;
pub mod nameserver;
pub mod ocsp;
pub mod page;
pub mod pmtu;
pub mod politeness;
pub mod prefix;
pub mod progress;
pub mod renegotiation;
pub mod resources;
pub mod revocation;
pub mod route;
pub mod routing;
pub mod rtr;
pub mod security_txt;
pub mod settings;
pub mod shared;
pub mod site;
pub mod smtp;
pub mod state;
pub mod tls;
pub mod tls_hello;
pub mod tls_scan;
pub mod trust_anchor;
pub mod zone;

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

pub use crate::model::catalogue::ProbeSet;
use crate::model::target::Target;
use addr::{ClassifiedAddress, IpFamily};
use address::AddressLevel;
use certificate::CertificateLevel;
use dns::DnsProber;
pub use dns::NsAddressQuery;
use host::HostLevel;
use http::AddressFetch;
use page::PageLevel;
pub use routing::{RouteOrigins, RoutingSettings, Validator};
pub use settings::{ResolverSettings, Settings, TrustSettings, DEFAULT_NS_PORT, DEFAULT_SMTP_PORT};
use tls::TlsSetup;
pub use zone::ZoneLevel;

/// Everything probed for one target, level by level. Each level is flattened into one JSON
/// object, so the document reads the same whatever the grouping in code.
#[derive(Clone, Debug, Serialize)]
pub struct Observations {
    pub host: String,
    pub probes: ProbeSet,
    #[serde(flatten)]
    pub dns: HostLevel,
    #[serde(flatten)]
    pub address: AddressLevel,
    #[serde(flatten)]
    pub zone: ZoneLevel,
    /// The mail domain's MX set and SMTP over IPv6 (when probed).
    pub mail: Option<mail::MailFacts>,
    #[serde(flatten)]
    pub page: PageLevel,
    #[serde(flatten)]
    pub certificates: CertificateLevel,
    /// The route and RPKI validity of every address the site depends on (when probed).
    pub routing: Option<prefix::RoutingLevel>,
    /// Special-purpose ranges accepted as usable for this target (global plus its own).
    pub accept_ranges: Vec<ipnet::IpNet>,
    /// Unix seconds when probing started.
    pub started_at: f64,
    pub duration_seconds: f64,
}

impl Observations {
    /// Fetches over one family.
    pub fn fetches_of(&self, family: IpFamily) -> impl Iterator<Item = &AddressFetch> {
        self.address.fetches.iter().filter(move |fetch| fetch.family == family)
    }

    /// Whether an address counts as usable for this target (global, or in an accepted range).
    pub fn accepts(&self, ip: IpAddr) -> bool {
        addr::is_usable(ip, &self.accept_ranges)
    }

    /// Usable addresses of one family.
    pub fn usable(&self, family: IpFamily) -> impl Iterator<Item = &ClassifiedAddress> {
        self.dns
            .addresses
            .iter()
            .filter(move |a| a.family == family && a.class.is_usable())
    }
}

/// Errors that stop probing from starting at all (bad roots, broken resolver config).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProberSetupError {
    #[error(transparent)]
    Tls(#[from] tls::TlsSetupError),
    #[error(transparent)]
    Resolver(#[from] dns::ResolverSetupError),
}

/// Shared probing state: resolvers, TLS config, ports, accepted ranges, and the caches every
/// audit of the process shares (zones, mail domains, resource hosts, CRLs).
pub struct Prober {
    shared: state::SharedState,
}

/// A host's A and AAAA looked up ahead of its audit, and when.
#[derive(Clone)]
pub struct Prefetched {
    pub records: dns::HostRecords,
    at: Instant,
}

impl Prefetched {
    /// How long looked-up records stand in for the audit's own lookup: a target may wait
    /// minutes for its turn on a crowded server, and a recursive resolver would answer from
    /// its cache for as long (most .vn names have TTLs of 5 minutes or more).
    pub const FRESH_FOR: Duration = Duration::from_secs(300);

    /// Every address the records name, sorted, once each.
    pub fn addresses(&self) -> Vec<std::net::IpAddr> {
        let mut addresses = dns::addresses_of(&self.records.a);
        addresses.extend(dns::addresses_of(&self.records.aaaa));
        addresses.sort();
        addresses.dedup();
        addresses
    }
}

/// Each DNS attempt is capped so a dead resolver still leaves room for a retry.
const DNS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

impl Prober {
    pub fn new(settings: &Settings) -> Result<Prober, ProberSetupError> {
        let resolver = &settings.resolver;
        politeness::limit_connections(settings.politeness.per_address_connections);
        Ok(Prober {
            shared: state::SharedState {
                dns: DnsProber::new(resolver, DNS_ATTEMPT_TIMEOUT)?.paced(settings.politeness.per_nameserver_qps),
                tls: TlsSetup::new(&settings.trust.extra_roots)?,
                ns_port: resolver.ns_port,
                smtp_port: resolver.smtp_port,
                accept_ranges: settings.trust.accept_ranges.clone(),
                crls: revocation::CrlCache::default(),
                zones: shared::SharedCache::default(),
                mails: shared::SharedCache::default(),
                tls_scans: shared::SharedCache::default(),
                resource_hosts: shared::SharedCache::default(),
                routing: settings.routing.clone(),
                route_origins: shared::SharedCache::default(),
                origin_tables: shared::SharedCache::default(),
                vrps: shared::SharedCache::default(),
            },
        })
    }

    /// The name servers `host`'s queries are counted against (one key), how many they are,
    /// and the queries a second each may take; `None` when queries are not paced.
    pub fn paced_name_servers(&self, host: &str) -> Option<(String, usize, f64)> {
        self.shared.dns.paced_servers(host)
    }

    /// The target's A and AAAA, for a sweep's admission; handed to [`Prober::observe_with`]
    /// while fresh, so the audit does not ask again.
    pub async fn host_records(&self, target: &Target) -> Prefetched {
        let deadline = Instant::now() + target.settings.timeout;
        Prefetched {
            records: self.shared.dns.host_records(target.host(), deadline).await,
            at: Instant::now(),
        }
    }

    /// Probes one target, level by level; returns by its timeout whatever the servers do.
    pub async fn observe(&self, target: &Target, probes: ProbeSet) -> Observations {
        Box::pin(self.observe_with(target, probes, None)).await
    }

    /// [`Prober::observe`] starting from host records a sweep's admission looked up (used
    /// only while younger than [`Prefetched::FRESH_FOR`]).
    pub async fn observe_with(
        &self,
        target: &Target,
        probes: ProbeSet,
        prefetched: Option<Prefetched>,
    ) -> Observations {
        let started_at = crate::model::clock::unix_now();
        let clock = Instant::now();
        let mut cx = context::Context::new(&self.shared, target, probes, clock + target.settings.timeout);
        // A lookup that failed (a timeout, a dead resolver) is asked again by the audit, as it
        // would have been without admission; only answers stand in for it.
        cx.prefetched = prefetched
            .filter(|p| p.at.elapsed() < Prefetched::FRESH_FOR)
            .filter(|p| p.records.a.is_authoritative_answer() && p.records.aaaa.is_authoritative_answer())
            .map(|p| p.records);
        let (zone, mail, site) = tokio::join!(zone::observe(&cx), mail_domain::observe(&cx), site::observe(&cx));
        let routing = prefix::observe(&cx, &site.host, &zone, mail.as_ref()).await;
        Observations {
            host: target.host().to_string(),
            probes,
            dns: site.host,
            address: site.address,
            zone,
            mail,
            page: site.page,
            certificates: site.certificates,
            routing,
            accept_ranges: cx.accept,
            started_at,
            duration_seconds: clock.elapsed().as_secs_f64(),
        }
    }
}
