//! Hand-built ClientHellos and a reader for what the server sends back before encryption
//! starts: the ServerHello (version, suite, compression, extensions, the TLS 1.3 key-share
//! group or a HelloRetryRequest) and, for TLS 1.2, the ServerKeyExchange (named curve or DH
//! prime size, and the signature algorithm). The deep TLS scan asks its questions with these;
//! no handshake is ever finished, so nothing here needs the keys.

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const TLS12: u16 = 0x0303;
pub const TLS13: u16 = 0x0304;

/// Groups (RFC 8446 §4.2.7, RFC 7919, draft-kwiatkowski-tls-ecdhe-mlkem).
pub const X25519: u16 = 0x001d;
pub const X448: u16 = 0x001e;
pub const SECP256R1: u16 = 0x0017;
pub const SECP384R1: u16 = 0x0018;
pub const SECP521R1: u16 = 0x0019;
pub const SECP224R1: u16 = 0x0015;
pub const X25519_MLKEM768: u16 = 0x11ec;

/// Signature schemes a modern client offers, and the weak ones asked about alone.
pub const MODERN_SIGALGS: [u16; 9] = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601];
pub const SHA1_SIGALGS: [u16; 3] = [0x0201, 0x0203, 0x0202];
pub const SHA224_SIGALGS: [u16; 3] = [0x0301, 0x0303, 0x0302];

/// What to put in one ClientHello.
#[derive(Clone, Debug)]
pub struct HelloSpec<'a> {
    pub host: &'a str,
    /// TLS 1.2 or 1.3 (then TLS 1.3 only, through `supported_versions`).
    pub version: u16,
    pub suites: &'a [u16],
    pub groups: &'a [u16],
    pub sigalgs: &'a [u16],
    /// Offer DEFLATE beside the null compression method.
    pub compression: bool,
    /// Ask for RFC 7627's extended master secret.
    pub extended_master_secret: bool,
    /// RFC 5746 `renegotiation_info` of a renegotiating hello (the client's last verify_data);
    /// `None` for an initial hello (an empty extension and the SCSV).
    pub renegotiation_info: Option<&'a [u8]>,
}

impl<'a> HelloSpec<'a> {
    /// A TLS 1.2 hello offering `suites` with a modern client's groups and signatures.
    pub fn tls12(host: &'a str, suites: &'a [u16]) -> HelloSpec<'a> {
        HelloSpec {
            host,
            version: TLS12,
            suites,
            groups: &[X25519, SECP256R1, SECP384R1, SECP521R1, X448],
            sigalgs: &MODERN_SIGALGS,
            compression: false,
            extended_master_secret: true,
            renegotiation_info: None,
        }
    }
}

