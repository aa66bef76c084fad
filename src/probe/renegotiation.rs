//! Whether a server accepts a renegotiation the client starts (the TLS 1.2 "client-initiated
//! renegotiation" denial-of-service lever). rustls cannot renegotiate, so this is a minimal
//! TLS 1.2 client of its own: ECDHE (X25519 or P-256) with AES-128-GCM, a full handshake (the server's
//! certificate is not judged here), then a second ClientHello, encrypted, carrying the RFC 5746
//! `renegotiation_info`. A ServerHello back means the server renegotiates; an alert or a closed
//! connection means it refuses. Nothing is sent after that.

use std::net::SocketAddr;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use ring::agreement::{agree_ephemeral, EphemeralPrivateKey, UnparsedPublicKey, ECDH_P256, X25519 as X25519_ALG};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::politeness::PoliteStream;
use tokio::time::Instant;

use super::tls_hello::{client_hello, HelloSpec, SECP256R1, X25519};

/// How long a server may stay silent after the renegotiating hello before that counts as a
/// refusal.
const SILENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// The suites this client speaks (ECDHE with AES-128-GCM, RSA or ECDSA certificates).
const SUITES: [u16; 2] = [0xc02f, 0xc02b];

/// `Ok(true)` when the server answered the client's renegotiation with a ServerHello.
pub async fn accepted(address: SocketAddr, host: &str, deadline: Instant) -> Result<bool, String> {
    tokio::time::timeout_at(deadline, attempt(address, host))
        .await
        .unwrap_or_else(|_| Err("timeout".into()))
}

