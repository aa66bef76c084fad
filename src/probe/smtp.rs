//! One SMTP conversation with one mail-exchange address: greeting (220), EHLO (250), whether
//! STARTTLS is offered and, when asked, the TLS behind it — a rustls handshake for the MX host
//! (version, suite, chain), then two more conversations that send hand-built hellos after
//! STARTTLS: one that offers at most TLS 1.1, one that offers only insufficient suites. No mail
//! is ever sent: every conversation ends with QUIT or a closed connection.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::politeness::PoliteStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::legacy_tls::{
    chosen_suite, first_record_on, interpret_first_record, tls10_hello, tls12_hello, LegacyTlsOutcome,
};
use super::tls::{describe_handshake_error, facts_from_connection, TlsSetup, VerifyFailure};
use crate::model::cipher_suites;

/// An SMTP line longer than this is not read further (a hostile server cannot grow memory).
const MAX_LINE: usize = 1024;
/// A reply of more lines than this is cut (EHLO lists a dozen extensions at most).
const MAX_REPLY_LINES: usize = 64;

/// The SMTP conversation with one address.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SmtpFacts {
    pub ip: IpAddr,
    #[serde(flatten)]
    pub outcome: SmtpOutcome,
}

/// How far the conversation got.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SmtpOutcome {
    /// 220 greeting and 250 to EHLO.
    Answered {
        banner: String,
        starttls: bool,
        /// What STARTTLS led to, when TLS was probed and offered.
        #[serde(skip_serializing_if = "Option::is_none")]
        tls: Option<StarttlsFacts>,
    },
    /// The server did not get that far.
    Failed { phase: SmtpPhase, message: String },
    /// This monitor has no route to the address: not tested from here.
    NoRoute { message: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpPhase {
    Connect,
    Greeting,
    Ehlo,
}

impl SmtpPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpPhase::Connect => "connect",
            SmtpPhase::Greeting => "greeting",
            SmtpPhase::Ehlo => "EHLO",
        }
    }
}

/// The TLS of one address, reached through STARTTLS.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StarttlsFacts {
    pub handshake: StarttlsHandshake,
    /// What a hello offering at most TLS 1.1 got after STARTTLS.
    pub legacy: LegacyTlsOutcome,
    /// What a TLS 1.2 hello offering only insufficient suites got after STARTTLS.
    pub insufficient: LegacyTlsOutcome,
}

/// The rustls handshake after STARTTLS.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StarttlsHandshake {
    Completed {
        version: String,
        cipher: String,
        /// `None` when the chain verifies for the MX host.
        verify_failure: Option<VerifyFailure>,
        /// The chain as sent, leaf first, with the digests DANE matches against.
        chain: Vec<ChainDigests>,
    },
    Failed {
        message: String,
    },
}

/// One certificate of a chain, as TLSA records name it (RFC 6698 §2.1): the whole
/// certificate or its SubjectPublicKeyInfo, by SHA-256 or SHA-512. An exact-match TLSA record
/// (matching type 0) is compared through its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainDigests {
    pub cert_sha256: String,
    pub cert_sha512: String,
    pub spki_sha256: String,
    pub spki_sha512: String,
}

impl ChainDigests {
    /// The digests of one DER certificate.
    pub fn of(der: &[u8]) -> ChainDigests {
        use x509_parser::prelude::*;
        let spki = X509Certificate::from_der(der)
            .map(|(_, cert)| cert.tbs_certificate.subject_pki.raw.to_vec())
            .unwrap_or_default();
        ChainDigests {
            cert_sha256: digest_hex(&ring::digest::SHA256, der),
            cert_sha512: digest_hex(&ring::digest::SHA512, der),
            spki_sha256: digest_hex(&ring::digest::SHA256, &spki),
            spki_sha512: digest_hex(&ring::digest::SHA512, &spki),
        }
    }
}

/// Lower-case hex digest, as TLSA records are compared.
pub fn digest_hex(algorithm: &'static ring::digest::Algorithm, bytes: &[u8]) -> String {
    ring::digest::digest(algorithm, bytes)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What the TLS part of a conversation needs: the client, and the MX host the certificate
/// must name.
pub struct TlsProbe<'a> {
    pub setup: &'a TlsSetup,
    pub host: &'a str,
}