/// The bytes of one ClientHello record.
pub fn client_hello(spec: &HelloSpec<'_>) -> Vec<u8> {
    let mut body = Vec::with_capacity(512);
    body.extend_from_slice(&TLS12.min(spec.version).to_be_bytes());
    body.extend_from_slice(&random_bytes());
    // A session id makes middleboxes treat a TLS 1.3 hello as a 1.2 resumption (RFC 8446 D.4).
    body.push(32);
    body.extend_from_slice(&random_bytes());
    let mut suites = spec.suites.to_vec();
    if spec.version == TLS12 && spec.renegotiation_info.is_none() {
        suites.push(0x00ff); // renegotiation SCSV (RFC 5746)
    }
    push_u16_list(&mut body, &suites);
    match spec.compression {
        true => body.extend_from_slice(&[2, 1, 0]),
        false => body.extend_from_slice(&[1, 0]),
    }
    let mut extensions = Vec::new();
    let name = spec.host.as_bytes();
    if !name.is_empty() && name.len() < 256 && spec.host.parse::<std::net::IpAddr>().is_err() {
        let mut list = vec![0];
        list.extend_from_slice(&(name.len() as u16).to_be_bytes());
        list.extend_from_slice(name);
        let mut data = (list.len() as u16).to_be_bytes().to_vec();
        data.extend_from_slice(&list);
        push_extension(&mut extensions, 0x0000, &data);
    }
    let mut groups = Vec::new();
    push_u16_list(&mut groups, spec.groups);
    push_extension(&mut extensions, 0x000a, &groups);
    push_extension(&mut extensions, 0x000b, &[1, 0]);
    let mut sigalgs = Vec::new();
    push_u16_list(&mut sigalgs, spec.sigalgs);
    push_extension(&mut extensions, 0x000d, &sigalgs);
    if spec.extended_master_secret {
        push_extension(&mut extensions, 0x0017, &[]);
    }
    if spec.version == TLS13 {
        push_extension(&mut extensions, 0x002b, &[2, 0x03, 0x04]);
        // One X25519 share (any 32 bytes are a public key); another group gets a
        // HelloRetryRequest naming it, which is all the scan needs to know.
        let mut share = Vec::new();
        if spec.groups.contains(&X25519) {
            share.extend_from_slice(&X25519.to_be_bytes());
            share.extend_from_slice(&32u16.to_be_bytes());
            share.extend_from_slice(&random_bytes());
        }
        let mut data = (share.len() as u16).to_be_bytes().to_vec();
        data.extend_from_slice(&share);
        push_extension(&mut extensions, 0x0033, &data);
        push_extension(&mut extensions, 0x002d, &[1, 1]);
    } else {
        let verify_data = spec.renegotiation_info.unwrap_or_default();
        let data = [&[verify_data.len() as u8][..], verify_data].concat();
        push_extension(&mut extensions, 0xff01, &data);
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

fn push_u16_list(out: &mut Vec<u8>, values: &[u16]) {
    out.extend_from_slice(&((values.len() * 2) as u16).to_be_bytes());
    for value in values {
        out.extend_from_slice(&value.to_be_bytes());
    }
}

fn push_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

fn random_bytes() -> [u8; 32] {
    use ring::rand::SecureRandom;
    let mut random = [0u8; 32];
    let _ = ring::rand::SystemRandom::new().fill(&mut random);
    random
}

/// RFC 8446 §4.1.3: the ServerHello random that marks a HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What the server answered a hello with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum ServerAnswer {
    Hello(ServerHello),
    /// A TLS alert (its description code) or a closed connection (`None`).
    Refused {
        alert: Option<u8>,
    },
}

/// The ServerHello and, for TLS 1.2, the key exchange after it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServerHello {
    /// The negotiated version (`supported_versions` when present).
    pub version: u16,
    pub suite: u16,
    pub compression: u8,
    pub extensions: Vec<u16>,
    /// TLS 1.3: the group of the server's key share, or the one a HelloRetryRequest asks for.
    pub group: Option<u16>,
    pub retry_request: bool,
    /// TLS 1.2 ServerKeyExchange: the named curve (ECDHE).
    pub ske_curve: Option<u16>,
    /// TLS 1.2 ServerKeyExchange: the DH prime's size in bits (DHE).
    pub ske_dh_bits: Option<usize>,
    /// TLS 1.2 ServerKeyExchange: the signature scheme it is signed with.
    pub ske_sigalg: Option<u16>,
}

impl ServerHello {
    pub fn has_extension(&self, kind: u16) -> bool {
        self.extensions.contains(&kind)
    }
}

/// The reader gives up beyond this many handshake bytes (a certificate chain fits well within).
const MAX_FLIGHT: usize = 96 * 1024;

