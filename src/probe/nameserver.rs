//! Sends real SOA queries to each name server address (UDP, TCP fallback) and records whether
//! it answers authoritatively. Used for IPv6 name-server readiness.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RecordType};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// How one name-server address answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum NsQueryOutcome {
    Answered {
        transport: String,
        authoritative: bool,
        rcode: String,
        has_soa: bool,
    },
    Failed {
        message: String,
    },
    /// This monitor has no route to the address (no IPv6 here): not asked, not the zone's fault.
    NoRoute {
        message: String,
    },
}

impl NsQueryOutcome {
    /// Answered with AA set, NOERROR and the zone's SOA.
    pub fn is_authoritative(&self) -> bool {
        matches!(self, NsQueryOutcome::Answered { authoritative: true, rcode, has_soa: true, .. } if rcode == "NOERROR")
    }
}

impl std::fmt::Display for NsQueryOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NsQueryOutcome::Answered {
                transport,
                authoritative,
                rcode,
                has_soa,
            } => write!(
                f,
                "{rcode} over {transport}{}{}",
                if *authoritative {
                    ""
                } else {
                    ", not authoritative (AA unset)"
                },
                if *has_soa { "" } else { ", no SOA in the answer" }
            ),
            NsQueryOutcome::Failed { message } | NsQueryOutcome::NoRoute { message } => f.write_str(message),
        }
    }
}

const MAX_UDP_ANSWER: usize = 4096;

/// Queries `server` for the SOA of `zone`, falling back to TCP when UDP is truncated or silent.
pub async fn query_soa(server: SocketAddr, zone: &str, deadline: Instant) -> NsQueryOutcome {
    if let Err(message) = super::route::monitor_route(server.ip()) {
        return NsQueryOutcome::NoRoute { message };
    }
    let Ok(mut name) = Name::from_utf8(zone.trim_end_matches('.')) else {
        return NsQueryOutcome::Failed {
            message: format!("invalid zone {zone:?}"),
        };
    };
    name.set_fqdn(true);
    let request = build_query(&name);
    let Ok(wire) = request.to_vec() else {
        return NsQueryOutcome::Failed {
            message: "cannot encode query".into(),
        };
    };
    // Give UDP half the remaining time so TCP still has a chance.
    let remaining = deadline.saturating_duration_since(Instant::now());
    let udp_deadline = Instant::now() + remaining / 2;
    let udp_error = match tokio::time::timeout_at(udp_deadline, udp_exchange(server, &wire)).await {
        Ok(Ok(answer)) => match Message::from_vec(&answer) {
            Ok(message) if message.metadata.id == request.metadata.id && !message.metadata.truncation => {
                return outcome_of(&message, &name, "udp")
            }
            Ok(_) => "udp answer truncated or mismatched".to_string(),
            Err(err) => format!("udp answer malformed: {err}"),
        },
        Ok(Err(err)) => format!("udp: {err}"),
        Err(_) => "udp: timeout".to_string(),
    };
    match tokio::time::timeout_at(deadline, polite_tcp_exchange(server, &wire)).await {
        Ok(Ok(answer)) => match Message::from_vec(&answer) {
            Ok(message) if message.metadata.id == request.metadata.id => outcome_of(&message, &name, "tcp"),
            Ok(_) => NsQueryOutcome::Failed {
                message: format!("{udp_error}; tcp answer mismatched"),
            },
            Err(err) => NsQueryOutcome::Failed {
                message: format!("{udp_error}; tcp answer malformed: {err}"),
            },
        },
        Ok(Err(err)) => NsQueryOutcome::Failed {
            message: format!("{udp_error}; tcp: {err}"),
        },
        Err(_) => NsQueryOutcome::Failed {
            message: format!("{udp_error}; tcp: timeout"),
        },
    }
}

fn build_query(name: &Name) -> Message {
    query_message(name, RecordType::SOA, false)
}

/// A query with a random id.
pub(crate) fn query_message(name: &Name, record_type: RecordType, recursion_desired: bool) -> Message {
    use ring::rand::SecureRandom;
    let mut id = [0u8; 2];
    let _ = ring::rand::SystemRandom::new().fill(&mut id);
    let mut message = Message::new(u16::from_be_bytes(id), MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = recursion_desired;
    message.add_query(Query::query(name.clone(), record_type));
    message
}

fn outcome_of(message: &Message, zone: &Name, transport: &str) -> NsQueryOutcome {
    let has_soa = message
        .answers
        .iter()
        .any(|record| record.record_type() == RecordType::SOA && record.name == *zone);
    NsQueryOutcome::Answered {
        transport: transport.to_string(),
        authoritative: message.metadata.authoritative,
        rcode: rcode_name(message.metadata.response_code),
        has_soa,
    }
}

fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("{other:?}").to_uppercase(),
    }
}

async fn udp_exchange(server: SocketAddr, wire: &[u8]) -> std::io::Result<Vec<u8>> {
    let bind: SocketAddr = if server.is_ipv6() {
        "[::]:0".parse()
    } else {
        "0.0.0.0:0".parse()
    }
    .map_err(|_| std::io::Error::other("bad bind address"))?;
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(server).await?;
    socket.send(wire).await?;
    let mut buffer = vec![0u8; MAX_UDP_ANSWER];
    let read = socket.recv(&mut buffer).await?;
    buffer.truncate(read);
    Ok(buffer)
}

/// One query on its own TCP connection to a resolver (the user's own server, not limited by
/// `--per-address-concurrency`): no answer another query is waiting for can hold it up.
pub(crate) async fn tcp_exchange(server: SocketAddr, wire: &[u8]) -> std::io::Result<Vec<u8>> {
    exchange_on(tokio::net::TcpStream::connect(server).await?, wire).await
}

/// [`tcp_exchange`] to a zone's authoritative server, within the per-address limit.
async fn polite_tcp_exchange(server: SocketAddr, wire: &[u8]) -> std::io::Result<Vec<u8>> {
    exchange_on(super::politeness::connect(server, None).await?, wire).await
}

async fn exchange_on<S>(mut stream: S, wire: &[u8]) -> std::io::Result<Vec<u8>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let length = u16::try_from(wire.len()).map_err(|_| std::io::Error::other("query too long"))?;
    let mut framed = length.to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    stream.write_all(&framed).await?;
    let mut length_bytes = [0u8; 2];
    stream.read_exact(&mut length_bytes).await?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(length_bytes))];
    stream.read_exact(&mut answer).await?;
    Ok(answer)
}

/// Keeps UDP and TCP from each taking the whole budget when the caller gives a long one.
pub const PER_SERVER_BUDGET: Duration = Duration::from_secs(6);
