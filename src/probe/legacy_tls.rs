//! Tells whether a server still accepts TLS 1.0/1.1, and what a server that refuses rustls'
//! TLS 1.2 suites does offer. rustls speaks neither, so this sends a hand-built ClientHello and
//! reads the ServerHello (version and chosen suite) out of the first record.

use std::net::SocketAddr;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    /// This monitor has no route to the address: not tested from here.
    NoRoute { message: String },
}

/// The legacy outcome of one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddressLegacyTls {
    pub ip: std::net::IpAddr,
    #[serde(flatten)]
    pub outcome: LegacyTlsOutcome,
}

const CBC_SUITES: [u16; 9] = [0xc013, 0xc014, 0xc009, 0xc00a, 0x002f, 0x0035, 0x0033, 0x0039, 0x000a];

/// TLS 1.2 suites browsers may still use but rustls does not: CBC, static RSA, DHE, 3DES, RC4
/// and NULL. Offered only to a server that refused rustls, to name what it does offer.
const OBSOLETE_TLS12_SUITES: [(u16, &str); 24] = [
    (0xc027, "ECDHE-RSA-AES128-SHA256 (CBC)"),
    (0xc028, "ECDHE-RSA-AES256-SHA384 (CBC)"),
    (0xc013, "ECDHE-RSA-AES128-SHA (CBC)"),
    (0xc014, "ECDHE-RSA-AES256-SHA (CBC)"),
    (0xc023, "ECDHE-ECDSA-AES128-SHA256 (CBC)"),
    (0xc009, "ECDHE-ECDSA-AES128-SHA (CBC)"),
    (0xc00a, "ECDHE-ECDSA-AES256-SHA (CBC)"),
    (0x009e, "DHE-RSA-AES128-GCM-SHA256 (DHE)"),
    (0x009f, "DHE-RSA-AES256-GCM-SHA384 (DHE)"),
    (0x0067, "DHE-RSA-AES128-SHA256 (DHE, CBC)"),
    (0x0033, "DHE-RSA-AES128-SHA (DHE, CBC)"),
    (0x0039, "DHE-RSA-AES256-SHA (DHE, CBC)"),
    (0x009c, "AES128-GCM-SHA256 (static RSA)"),
    (0x009d, "AES256-GCM-SHA384 (static RSA)"),
    (0x003c, "AES128-SHA256 (static RSA, CBC)"),
    (0x002f, "AES128-SHA (static RSA, CBC)"),
    (0x0035, "AES256-SHA (static RSA, CBC)"),
    (0x000a, "DES-CBC3-SHA (3DES)"),
    (0x0005, "RC4-SHA (RC4)"),
    (0x0004, "RC4-MD5 (RC4)"),
    (0x003b, "NULL-SHA256 (no encryption)"),
    (0x0002, "NULL-SHA (no encryption)"),
    (0x0001, "NULL-MD5 (no encryption)"),
    (0x00ff, "renegotiation SCSV"),
];

/// Builds a ClientHello whose highest version is TLS 1.1, in a TLS 1.0 record.
pub fn legacy_client_hello(host: &str) -> Vec<u8> {
    client_hello(host, 0x0302, &CBC_SUITES)
}

