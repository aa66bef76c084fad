//! One TCP connection per address carries the TLS handshake and the HTTP request, so TLS facts
//! and the response come from the same handshake. Redirects are followed with the address family
//! pinned; same-origin hops reuse the connection.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, ACCEPT, ACCEPT_ENCODING, ACCEPT_LANGUAGE, HOST, LOCATION, USER_AGENT};
use http::{Method, Request};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use ipnet::IpNet;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use url::Url;

use super::addr::{classify, AddressClass, IpFamily};
use super::dns::{addresses_of, DnsProber};
use super::progress::Watched;
use super::tls::{describe_handshake_error, facts_from_chain, facts_from_connection, TlsFacts, TlsSetup};

/// At most this many redirects are followed, as browsers do.
pub const MAX_REDIRECTS: usize = 10;
/// Response headers kept per response; a hostile server cannot make us keep more.
const MAX_HEADERS_KEPT: usize = 64;
const MAX_HEADER_VALUE: usize = 1024;
/// Identifies vnready in server logs.
pub const USER_AGENT_VALUE: &str = concat!("vnready/", env!("CARGO_PKG_VERSION"), " (IPv6 readiness audit)");

/// The phase an error happened in; also the `phase` label for durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Resolve,
    Connect,
    Tls,
    Processing,
    Transfer,
}

/// Seconds spent per phase of the first request on an address.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseTimings {
    pub resolve: Option<f64>,
    pub connect: Option<f64>,
    pub tls: Option<f64>,
    pub processing: Option<f64>,
    pub transfer: Option<f64>,
}

/// Why a fetch stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FetchError {
    pub phase: Phase,
    /// refused | timeout | reset | no_route | unreachable | tls | http | redirect | blocked | other
    /// (`blocked`: a redirect led to an address that is not public, or to the other family, and
    /// was never connected to; `no_route`: this monitor has no route to the address, so it was
    /// not tested from here; `unreachable`: the network answered that it cannot be reached)
    pub kind: String,
    pub message: String,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {:?}: {}", self.kind, self.phase, self.message)
    }
}

impl FetchError {
    pub(crate) fn new(phase: Phase, kind: &str, message: impl Into<String>) -> FetchError {
        FetchError {
            phase,
            kind: kind.to_string(),
            message: message.into(),
        }
    }

    fn timeout(phase: Phase) -> FetchError {
        FetchError::new(phase, "timeout", "no answer within the timeout")
    }

    /// A failed TCP connect: `no_route` only when this monitor itself has no route to `ip`
    /// (the kernel says so without sending anything); a network that answered "unreachable"
    /// is the site's problem.
    fn connect_failed(ip: IpAddr, err: &std::io::Error) -> FetchError {
        if super::route::may_be_local(err) {
            if let Err(why) = super::route::monitor_route(ip) {
                return FetchError::new(Phase::Connect, "no_route", why);
            }
            return FetchError::new(Phase::Connect, "unreachable", err.to_string());
        }
        FetchError::io(Phase::Connect, err)
    }

    fn io(phase: Phase, err: &std::io::Error) -> FetchError {
        let kind = match err.kind() {
            std::io::ErrorKind::ConnectionRefused => "refused",
            std::io::ErrorKind::NetworkUnreachable
            | std::io::ErrorKind::HostUnreachable
            | std::io::ErrorKind::AddrNotAvailable => "unreachable",
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => "reset",
            std::io::ErrorKind::TimedOut => "timeout",
            _ if phase == Phase::Tls => "tls",
            _ => "other",
        };
        FetchError::new(phase, kind, err.to_string())
    }
}

/// One response in a redirect chain.
#[derive(Clone, Debug, Serialize)]
pub struct ResponseFacts {
    pub url: String,
    pub ip: IpAddr,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub location: Option<String>,
    /// The target of an HTML `<meta http-equiv="refresh">` on a 200 page: browsers follow it
    /// like a redirect, so the audit does too.
    pub meta_refresh: Option<String>,
}

/// A TLS connection opened for a redirect hop that left the first origin.
#[derive(Clone, Debug, Serialize)]
pub struct HopHandshake {
    pub url: String,
    pub ip: IpAddr,
    pub tls: TlsFacts,
}

impl ResponseFacts {
    /// Where a browser goes next from this response: the `Location` of a redirect, or the
    /// target of a meta refresh.
    pub fn next_url(&self) -> Option<Url> {
        let base = Url::parse(&self.url).ok()?;
        let target = if is_redirect(self.status) {
            self.location.as_deref()?
        } else {
            self.meta_refresh.as_deref()?
        };
        base.join(target).ok()
    }

