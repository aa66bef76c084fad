//! One TCP connection per address carries the TLS handshake and the HTTP request, so TLS facts
//! and the response come from the same handshake. Redirects are followed with the address family
//! pinned; same-origin hops reuse the connection.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
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

use super::addr::{classify, Family};
use super::dns::{addresses_of, DnsProber};
use super::tls::{facts_from_connection, TlsFacts, TlsSetup};

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
    /// refused | timeout | reset | tls | http | redirect | other
    pub kind: String,
    pub message: String,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {:?}: {}", self.kind, self.phase, self.message)
    }
}

impl FetchError {
    fn new(phase: Phase, kind: &str, message: impl Into<String>) -> FetchError {
        FetchError {
            phase,
            kind: kind.to_string(),
            message: message.into(),
        }
    }

    fn timeout(phase: Phase) -> FetchError {
        FetchError::new(phase, "timeout", "no answer within the timeout")
    }

    fn io(phase: Phase, err: &std::io::Error) -> FetchError {
        let kind = match err.kind() {
            std::io::ErrorKind::ConnectionRefused => "refused",
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
}

impl ResponseFacts {
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
    pub family: Family,
    pub timings: PhaseTimings,
    pub tls: Option<TlsFacts>,
    /// The first response and every redirect hop after it.
    pub responses: Vec<ResponseFacts>,
    pub final_url: Option<String>,
    pub body_bytes: usize,
    pub body_truncated: bool,
    /// The final body, capped at the configured size. Not serialised: it can be large.
    #[serde(skip)]
    pub body: Vec<u8>,
    pub error: Option<FetchError>,
    /// TCP connections this fetch opened (1 unless a redirect left the origin).
    pub connections: u32,
}

impl AddressFetch {
    fn new(ip: IpAddr) -> AddressFetch {
        AddressFetch {
            ip,
            family: Family::of(&ip),
            timings: PhaseTimings::default(),
            tls: None,
            responses: Vec::new(),
            final_url: None,
            body_bytes: 0,
            body_truncated: false,
            body: Vec::new(),
            error: None,
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

/// Fetches over pinned addresses.
pub struct HttpProber<'a> {
    pub tls: &'a TlsSetup,
    pub dns: &'a DnsProber,
    pub accept_ranges: &'a [IpNet],
}

struct Received {
    status: u16,
    headers: Vec<(String, String)>,
    location: Option<String>,
    body: Vec<u8>,
    truncated: bool,
    processing: Duration,
    transfer: Duration,
}

impl HttpProber<'_> {
    /// Fetches `url` over `ip`, following redirects within the same family.
    pub async fn fetch(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        max_body: usize,
        resolve_seconds: f64,
    ) -> AddressFetch {
        let mut record = AddressFetch::new(ip);
        record.timings.resolve = Some(resolve_seconds);
        let mut connection = match self.open(url, ip, deadline, Some(&mut record)).await {
            Ok(connection) => connection,
            Err(err) => {
                record.error = Some(err);
                return record;
            }
        };
        let mut current_url = url.clone();
        let mut current_ip = ip;
        for hop in 0..=MAX_REDIRECTS {
            let received = match send(&mut connection, &current_url, deadline, max_body).await {
                Ok(received) => received,
                Err(err) => {
                    record.error = Some(err);
                    return record;
                }
            };
            if hop == 0 {
                record.timings.processing = Some(received.processing.as_secs_f64());
                record.timings.transfer = Some(received.transfer.as_secs_f64());
            }
            record.responses.push(ResponseFacts {
                url: current_url.to_string(),
                ip: current_ip,
                status: received.status,
                headers: received.headers,
                location: received.location.clone(),
            });
            let next = match (is_redirect(received.status), received.location.as_deref()) {
                (true, Some(location)) => current_url.join(location).ok(),
                _ => None,
            };
            let Some(next) = next.filter(|next| matches!(next.scheme(), "http" | "https")) else {
                record.final_url = Some(current_url.to_string());
                record.body_bytes = received.body.len();
                record.body_truncated = received.truncated;
                record.body = received.body;
                return record;
            };
            if hop == MAX_REDIRECTS {
                record.error = Some(FetchError::new(
                    Phase::Processing,
                    "redirect",
                    format!("more than {MAX_REDIRECTS} redirects"),
                ));
                return record;
            }
            let reusable = !received.truncated && origin_of(&next) == connection.origin && connection.sender.is_ready();
            if !reusable {
                let next_ip = match self.address_for(&next, record.family, url, ip, deadline).await {
                    Ok(next_ip) => next_ip,
                    Err(err) => {
                        record.error = Some(err);
                        return record;
                    }
                };
                connection = match self.open(&next, next_ip, deadline, None).await {
                    Ok(connection) => connection,
                    Err(err) => {
                        record.error = Some(err);
                        return record;
                    }
                };
                record.connections += 1;
                current_ip = next_ip;
            }
            current_url = next;
        }
        record
    }

    /// The address a redirect hop is fetched over: the same one for the same host, otherwise
    /// the hop host's first usable address of the pinned family.
    async fn address_for(
        &self,
        next: &Url,
        family: Family,
        first_url: &Url,
        first_ip: IpAddr,
        deadline: Instant,
    ) -> Result<IpAddr, FetchError> {
        let host = next.host_str().unwrap_or_default();
        if host == first_url.host_str().unwrap_or_default() {
            return Ok(first_ip);
        }
        if let Ok(literal) = host.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>() {
            return Ok(literal);
        }
        let record_type = match family {
            Family::Ipv4 => hickory_resolver::proto::rr::RecordType::A,
            Family::Ipv6 => hickory_resolver::proto::rr::RecordType::AAAA,
        };
        let outcome = self.dns.lookup(host, record_type, deadline).await;
        addresses_of(&outcome)
            .into_iter()
            .find(|candidate| classify(*candidate, self.accept_ranges).class.is_usable())
            .ok_or_else(|| {
                FetchError::new(
                    Phase::Resolve,
                    "redirect",
                    format!(
                        "redirect host {host} has no usable {} address ({})",
                        family.as_str(),
                        outcome.label()
                    ),
                )
            })
    }

    /// Connects (and for https, handshakes). Timings and TLS facts go into `record` if given.
    async fn open(
        &self,
        url: &Url,
        ip: IpAddr,
        deadline: Instant,
        mut record: Option<&mut AddressFetch>,
    ) -> Result<Connection, FetchError> {
        let port = url.port_or_known_default().unwrap_or(443);
        let started = Instant::now();
        let tcp = match tokio::time::timeout_at(deadline, TcpStream::connect(SocketAddr::new(ip, port))).await {
            Err(_) => return Err(FetchError::timeout(Phase::Connect)),
            Ok(Err(err)) => return Err(FetchError::io(Phase::Connect, &err)),
            Ok(Ok(tcp)) => tcp,
        };
        let _ = tcp.set_nodelay(true);
        if let Some(record) = record.as_deref_mut() {
            record.timings.connect = Some(started.elapsed().as_secs_f64());
            record.connections += 1;
        }
        let origin = origin_of(url);
        if url.scheme() == "http" {
            return handshake_http(tcp, origin, deadline).await;
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let server_name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|err| FetchError::new(Phase::Tls, "tls", err.to_string()))?;
        let tls_started = Instant::now();
        let connector = TlsConnector::from(Arc::clone(&self.tls.client_config));
        let tls = match tokio::time::timeout_at(deadline, connector.connect(server_name, tcp)).await {
            Err(_) => return Err(FetchError::timeout(Phase::Tls)),
            Ok(Err(err)) => return Err(FetchError::new(Phase::Tls, "tls", err.to_string())),
            Ok(Ok(tls)) => tls,
        };
        if let Some(record) = record {
            record.timings.tls = Some(tls_started.elapsed().as_secs_f64());
            record.tls = Some(facts_from_connection(tls.get_ref().1, &host, self.tls));
        }
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
        let mut connection = match self.open(url, ip, deadline, None).await {
            Ok(connection) => connection,
            Err(err) => {
                facts.error = Some(err);
                return facts;
            }
        };
        match send(&mut connection, url, deadline, 0).await {
            Ok(received) => {
                facts.status = Some(received.status);
                facts.location = received.location;
            }
            Err(err) => facts.error = Some(err),
        }
        facts
    }
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
) -> Result<Received, FetchError> {
    let path = match url.query() {
        Some(query) => format!("{}?{}", url.path(), query),
        None => url.path().to_string(),
    };
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(HOST, host_header(url))
        .header(USER_AGENT, USER_AGENT_VALUE)
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

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}
