//! Tells whether a server still accepts TLS 1.0/1.1. rustls cannot speak them, so this sends a
//! hand-built ClientHello offering TLS 1.1 (and 1.0) with CBC suites and reads the first record.

use std::net::SocketAddr;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// What the server did with a legacy ClientHello.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LegacyTlsOutcome {
    /// It answered with a ServerHello: the legacy version is still enabled.
    Accepted { version: String },
    /// It answered with an alert or closed the connection.
    Refused { how: String },
    /// We could not tell (no connection, timeout, garbage).
    Unknown { message: String },
}

const CBC_SUITES: [u16; 9] = [0xc013, 0xc014, 0xc009, 0xc00a, 0x002f, 0x0035, 0x0033, 0x0039, 0x000a];

/// Builds a ClientHello whose highest version is TLS 1.1, in a TLS 1.0 record.
pub fn legacy_client_hello(host: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(&[0x03, 0x02]); // client_version TLS 1.1
    let random = ring_random();
    body.extend_from_slice(&random);
    body.push(0); // session id
    body.extend_from_slice(&((CBC_SUITES.len() * 2) as u16).to_be_bytes());
    for suite in CBC_SUITES {
        body.extend_from_slice(&suite.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null

    let mut extensions = Vec::new();
    let name = host.as_bytes();
    if name.len() < 256 {
        let name_len = name.len() as u16;
        extensions.extend_from_slice(&0x0000u16.to_be_bytes());
        extensions.extend_from_slice(&(name_len + 5).to_be_bytes());
        extensions.extend_from_slice(&(name_len + 3).to_be_bytes());
        extensions.push(0);
        extensions.extend_from_slice(&name_len.to_be_bytes());
        extensions.extend_from_slice(name);
    }
    // supported_groups: secp256r1, secp384r1, x25519
    extensions.extend_from_slice(&[0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x17, 0x00, 0x18, 0x00, 0x1d]);
    // ec_point_formats: uncompressed
    extensions.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    // renegotiation_info (empty)
    extensions.extend_from_slice(&[0xff, 0x01, 0x00, 0x01, 0x00]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);

    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);

    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

fn ring_random() -> [u8; 32] {
    use ring::rand::SecureRandom;
    let mut random = [0u8; 32];
    // A fixed pattern is still a valid hello if the system RNG is unavailable.
    let _ = ring::rand::SystemRandom::new().fill(&mut random);
    random
}

/// Reads the server's first record and decides.
pub fn interpret_first_record(bytes: &[u8]) -> LegacyTlsOutcome {
    if bytes.is_empty() {
        return LegacyTlsOutcome::Refused {
            how: "connection closed".into(),
        };
    }
    if bytes.len() < 5 {
        return LegacyTlsOutcome::Unknown {
            message: format!("short answer ({} bytes)", bytes.len()),
        };
    }
    match bytes[0] {
        0x15 => {
            let description = bytes.get(6).copied().unwrap_or(0);
            LegacyTlsOutcome::Refused {
                how: format!("alert {}", alert_name(description)),
            }
        }
        0x16 if bytes.len() >= 11 && bytes[5] == 0x02 => {
            let version = u16::from_be_bytes([bytes[9], bytes[10]]);
            match version {
                0x0301 => LegacyTlsOutcome::Accepted {
                    version: "TLS 1.0".into(),
                },
                0x0302 => LegacyTlsOutcome::Accepted {
                    version: "TLS 1.1".into(),
                },
                0x0300 => LegacyTlsOutcome::Accepted {
                    version: "SSL 3.0".into(),
                },
                other => LegacyTlsOutcome::Refused {
                    how: format!("server chose version {other:#06x}"),
                },
            }
        }
        other => LegacyTlsOutcome::Unknown {
            message: format!("unexpected record type {other:#04x}"),
        },
    }
}

fn alert_name(description: u8) -> String {
    match description {
        40 => "handshake_failure".into(),
        47 => "illegal_parameter".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        112 => "unrecognized_name".into(),
        other => other.to_string(),
    }
}

/// Connects to `addr`, sends the legacy hello and reads at most one record's start.
pub async fn probe_legacy_tls(addr: SocketAddr, host: &str, deadline: Instant) -> LegacyTlsOutcome {
    let attempt = async {
        let mut stream = match TcpStream::connect(addr).await {
            Ok(stream) => stream,
            Err(err) => {
                return LegacyTlsOutcome::Unknown {
                    message: format!("connect: {err}"),
                }
            }
        };
        if let Err(err) = stream.write_all(&legacy_client_hello(host)).await {
            return LegacyTlsOutcome::Refused {
                how: format!("write failed: {err}"),
            };
        }
        let mut buffer = [0u8; 16];
        let mut filled = 0;
        while filled < 11 {
            match stream.read(&mut buffer[filled..]).await {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(err) if filled == 0 => {
                    return LegacyTlsOutcome::Refused {
                        how: format!("connection reset: {err}"),
                    }
                }
                Err(_) => break,
            }
            if buffer[0] == 0x15 && filled >= 7 {
                break;
            }
        }
        interpret_first_record(&buffer[..filled])
    };
    tokio::time::timeout_at(deadline, attempt)
        .await
        .unwrap_or_else(|_| LegacyTlsOutcome::Unknown {
            message: "timeout".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_a_well_formed_record() {
        let hello = legacy_client_hello("a.gov.vn");
        assert_eq!(hello[0], 0x16);
        let record_len = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        assert_eq!(record_len, hello.len() - 5);
        assert_eq!(hello[5], 0x01);
        assert_eq!(&hello[9..11], &[0x03, 0x02]);
        assert!(hello.windows(8).any(|w| w == b"a.gov.vn"));
    }

    #[test]
    fn reads_server_hello_and_alerts() {
        let server_hello = [0x16, 0x03, 0x01, 0x00, 0x31, 0x02, 0x00, 0x00, 0x2d, 0x03, 0x01];
        assert_eq!(
            interpret_first_record(&server_hello),
            LegacyTlsOutcome::Accepted {
                version: "TLS 1.0".into()
            }
        );
        let alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70];
        assert_eq!(
            interpret_first_record(&alert),
            LegacyTlsOutcome::Refused {
                how: "alert protocol_version".into()
            }
        );
        assert!(matches!(interpret_first_record(&[]), LegacyTlsOutcome::Refused { .. }));
        assert!(matches!(
            interpret_first_record(b"HTTP/1.1 400"),
            LegacyTlsOutcome::Unknown { .. }
        ));
    }
}
