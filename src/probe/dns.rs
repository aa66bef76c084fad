//! DNS facts through hickory-resolver: A, AAAA and the CNAME chain, the zone apex and its name
//! servers, and the DNSSEC state. NXDOMAIN, NOERROR-no-data, SERVFAIL and timeouts stay distinct
//! because they lead to different verdicts.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::dnssec::{Proof, TrustAnchors};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use serde::Serialize;
use tokio::time::Instant;

use crate::probe::settings::ResolverSettings;

/// What one DNS question got back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LookupOutcome {
    /// NOERROR with records of the asked type (possibly after a CNAME chain).
    Records { values: Vec<String> },
    /// NOERROR, the name exists, but no records of that type.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// SERVFAIL: the zone is broken or unreachable from the resolver.
    ServFail,
    /// REFUSED by the resolver.
    Refused,
    /// No answer within the time allowed.
    Timeout,
    /// Anything else (I/O error, malformed answer, other rcode).
    Failed { message: String },
}

impl LookupOutcome {
    /// The answer's data when there was one.
    pub fn values(&self) -> &[String] {
        match self {
            LookupOutcome::Records { values } => values,
            _ => &[],
        }
    }

    /// A short label for reasons and logs.
    pub fn label(&self) -> String {
        match self {
            LookupOutcome::Records { values } => format!("{} record(s)", values.len()),
            LookupOutcome::NoData => "NOERROR, no data".into(),
            LookupOutcome::NxDomain => "NXDOMAIN".into(),
            LookupOutcome::ServFail => "SERVFAIL".into(),
            LookupOutcome::Refused => "REFUSED".into(),
            LookupOutcome::Timeout => "timeout".into(),
            LookupOutcome::Failed { message } => format!("error: {message}"),
        }
    }

    /// Whether the answer says something about the zone (as opposed to our path to it).
    pub fn is_authoritative_answer(&self) -> bool {
        matches!(
            self,
            LookupOutcome::Records { .. } | LookupOutcome::NoData | LookupOutcome::NxDomain
        )
    }
}

/// The host's own records.
#[derive(Clone, Debug, Serialize)]
pub struct HostRecords {
    pub a: LookupOutcome,
    pub aaaa: LookupOutcome,
    /// Names the host is an alias of, in order (empty when the host has no CNAME).
    pub cname_chain: Vec<String>,
    pub resolve_seconds: f64,
}

/// The zone the host lives in, as its parent delegates it.
#[derive(Clone, Debug, Serialize)]
pub struct ZoneFacts {
    /// The zone apex, e.g. "haiduong.gov.vn".
    pub apex: String,
    pub soa: LookupOutcome,
    pub ns: LookupOutcome,
    pub name_servers: Vec<NameServerAddresses>,
}

impl ZoneFacts {
    /// What is known when no apex was found: the name and the NS answer that stopped the walk.
    pub fn without_apex(host: &str, ns: LookupOutcome) -> ZoneFacts {
        ZoneFacts {
            apex: host.trim_end_matches('.').to_string(),
            soa: LookupOutcome::NoData,
            ns,
            name_servers: Vec::new(),
        }
    }
}

/// How one name server answered on one address.
#[derive(Clone, Debug, Serialize)]
pub struct NsAddressQuery {
    pub name: String,
    pub address: std::net::SocketAddr,
    pub outcome: super::nameserver::NsQueryOutcome,
}

/// What is true of a zone for one round, computed once and shared by every site of the zone.
#[derive(Clone)]
pub struct ZoneRound {
    pub facts: ZoneFacts,
    pub ns_queries: Vec<NsAddressQuery>,
    pub dnssec: Option<DnssecState>,
}

/// A name server's own addresses.
#[derive(Clone, Debug, Serialize)]
pub struct NameServerAddresses {
    pub name: String,
    pub a: LookupOutcome,
    pub aaaa: LookupOutcome,
}

/// DNSSEC validation state of the zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DnssecState {
    Secure,
    Insecure,
    Bogus,
    /// Validation could not be completed.
    Indeterminate {
        message: String,
    },
}

/// The pacer's question for the apex walk's NS over TCP (its own cache), and the flag for the
/// validating resolver's (its own cache too).
const WALK_QUESTION: u32 = 1 << 17;
const VALIDATED: u32 = 1 << 16;

