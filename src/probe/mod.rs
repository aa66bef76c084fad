//! Probes do I/O and record facts. They never judge: that is the checks' job.
//!
//! [`Prober::observe`] runs the probes a target needs, all bounded by one deadline, and returns
//! [`Observations`]: plain data that checks, outputs and the store all read.

pub mod addr;
pub mod crl;
pub mod dns;
pub mod html;
pub mod http;
pub mod legacy_tls;
pub mod mail;
pub mod memo;
pub mod nameserver;
pub mod resources;
pub mod revocation;
pub mod settings;
pub mod shared;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

pub use crate::model::catalogue::ProbeSet;
use crate::model::target::Target;
use addr::{classify, ClassifiedAddress, IpFamily};
use dns::{addresses_of, DnsProber, DnssecState, HostRecords, ZoneFacts};
use http::{AddressFetch, HttpProber, PlainHttpFacts};
use legacy_tls::AddressLegacyTls;
use nameserver::NsQueryOutcome;
pub use settings::{ResolverSettings, Settings, TrustSettings, DEFAULT_NS_PORT, DEFAULT_SMTP_PORT};
use tls::TlsSetup;

/// How one name server answered on one address.
#[derive(Clone, Debug, Serialize)]
pub struct NsAddressQuery {
    pub name: String,
    pub address: SocketAddr,
    pub outcome: NsQueryOutcome,
}

/// Everything probed for one target.
#[derive(Clone, Debug, Serialize)]
pub struct Observations {
    pub host: String,
    pub probes: ProbeSet,
    pub records: HostRecords,
    /// Every A and AAAA, classified against the special-purpose registries.
    pub addresses: Vec<ClassifiedAddress>,
    /// One entry per usable address, when fetching was asked for.
    pub fetches: Vec<AddressFetch>,
    /// One plain http:// request per usable address of the http:// host (when probed).
    pub plain_http: Vec<PlainHttpFacts>,
    /// The legacy ClientHello's outcome on every usable address (when probed).
    pub legacy_tls: Vec<AddressLegacyTls>,
    pub zone: Option<ZoneFacts>,
    /// Queries over IPv6 to every usable AAAA of every name server.
    pub ns_queries: Vec<NsAddressQuery>,
    pub dnssec: Option<DnssecState>,
    /// The mail domain's MX set and SMTP over IPv6 (when probed).
    pub mail: Option<mail::MailFacts>,
    /// The resource hosts of the page reached over IPv6 (when probed and a page came back).
    pub resources: Option<resources::ResourceFacts>,
    /// The page fetched once more with a search crawler's User-Agent (`content.clean`).
    /// Boxed: most audits have none kept, and inline it doubled every kept snapshot's size.
    pub crawler: Option<Box<AddressFetch>>,
    /// Third-party hosts the page loads scripts or frames from, sorted (when a page came
    /// back and `content.clean` ran): a new one on a government portal is the classic sign of
    /// injection.
    pub script_hosts: Option<Vec<String>>,
    /// Special-purpose ranges accepted as usable for this target (global plus its own).
    pub accept_ranges: Vec<ipnet::IpNet>,
    /// Unix seconds when probing started.
    pub started_at: f64,
    pub duration_seconds: f64,
}

impl Observations {
    /// Fetches over one family.
    pub fn fetches_of(&self, family: IpFamily) -> impl Iterator<Item = &AddressFetch> {
        self.fetches.iter().filter(move |fetch| fetch.family == family)
    }

    /// Whether an address counts as usable for this target (global, or in an accepted range).
    pub fn accepts(&self, ip: IpAddr) -> bool {
        addr::is_usable(ip, &self.accept_ranges)
    }

    /// Usable addresses of one family.
    pub fn usable(&self, family: IpFamily) -> impl Iterator<Item = &ClassifiedAddress> {
        self.addresses
            .iter()
            .filter(move |a| a.family == family && a.class.is_usable())
    }
}