/// Converses with `address`; with `tls`, follows STARTTLS when it is offered. Each step waits
/// until the audit's deadline, never longer (many servers pause before the greeting on
/// purpose).
pub async fn converse(address: SocketAddr, tls: Option<TlsProbe<'_>>, deadline: Instant) -> SmtpOutcome {
    let session = match Session::open(address, deadline).await {
        Ok(session) => session,
        Err(outcome) => return outcome,
    };
    let banner = session.banner.clone();
    let starttls = session.starttls;
    let (Some(tls), true) = (tls, starttls) else {
        session.quit().await;
        return SmtpOutcome::Answered {
            banner,
            starttls,
            tls: None,
        };
    };
    let handshake = session.handshake(&tls, deadline).await;
    let (legacy, insufficient) = tokio::join!(
        raw_hello_after_starttls(address, tls10_hello(tls.host), deadline),
        raw_hello_after_starttls(
            address,
            tls12_hello(tls.host, &cipher_suites::insufficient_codes()),
            deadline
        ),
    );
    let insufficient = match insufficient {
        Ok(bytes) => match chosen_suite(&bytes) {
            Some(code) => LegacyTlsOutcome::Accepted {
                version: cipher_suites::name_of(code),
            },
            None => interpret_first_record(&bytes),
        },
        Err(outcome) => outcome,
    };
    let legacy = legacy
        .map(|bytes| interpret_first_record(&bytes))
        .unwrap_or_else(|outcome| outcome);
    SmtpOutcome::Answered {
        banner,
        starttls,
        tls: Some(StarttlsFacts {
            handshake,
            legacy,
            insufficient,
        }),
    }
}

/// A second conversation up to STARTTLS's 220, then `hello` and the start of the server's first
/// record.
async fn raw_hello_after_starttls(
    address: SocketAddr,
    hello: Vec<u8>,
    deadline: Instant,
) -> Result<Vec<u8>, LegacyTlsOutcome> {
    let unknown = |message: String| LegacyTlsOutcome::Unknown { message };
    let session = Session::open(address, deadline)
        .await
        .map_err(|outcome| match outcome {
            SmtpOutcome::NoRoute { message } => LegacyTlsOutcome::NoRoute { message },
            SmtpOutcome::Failed { phase, message } => unknown(format!("{}: {message}", phase.as_str())),
            SmtpOutcome::Answered { .. } => unknown("no conversation".into()),
        })?;
    let mut stream = session.starttls(deadline).await.map_err(unknown)?;
    tokio::time::timeout_at(deadline, first_record_on(&mut stream, &hello))
        .await
        .unwrap_or_else(|_| Err(unknown("no answer within the timeout".into())))
}

/// A conversation past EHLO.
struct Session {
    reader: BufReader<PoliteStream<TcpStream>>,
    banner: String,
    starttls: bool,
}

impl Session {
    /// Connect, greeting, EHLO.
    async fn open(address: SocketAddr, deadline: Instant) -> Result<Session, SmtpOutcome> {
        let failed = |phase, message: String| SmtpOutcome::Failed { phase, message };
        let stream = match tokio::time::timeout_at(deadline, super::politeness::connect(address, None)).await {
            Err(_) => return Err(failed(SmtpPhase::Connect, "timeout".into())),
            Ok(Err(err)) => {
                if super::route::may_be_local(&err) {
                    if let Err(message) = super::route::monitor_route(address.ip()) {
                        return Err(SmtpOutcome::NoRoute { message });
                    }
                }
                return Err(failed(SmtpPhase::Connect, describe_io(&err)));
            }
            Ok(Ok(stream)) => stream,
        };
        let mut reader = BufReader::new(stream);
        let greeting = read_reply(&mut reader, deadline)
            .await
            .map_err(|message| failed(SmtpPhase::Greeting, message))?;
        if greeting.code != 220 {
            return Err(failed(
                SmtpPhase::Greeting,
                format!("greeting {} instead of 220: {}", greeting.code, greeting.first_line()),
            ));
        }
        let reply = command(&mut reader, b"EHLO vnready.invalid\r\n", deadline)
            .await
            .map_err(|message| failed(SmtpPhase::Ehlo, message))?;
        if reply.code != 250 {
            return Err(failed(
                SmtpPhase::Ehlo,
                format!("EHLO answered {}: {}", reply.code, reply.first_line()),
            ));
        }
        let starttls = reply
            .lines
            .iter()
            .skip(1)
            .any(|line| line.trim().eq_ignore_ascii_case("STARTTLS"));
        Ok(Session {
            reader,
            banner: greeting.first_line().chars().take(120).collect(),
            starttls,
        })
    }