async fn attempt(address: SocketAddr, host: &str) -> Result<bool, String> {
    let rng = ring::rand::SystemRandom::new();
    let x25519 = EphemeralPrivateKey::generate(&X25519_ALG, &rng).map_err(|_| "key generation")?;
    let p256 = EphemeralPrivateKey::generate(&ECDH_P256, &rng).map_err(|_| "key generation")?;
    // P-256 is offered too: a TLS 1.2 server with an ECDSA P-256 certificate (OpenSSL) refuses
    // a client whose groups do not include its certificate's curve.
    let spec = HelloSpec {
        groups: &[X25519, SECP256R1],
        extended_master_secret: false,
        ..HelloSpec::tls12(host, &SUITES)
    };
    let hello = client_hello(&spec);
    let client_random = hello.get(11..43).ok_or("hello")?.to_vec();
    let mut stream = super::politeness::connect(address, None)
        .await
        .map_err(|err| err.to_string())?;
    stream.write_all(&hello).await.map_err(|err| err.to_string())?;
    let mut transcript = hello[5..].to_vec();

    // The server's flight, up to ServerHelloDone.
    let mut reader = Records::default();
    let mut server_random = Vec::new();
    let mut server_key = Vec::new();
    let mut server_group = 0u16;
    let mut suite = 0u16;
    loop {
        let (kind, body, raw) = reader.handshake(&mut stream).await?;
        transcript.extend_from_slice(raw.as_slice());
        match kind {
            2 => {
                server_random = body.get(2..34).ok_or("ServerHello")?.to_vec();
                let session = usize::from(*body.get(34).ok_or("ServerHello")?);
                let at = 35 + session;
                suite = u16::from_be_bytes([*body.get(at).ok_or("suite")?, *body.get(at + 1).ok_or("suite")?]);
            }
            12 => {
                // curve_type 3, named_curve, point length, point
                if body.first() != Some(&3) {
                    return Err("the server's key exchange names no curve".into());
                }
                server_group =
                    u16::from_be_bytes([*body.get(1).ok_or("key exchange")?, *body.get(2).ok_or("key exchange")?]);
                let length = usize::from(*body.get(3).ok_or("key exchange")?);
                server_key = body.get(4..4 + length).ok_or("key exchange")?.to_vec();
            }
            14 => break,
            _ => {}
        }
    }
    if !SUITES.contains(&suite) || server_random.len() != 32 {
        return Err("no ECDHE-AES128-GCM handshake to renegotiate".into());
    }
    let (private, algorithm) = match server_group {
        X25519 => (x25519, &X25519_ALG),
        SECP256R1 => (p256, &ECDH_P256),
        other => return Err(format!("the server chose group {other:#06x}, neither X25519 nor P-256")),
    };
    let public = private.compute_public_key().map_err(|_| "key generation")?;
    let pre_master = agree_ephemeral(private, &UnparsedPublicKey::new(algorithm, &server_key), |shared| {
        shared.to_vec()
    })
    .map_err(|_| "key agreement")?;
    let master = prf(
        &pre_master,
        b"master secret",
        &[&client_random[..], &server_random[..]].concat(),
        48,
    );
    let keys = prf(
        &master,
        b"key expansion",
        &[&server_random[..], &client_random[..]].concat(),
        40,
    );
    let (client_key, server_write_key) = (&keys[0..16], &keys[16..32]);
    let (client_iv, server_iv) = (&keys[32..36], &keys[36..40]);

    // ClientKeyExchange, ChangeCipherSpec, Finished.
    let key = public.as_ref();
    let length = u8::try_from(key.len()).map_err(|_| "key length")?;
    let mut exchange = vec![16, 0, 0, length + 1, length];
    exchange.extend_from_slice(key);
    transcript.extend_from_slice(&exchange);
    let mut flight = record(22, &exchange);
    flight.extend_from_slice(&record(20, &[1]));
    let digest = ring::digest::digest(&ring::digest::SHA256, &transcript);
    let verify_data = prf(&master, b"client finished", digest.as_ref(), 12);
    let mut finished = vec![20, 0, 0, 12];
    finished.extend_from_slice(&verify_data);
    let mut sealer = Sealer::new(client_key, client_iv)?;
    flight.extend_from_slice(&sealer.seal(22, &finished)?);
    stream.write_all(&flight).await.map_err(|err| err.to_string())?;

    // The server's ChangeCipherSpec and Finished.
    let mut opener = Sealer::new(server_write_key, server_iv)?;
    let (kind, _) = reader.record(&mut stream).await?;
    if kind != 20 {
        return Err(format!("the server ended the handshake with record type {kind}"));
    }
    let (kind, sealed) = reader.record(&mut stream).await?;
    if kind != 22 || opener.open(22, &sealed).is_err() {
        return Err("the server's Finished could not be read".into());
    }

    // Renegotiate: a new ClientHello with our verify_data, encrypted.
    let renegotiation = HelloSpec {
        renegotiation_info: Some(&verify_data),
        ..spec.clone()
    };
    let again = client_hello(&renegotiation);
    stream
        .write_all(&sealer.seal(22, &again[5..])?)
        .await
        .map_err(|err| err.to_string())?;
    // A server that ignores the hello (rustls does) renegotiates no more than one that refuses:
    // its silence is not waited out to the audit's deadline.
    let answer = tokio::time::timeout(SILENCE, reader.record(&mut stream)).await;
    let Ok(answer) = answer else {
        return Ok(false);
    };
    match answer {
        Err(_) => Ok(false),
        Ok((21, _)) => Ok(false),
        Ok((22, sealed)) => {
            let plain = opener
                .open(22, &sealed)
                .map_err(|_| "unreadable answer to the renegotiation")?;
            Ok(plain.first() == Some(&2))
        }
        Ok((kind, _)) => Err(format!("unexpected record type {kind} after the renegotiation")),
    }
}

/// TLS 1.2's PRF with SHA-256 (RFC 5246 §5).
fn prf(secret: &[u8], label: &[u8], seed: &[u8], length: usize) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let seed = [label, seed].concat();
    let mut a = ring::hmac::sign(&key, &seed).as_ref().to_vec();
    let mut out = Vec::with_capacity(length + 32);
    while out.len() < length {
        out.extend_from_slice(ring::hmac::sign(&key, &[&a[..], &seed[..]].concat()).as_ref());
        a = ring::hmac::sign(&key, &a).as_ref().to_vec();
    }
    out.truncate(length);
    out
}

fn record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, 0x03, 0x03];
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// AES-128-GCM records of one direction (RFC 5288): an explicit 8-byte nonce per record.
struct Sealer {
    key: LessSafeKey,
    iv: [u8; 4],
    sequence: u64,
}