    /// The first value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Everything learnt from fetching the target over one address.
#[derive(Clone, Debug, Serialize)]
pub struct AddressFetch {
    pub ip: IpAddr,
    pub family: IpFamily,
    pub timings: PhaseTimings,
    /// The first connection's handshake (recorded even when it failed after the certificate).
    pub tls: Option<TlsFacts>,
    /// Handshakes of redirect hops on other origins, each judged for its own host (those of
    /// [`AddressFetch::hop_addresses`] included).
    pub hop_handshakes: Vec<HopHandshake>,
    /// The other usable addresses (same family) of each redirect host on another origin, each
    /// asked for the hop's URL: the fetch above went through the first one only.
    pub hop_addresses: Vec<HopAddressFetch>,
    /// The first response and every redirect hop after it.
    pub responses: Vec<ResponseFacts>,
    pub final_url: Option<String>,
    pub body_bytes: usize,
    pub body_truncated: bool,
    /// The final body, capped at the configured size. Not serialised: it can be large.
    #[serde(skip)]
    pub body: Vec<u8>,
    pub error: Option<FetchError>,
    /// Where the error happened when it was at a redirect hop ("https://sso.x.vn/ [2001:db8::5]"),
    /// so a reason names the hop and its address, not the site's.
    pub failed_hop: Option<String>,
    /// When the TLS handshake failed: the obsolete TLS 1.2 suite the server accepted from a
    /// hand-built hello (browsers still reach such a server; rustls does not speak it).
    pub obsolete_suite: Option<String>,
    /// TCP connections this fetch opened (1 unless a redirect left the origin).
    pub connections: u32,
}

impl AddressFetch {
    fn new(ip: IpAddr) -> AddressFetch {
        AddressFetch {
            ip,
            family: IpFamily::of(&ip),
            timings: PhaseTimings::default(),
            tls: None,
            hop_handshakes: Vec::new(),
            hop_addresses: Vec::new(),
            responses: Vec::new(),
            final_url: None,
            body_bytes: 0,
            body_truncated: false,
            body: Vec::new(),
            error: None,
            failed_hop: None,
            obsolete_suite: None,
            connections: 0,
        }
    }

    /// The status of the last response, when one came.
    pub fn final_status(&self) -> Option<u16> {
        self.responses.last().map(|response| response.status)
    }

    /// Whether the site answered HTTP at all over this address.
    pub fn answered(&self) -> bool {
        !self.responses.is_empty()
    }

