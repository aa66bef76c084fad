//! A small RPKI-to-Router client (RFC 8210, version 1, falling back to RFC 6810's version 0):
//! a Reset Query, then every IPv4 and IPv6 Prefix PDU up to End of Data. Bounded: PDUs over 64
//! KiB and sets over ten million VRPs are refused, and the whole exchange has a deadline.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::routing::Vrp;

/// Largest PDU accepted (an Error Report carries a PDU and a text).
const MAX_PDU: u32 = 64 * 1024;
/// More VRPs than this is not an RPKI cache (today's global set is about 700,000).
const MAX_VRPS: usize = 10_000_000;

const SERIAL_NOTIFY: u8 = 0;
const CACHE_RESPONSE: u8 = 3;
const IPV4_PREFIX: u8 = 4;
const IPV6_PREFIX: u8 = 6;
const END_OF_DATA: u8 = 7;
const CACHE_RESET: u8 = 8;
const ERROR_REPORT: u8 = 10;
/// Error Report code: the cache does not speak the version we asked in.
const UNSUPPORTED_VERSION: u16 = 4;

/// Why the cache's VRPs could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtrError {
    #[error("cannot connect to the RTR server {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("the RTR server {0} did not send its data in time")]
    Timeout(String),
    #[error("the RTR server {0} broke off: {1}")]
    Io(String, std::io::Error),
    #[error("the RTR server {0} sent an invalid PDU: {1}")]
    Protocol(String, String),
    #[error("the RTR server {0} reported error {1}: {2}")]
    Report(String, u16, String),
}

/// Every VRP the cache at `address` (HOST:PORT) holds now.
pub async fn fetch_vrps(address: &str, deadline: Instant) -> Result<Vec<Vrp>, RtrError> {
    match exchange(address, 1, deadline).await {
        Err(RtrError::Report(_, UNSUPPORTED_VERSION, _)) => exchange(address, 0, deadline).await,
        other => other,
    }
}

async fn exchange(address: &str, version: u8, deadline: Instant) -> Result<Vec<Vrp>, RtrError> {
    let timeout = || RtrError::Timeout(address.to_string());
    let mut stream = tokio::time::timeout_at(deadline, TcpStream::connect(address))
        .await
        .map_err(|_| timeout())?
        .map_err(|err| RtrError::Connect(address.to_string(), err))?;
    let reset_query = [version, 2, 0, 0, 0, 0, 0, 8];
    stream
        .write_all(&reset_query)
        .await
        .map_err(|err| RtrError::Io(address.to_string(), err))?;
    tokio::time::timeout_at(deadline, read_until_end(&mut stream, address))
        .await
        .map_err(|_| timeout())?
}

async fn read_until_end(stream: &mut TcpStream, address: &str) -> Result<Vec<Vrp>, RtrError> {
    let protocol = |what: String| RtrError::Protocol(address.to_string(), what);
    let mut vrps = Vec::new();
    let mut header = [0u8; 8];
    loop {
        stream
            .read_exact(&mut header)
            .await
            .map_err(|err| RtrError::Io(address.to_string(), err))?;
        let kind = header[1];
        let session_or_code = u16::from_be_bytes([header[2], header[3]]);
        let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        if !(8..=MAX_PDU).contains(&length) {
            return Err(protocol(format!("PDU type {kind} of length {length}")));
        }
        let mut body = vec![0u8; (length - 8) as usize];
        stream
            .read_exact(&mut body)
            .await
            .map_err(|err| RtrError::Io(address.to_string(), err))?;
        match kind {
            IPV4_PREFIX => {
                let vrp = prefix_pdu::<4>(&body).ok_or_else(|| protocol("bad IPv4 Prefix PDU".into()))?;
                if body[0] & 1 == 1 {
                    vrps.push(vrp);
                }
            }
            IPV6_PREFIX => {
                let vrp = prefix_pdu::<16>(&body).ok_or_else(|| protocol("bad IPv6 Prefix PDU".into()))?;
                if body[0] & 1 == 1 {
                    vrps.push(vrp);
                }
            }
            END_OF_DATA => return Ok(vrps),
            CACHE_RESET => return Err(protocol("the cache has no data yet (Cache Reset)".into())),
            ERROR_REPORT => {
                let text = error_text(&body);
                return Err(RtrError::Report(address.to_string(), session_or_code, text));
            }
            // Cache Response, Serial Notify, Router Key, ASPA: nothing to keep.
            CACHE_RESPONSE | SERIAL_NOTIFY => {}
            _ => {}
        }
        if vrps.len() > MAX_VRPS {
            return Err(protocol(format!("more than {MAX_VRPS} VRPs")));
        }
    }
}

/// flags, prefix length, max length, zero, prefix (N bytes), AS (4 bytes).
fn prefix_pdu<const N: usize>(body: &[u8]) -> Option<Vrp> {
    if body.len() != 4 + N + 4 {
        return None;
    }
    let (length, max_length) = (body[1], body[2]);
    let mut octets = [0u8; N];
    octets.copy_from_slice(&body[4..4 + N]);
    let asn = u32::from_be_bytes(body[4 + N..].try_into().ok()?);
    let prefix = match N {
        4 => IpNet::V4(Ipv4Net::new(Ipv4Addr::from(<[u8; 4]>::try_from(&octets[..]).ok()?), length).ok()?),
        _ => IpNet::V6(Ipv6Net::new(Ipv6Addr::from(<[u8; 16]>::try_from(&octets[..]).ok()?), length).ok()?),
    };
    (max_length >= length && max_length <= prefix.max_prefix_len()).then_some(Vrp {
        prefix: prefix.trunc(),
        max_length,
        asn,
    })
}

/// The text of an Error Report: length of the encapsulated PDU, the PDU, length of the text,
/// the text.
fn error_text(body: &[u8]) -> String {
    let read_u32 = |at: usize| {
        body.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
    };
    let Some(pdu_length) = read_u32(0) else {
        return String::new();
    };
    let text_at = 4 + pdu_length as usize;
    let Some(text_length) = read_u32(text_at) else {
        return String::new();
    };
    body.get(text_at + 4..text_at + 4 + text_length as usize)
        .map(|text| String::from_utf8_lossy(text).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_pdus_parse_and_bad_ones_are_refused() {
        let mut v4 = vec![1, 24, 24, 0];
        v4.extend_from_slice(&[203, 162, 4, 0]);
        v4.extend_from_slice(&45899u32.to_be_bytes());
        let vrp = prefix_pdu::<4>(&v4).expect("parses");
        assert_eq!(vrp.prefix, "203.162.4.0/24".parse::<IpNet>().unwrap());
        assert_eq!((vrp.max_length, vrp.asn), (24, 45899));
        v4[2] = 16; // max length below the prefix length
        assert_eq!(prefix_pdu::<4>(&v4), None);
        assert_eq!(prefix_pdu::<16>(&v4), None, "wrong size");
    }

    #[test]
    fn error_report_text_is_read_within_bounds() {
        let mut body = 8u32.to_be_bytes().to_vec();
        body.extend_from_slice(&[1, 2, 0, 0, 0, 0, 0, 8]);
        body.extend_from_slice(&5u32.to_be_bytes());
        body.extend_from_slice(b"hello");
        assert_eq!(error_text(&body), "hello");
        assert_eq!(error_text(&body[..6]), "");
        let mut hostile = 8u32.to_be_bytes().to_vec();
        hostile.extend_from_slice(&[0; 8]);
        hostile.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(error_text(&hostile), "");
    }
}