/// Builds a ClientHello for `version` offering `suites`.
fn client_hello(host: &str, version: u16, suites: &[u16]) -> Vec<u8> {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(&version.to_be_bytes());
    let random = ring_random();
    body.extend_from_slice(&random);
    body.push(0); // session id
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for suite in suites {
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
    if version >= 0x0303 {
        // signature_algorithms: rsa_pkcs1 sha256/384/512/sha1, ecdsa p256/p384/sha1, rsa_pss sha256
        let schemes: [u16; 8] = [0x0401, 0x0501, 0x0601, 0x0201, 0x0403, 0x0503, 0x0203, 0x0804];
        extensions.extend_from_slice(&0x000du16.to_be_bytes());
        extensions.extend_from_slice(&((schemes.len() * 2 + 2) as u16).to_be_bytes());
        extensions.extend_from_slice(&((schemes.len() * 2) as u16).to_be_bytes());
        for scheme in schemes {
            extensions.extend_from_slice(&scheme.to_be_bytes());
        }
    }
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

/// The suite a ServerHello chose, when the record holds enough of it.
pub fn chosen_suite(bytes: &[u8]) -> Option<u16> {
    if bytes.len() < 44 || bytes[0] != 0x16 || bytes[5] != 0x02 {
        return None;
    }
    let session_len = usize::from(bytes[43]);
    let at = 44 + session_len;
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// A readable name for a suite we offered.
pub fn suite_name(code: u16) -> String {
    OBSOLETE_TLS12_SUITES
        .iter()
        .find(|(suite, _)| *suite == code)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| format!("suite {code:#06x}"))
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

/// Connects to `addr`, sends `hello` and reads the start of the first record (enough for a
/// ServerHello's version and suite).
async fn first_record(addr: SocketAddr, hello: &[u8], deadline: Instant) -> Result<Vec<u8>, LegacyTlsOutcome> {
    let attempt = async {
        let mut stream = match super::politeness::connect(addr, None).await {
            Ok(stream) => stream,
            Err(err) => {
                if super::route::may_be_local(&err) {
                    if let Err(message) = super::route::monitor_route(addr.ip()) {
                        return Err(LegacyTlsOutcome::NoRoute { message });
                    }
                }
                return Err(LegacyTlsOutcome::Unknown {
                    message: format!("could not connect: {err}"),
                });
            }
        };
        first_record_on(&mut stream, hello).await
    };
    tokio::time::timeout_at(deadline, attempt).await.unwrap_or_else(|_| {
        Err(LegacyTlsOutcome::Unknown {
            message: "no answer within the timeout".into(),
        })
    })
}

/// Sends `hello` on a connection that is ready for a TLS handshake (fresh, or after SMTP's
/// STARTTLS) and reads the start of the server's first record. The caller bounds the time.
pub async fn first_record_on<S>(stream: &mut S, hello: &[u8]) -> Result<Vec<u8>, LegacyTlsOutcome>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(err) = stream.write_all(hello).await {
        return Err(LegacyTlsOutcome::Refused {
            how: format!("write failed: {err}"),
        });
    }
    let mut buffer = [0u8; 96];
    let mut filled = 0;
    while filled < buffer.len() {
        match stream.read(&mut buffer[filled..]).await {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(err) if filled == 0 => {
                return Err(LegacyTlsOutcome::Refused {
                    how: format!("connection reset: {err}"),
                })
            }
            Err(_) => break,
        }
        if buffer[0] == 0x15 && filled >= 7 {
            break;
        }
        if buffer[0] == 0x16 && chosen_suite(&buffer[..filled]).is_some() {
            break;
        }
    }
    Ok(buffer[..filled].to_vec())
}

/// A TLS 1.2 ClientHello offering only `suites`: whatever the server chooses is one of them.
pub fn tls12_hello(host: &str, suites: &[u16]) -> Vec<u8> {
    client_hello(host, 0x0303, suites)
}

/// A ClientHello whose highest version is TLS 1.0.
pub fn tls10_hello(host: &str) -> Vec<u8> {
    client_hello(host, 0x0301, &CBC_SUITES)
}

/// Whether the server at `addr` still accepts TLS 1.1 or 1.0. When 1.1 is accepted a second
/// hello asks for 1.0, so the reason can say "accepts TLS 1.1 and TLS 1.0" rather than hide one.
pub async fn probe_legacy_tls(addr: SocketAddr, host: &str, deadline: Instant) -> LegacyTlsOutcome {
    let first = match first_record(addr, &legacy_client_hello(host), deadline).await {
        Ok(bytes) => interpret_first_record(&bytes),
        Err(outcome) => return outcome,
    };
    let LegacyTlsOutcome::Accepted { version } = &first else {
        return first;
    };
    if version != "TLS 1.1" {
        return first;
    }
    match first_record(addr, &tls10_hello(host), deadline).await {
        Ok(bytes) => match interpret_first_record(&bytes) {
            LegacyTlsOutcome::Accepted { version: older } if older == "TLS 1.0" => LegacyTlsOutcome::Accepted {
                version: "TLS 1.1 and TLS 1.0".into(),
            },
            _ => first,
        },
        Err(_) => first,
    }
}

/// What a server that refused rustls' TLS 1.2/1.3 offers: `Some(suite name)` when it accepts a
/// TLS 1.2 hello with obsolete suites (browsers still reach it), `None` when it refuses that too.
pub async fn probe_obsolete_suites(addr: SocketAddr, host: &str, deadline: Instant) -> Option<String> {
    let suites: Vec<u16> = OBSOLETE_TLS12_SUITES.iter().map(|(code, _)| *code).collect();
    let bytes = first_record(addr, &client_hello(host, 0x0303, &suites), deadline)
        .await
        .ok()?;
    chosen_suite(&bytes).map(suite_name)
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