    /// The URL of every hop a user would follow, including a redirect target that was not
    /// fetched (blocked, unresolvable or failing): whatever the site sends users to counts.
    pub fn hop_urls(&self) -> Vec<Url> {
        let mut urls = Vec::new();
        for response in &self.responses {
            let Ok(url) = Url::parse(&response.url) else { continue };
            if let Some(next) = response.next_url() {
                if !urls.contains(&next) {
                    urls.push(next);
                }
            }
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        urls
    }

    /// A hop that goes from https:// back to plain http://, if any ("downgrades HTTPS").
    pub fn downgrade(&self) -> Option<Url> {
        let mut seen_https = false;
        for response in &self.responses {
            let Ok(url) = Url::parse(&response.url) else { continue };
            seen_https |= url.scheme() == "https";
            if let Some(next) = response.next_url() {
                if seen_https && next.scheme() == "http" {
                    return Some(next);
                }
            }
        }
        None
    }
}

/// One response, its redirect not followed ([`HttpProber::get_once`]).
#[derive(Clone, Debug)]
pub struct SingleResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub location: Option<String>,
    pub body: Vec<u8>,
    /// The body was longer than asked for and was cut.
    pub truncated: bool,
}

impl SingleResponse {
    /// The first value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn single_response(
    received: Received,
    connection: Connection,
) -> (Result<SingleResponse, FetchError>, Option<KeptConnection>) {
    let kept = (!received.truncated).then_some(KeptConnection(connection));
    let response = SingleResponse {
        status: received.status,
        headers: received.headers,
        location: received.location,
        body: received.body,
        truncated: received.truncated,
    };
    (Ok(response), kept)
}

/// A redirect hop's URL fetched over another address of its host.
#[derive(Clone, Debug, Serialize)]
pub struct HopAddressFetch {
    pub url: String,
    pub fetch: AddressFetch,
}

/// What a plain http:// request on the host answered.
#[derive(Clone, Debug, Serialize)]
pub struct PlainHttpFacts {
    pub url: String,
    pub ip: Option<IpAddr>,
    pub status: Option<u16>,
    pub location: Option<String>,
    pub error: Option<FetchError>,
}

/// An open HTTP/1.1 connection; the driver task dies with it.
struct Connection {
    sender: SendRequest<Empty<Bytes>>,
    driver: JoinHandle<()>,
    origin: (String, String, u16),
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

fn origin_of(url: &Url) -> (String, String, u16) {
    (
        url.scheme().to_string(),
        url.host_str().unwrap_or_default().to_string(),
        url.port_or_known_default().unwrap_or(0),
    )
}

/// How far one connection attempt got, kept whether or not it succeeded.
#[derive(Default)]
struct OpenAttempt {
    /// Time to TCP connect, once connected.
    connect: Option<Duration>,
    /// Time of the TLS handshake, once finished.
    handshake: Option<Duration>,
    /// The server's chain, once it sent one.
    tls: Option<TlsFacts>,
}

/// Fetches over pinned addresses.
#[derive(Clone, Copy)]
pub struct HttpProber<'a> {
    pub tls: &'a TlsSetup,
    pub dns: &'a DnsProber,
    pub accept_ranges: &'a [IpNet],
    /// Sent with every request: [`USER_AGENT_VALUE`], or a search crawler's for `content.clean`.
    pub user_agent: &'a str,
    /// How many usable addresses of a redirect hop's host are probed ([`MAX_HOP_ADDRESSES`]
    /// for a site's own fetch; 1 where only the first matters).
    pub hop_addresses: usize,
    /// TCP maximum segment size to announce (`TCP_MAXSEG` before connect), when not the
    /// interface's: the path-MTU probe asks again with segments that fit 1280 bytes.
    pub mss: Option<u32>,
    /// Told of every connect and every byte read, for the path-MTU probe to see a stall.
    pub progress: Option<&'a std::sync::Arc<super::progress::Progress>>,
}

/// A redirect host's addresses probed per pinned family, at most: a portal that sends users
/// to a login host whose second AAAA is dead fails half its IPv6 users.
pub const MAX_HOP_ADDRESSES: usize = 8;
/// A hop host's other addresses are asked for the hop URL with this much body at most: the
/// question is whether they serve, not what.
const HOP_ADDRESS_BODY: usize = 16 * 1024;

struct Received {
    status: u16,
    headers: Vec<(String, String)>,
    location: Option<String>,
    body: Vec<u8>,
    truncated: bool,
    processing: Duration,
    transfer: Duration,
}

/// The connection a fetch ended on, still open, so one more request to the same origin (the
/// crawler's copy of the page) costs no second TCP and TLS handshake.
pub struct KeptConnection(Connection);

impl KeptConnection {
    /// The connection, if it serves `url`'s origin and the server has not closed it.
    async fn usable_for(self, url: &Url, deadline: Instant) -> Option<Connection> {
        let KeptConnection(mut connection) = self;
        if connection.origin != origin_of(url) {
            return None;
        }
        match tokio::time::timeout_at(deadline, connection.sender.ready()).await {
            Ok(Ok(())) => Some(connection),
            _ => None,
        }
    }
}

impl HttpProber<'_> {
    /// The same client following each redirect through its host's first usable address
    /// only: for requests that only need an answer (a resource, a CRL, the crawler's copy).
    pub fn first_hop_address_only(self) -> Self {
        HttpProber {
            hop_addresses: 1,
            ..self
        }
    }

    /// The same client announcing TCP segments of `mss` bytes at most.
    pub fn with_mss(self, mss: u32) -> Self {
        HttpProber { mss: Some(mss), ..self }
    }