/// Sends `hello` on `stream` and reads the server's answer up to the ServerHello (TLS 1.3) or
/// the ServerHelloDone (TLS 1.2). The caller bounds the time.
pub async fn exchange<S>(stream: &mut S, hello: &[u8]) -> std::io::Result<ServerAnswer>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    stream.write_all(hello).await?;
    let mut handshake = Vec::new();
    let mut hello: Option<ServerHello> = None;
    loop {
        let mut header = [0u8; 5];
        if let Err(err) = stream.read_exact(&mut header).await {
            return match (err.kind(), hello) {
                (std::io::ErrorKind::UnexpectedEof, Some(found)) => Ok(ServerAnswer::Hello(found)),
                (std::io::ErrorKind::UnexpectedEof, None) => Ok(ServerAnswer::Refused { alert: None }),
                (std::io::ErrorKind::ConnectionReset, None) => Ok(ServerAnswer::Refused { alert: None }),
                (_, Some(found)) => Ok(ServerAnswer::Hello(found)),
                _ => Err(err),
            };
        }
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if length > 18 * 1024 {
            return Err(invalid("record longer than TLS allows"));
        }
        let mut record = vec![0u8; length];
        stream.read_exact(&mut record).await?;
        match header[0] {
            0x15 => {
                return Ok(match hello {
                    Some(found) => ServerAnswer::Hello(found),
                    None => ServerAnswer::Refused {
                        alert: record.get(1).copied(),
                    },
                })
            }
            0x16 => handshake.extend_from_slice(&record),
            // ChangeCipherSpec (TLS 1.3 middlebox compatibility) or encrypted data: the
            // readable part is over.
            _ => return hello.map(ServerAnswer::Hello).ok_or_else(|| invalid("no ServerHello")),
        }
        if handshake.len() > MAX_FLIGHT {
            return hello.map(ServerAnswer::Hello).ok_or_else(|| invalid("flight too long"));
        }
        // Walk the complete handshake messages so far.
        let mut at = 0;
        while let Some((kind, body)) = message_at(&handshake, at) {
            at += 4 + body.len();
            match kind {
                2 => {
                    let parsed = parse_server_hello(body).ok_or_else(|| invalid("unreadable ServerHello"))?;
                    if parsed.version == TLS13 || parsed.retry_request {
                        return Ok(ServerAnswer::Hello(parsed));
                    }
                    hello = Some(parsed);
                }
                12 => {
                    if let Some(found) = hello.as_mut() {
                        read_key_exchange(found, body);
                    }
                }
                14 => return hello.map(ServerAnswer::Hello).ok_or_else(|| invalid("no ServerHello")),
                _ => {}
            }
        }
        handshake.drain(..at);
    }
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_string())
}

/// The handshake message starting at `at`, when it is complete.
fn message_at(bytes: &[u8], at: usize) -> Option<(u8, &[u8])> {
    let kind = *bytes.get(at)?;
    let length = usize::from(*bytes.get(at + 1)?) << 16
        | usize::from(*bytes.get(at + 2)?) << 8
        | usize::from(*bytes.get(at + 3)?);
    let body = bytes.get(at + 4..at + 4 + length)?;
    Some((kind, body))
}

/// Parses a ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut reader = Reader(body);
    let legacy_version = reader.u16()?;
    let random = reader.take(32)?;
    let session = usize::from(reader.u8()?);
    reader.take(session)?;
    let suite = reader.u16()?;
    let compression = reader.u8()?;
    let mut found = ServerHello {
        version: legacy_version,
        suite,
        compression,
        retry_request: random == HRR_RANDOM,
        ..ServerHello::default()
    };
    if reader.0.is_empty() {
        return Some(found);
    }
    let extensions = usize::from(reader.u16()?);
    let mut extensions = Reader(reader.take(extensions)?);
    while !extensions.0.is_empty() {
        let kind = extensions.u16()?;
        let length = usize::from(extensions.u16()?);
        let data = extensions.take(length)?;
        found.extensions.push(kind);
        match kind {
            0x002b if data.len() == 2 => found.version = u16::from_be_bytes([data[0], data[1]]),
            0x0033 if data.len() >= 2 => found.group = Some(u16::from_be_bytes([data[0], data[1]])),
            _ => {}
        }
    }
    Some(found)
}