/// Asks DNS questions with one plain resolver and, for DNSSEC, one validating resolver.
pub struct DnsProber {
    plain: TokioResolver,
    /// Built on first use: DS trust anchors need the anchored zone's keys looked up first.
    validating: tokio::sync::OnceCell<TokioResolver>,
    anchors: Option<super::trust_anchor::AnchorFile>,
    servers: Vec<SocketAddr>,
    attempt_timeout: Duration,
    /// Resolvers asked over TCP, one connection per question, for the per-host zone-apex
    /// walk: its NODATA answers are what response-rate limiting counts per zone, and RRL
    /// applies to UDP only. A province of a thousand sites in one zone would otherwise be
    /// throttled by its own name server; one connection per question means a question that is
    /// never answered holds up no other.
    walk_servers: Vec<SocketAddr>,
    /// NS answers of the walk, shared for 30 s, so the parent of a thousand hosts is asked once.
    walk_answers: super::shared::SharedCache<LookupOutcome>,
    /// Spaces queries per authoritative server (`--per-nameserver-qps`).
    pacer: super::politeness::QueryPacer,
}

/// The resolver could not be set up (bad system config).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the DNS resolver: {0}")]
pub struct ResolverSetupError(String);

impl DnsProber {
    /// Builds resolvers for the configured servers, or the system's resolv.conf when none are
    /// given. `attempt_timeout` bounds each query; callers still bound the whole probe.
    pub fn new(settings: &ResolverSettings, attempt_timeout: Duration) -> Result<DnsProber, ResolverSetupError> {
        let anchors = match &settings.trust_anchor {
            Some(path) => Some(load_trust_anchors(path)?),
            None => None,
        };
        let validating = tokio::sync::OnceCell::new();
        if anchors.as_ref().is_none_or(|file| file.is_resolved()) {
            // Nothing to look up first: built now, so a setup error stops the start.
            let keys = match &anchors {
                Some(file) => Some(std::sync::Arc::new(
                    super::trust_anchor::keys_only(file).map_err(|err| ResolverSetupError(err.to_string()))?,
                )),
                None => None,
            };
            let resolver = build_resolver(&settings.servers, attempt_timeout, true, keys)?;
            let _ = validating.set(resolver);
        }
        Ok(DnsProber {
            plain: build_resolver(&settings.servers, attempt_timeout, false, None)?,
            validating,
            anchors,
            servers: settings.servers.clone(),
            attempt_timeout,
            walk_servers: walk_servers(&settings.servers)?,
            walk_answers: super::shared::SharedCache::default(),
            pacer: super::politeness::QueryPacer::default(),
        })
    }

    /// The pacer's servers for `name` (see [`super::politeness::QueryPacer::servers_of`]).
    pub fn paced_servers(&self, name: &str) -> Option<(String, usize, f64)> {
        let (key, count) = self.pacer.servers_of(name)?;
        Some((key, count, self.pacer.per_server_qps()?))
    }

    /// The same prober, asking no zone's servers more than `qps` times a second.
    pub fn paced(mut self, qps: Option<f64>) -> DnsProber {
        self.pacer = super::politeness::QueryPacer::new(qps);
        self
    }