    /// The same client reporting its progress to `progress`.
    pub fn watched_by<'p>(self, progress: &'p std::sync::Arc<super::progress::Progress>) -> HttpProber<'p>
    where
        Self: 'p,
    {
        HttpProber {
            tls: self.tls,
            dns: self.dns,
            accept_ranges: self.accept_ranges,
            user_agent: self.user_agent,
            hop_addresses: self.hop_addresses,
            mss: self.mss,
            progress: Some(progress),
        }
    }

    /// Fetches `url` over `ip`, following redirects within the same family.
    pub async fn fetch(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        max_body: usize,
        resolve_seconds: f64,
    ) -> AddressFetch {
        self.fetch_on(url, ip, deadline, max_body, resolve_seconds, None)
            .await
            .0
    }

    /// [`HttpProber::fetch`], also handing back the connection the last response came on when
    /// it can carry another request.
    pub async fn fetch_keeping(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        max_body: usize,
        resolve_seconds: f64,
    ) -> (AddressFetch, Option<KeptConnection>) {
        self.fetch_on(url, ip, deadline, max_body, resolve_seconds, None).await
    }

    /// Fetches `url` over `ip` on `kept` when it still serves that origin, else on a new
    /// connection. A kept connection the server closed just before the request is retried on a
    /// new one, so reuse never turns into a failure the site did not cause.
    pub async fn fetch_reusing(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        max_body: usize,
        kept: Option<KeptConnection>,
    ) -> AddressFetch {
        if let Some(connection) = match kept {
            Some(kept) => kept.usable_for(url, deadline).await,
            None => None,
        } {
            let (record, _) = self.fetch_on(url, ip, deadline, max_body, 0.0, Some(connection)).await;
            if record.answered() || record.error.is_none() {
                return record;
            }
        }
        self.fetch(url, ip, deadline, max_body, 0.0).await
    }

    /// One GET of `url` over `ip`, its redirect not followed: on `kept` when that connection
    /// serves `url`'s origin and is still open, else on a new connection. The connection the
    /// answer came on is handed back while it can carry another request, and a kept connection
    /// to another origin is handed back untouched, so the next asker (the crawler) still has it.
    pub async fn get_once(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        max_body: usize,
        kept: Option<KeptConnection>,
    ) -> (Result<SingleResponse, FetchError>, Option<KeptConnection>) {
        let (reused, untouched) = match kept {
            Some(KeptConnection(connection)) if connection.origin == origin_of(url) => (Some(connection), None),
            other => (None, other),
        };
        if let Some(mut connection) = reused {
            if let Ok(received) = send(&mut connection, url, deadline, max_body, self.user_agent).await {
                return single_response(received, connection);
            }
            // Closed by the server just before the request: ask on a new connection, so reuse
            // never turns into a failure the site did not cause.
        }
        let mut attempt = OpenAttempt::default();
        let mut connection = match self.open(url, ip, deadline, &mut attempt).await {
            Ok(connection) => connection,
            Err(err) => return (Err(err), untouched),
        };
        match send(&mut connection, url, deadline, max_body, self.user_agent).await {
            Ok(received) => {
                let (response, fresh) = single_response(received, connection);
                (response, untouched.or(fresh))
            }
            Err(err) => (Err(err), untouched),
        }
    }

    /// One GET of `url` over `ip` on a new connection, its redirect not followed, with the TLS
    /// facts of the handshake (the chain and whether it verifies for the host): for documents
    /// whose readers verify the certificate themselves, such as an MTA-STS policy.
    pub async fn get_verified(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        max_body: usize,
    ) -> (Result<SingleResponse, FetchError>, Option<TlsFacts>) {
        let mut attempt = OpenAttempt::default();
        let opened = self.open(url, ip, deadline, &mut attempt).await;
        let tls = attempt.tls.take();
        let mut connection = match opened {
            Ok(connection) => connection,
            Err(err) => return (Err(err), tls),
        };
        match send(&mut connection, url, deadline, max_body, self.user_agent).await {
            Ok(received) => (single_response(received, connection).0, tls),
            Err(err) => (Err(err), tls),
        }
    }

    /// The fetch itself, on `reused` or on a connection it opens; then the hop URLs over the
    /// other addresses of each hop host left out, side by side.
    async fn fetch_on(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        max_body: usize,
        resolve_seconds: f64,
        reused: Option<Connection>,
    ) -> (AddressFetch, Option<KeptConnection>) {
        let mut others = Vec::new();
        let (mut record, kept) = self
            .follow(url, ip, deadline, max_body, resolve_seconds, reused, &mut others)
            .await;
        if !others.is_empty() {
            let first_only = self.first_hop_address_only();
            let fetched = futures::future::join_all(others.into_iter().map(|(hop, ip)| {
                let first_only = &first_only;
                async move {
                    let (fetch, _) =
                        Box::pin(first_only.fetch_on(&hop, ip, deadline, HOP_ADDRESS_BODY, 0.0, None)).await;
                    HopAddressFetch {
                        url: hop.to_string(),
                        fetch,
                    }
                }
            }))
            .await;
            for hop in &fetched {
                if let Some(tls) = &hop.fetch.tls {
                    record.hop_handshakes.push(HopHandshake {
                        url: hop.url.clone(),
                        ip: hop.fetch.ip,
                        tls: tls.clone(),
                    });
                }
                record.hop_handshakes.extend(hop.fetch.hop_handshakes.iter().cloned());
                record.connections += hop.fetch.connections;
            }
            record.hop_addresses = fetched;
        }
        (record, kept)
    }

    /// Follows `url` from `ip` through its redirects; each hop to another host goes through
    /// its first usable address, and its other ones are added to `others`.
    #[allow(clippy::too_many_arguments)]
    async fn follow(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        max_body: usize,
        resolve_seconds: f64,
        reused: Option<Connection>,
        others: &mut Vec<(Url, IpAddr)>,
    ) -> (AddressFetch, Option<KeptConnection>) {
        let mut record = AddressFetch::new(ip);
        record.timings.resolve = Some(resolve_seconds);
        let mut connection = match reused {
            Some(connection) => connection,
            None => {
                let mut attempt = OpenAttempt::default();
                let opened = self.open(url, ip, deadline, &mut attempt).await;
                record.connections += u32::from(attempt.connect.is_some());
                record.timings.connect = attempt.connect.map(|d| d.as_secs_f64());
                record.timings.tls = attempt.handshake.map(|d| d.as_secs_f64());
                record.tls = attempt.tls;
                match opened {
                    Ok(connection) => connection,
                    Err(err) => {
                        record.error = Some(err);
                        return (record, None);
                    }
                }
            }
        };
        let mut current_url = url.clone();
        let mut current_ip = ip;
        for hop in 0..=MAX_REDIRECTS {
            let received = match send(&mut connection, &current_url, deadline, max_body, self.user_agent).await {
                Ok(received) => received,
                Err(err) => {
                    record.error = Some(err);
                    if hop > 0 {
                        record.failed_hop = Some(format!("{current_url} [{current_ip}]"));
                    }
                    return (record, None);
                }
            };
            if hop == 0 {
                record.timings.processing = Some(received.processing.as_secs_f64());
                record.timings.transfer = Some(received.transfer.as_secs_f64());
            }
            let meta_refresh = if received.status == 200 {
                meta_refresh_target(&received.body)
                    .filter(|target| current_url.join(target).is_ok_and(|next| next != current_url))
            } else {
                None
            };
            let response = ResponseFacts {
                url: current_url.to_string(),
                ip: current_ip,
                status: received.status,
                headers: received.headers,
                location: received.location.clone(),
                meta_refresh,
            };
            let next = response.next_url();
            record.responses.push(response);
            let Some(next) = next.filter(|next| matches!(next.scheme(), "http" | "https")) else {
                record.final_url = Some(current_url.to_string());
                record.body_bytes = received.body.len();
                record.body_truncated = received.truncated;
                record.body = received.body;
                let kept = (!received.truncated).then_some(KeptConnection(connection));
                return (record, kept);
            };
            if hop == MAX_REDIRECTS {
                record.error = Some(FetchError::new(
                    Phase::Processing,
                    "redirect",
                    format!("more than {MAX_REDIRECTS} redirects"),
                ));
                return (record, None);
            }
            let reusable = !received.truncated && origin_of(&next) == connection.origin && connection.sender.is_ready();
            if !reusable {
                let next_ip = match self.addresses_for(&next, record.family, url, ip, deadline).await {
                    Ok(mut addresses) => {
                        let first = addresses.remove(0);
                        addresses.truncate(self.hop_addresses.saturating_sub(1));
                        others.extend(addresses.into_iter().map(|other| (next.clone(), other)));
                        first
                    }
                    Err(err) => {
                        record.error = Some(err);
                        record.failed_hop = Some(next.to_string());
                        return (record, None);
                    }
                };
                let mut attempt = OpenAttempt::default();
                let opened = self.open(&next, next_ip, deadline, &mut attempt).await;
                record.connections += u32::from(attempt.connect.is_some());
                if let Some(tls) = attempt.tls {
                    record.hop_handshakes.push(HopHandshake {
                        url: next.to_string(),
                        ip: next_ip,
                        tls,
                    });
                }
                connection = match opened {
                    Ok(connection) => connection,
                    Err(err) => {
                        record.error = Some(err);
                        record.failed_hop = Some(format!("{next} [{next_ip}]"));
                        return (record, None);
                    }
                };
                current_ip = next_ip;
            }
            current_url = next;
        }
        (record, None)
    }

    /// The addresses a redirect hop is fetched over, never empty: the same one for the same
    /// host, otherwise every usable address of the hop host in the pinned family (the first
    /// carries the fetch on). An IP literal is classified exactly like a resolved name;
    /// nothing that is not usable is ever connected to.
    async fn addresses_for(
        &self,
        next: &Url,
        family: IpFamily,
        first_url: &Url,
        first_ip: IpAddr,
        deadline: Instant,
    ) -> Result<Vec<IpAddr>, FetchError> {
        let host = next.host_str().unwrap_or_default();
        if host == first_url.host_str().unwrap_or_default() {
            return Ok(vec![first_ip]);
        }
        if let Ok(literal) = host.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>() {
            return literal_hop_address(literal, family, self.accept_ranges).map(|ip| vec![ip]);
        }
        let record_type = match family {
            IpFamily::Ipv4 => hickory_resolver::proto::rr::RecordType::A,
            IpFamily::Ipv6 => hickory_resolver::proto::rr::RecordType::AAAA,
        };
        let outcome = self.dns.lookup(host, record_type, deadline).await;
        let found = addresses_of(&outcome);
        let usable: Vec<IpAddr> = found
            .iter()
            .copied()
            .filter(|candidate| classify(*candidate, self.accept_ranges).class.is_usable())
            .collect();
        if !usable.is_empty() {
            return Ok(usable);
        }
        if !found.is_empty() {
            let listed: Vec<String> = found
                .iter()
                .map(|ip| describe_unusable(*ip, self.accept_ranges))
                .collect();
            return Err(FetchError::new(
                Phase::Resolve,
                "blocked",
                format!(
                    "redirect to {host}, which resolves only to non-public addresses ({}); not followed",
                    listed.join(", ")
                ),
            ));
        }
        Err(FetchError::new(
            Phase::Resolve,
            "redirect",
            format!(
                "redirect host {host} has no {} address ({})",
                family.as_str(),
                outcome.label()
            ),
        ))
    }

    /// Connects (and for https, handshakes). `attempt` records how far it got, whatever the
    /// outcome: the connect time once TCP is up, and the certificate chain whenever the server
    /// sent one, even if the handshake then failed.
    async fn open(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        attempt: &mut OpenAttempt,
    ) -> Result<Connection, FetchError> {
        let port = url.port_or_known_default().unwrap_or(443);
        let started = Instant::now();
        let connect = connect_tcp(SocketAddr::new(ip, port), self.mss);
        let tcp = match tokio::time::timeout_at(deadline, connect).await {
            Err(_) => return Err(FetchError::timeout(Phase::Connect)),
            Ok(Err(err)) => return Err(FetchError::connect_failed(ip, &err)),
            Ok(Ok(tcp)) => tcp,
        };
        let _ = tcp.get_ref().set_nodelay(true);
        attempt.connect = Some(started.elapsed());
        let tcp = Watched::new(tcp, self.progress.cloned());
        let origin = origin_of(url);
        if url.scheme() == "http" {
            return handshake_http(tcp, origin, deadline).await;
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let server_name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|err| FetchError::new(Phase::Tls, "tls", format!("not a valid TLS server name: {err}")))?;
        let tls_started = Instant::now();
        let (config, recorded) = self.tls.recording_config();
        let connector = TlsConnector::from(config);
        let tls = match tokio::time::timeout_at(deadline, connector.connect(server_name, tcp)).await {
            Err(_) => return Err(FetchError::timeout(Phase::Tls)),
            Ok(Err(err)) => {
                let chain = recorded.take();
                if !chain.is_empty() {
                    attempt.tls = Some(facts_from_chain(&chain, &host, self.tls));
                }
                return Err(FetchError::new(Phase::Tls, "tls", describe_handshake_error(&err)));
            }
            Ok(Ok(tls)) => tls,
        };
        attempt.handshake = Some(tls_started.elapsed());
        let mut facts = facts_from_connection(tls.get_ref().1, &host, self.tls);
        let staple = recorded.take_staple();
        if !staple.is_empty() {
            if let Some(leaf) = facts.chain_der.first() {
                let issuer = facts.chain_der.get(1).map(Vec::as_slice);
                facts.staple = Some(super::ocsp::check(&staple, leaf, issuer));
            }
        }
        attempt.tls = Some(facts);
        handshake_http(tls, origin, deadline).await
    }

    /// One plain http:// GET on `url` over `ip`; reads only the head.
    pub async fn plain_http(&self, url: &Url, ip: IpAddr, deadline: Instant) -> PlainHttpFacts {
        let mut facts = PlainHttpFacts {
            url: url.to_string(),
            ip: Some(ip),
            status: None,
            location: None,
            error: None,
        };
        let mut connection = match self.open(url, ip, deadline, &mut OpenAttempt::default()).await {
            Ok(connection) => connection,
            Err(err) => {
                facts.error = Some(err);
                return facts;
            }
        };
        match send(&mut connection, url, deadline, 0, self.user_agent).await {
            Ok(received) => {
                facts.status = Some(received.status);
                facts.location = received.location;
            }
            Err(err) => facts.error = Some(err),
        }
        facts
    }
}