/// The third-party hosts of the first page that came back (scripts and frames only).
fn third_party_script_hosts(fetches: &[AddressFetch], site_host: &str) -> Option<Vec<String>> {
    let fetch = fetches.iter().find(|f| f.error.is_none() && !f.body.is_empty())?;
    let page = url::Url::parse(fetch.final_url.as_deref()?).ok()?;
    let domain = crate::model::target::site_domain(site_host);
    let text = String::from_utf8_lossy(&fetch.body);
    let mut hosts: Vec<String> = html::page_resources(&text, &page)
        .into_iter()
        .filter(|resource| matches!(resource.kind, "script" | "iframe"))
        .filter_map(|resource| {
            url::Url::parse(&resource.url)
                .ok()?
                .host_str()
                .map(str::to_ascii_lowercase)
        })
        .filter(|host| crate::model::target::off_site(host, &domain))
        .collect();
    hosts.sort();
    hosts.dedup();
    Some(hosts)
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

/// Shared probing state: resolvers, TLS config, name-server port and accepted ranges.
pub struct Prober {
    dns: DnsProber,
    tls: TlsSetup,
    ns_port: u16,
    accept_ranges: Vec<ipnet::IpNet>,
    crls: revocation::CrlCache,
    zones: shared::SharedCache<ZoneLevel>,
    smtp_port: u16,
    mails: shared::SharedCache<mail::MailFacts>,
    resource_hosts: shared::SharedCache<resources::HostOutcome>,
}

/// What is true of a whole zone, computed once per zone per round and shared by its sites.
#[derive(Clone)]
struct ZoneLevel {
    zone: ZoneFacts,
    ns_queries: Vec<NsAddressQuery>,
    dnssec: Option<DnssecState>,
}

/// Each DNS attempt is capped so a dead resolver still leaves room for a retry.
const DNS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

impl Prober {
    pub fn new(settings: &Settings) -> Result<Prober, ProberSetupError> {
        Prober::with_parts(
            &settings.resolver,
            &settings.trust.extra_roots,
            settings.trust.accept_ranges.clone(),
        )
    }

    pub fn with_parts(
        resolver: &ResolverSettings,
        extra_roots: &[std::path::PathBuf],
        accept_ranges: Vec<ipnet::IpNet>,
    ) -> Result<Prober, ProberSetupError> {
        Ok(Prober {
            dns: DnsProber::new(resolver, DNS_ATTEMPT_TIMEOUT)?,
            tls: TlsSetup::new(extra_roots)?,
            ns_port: resolver.ns_port,
            accept_ranges,
            crls: revocation::CrlCache::default(),
            zones: shared::SharedCache::default(),
            smtp_port: resolver.smtp_port,
            mails: shared::SharedCache::default(),
            resource_hosts: shared::SharedCache::default(),
        })
    }

    /// Probes one target; returns by its timeout whatever the servers do.
    pub async fn observe(&self, target: &Target, probes: ProbeSet) -> Observations {
        let started_at = crate::model::clock::unix_now();
        let clock = Instant::now();
        let deadline = clock + target.settings.timeout;
        let host = target.host().to_string();
        let mut accept = self.accept_ranges.clone();
        accept.extend(target.settings.accept_ranges.iter().copied());

        let zone_future = async {
            if !(probes.zone || probes.dnssec) {
                return (None, Vec::new(), None);
            }
            let (apex, ns) = self.dns.find_apex(&host, deadline).await;
            let Some(apex) = apex else {
                let zone = dns::ZoneFacts::without_apex(&host, ns);
                let dnssec = probes.dnssec.then(|| DnssecState::Indeterminate {
                    message: "the zone's name servers could not be found".into(),
                });
                return (Some(zone).filter(|_| probes.zone), Vec::new(), dnssec);
            };
            // Zone-level facts are shared by every site of the zone for one round (the target's
            // interval): the zone's servers are asked once, not once per site.
            let key = format!("{apex}|{}|{}|{accept:?}", probes.zone, probes.dnssec);
            let compute = || async {
                let level = self.zone_level(apex.clone(), ns, probes, &accept, deadline).await;
                (level, target.settings.interval)
            };
            match self.zones.get_or_compute(&key, deadline, compute).await {
                Some(level) => (Some(level.zone).filter(|_| probes.zone), level.ns_queries, level.dnssec),
                None => (
                    None,
                    Vec::new(),
                    probes.dnssec.then(|| DnssecState::Indeterminate {
                        message: "timeout waiting for the zone's shared facts".into(),
                    }),
                ),
            }
        };
        let site_future = self.observe_site(target, probes, &accept, deadline);
        let mail_future = async {
            if !probes.mail {
                return None;
            }
            self.mail_facts(target, &accept, deadline).await
        };
        let (
            (zone, ns_queries, dnssec),
            (records, addresses, fetches, plain_http, legacy_tls, resources, crawler),
            mail,
        ) = tokio::join!(zone_future, site_future, mail_future);
        // Gathered with `content.clean` (the crawler's probe): it is the same question, what
        // the page loads that its owner did not write, and an HTML parse is not free.
        let script_hosts = probes
            .crawler
            .then(|| third_party_script_hosts(&fetches, target.host()))
            .flatten();
        Observations {
            host,
            probes,
            records,
            addresses,
            fetches,
            plain_http,
            legacy_tls,
            zone,
            ns_queries,
            dnssec,
            mail,
            resources,
            crawler,
            script_hosts,
            accept_ranges: accept.clone(),
            started_at,
            duration_seconds: clock.elapsed().as_secs_f64(),
        }
    }

    #[allow(clippy::type_complexity)]
    async fn observe_site(
        &self,
        target: &Target,
        probes: ProbeSet,
        accept: &[ipnet::IpNet],
        deadline: Instant,
    ) -> (
        HostRecords,
        Vec<ClassifiedAddress>,
        Vec<AddressFetch>,
        Vec<PlainHttpFacts>,
        Vec<AddressLegacyTls>,
        Option<resources::ResourceFacts>,
        Option<Box<AddressFetch>>,
    ) {
        let host = target.host();
        let records = self.dns.host_records(host, deadline).await;
        let addresses: Vec<ClassifiedAddress> = addresses_of(&records.a)
            .into_iter()
            .chain(addresses_of(&records.aaaa))
            .map(|ip| classify(ip, accept))
            .collect();
        let usable: Vec<IpAddr> = addresses.iter().filter(|a| a.class.is_usable()).map(|a| a.ip).collect();
        let http = HttpProber {
            tls: &self.tls,
            dns: &self.dns,
            accept_ranges: accept,
            user_agent: http::USER_AGENT_VALUE,
        };
        let resolve_seconds = records.resolve_seconds;

        let fetches_future = async {
            if !probes.fetch {
                return Vec::new();
            }
            futures::future::join_all(usable.iter().map(|ip| async {
                let (mut fetch, kept) = http
                    .fetch_keeping(
                        &target.url,
                        *ip,
                        deadline,
                        target.settings.max_body_bytes,
                        resolve_seconds,
                    )
                    .await;
                // Only the crawler asks again; any other connection closes now.
                let kept = kept.filter(|_| probes.crawler);
                let refused_handshake = fetch.responses.is_empty()
                    && fetch
                        .error
                        .as_ref()
                        .is_some_and(|e| e.phase == http::Phase::Tls && e.kind == "tls");
                if refused_handshake {
                    let address = SocketAddr::new(*ip, target.https_port());
                    fetch.obsolete_suite = legacy_tls::probe_obsolete_suites(address, host, deadline).await;
                }
                let handshakes = fetch
                    .tls
                    .iter_mut()
                    .chain(fetch.hop_handshakes.iter_mut().map(|hop| &mut hop.tls));
                for tls in handshakes {
                    self.check_revocation(&http, tls, deadline).await;
                }
                (fetch, kept)
            }))
            .await
        };
        let plain_future = async {
            if !probes.plain_http {
                return Vec::new();
            }
            self.plain_http(&http, target, &usable, accept, deadline).await
        };
        let legacy_future = async {
            if !probes.legacy_tls {
                return Vec::new();
            }
            futures::future::join_all(usable.iter().map(|ip| async {
                let address = SocketAddr::new(*ip, target.https_port());
                AddressLegacyTls {
                    ip: *ip,
                    outcome: legacy_tls::probe_legacy_tls(address, host, deadline).await,
                }
            }))
            .await
        };
        let after_page_future = async {
            let (fetches, mut kept): (Vec<AddressFetch>, Vec<Option<http::KeptConnection>>) =
                fetches_future.await.into_iter().unzip();
            let resources_future = async {
                if !probes.resources {
                    return None;
                }
                let max_hosts = target.settings.max_resource_hosts;
                let fresh_for = target.settings.interval;
                resources::probe(&http, &fetches, max_hosts, &self.resource_hosts, fresh_for, deadline).await
            };
            // The crawler asks after the page came back, from the address that served it: a
            // dead site costs no second request, and the two never compete for the same server.
            // It asks on the connection the page came back on: one more request, not one
            // more TCP and TLS handshake.
            let served = fetches.iter().position(|f| f.error.is_none() && !f.body.is_empty());
            let served = served.map(|index| (fetches[index].ip, kept[index].take()));
            kept.clear();
            let crawler_future = async {
                let (ip, connection) = served?;
                if !probes.crawler {
                    return None;
                }
                Some(Box::new(self.as_crawler(&http, target, ip, connection, deadline).await))
            };
            let (resources, crawler) = tokio::join!(resources_future, crawler_future);
            (fetches, resources, crawler)
        };
        let ((fetches, resources, crawler), plain_http, legacy_tls) =
            tokio::join!(after_page_future, plain_future, legacy_future);
        (records, addresses, fetches, plain_http, legacy_tls, resources, crawler)
    }

    /// The mail of the target's mail domain (configured, or its zone apex), probed once per
    /// domain per round and shared by the sites that use it.
    async fn mail_facts(&self, target: &Target, accept: &[ipnet::IpNet], deadline: Instant) -> Option<mail::MailFacts> {
        let domain = match &target.settings.mail_domain {
            Some(domain) => domain.clone(),
            None => self
                .dns
                .find_apex(target.host(), deadline)
                .await
                .0
                .unwrap_or_else(|| target.host().to_string()),
        };
        let key = format!("{domain}|{accept:?}");
        let compute = || async {
            let facts = mail::probe_mail(&self.dns, &domain, self.smtp_port, accept, deadline).await;
            (facts, target.settings.interval)
        };
        self.mails.get_or_compute(&key, deadline, compute).await
    }

    /// The page once more, as a search crawler sees it: injected spam is often shown only to
    /// crawlers, so the agency never sees it.
    async fn as_crawler(
        &self,
        http: &HttpProber<'_>,
        target: &Target,
        ip: IpAddr,
        connection: Option<http::KeptConnection>,
        deadline: Instant,
    ) -> AddressFetch {
        let crawler = HttpProber {
            tls: http.tls,
            dns: http.dns,
            accept_ranges: http.accept_ranges,
            user_agent: &target.settings.content.crawler_user_agent,
        };
        crawler
            .fetch_reusing(&target.url, ip, deadline, target.settings.max_body_bytes, connection)
            .await
    }

    /// Looks the leaf up in its CA's CRL, then drops the DER chain it no longer needs.
    async fn check_revocation(&self, http: &HttpProber<'_>, tls: &mut tls::TlsFacts, deadline: Instant) {
        let chain = std::mem::take(&mut tls.chain_der);
        let Some(url) = tls.chain.first().and_then(|leaf| leaf.crl_urls.first()) else {
            return;
        };
        let Some(leaf) = chain.first() else { return };
        let issuer = chain.get(1).map(Vec::as_slice);
        tls.revocation = Some(self.crls.check(http, url, leaf, issuer, deadline).await);
    }

    /// One plain http:// request on every usable address of the http:// host: a redirect that
    /// only one address or family does is not a redirect a user can count on.
    async fn plain_http(
        &self,
        http: &HttpProber<'_>,
        target: &Target,
        usable: &[IpAddr],
        accept: &[ipnet::IpNet],
        deadline: Instant,
    ) -> Vec<PlainHttpFacts> {
        let http_host = target.http_url.host_str().unwrap_or_default();
        let addresses: Vec<IpAddr> = if http_host == target.host() {
            usable.to_vec()
        } else {
            let records = self.dns.host_records(http_host, deadline).await;
            addresses_of(&records.a)
                .into_iter()
                .chain(addresses_of(&records.aaaa))
                .filter(|ip| classify(*ip, accept).class.is_usable())
                .collect()
        };
        if addresses.is_empty() {
            return vec![PlainHttpFacts {
                url: target.http_url.to_string(),
                ip: None,
                status: None,
                location: None,
                error: Some(http::FetchError {
                    phase: http::Phase::Resolve,
                    kind: "resolve".into(),
                    message: "no usable address for the http:// host".into(),
                }),
            }];
        }
        futures::future::join_all(
            addresses
                .iter()
                .map(|ip| http.plain_http(&target.http_url, *ip, deadline)),
        )
        .await
    }

    /// SOA, name-server addresses, SOA queries to every name server over IPv6, and DNSSEC.
    async fn zone_level(
        &self,
        apex: String,
        ns: dns::LookupOutcome,
        probes: ProbeSet,
        accept: &[ipnet::IpNet],
        deadline: Instant,
    ) -> ZoneLevel {
        let zone = self.dns.zone_details(apex, ns, deadline).await;
        let (ns_queries, dnssec) = tokio::join!(
            async {
                if probes.zone {
                    self.query_name_servers(&zone, accept, deadline).await
                } else {
                    Vec::new()
                }
            },
            async {
                if probes.dnssec {
                    Some(self.dns.dnssec_state(&zone.apex, deadline).await)
                } else {
                    None
                }
            }
        );
        ZoneLevel {
            zone,
            ns_queries,
            dnssec,
        }
    }

    async fn query_name_servers(
        &self,
        zone: &ZoneFacts,
        accept: &[ipnet::IpNet],
        deadline: Instant,
    ) -> Vec<NsAddressQuery> {
        let mut jobs = Vec::new();
        for server in &zone.name_servers {
            for ip in addresses_of(&server.aaaa) {
                if classify(ip, accept).class.is_usable() {
                    let address = SocketAddr::new(ip, self.ns_port);
                    let name = server.name.clone();
                    let apex = zone.apex.clone();
                    let server_deadline = deadline.min(Instant::now() + nameserver::PER_SERVER_BUDGET);
                    jobs.push(async move {
                        let outcome = nameserver::query_soa(address, &apex, server_deadline).await;
                        NsAddressQuery { name, address, outcome }
                    });
                }
            }
        }
        futures::future::join_all(jobs).await
    }
}