    /// Looks up A and AAAA (concurrently), keeping the CNAME chain.
    pub async fn host_records(&self, host: &str, deadline: Instant) -> HostRecords {
        let started = Instant::now();
        let (a, aaaa) = tokio::join!(
            self.lookup_with_chain(host, RecordType::A, deadline),
            self.lookup_with_chain(host, RecordType::AAAA, deadline)
        );
        let cname_chain = if a.1.len() >= aaaa.1.len() { a.1 } else { aaaa.1 };
        HostRecords {
            a: a.0,
            aaaa: aaaa.0,
            cname_chain,
            resolve_seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// One lookup of `record_type`; returns the outcome and any CNAME targets seen.
    pub async fn lookup(&self, name: &str, record_type: RecordType, deadline: Instant) -> LookupOutcome {
        self.lookup_with_chain(name, record_type, deadline).await.0
    }

    async fn lookup_with_chain(
        &self,
        name: &str,
        record_type: RecordType,
        deadline: Instant,
    ) -> (LookupOutcome, Vec<String>) {
        let Ok(fqdn) = fully_qualified(name) else {
            return (
                LookupOutcome::Failed {
                    message: format!("invalid name {name:?}"),
                },
                Vec::new(),
            );
        };
        if !self.pacer.pace(name, u32::from(u16::from(record_type)), deadline).await {
            return (LookupOutcome::Timeout, Vec::new());
        }
        let result = tokio::time::timeout_at(deadline, self.plain.lookup(fqdn, record_type)).await;
        match result {
            Err(_) => (LookupOutcome::Timeout, Vec::new()),
            Ok(Err(err)) => (outcome_of_error(&err), Vec::new()),
            Ok(Ok(lookup)) => {
                let mut chain = Vec::new();
                let mut values = Vec::new();
                for record in lookup.answers() {
                    match &record.data {
                        RData::CNAME(target) => chain.push(display_name(&target.0)),
                        data if record.record_type() == record_type => values.push(rdata_text(data)),
                        _ => {}
                    }
                }
                if values.is_empty() {
                    (LookupOutcome::NoData, chain)
                } else {
                    (LookupOutcome::Records { values }, chain)
                }
            }
        }
    }

    /// Finds the zone apex by walking up from `host` to the first name that owns an NS set.
    /// Returns the apex (if found) and the last NS answer (the apex's NS set, or the failure).
    pub async fn find_apex(&self, host: &str, deadline: Instant) -> (Option<String>, LookupOutcome) {
        let mut candidate = host.trim_end_matches('.').to_string();
        loop {
            let ns = self.walk_ns(&candidate, deadline).await;
            match &ns {
                LookupOutcome::Records { .. } => return (Some(candidate), ns),
                LookupOutcome::NoData | LookupOutcome::NxDomain => {}
                _ => return (None, ns),
            }
            match candidate.split_once('.') {
                Some((_, parent)) if parent.contains('.') => candidate = parent.to_string(),
                _ => return (None, LookupOutcome::NoData),
            }
        }
    }

    /// The NS set owned by `name`, asked over TCP (see `walk_servers`), shared for 30 s.
    async fn walk_ns(&self, name: &str, deadline: Instant) -> LookupOutcome {
        let compute = || async {
            if !self.pacer.pace(name, WALK_QUESTION, deadline).await {
                return (LookupOutcome::Timeout, Duration::ZERO);
            }
            let outcome = ask_over_tcp(&self.walk_servers, name, RecordType::NS, deadline).await;
            (outcome, Duration::from_secs(30))
        };
        self.walk_answers
            .get_or_compute(&name.to_ascii_lowercase(), deadline, compute)
            .await
            .unwrap_or(LookupOutcome::Timeout)
    }

    /// The SOA and every name server's addresses of the zone at `apex` with NS set `ns`.
    pub async fn zone_details(&self, apex: String, ns: LookupOutcome, deadline: Instant) -> ZoneFacts {
        let soa_future = self.lookup_owned(&apex, RecordType::SOA, deadline);
        let servers_future = futures::future::join_all(ns.values().iter().map(|name| async move {
            let (a, aaaa) = tokio::join!(
                self.lookup(name, RecordType::A, deadline),
                self.lookup(name, RecordType::AAAA, deadline)
            );
            NameServerAddresses {
                name: name.clone(),
                a,
                aaaa,
            }
        }));
        let (soa, name_servers) = tokio::join!(soa_future, servers_future);
        let server_addresses = name_servers
            .iter()
            .flat_map(|server| addresses_of(&server.a).into_iter().chain(addresses_of(&server.aaaa)))
            .collect();
        self.pacer.learn(&apex, server_addresses);
        ZoneFacts {
            apex,
            soa,
            ns,
            name_servers,
        }
    }

    /// Finds the zone apex and fetches the SOA and every name server's addresses.
    pub async fn zone_facts(&self, host: &str, deadline: Instant) -> ZoneFacts {
        match self.find_apex(host, deadline).await {
            (Some(apex), ns) => self.zone_details(apex, ns, deadline).await,
            (None, ns) => ZoneFacts::without_apex(host, ns),
        }
    }

    /// Like [`lookup`](Self::lookup) but keeps only records owned by `name` itself, so a CNAME
    /// at `name` does not make its target's NS look like ours.
    async fn lookup_owned(&self, name: &str, record_type: RecordType, deadline: Instant) -> LookupOutcome {
        if !self.pacer.pace(name, u32::from(u16::from(record_type)), deadline).await {
            return LookupOutcome::Timeout;
        }
        lookup_owned(&self.plain, name, record_type, deadline).await
    }

    /// Validates the zone's SOA. A Bogus result is retried once, because a DNSKEY fetch timeout
    /// can surface as Bogus.
    pub async fn dnssec_state(&self, apex: &str, deadline: Instant) -> DnssecState {
        // A zone without DNSKEY records cannot be secure; whether the parent holds a DS for it
        // tells insecure (unsigned delegation) from bogus. Two queries instead of a validator
        // walk that, for an unsigned zone, can cost hundreds of queries.
        let dnskey = self.lookup_owned(apex, RecordType::DNSKEY, deadline).await;
        if matches!(dnskey, LookupOutcome::NoData | LookupOutcome::NxDomain) {
            return match self.lookup_owned(apex, RecordType::DS, deadline).await {
                LookupOutcome::NoData | LookupOutcome::NxDomain => DnssecState::Insecure,
                LookupOutcome::Records { .. } => DnssecState::Bogus,
                other => DnssecState::Indeterminate {
                    message: format!("DS lookup: {}", other.label()),
                },
            };
        }
        let first = self.dnssec_attempt(apex, deadline).await;
        if first == DnssecState::Bogus {
            return self.dnssec_attempt(apex, deadline).await;
        }
        first
    }

    /// `name`'s `record_type` records and, when there are any, how DNSSEC judges them: the
    /// plain answer first, so a name without records (most MX hosts have no TLSA) costs no
    /// validator walk. A Bogus result is retried once, as for [`DnsProber::dnssec_state`].
    pub async fn lookup_validated(
        &self,
        name: &str,
        record_type: RecordType,
        deadline: Instant,
    ) -> (LookupOutcome, Option<DnssecState>) {
        let plain = self.lookup(name, record_type, deadline).await;
        if !matches!(plain, LookupOutcome::Records { .. }) {
            return (plain, None);
        }
        let first = self.validated_attempt(name, record_type, deadline).await;
        let state = match first {
            DnssecState::Bogus => self.validated_attempt(name, record_type, deadline).await,
            other => other,
        };
        (plain, Some(state))
    }

    async fn validated_attempt(&self, name: &str, record_type: RecordType, deadline: Instant) -> DnssecState {
        let Ok(fqdn) = fully_qualified(name) else {
            return DnssecState::Indeterminate {
                message: format!("invalid name {name:?}"),
            };
        };
        let validating = match self.validating(deadline).await {
            Ok(resolver) => resolver,
            Err(message) => return DnssecState::Indeterminate { message },
        };
        if !self
            .pacer
            .pace(name, VALIDATED | u32::from(u16::from(record_type)), deadline)
            .await
        {
            return DnssecState::Indeterminate {
                message: "timeout (queries to the zone's servers are paced)".into(),
            };
        }
        match tokio::time::timeout_at(deadline, validating.lookup(fqdn, record_type)).await {
            Err(_) => DnssecState::Indeterminate {
                message: "timeout".into(),
            },
            Ok(Err(NetError::Dns(DnsError::DnssecBogus))) => DnssecState::Bogus,
            Ok(Err(NetError::Dns(DnsError::Nsec { proof, .. }))) => proof_state(proof),
            Ok(Err(err)) => DnssecState::Indeterminate {
                message: err.to_string(),
            },
            Ok(Ok(lookup)) => {
                let weakest = lookup
                    .answers()
                    .iter()
                    .filter(|record| record.record_type() == record_type)
                    .map(|record| record.proof)
                    .min_by_key(|proof| *proof as u8);
                match weakest {
                    Some(proof) => proof_state(proof),
                    None => DnssecState::Indeterminate {
                        message: format!("no {record_type} in the validated answer"),
                    },
                }
            }
        }
    }

    /// The validating resolver; with DS anchors, built once their zones' keys are found (a
    /// failure is retried at the next audit, never kept).
    async fn validating(&self, deadline: Instant) -> Result<&TokioResolver, String> {
        self.validating
            .get_or_try_init(|| async {
                let anchors = match &self.anchors {
                    Some(file) => Some(std::sync::Arc::new(
                        super::trust_anchor::resolve(file, &self.walk_servers, deadline)
                            .await
                            .map_err(|err| format!("trust anchor: {err}"))?,
                    )),
                    None => None,
                };
                build_resolver(&self.servers, self.attempt_timeout, true, anchors).map_err(|err| err.to_string())
            })
            .await
    }

    async fn dnssec_attempt(&self, apex: &str, deadline: Instant) -> DnssecState {
        self.validated_attempt(apex, RecordType::SOA, deadline).await
    }
}

fn proof_state(proof: Proof) -> DnssecState {
    match proof {
        Proof::Secure => DnssecState::Secure,
        Proof::Insecure => DnssecState::Insecure,
        Proof::Bogus => DnssecState::Bogus,
        Proof::Indeterminate => DnssecState::Indeterminate {
            message: "indeterminate proof".into(),
        },
    }
}

/// A trust-anchor file (DNSKEY records, DS records, or IANA's root-anchors.xml) trusted
/// besides the root's keys, so a lab or an internal root can validate while public zones
/// still chain to the root. See [`super::trust_anchor`].
pub fn load_trust_anchors(path: &std::path::Path) -> Result<super::trust_anchor::AnchorFile, ResolverSetupError> {
    let fail = |reason: String| ResolverSetupError(format!("trust anchor {}: {reason}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|err| fail(err.to_string()))?;
    super::trust_anchor::parse(&text).map_err(|err| fail(err.0))
}

/// Looks `name` up on `resolver`, keeping only records owned by `name` itself.
async fn lookup_owned(
    resolver: &TokioResolver,
    name: &str,
    record_type: RecordType,
    deadline: Instant,
) -> LookupOutcome {
    let Ok(fqdn) = fully_qualified(name) else {
        return LookupOutcome::Failed {
            message: format!("invalid name {name:?}"),
        };
    };
    match tokio::time::timeout_at(deadline, resolver.lookup(fqdn.clone(), record_type)).await {
        Err(_) => LookupOutcome::Timeout,
        Ok(Err(err)) => outcome_of_error(&err),
        Ok(Ok(lookup)) => owned_records(lookup.answers(), &fqdn, record_type),
    }
}

/// The records of `record_type` owned by `owner` itself (a CNAME target's records are not the
/// owner's), or NoData.
fn owned_records(
    answers: &[hickory_resolver::proto::rr::Record],
    owner: &Name,
    record_type: RecordType,
) -> LookupOutcome {
    let values: Vec<String> = answers
        .iter()
        .filter(|record| record.record_type() == record_type && record.name == *owner)
        .map(|record| rdata_text(&record.data))
        .collect();
    if values.is_empty() {
        LookupOutcome::NoData
    } else {
        LookupOutcome::Records { values }
    }
}

/// The resolvers the apex walk asks: the configured ones, or the system's.
fn walk_servers(servers: &[SocketAddr]) -> Result<Vec<SocketAddr>, ResolverSetupError> {
    if !servers.is_empty() {
        return Ok(servers.to_vec());
    }
    let (config, _) =
        hickory_resolver::system_conf::read_system_conf().map_err(|err| ResolverSetupError(err.to_string()))?;
    Ok(config
        .name_servers()
        .iter()
        .map(|server| {
            let port = server.connections.first().map(|c| c.port).unwrap_or(53);
            SocketAddr::new(server.ip, port)
        })
        .collect())
}

/// Asks `servers` in turn, each on a fresh TCP connection, until one answers.
async fn ask_over_tcp(servers: &[SocketAddr], name: &str, record_type: RecordType, deadline: Instant) -> LookupOutcome {
    let Ok(fqdn) = fully_qualified(name) else {
        return LookupOutcome::Failed {
            message: format!("invalid name {name:?}"),
        };
    };
    let request = super::nameserver::query_message(&fqdn, record_type, true);
    let Ok(wire) = request.to_vec() else {
        return LookupOutcome::Failed {
            message: "cannot encode the query".into(),
        };
    };
    let mut last = LookupOutcome::Failed {
        message: "no resolver configured".into(),
    };
    for server in servers {
        let answer = match tokio::time::timeout_at(deadline, super::nameserver::tcp_exchange(*server, &wire)).await {
            Err(_) => return LookupOutcome::Timeout,
            Ok(Err(err)) => {
                last = LookupOutcome::Failed {
                    message: format!("{server}: {err}"),
                };
                continue;
            }
            Ok(Ok(answer)) => answer,
        };
        let message = match hickory_resolver::proto::op::Message::from_vec(&answer) {
            Ok(message) if message.metadata.id == request.metadata.id => message,
            _ => {
                last = LookupOutcome::Failed {
                    message: format!("{server}: malformed answer"),
                };
                continue;
            }
        };
        return match message.metadata.response_code {
            ResponseCode::NoError => owned_records(&message.answers, &fqdn, record_type),
            ResponseCode::NXDomain => LookupOutcome::NxDomain,
            ResponseCode::ServFail => LookupOutcome::ServFail,
            ResponseCode::Refused => LookupOutcome::Refused,
            other => LookupOutcome::Failed {
                message: format!("rcode {other:?}"),
            },
        };
    }
    last
}

/// Options every resolver of the monitor shares: bounded attempts, short caching (a monitor
/// must see changes soon) in a small cache (it only has to serve the audits running now; a
/// large one kept 10,000 sites' expired answers), no hosts file, names always absolute.
fn monitor_options(options: &mut hickory_resolver::config::ResolverOpts, attempt_timeout: Duration) {
    options.timeout = attempt_timeout;
    options.cache_size = 2048;
    options.attempts = 2;
    options.positive_max_ttl = Some(Duration::from_secs(30));
    options.negative_max_ttl = Some(Duration::from_secs(30));
    options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
    options.ndots = 0;
}

fn build_resolver(
    servers: &[SocketAddr],
    attempt_timeout: Duration,
    validate: bool,
    anchors: Option<std::sync::Arc<TrustAnchors>>,
) -> Result<TokioResolver, ResolverSetupError> {
    let mut builder = if servers.is_empty() {
        Resolver::builder_tokio().map_err(|err| ResolverSetupError(err.to_string()))?
    } else {
        let name_servers = servers
            .iter()
            .map(|server| {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                NameServerConfig::new(server.ip(), true, vec![udp, tcp])
            })
            .collect();
        Resolver::builder_with_config(
            ResolverConfig::from_name_servers(name_servers),
            TokioRuntimeProvider::default(),
        )
    };
    let options = builder.options_mut();
    monitor_options(options, attempt_timeout);
    options.validate = validate;
    options.preserve_intermediates = true;
    if let Some(anchors) = anchors {
        builder = builder.with_trust_anchor(anchors);
    }
    builder.build().map_err(|err| ResolverSetupError(err.to_string()))
}

fn fully_qualified(name: &str) -> Result<Name, ()> {
    let mut name = Name::from_utf8(name.trim_end_matches('.')).map_err(|_| ())?;
    name.set_fqdn(true);
    Ok(name)
}

/// A name without its trailing dot, as people write it.
pub fn display_name(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_string()
}

fn rdata_text(data: &RData) -> String {
    match data {
        RData::A(a) => IpAddr::V4(a.0).to_string(),
        RData::AAAA(aaaa) => IpAddr::V6(aaaa.0).to_string(),
        RData::NS(ns) => display_name(&ns.0),
        RData::CNAME(cname) => display_name(&cname.0),
        RData::MX(mx) => format!("{} {}", mx.preference, display_name(&mx.exchange)),
        // The character-strings of one TXT record are one text (RFC 7208 §3.3).
        RData::TXT(txt) => txt.txt_data.iter().map(|part| String::from_utf8_lossy(part)).collect(),
        RData::SOA(soa) => format!(
            "{} {} {}",
            display_name(&soa.mname),
            display_name(&soa.rname),
            soa.serial
        ),
        other => other.to_string(),
    }
}

fn outcome_of_error(err: &NetError) -> LookupOutcome {
    match err {
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => {
            if no_records.response_code == ResponseCode::NXDomain {
                LookupOutcome::NxDomain
            } else {
                LookupOutcome::NoData
            }
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => LookupOutcome::ServFail,
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => LookupOutcome::Refused,
        NetError::Timeout => LookupOutcome::Timeout,
        other => LookupOutcome::Failed {
            message: other.to_string(),
        },
    }
}

/// Parses the addresses out of an outcome (values are textual so outcomes serialise plainly).
pub fn addresses_of(outcome: &LookupOutcome) -> Vec<IpAddr> {
    outcome.values().iter().filter_map(|value| value.parse().ok()).collect()
}