/// A TCP connection to `address`, announcing `mss` when given.
async fn connect_tcp(
    address: SocketAddr,
    mss: Option<u32>,
) -> std::io::Result<super::politeness::PoliteStream<TcpStream>> {
    let Some(mss) = mss else {
        return super::politeness::connect(address, None).await;
    };
    let socket = match address {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket2::SockRef::from(&socket).set_tcp_mss(mss)?;
    super::politeness::connect(address, Some(socket)).await
}

async fn handshake_http<T>(io: T, origin: (String, String, u16), deadline: Instant) -> Result<Connection, FetchError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handshake = hyper::client::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(io));
    let (sender, driver) = match tokio::time::timeout_at(deadline, handshake).await {
        Err(_) => return Err(FetchError::timeout(Phase::Processing)),
        Ok(Err(err)) => return Err(FetchError::new(Phase::Processing, "http", err.to_string())),
        Ok(Ok(pair)) => pair,
    };
    let driver = tokio::spawn(async move {
        let _ = driver.await;
    });
    Ok(Connection { sender, driver, origin })
}

fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

async fn send(
    connection: &mut Connection,
    url: &Url,
    deadline: Instant,
    max_body: usize,
    user_agent: &str,
) -> Result<Received, FetchError> {
    let path = match url.query() {
        Some(query) => format!("{}?{}", url.path(), query),
        None => url.path().to_string(),
    };
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(HOST, host_header(url))
        .header(USER_AGENT, user_agent)
        .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .header(ACCEPT_ENCODING, "identity")
        .header(ACCEPT_LANGUAGE, "vi,en;q=0.8")
        .body(Empty::<Bytes>::new())
        .map_err(|err| FetchError::new(Phase::Processing, "other", err.to_string()))?;
    let sent = Instant::now();
    if tokio::time::timeout_at(deadline, connection.sender.ready())
        .await
        .is_err()
    {
        return Err(FetchError::timeout(Phase::Processing));
    }
    let response = match tokio::time::timeout_at(deadline, connection.sender.send_request(request)).await {
        Err(_) => return Err(FetchError::timeout(Phase::Processing)),
        Ok(Err(err)) => return Err(FetchError::new(Phase::Processing, "http", err.to_string())),
        Ok(Ok(response)) => response,
    };
    let processing = sent.elapsed();
    let status = response.status().as_u16();
    let headers = kept_headers(response.headers());
    let location = response
        .headers()
        .get(LOCATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let transfer_started = Instant::now();
    let mut body = Vec::new();
    let mut truncated = false;
    let mut stream = response.into_body();
    if max_body > 0 {
        loop {
            match tokio::time::timeout_at(deadline, stream.frame()).await {
                Err(_) => return Err(FetchError::timeout(Phase::Transfer)),
                Ok(None) => break,
                Ok(Some(Err(err))) => return Err(FetchError::new(Phase::Transfer, "http", err.to_string())),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        let room = max_body.saturating_sub(body.len());
                        body.extend_from_slice(&data[..data.len().min(room)]);
                        if data.len() > room || body.len() >= max_body {
                            truncated = true;
                            break;
                        }
                    }
                }
            }
        }
    } else {
        truncated = true;
    }
    Ok(Received {
        status,
        headers,
        location,
        body,
        truncated,
        processing,
        transfer: transfer_started.elapsed(),
    })
}

fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .take(MAX_HEADERS_KEPT)
        .map(|(name, value)| {
            let mut text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if text.len() > MAX_HEADER_VALUE {
                let mut cut = MAX_HEADER_VALUE;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            (name.as_str().to_string(), text)
        })
        .collect()
}

/// Whether a redirect to an IP literal may be followed from a fetch pinned to `family`: only a
/// usable address of the same family. Anything else is refused before any packet is sent.
pub fn literal_hop_address(literal: IpAddr, family: IpFamily, accept: &[IpNet]) -> Result<IpAddr, FetchError> {
    if IpFamily::of(&literal) != family {
        return Err(FetchError::new(
            Phase::Resolve,
            "blocked",
            format!(
                "redirect to the {} address {literal} from a fetch over {}; not followed",
                IpFamily::of(&literal).as_str(),
                family.as_str()
            ),
        ));
    }
    if classify(literal, accept).class.is_usable() {
        return Ok(literal);
    }
    Err(FetchError::new(
        Phase::Resolve,
        "blocked",
        format!(
            "redirect to a non-public address, {}; not followed",
            describe_unusable(literal, accept)
        ),
    ))
}

/// "10.0.0.1 (Private-Use)": an address with the registry block that makes it unusable.
fn describe_unusable(ip: IpAddr, accept: &[IpNet]) -> String {
    match classify(ip, accept).class {
        AddressClass::Special { block } => format!("{ip} ({block})"),
        _ => ip.to_string(),
    }
}