    /// Leaves politely; the answer does not matter and must not cost the deadline.
    async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.reader.get_mut().write_all(b"QUIT\r\n")).await;
    }

    /// STARTTLS and its 220: the connection is then ready for a ClientHello. Anything the server
    /// sent beyond the 220 would be read as TLS (the STARTTLS injection of CVE-2011-0411), so it
    /// is refused.
    async fn starttls(mut self, deadline: Instant) -> Result<PoliteStream<TcpStream>, String> {
        let reply = command(&mut self.reader, b"STARTTLS\r\n", deadline).await?;
        if reply.code != 220 {
            return Err(format!("STARTTLS answered {}: {}", reply.code, reply.first_line()));
        }
        if !self.reader.buffer().is_empty() {
            return Err("the server sent data after its 220 to STARTTLS".into());
        }
        Ok(self.reader.into_inner())
    }

    /// STARTTLS, then a rustls handshake for the MX host; the chain is kept whether or not
    /// it verifies (most MTAs do not verify it).
    async fn handshake(self, tls: &TlsProbe<'_>, deadline: Instant) -> StarttlsHandshake {
        let failed = |message: String| StarttlsHandshake::Failed { message };
        let stream = match self.starttls(deadline).await {
            Ok(stream) => stream,
            Err(message) => return failed(message),
        };
        let server_name = match rustls::pki_types::ServerName::try_from(tls.host.to_string()) {
            Ok(name) => name,
            Err(err) => return failed(format!("not a valid TLS server name: {err}")),
        };
        let (config, _recorded) = tls.setup.recording_config();
        let connector = TlsConnector::from(config);
        let mut stream = match tokio::time::timeout_at(deadline, connector.connect(server_name, stream)).await {
            Err(_) => return failed("the TLS handshake timed out".into()),
            Ok(Err(err)) => return failed(describe_handshake_error(&err)),
            Ok(Ok(stream)) => stream,
        };
        let facts = facts_from_connection(stream.get_ref().1, tls.host, tls.setup);
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            stream.write_all(b"QUIT\r\n").await?;
            stream.shutdown().await
        })
        .await;
        StarttlsHandshake::Completed {
            version: facts.version,
            cipher: facts.cipher,
            verify_failure: facts.verify_failure,
            chain: facts.chain_der.iter().map(|der| ChainDigests::of(der)).collect(),
        }
    }
}

/// Sends one command and reads its reply, by the deadline.
async fn command(
    reader: &mut BufReader<PoliteStream<TcpStream>>,
    line: &[u8],
    deadline: Instant,
) -> Result<Reply, String> {
    let exchange = async {
        reader.get_mut().write_all(line).await.map_err(|e| describe_io(&e))?;
        read_reply(reader, deadline).await
    };
    tokio::time::timeout_at(deadline, exchange)
        .await
        .unwrap_or_else(|_| Err("timeout".into()))
}

/// One SMTP reply: its code and the text of each line.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn first_line(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or_default()
    }
}

/// Reads "250-…" lines up to the final "250 …" line, bounded in length, count and time.
async fn read_reply<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R, deadline: Instant) -> Result<Reply, String> {
    let mut lines = Vec::new();
    loop {
        let mut raw = Vec::new();
        let read = tokio::time::timeout_at(deadline, read_line_bounded(reader, &mut raw))
            .await
            .map_err(|_| "timeout".to_string())?
            .map_err(|e| describe_io(&e))?;
        if read == 0 {
            return Err("the server closed the connection".into());
        }
        let line = String::from_utf8_lossy(&raw).trim_end().to_string();
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else {
            return Err(format!(
                "not an SMTP reply: {:?}",
                line.chars().take(60).collect::<String>()
            ));
        };
        let last = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line.get(4..).unwrap_or_default().to_string());
        if last || lines.len() >= MAX_REPLY_LINES {
            return Ok(Reply { code, lines });
        }
    }
}

/// A line of at most [`MAX_LINE`] bytes; the rest of a longer line is discarded.
async fn read_line_bounded<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    out: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => (&buffer[..=end], true),
            None => (buffer, false),
        };
        let room = MAX_LINE.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = chunk.len();
        reader.consume(consumed);
        total += consumed;
        if done {
            return Ok(total);
        }
    }
}

fn describe_io(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_are_read_to_their_last_line_and_bounded() {
        let text = b"250-mx.example.vn Hello\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 HELP\r\n".to_vec();
        let mut reader = BufReader::new(&text[..]);
        let deadline = Instant::now() + Duration::from_secs(1);
        let reply = read_reply(&mut reader, deadline).await.expect("reply");
        assert_eq!(reply.code, 250);
        assert_eq!(reply.lines.len(), 4);
        assert!(reply.lines.iter().any(|l| l == "STARTTLS"));
        let long = [b"220 ".to_vec(), vec![b'x'; 100_000], b"\r\n".to_vec()].concat();
        let mut reader = BufReader::new(&long[..]);
        let reply = read_reply(&mut reader, deadline).await.expect("long line");
        assert!(reply.first_line().len() <= MAX_LINE);
        let mut reader = BufReader::new(&b"hello\r\n"[..]);
        assert!(read_reply(&mut reader, deadline).await.is_err());
    }
}
