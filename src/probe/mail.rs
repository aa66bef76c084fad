//! Mail for a domain over IPv6, as internet.nl tests it: the domain's MX set, each exchange's
//! AAAA records, and on every usable IPv6 address an SMTP greeting (220), EHLO (250) and
//! whether STARTTLS is offered. Facts only; `checks::mail` judges them. One domain is probed
//! once per round and shared by every site that sends mail through it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::addr::{classify, IpFamily};
use super::dns::{addresses_of, DnsProber, LookupOutcome};

/// More exchanges than this are not probed (the reason says so).
pub const MAX_EXCHANGES: usize = 10;
/// An SMTP line longer than this is not read further (a hostile server cannot grow memory).
const MAX_LINE: usize = 1024;
/// A reply of more lines than this is cut (EHLO lists a dozen extensions at most).
const MAX_REPLY_LINES: usize = 64;

/// What is known about the mail of one domain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MailFacts {
    pub domain: String,
    /// The MX answer as the resolver gave it.
    pub mx: LookupOutcome,
    /// RFC 7505: one MX of preference 0 for "." — the domain says it takes no mail.
    pub null_mx: bool,
    pub exchanges: Vec<ExchangeFacts>,
    /// Exchanges left unprobed beyond [`MAX_EXCHANGES`].
    pub unprobed: usize,
    /// SPF, DMARC and DKIM records (when probed).
    pub auth: Option<super::mail_auth::MailAuthFacts>,
}

/// One mail exchange.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExchangeFacts {
    pub host: String,
    pub preference: u16,
    pub a: LookupOutcome,
    pub aaaa: LookupOutcome,
    /// AAAA records that are not usable public addresses (documentation, ULA, …).
    pub unusable: Vec<IpAddr>,
    /// One SMTP conversation per usable IPv6 address.
    pub smtp: Vec<SmtpFacts>,
}

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
    Answered { banner: String, starttls: bool },
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

/// Probes the mail of `domain`: MX, then every exchange's A and AAAA and, when `smtp_port` is
/// given, SMTP over IPv6, all by `deadline`.
pub async fn probe_mail(
    dns: &DnsProber,
    domain: &str,
    smtp_port: Option<u16>,
    accept: &[ipnet::IpNet],
    deadline: Instant,
) -> MailFacts {
    let mx = dns
        .lookup(domain, hickory_resolver::proto::rr::RecordType::MX, deadline)
        .await;
    let mut records: Vec<(u16, String)> = mx.values().iter().filter_map(|value| parse_mx(value)).collect();
    records.sort();
    records.dedup_by(|a, b| a.1 == b.1);
    let null_mx = records.len() == 1 && records[0].1.is_empty();
    let unprobed = records.len().saturating_sub(MAX_EXCHANGES);
    let exchanges = if null_mx {
        Vec::new()
    } else {
        let probed = records
            .into_iter()
            .filter(|(_, host)| !host.is_empty())
            .take(MAX_EXCHANGES);
        futures::future::join_all(probed.map(|(preference, host)| async move {
            let (a, aaaa) = tokio::join!(
                dns.lookup(&host, hickory_resolver::proto::rr::RecordType::A, deadline),
                dns.lookup(&host, hickory_resolver::proto::rr::RecordType::AAAA, deadline)
            );
            let (usable, unusable): (Vec<IpAddr>, Vec<IpAddr>) = addresses_of(&aaaa)
                .into_iter()
                .filter(|ip| IpFamily::of(ip) == IpFamily::Ipv6)
                .partition(|ip| classify(*ip, accept).class.is_usable());
            let conversations = smtp_port.map(|port| usable.into_iter().map(move |ip| (ip, port)));
            let smtp = futures::future::join_all(conversations.into_iter().flatten().map(|(ip, port)| async move {
                SmtpFacts {
                    ip,
                    outcome: converse(SocketAddr::new(ip, port), deadline).await,
                }
            }))
            .await;
            ExchangeFacts {
                host,
                preference,
                a,
                aaaa,
                unusable,
                smtp,
            }
        }))
        .await
    };
    MailFacts {
        domain: domain.to_string(),
        mx,
        null_mx,
        exchanges,
        unprobed,
        auth: None,
    }
}

/// "10 mx.example.vn" → (10, "mx.example.vn"); a null MX's exchange is "".
fn parse_mx(value: &str) -> Option<(u16, String)> {
    let (preference, host) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let preference = preference.parse().ok()?;
    Some((preference, host.trim().trim_end_matches('.').to_ascii_lowercase()))
}

/// Greeting, EHLO, QUIT. The greeting may take a while (many servers pause on purpose), so
/// each step waits until the audit's deadline, never longer.
async fn converse(address: SocketAddr, deadline: Instant) -> SmtpOutcome {
    let failed = |phase, message: String| SmtpOutcome::Failed { phase, message };
    let stream = match tokio::time::timeout_at(deadline, TcpStream::connect(address)).await {
        Err(_) => return failed(SmtpPhase::Connect, "timeout".into()),
        Ok(Err(err)) => {
            if super::route::may_be_local(&err) {
                if let Err(message) = super::route::monitor_route(address.ip()) {
                    return SmtpOutcome::NoRoute { message };
                }
            }
            return failed(SmtpPhase::Connect, describe_io(&err));
        }
        Ok(Ok(stream)) => stream,
    };
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let greeting = match read_reply(&mut reader, deadline).await {
        Ok(reply) => reply,
        Err(message) => return failed(SmtpPhase::Greeting, message),
    };
    if greeting.code != 220 {
        return failed(
            SmtpPhase::Greeting,
            format!("greeting {} instead of 220: {}", greeting.code, greeting.first_line()),
        );
    }
    let ehlo = async {
        write
            .write_all(b"EHLO vnready.invalid\r\n")
            .await
            .map_err(|e| describe_io(&e))?;
        read_reply(&mut reader, deadline).await
    };
    let reply = match tokio::time::timeout_at(deadline, ehlo).await {
        Err(_) => return failed(SmtpPhase::Ehlo, "timeout".into()),
        Ok(Err(message)) => return failed(SmtpPhase::Ehlo, message),
        Ok(Ok(reply)) => reply,
    };
    if reply.code != 250 {
        return failed(
            SmtpPhase::Ehlo,
            format!("EHLO answered {}: {}", reply.code, reply.first_line()),
        );
    }
    let starttls = reply
        .lines
        .iter()
        .skip(1)
        .any(|line| line.trim().eq_ignore_ascii_case("STARTTLS"));
    // Leave politely; the answer does not matter and must not cost the deadline.
    let _ = tokio::time::timeout(Duration::from_millis(500), write.write_all(b"QUIT\r\n")).await;
    SmtpOutcome::Answered {
        banner: greeting.first_line().chars().take(120).collect(),
        starttls,
    }
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

    #[test]
    fn mx_values_parse_and_a_null_mx_has_no_exchange() {
        assert_eq!(parse_mx("10 MX1.Example.vn."), Some((10, "mx1.example.vn".into())));
        assert_eq!(parse_mx("0 ."), Some((0, String::new())));
        assert_eq!(parse_mx("0 "), Some((0, String::new())));
        assert_eq!(parse_mx("x y"), None);
    }

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