/// A meta refresh within this many seconds is followed as a redirect.
pub const MAX_META_REFRESH_SECONDS: f64 = 10.0;

/// The target of the first `<meta http-equiv="refresh" content="N; url=…">` in the head of an
/// HTML body, as browsers read it (case-insensitive, quotes optional). A refresh without a URL
/// reloads the same page and is not a hop.
pub fn meta_refresh_target(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("<meta") {
        let start = from + found;
        let end = lower[start..].find('>').map(|i| start + i).unwrap_or(lower.len());
        from = end;
        let tag = &lower[start..end];
        let compact: String = tag
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
            .collect();
        if !compact.contains("http-equiv=refresh") {
            continue;
        }
        let Some(content_at) = tag.find("content") else {
            continue;
        };
        let after = &text[start + content_at + "content".len()..end];
        let after = after.trim_start().strip_prefix('=')?.trim_start();
        let (quote, rest) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &after[1..]),
            _ => (None, after),
        };
        let value = match quote {
            Some(q) => rest.split(q).next().unwrap_or_default(),
            None => rest.split_whitespace().next().unwrap_or_default(),
        };
        let (delay, target) = value.split_once(';').or_else(|| value.split_once(','))?;
        // A refresh after minutes is a page reloading itself for readers, not a redirect.
        if delay
            .trim()
            .parse::<f64>()
            .map_or(true, |seconds| seconds > MAX_META_REFRESH_SECONDS)
        {
            return None;
        }
        let target = target.trim();
        let target = match target.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("url=") => &target[4..],
            _ => target,
        };
        let target = target.trim().trim_matches(|c| c == '\'' || c == '"').trim();
        return (!target.is_empty()).then(|| target.to_string());
    }
    None
}