impl Sealer {
    fn new(key: &[u8], iv: &[u8]) -> Result<Sealer, String> {
        let key = UnboundKey::new(&AES_128_GCM, key).map_err(|_| "record key")?;
        let iv: [u8; 4] = iv.try_into().map_err(|_| "record iv")?;
        Ok(Sealer {
            key: LessSafeKey::new(key),
            iv,
            sequence: 0,
        })
    }

    fn aad(&self, kind: u8, length: usize) -> [u8; 13] {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&self.sequence.to_be_bytes());
        aad[8] = kind;
        aad[9..11].copy_from_slice(&[0x03, 0x03]);
        aad[11..].copy_from_slice(&(length as u16).to_be_bytes());
        aad
    }

    fn seal(&mut self, kind: u8, plain: &[u8]) -> Result<Vec<u8>, String> {
        let explicit = self.sequence.to_be_bytes();
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&self.iv);
        nonce[4..].copy_from_slice(&explicit);
        let aad = self.aad(kind, plain.len());
        let mut data = plain.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut data)
            .map_err(|_| "seal")?;
        self.sequence += 1;
        Ok(record(kind, &[&explicit[..], &data[..]].concat()))
    }

    fn open(&mut self, kind: u8, sealed: &[u8]) -> Result<Vec<u8>, ()> {
        if sealed.len() < 8 + 16 {
            return Err(());
        }
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&self.iv);
        nonce[4..].copy_from_slice(&sealed[..8]);
        let aad = self.aad(kind, sealed.len() - 8 - 16);
        let mut data = sealed[8..].to_vec();
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut data)
            .map_err(|_| ())?
            .to_vec();
        self.sequence += 1;
        Ok(plain)
    }
}

/// Records read from the server, and the handshake messages inside them.
#[derive(Default)]
struct Records {
    pending: Vec<u8>,
}

/// A server's flight is read up to this size.
const MAX_FLIGHT: usize = 96 * 1024;

impl Records {
    async fn record(&mut self, stream: &mut PoliteStream<TcpStream>) -> Result<(u8, Vec<u8>), String> {
        let mut header = [0u8; 5];
        stream.read_exact(&mut header).await.map_err(|err| err.to_string())?;
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if length > 18 * 1024 {
            return Err("record longer than TLS allows".into());
        }
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await.map_err(|err| err.to_string())?;
        Ok((header[0], body))
    }

    /// The next handshake message: its type, body and whole encoding.
    async fn handshake(&mut self, stream: &mut PoliteStream<TcpStream>) -> Result<(u8, Vec<u8>, Vec<u8>), String> {
        loop {
            if self.pending.len() >= 4 {
                let length = usize::from(self.pending[1]) << 16
                    | usize::from(self.pending[2]) << 8
                    | usize::from(self.pending[3]);
                if self.pending.len() >= 4 + length {
                    let raw: Vec<u8> = self.pending.drain(..4 + length).collect();
                    return Ok((raw[0], raw[4..].to_vec(), raw));
                }
            }
            if self.pending.len() > MAX_FLIGHT {
                return Err("flight too long".into());
            }
            let (kind, body) = self.record(stream).await?;
            match kind {
                22 => self.pending.extend_from_slice(&body),
                21 => return Err("the server refused the handshake".into()),
                other => return Err(format!("unexpected record type {other}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prf_matches_rfc_5246_test_vector() {
        // The widely used TLS 1.2 PRF (SHA-256) test vector.
        let secret = [
            0x9b, 0xbe, 0x43, 0x6b, 0xa9, 0x40, 0xf0, 0x17, 0xb1, 0x76, 0x52, 0x84, 0x9a, 0x71, 0xdb, 0x35,
        ];
        let seed = [
            0xa0, 0xba, 0x9f, 0x93, 0x6c, 0xda, 0x31, 0x18, 0x27, 0xa6, 0xf7, 0x96, 0xff, 0xd5, 0x19, 0x8c,
        ];
        let out = prf(&secret, b"test label", &seed, 16);
        assert_eq!(
            out,
            [0xe3, 0xf2, 0x29, 0xba, 0x72, 0x7b, 0xe1, 0x7b, 0x8d, 0x12, 0x26, 0x20, 0x55, 0x7c, 0xd4, 0x53]
        );
    }
}