/// Reads the ECDHE curve or DHE prime size, and the signature scheme, of a ServerKeyExchange.
fn read_key_exchange(hello: &mut ServerHello, body: &[u8]) {
    let name = crate::model::cipher_suites::by_code(hello.suite)
        .map(|s| s.name)
        .unwrap_or_default();
    let mut reader = Reader(body);
    if name.starts_with("ECDHE") || name.starts_with("AECDH") {
        if reader.u8() != Some(3) {
            return;
        }
        hello.ske_curve = reader.u16();
        let point = reader.u8().map(usize::from);
        if let Some(point) = point {
            reader.take(point);
        }
    } else if name.starts_with("DHE") || name.starts_with("ADH") || name.starts_with("EXP-EDH") {
        let Some(p) = reader.u16().map(usize::from).and_then(|len| reader.take(len)) else {
            return;
        };
        let leading = p.iter().take_while(|b| **b == 0).count();
        let bits = p
            .get(leading)
            .map(|first| (p.len() - leading) * 8 - first.leading_zeros() as usize);
        hello.ske_dh_bits = bits;
        for _ in 0..2 {
            let Some(len) = reader.u16().map(usize::from) else {
                return;
            };
            reader.take(len);
        }
    } else {
        return;
    }
    if hello.version == TLS12 && !name.starts_with('A') {
        hello.ske_sigalg = reader.u16();
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

/// A readable name for a group.
pub fn group_name(group: u16) -> String {
    match group {
        X25519 => "X25519".into(),
        X448 => "X448".into(),
        SECP256R1 => "secp256r1".into(),
        SECP384R1 => "secp384r1".into(),
        SECP521R1 => "secp521r1".into(),
        SECP224R1 => "secp224r1".into(),
        X25519_MLKEM768 => "X25519MLKEM768".into(),
        0x001a => "brainpoolP256r1".into(),
        0x001b => "brainpoolP384r1".into(),
        0x001c => "brainpoolP512r1".into(),
        0x0100 => "ffdhe2048".into(),
        0x0101 => "ffdhe3072".into(),
        0x0102 => "ffdhe4096".into(),
        other => format!("group {other:#06x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_hello(version: u16, suite: u16, extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = 0x0303u16.to_be_bytes().to_vec();
        body.extend_from_slice(&[7u8; 32]);
        body.push(0);
        body.extend_from_slice(&suite.to_be_bytes());
        body.push(0);
        let mut ext = Vec::new();
        for (kind, data) in extensions {
            push_extension(&mut ext, *kind, data);
        }
        if version == TLS13 {
            push_extension(&mut ext, 0x002b, &[0x03, 0x04]);
        }
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        body
    }

    #[test]
    fn hellos_are_well_formed_records() {
        let suites = [0xc02f, 0x009c];
        let hello = client_hello(&HelloSpec::tls12("a.gov.vn", &suites));
        assert_eq!(hello[0], 0x16);
        assert_eq!(usize::from(u16::from_be_bytes([hello[3], hello[4]])), hello.len() - 5);
        assert_eq!(hello[5], 0x01);
        assert!(hello.windows(8).any(|w| w == b"a.gov.vn"));
        let spec = HelloSpec {
            version: TLS13,
            ..HelloSpec::tls12("a.gov.vn", &[0x1301])
        };
        let hello = client_hello(&spec);
        assert!(
            hello.windows(5).any(|w| w == [0x00, 0x2b, 0x00, 0x03, 0x02]),
            "supported_versions"
        );
    }

    #[test]
    fn server_hellos_parse_with_their_extensions() {
        let body = server_hello(TLS12, 0xc02f, &[(0xff01, vec![0]), (0x0017, vec![])]);
        let parsed = parse_server_hello(&body).expect("parses");
        assert_eq!((parsed.version, parsed.suite), (TLS12, 0xc02f));
        assert!(parsed.has_extension(0xff01) && parsed.has_extension(0x0017));
        let body = server_hello(TLS13, 0x1301, &[(0x0033, vec![0x00, 0x1d, 0x00, 0x20])]);
        let parsed = parse_server_hello(&body).expect("parses");
        assert_eq!((parsed.version, parsed.group), (TLS13, Some(X25519)));
        assert_eq!(parse_server_hello(&body[..20]), None);
    }

    #[test]
    fn key_exchanges_give_their_curve_or_prime_size() {
        let mut hello = ServerHello {
            version: TLS12,
            suite: 0xc02f,
            ..ServerHello::default()
        };
        read_key_exchange(&mut hello, &[3, 0x00, 0x17, 1, 4, 0x08, 0x04]);
        assert_eq!((hello.ske_curve, hello.ske_sigalg), (Some(SECP256R1), Some(0x0804)));
        let mut hello = ServerHello {
            version: TLS12,
            suite: 0x009e,
            ..ServerHello::default()
        };
        let mut body = 256u16.to_be_bytes().to_vec();
        body.push(0x80);
        body.extend_from_slice(&[0xff; 255]);
        body.extend_from_slice(&[0, 1, 2, 0, 1, 9, 0x02, 0x01]);
        read_key_exchange(&mut hello, &body);
        assert_eq!((hello.ske_dh_bits, hello.ske_sigalg), (Some(2048), Some(0x0201)));
    }
}