/// Whether a status is a redirect a browser follows.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_ranges() -> Vec<IpNet> {
        vec!["127.0.0.1/32".parse().unwrap()]
    }

    #[test]
    fn redirects_to_internal_literals_are_refused_before_connecting() {
        for literal in ["169.254.169.254", "10.0.0.1", "127.0.0.2", "100.64.0.1", "192.0.2.7"] {
            let err = literal_hop_address(literal.parse().unwrap(), IpFamily::Ipv4, &lab_ranges()).unwrap_err();
            assert_eq!(err.kind, "blocked", "{literal}");
            assert!(
                err.message.contains("non-public address") && err.message.contains(literal),
                "{}",
                err.message
            );
        }
        let err = literal_hop_address("fe80::1".parse().unwrap(), IpFamily::Ipv6, &[]).unwrap_err();
        assert_eq!(err.kind, "blocked");
        assert!(literal_hop_address("127.0.0.1".parse().unwrap(), IpFamily::Ipv4, &lab_ranges()).is_ok());
        assert!(literal_hop_address("203.162.4.190".parse().unwrap(), IpFamily::Ipv4, &[]).is_ok());
    }

    #[test]
    fn a_fetch_pinned_to_ipv6_never_continues_over_ipv4() {
        let err = literal_hop_address("203.162.4.190".parse().unwrap(), IpFamily::Ipv6, &[]).unwrap_err();
        assert_eq!(err.kind, "blocked");
        assert!(err.message.contains("from a fetch over ipv6"), "{}", err.message);
    }

    #[test]
    fn meta_refresh_targets_are_read_as_browsers_do() {
        let cases: [(&str, Option<&str>); 8] = [
            (
                r#"<meta http-equiv="refresh" content="0; url=https://a.vn/x">"#,
                Some("https://a.vn/x"),
            ),
            (
                r#"<META HTTP-EQUIV=Refresh CONTENT="5;URL='/portal/home'">"#,
                Some("/portal/home"),
            ),
            (
                r#"<meta content="0;url=http://b.com/" http-equiv="refresh" />"#,
                Some("http://b.com/"),
            ),
            (
                r#"<meta http-equiv='refresh' content='3, https://c.vn/'>"#,
                Some("https://c.vn/"),
            ),
            (r#"<meta http-equiv="refresh" content="300">"#, None),
            (r#"<meta http-equiv="refresh" content="600; url=/news">"#, None),
            (r#"<meta name="description" content="0; url=https://evil.com/">"#, None),
            ("<html><body>no meta</body></html>", None),
        ];
        for (html, expected) in cases {
            assert_eq!(meta_refresh_target(html.as_bytes()).as_deref(), expected, "{html}");
        }
        assert_eq!(meta_refresh_target(b"<meta http-equiv=refresh content=\"0;url="), None);
    }

    #[test]
    fn hop_urls_include_a_location_that_was_not_fetched() {
        let mut fetch = AddressFetch::new("203.162.4.190".parse().unwrap());
        fetch.responses.push(ResponseFacts {
            url: "https://a.gov.vn/".into(),
            ip: fetch.ip,
            status: 302,
            headers: Vec::new(),
            location: Some("https://b.example.com/x".into()),
            meta_refresh: None,
        });
        let hosts: Vec<String> = fetch
            .hop_urls()
            .iter()
            .filter_map(|u| u.host_str().map(String::from))
            .collect();
        assert_eq!(hosts, ["b.example.com", "a.gov.vn"]);
        assert!(fetch.downgrade().is_none());
    }
}
