//! TLS facts: the presented chain, version, cipher and ALPN, and why verification failed.
//! The handshake is allowed to finish even for a bad certificate, so an expired or wrong-host
//! certificate can still be inspected; verification runs afterwards on the recorded chain.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;

use super::memo::Memo;

/// Why the TLS client could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// An extra root file could not be read or holds no certificate.
    #[error("extra root {path}: {reason}")]
    ExtraRoot { path: PathBuf, reason: String },
    /// rustls refused the configuration.
    #[error("TLS setup: {0}")]
    Rustls(String),
}

/// Shared TLS client state: one config for every connection, plus the verifier used to judge
/// the recorded chain after the handshake.
pub struct TlsSetup {
    pub client_config: Arc<ClientConfig>,
    provider: Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
    /// Subjects of every trust anchor, to tell "missing intermediate" from "untrusted root".
    anchor_subjects: HashSet<Vec<u8>>,
    /// Facts of recently seen certificates, by the SHA-256 of their DER.
    parsed: Memo<[u8; 32], CertFacts>,
    /// Chains (by their certificates' fingerprints) that recently verified to a trust anchor;
    /// the host name is still checked on every connection.
    trusted_chains: Memo<String, ()>,
}

/// How many certificates and chains are remembered: a province's sites share a handful; the
/// bound keeps a 10,000-site daemon's memory flat.
const MEMO_CAPACITY: usize = 1024;
/// A verified chain is trusted again without its signatures for at most this long (and never
/// past the first expiry in it).
const TRUSTED_CHAIN_FOR: Duration = Duration::from_secs(300);

impl TlsSetup {
    /// Trusts the webpki roots plus `extra_roots` (PEM files, e.g. Vietnam's national root CA).
    pub fn new(extra_roots: &[PathBuf]) -> Result<TlsSetup, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for path in extra_roots {
            add_pem_roots(&mut roots, path)?;
        }
        let anchor_subjects = roots
            .roots
            .iter()
            .map(|anchor| anchor.subject.as_ref().to_vec())
            .collect();
        let roots = Arc::new(roots);
        let recording = Arc::new(AcceptAndRecord {
            provider: provider.clone(),
            seen: Mutex::default(),
            staple: Mutex::default(),
        });
        let mut config = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|err| TlsSetupError::Rustls(err.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(recording)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Every connection must present its chain: no session resumption.
        config.resumption = Resumption::disabled();
        Ok(TlsSetup {
            client_config: Arc::new(config),
            provider,
            roots,
            anchor_subjects,
            parsed: Memo::new(MEMO_CAPACITY),
            trusted_chains: Memo::new(MEMO_CAPACITY),
        })
    }

    /// A client config for one connection whose verifier keeps the chain it was shown, so a
    /// handshake that fails after the certificate (a 1024-bit key, a SHA-1 signature) still
    /// leaves the chain to judge and name.
    pub fn recording_config(&self) -> (Arc<ClientConfig>, Arc<RecordedChain>) {
        let recorder = Arc::new(AcceptAndRecord {
            provider: self.provider.clone(),
            seen: Mutex::default(),
            staple: Mutex::default(),
        });
        let mut config = (*self.client_config).clone();
        config.dangerous().set_certificate_verifier(recorder.clone());
        (Arc::new(config), Arc::new(RecordedChain(recorder)))
    }

    /// Verifies a recorded chain against the trust store for `host`, as a browser would (the
    /// checks and their order are those of rustls' own verifier). `facts` are the chain's
    /// parsed certificates: a chain verified within [`TRUSTED_CHAIN_FOR`] is not verified
    /// again, but its host name always is.
    pub fn verify(&self, chain: &[CertificateDer<'static>], facts: &[CertFacts], host: &str) -> Option<VerifyFailure> {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Some(VerifyFailure {
                code: "no_certificate".into(),
                message: "server sent no certificate".into(),
            });
        };
        let server_name = match ServerName::try_from(host.to_string()) {
            Ok(name) => name,
            Err(err) => {
                return Some(VerifyFailure {
                    code: "bad_name".into(),
                    message: err.to_string(),
                })
            }
        };
        let verified = ParsedCertificate::try_from(leaf).and_then(|parsed| {
            self.verify_chain(&parsed, intermediates, facts)?;
            rustls::client::verify_server_name(&parsed, &server_name)
        });
        verified.err().map(|err| VerifyFailure::from_rustls(&err))
    }

    /// The chain's signatures and validity up to a trust anchor, remembered while it holds.
    fn verify_chain(
        &self,
        leaf: &ParsedCertificate<'_>,
        intermediates: &[CertificateDer<'_>],
        facts: &[CertFacts],
    ) -> Result<(), rustls::Error> {
        let key: String = facts.iter().map(|cert| cert.sha256.as_str()).collect();
        let now = std::time::Instant::now();
        if self.trusted_chains.get(&key, now).is_some() {
            // Remembered only after it verified, and never past the first expiry in it.
            return Ok(());
        }
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            leaf,
            &self.roots,
            intermediates,
            UnixTime::now(),
            self.provider.signature_verification_algorithms.all,
        )?;
        let first_expiry = facts.iter().map(|cert| cert.not_after).min().unwrap_or(0);
        let left = u64::try_from(first_expiry - crate::model::clock::unix_now() as i64).unwrap_or(0);
        let until = now + TRUSTED_CHAIN_FOR.min(Duration::from_secs(left));
        self.trusted_chains.put(key, (), until, now);
        Ok(())
    }

    /// Facts of one certificate, parsed once while it is recent.
    fn facts_of(&self, der: &[u8]) -> CertFacts {
        let now = std::time::Instant::now();
        let mut key = [0u8; 32];
        key.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, der).as_ref());
        if let Some(facts) = self.parsed.get(&key, now) {
            return facts;
        }
        let facts = cert_facts(der, self).unwrap_or_else(|| unparseable(der));
        self.parsed.put(key, facts.clone(), now + TRUSTED_CHAIN_FOR, now);
        facts
    }

    /// Whether a certificate's issuer is one of the trust anchors.
    pub fn issuer_is_trust_anchor(&self, issuer_der: &[u8]) -> bool {
        self.anchor_subjects.contains(issuer_der) || self.anchor_subjects.contains(strip_der_header(issuer_der))
    }
}

fn add_pem_roots(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsSetupError> {
    let error = |reason: String| TlsSetupError::ExtraRoot {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|err| error(err.to_string()))?;
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|err| error(format!("not a PEM certificate: {err}")))?;
        roots
            .add(cert)
            .map_err(|err| error(format!("unusable as a root: {err}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(error("no CERTIFICATE block found".into()));
    }
    Ok(())
}

/// Drops the outer tag and length of a DER value (x509 gives the Name with its SEQUENCE
/// header, webpki trust anchors store it without).
fn strip_der_header(der: &[u8]) -> &[u8] {
    if der.len() < 2 {
        return der;
    }
    let length_byte = der[1];
    let header = if length_byte < 0x80 {
        2
    } else {
        2 + usize::from(length_byte & 0x7f)
    };
    der.get(header..).unwrap_or(der)
}

/// Lets every handshake finish (signatures are still checked) so the chain can be recorded
/// and judged afterwards.
#[derive(Debug)]
struct AcceptAndRecord {
    provider: Arc<CryptoProvider>,
    seen: Mutex<Vec<CertificateDer<'static>>>,
    /// The stapled OCSP response, when the server sent one.
    staple: Mutex<Vec<u8>>,
}

/// The chain one connection's verifier was shown, readable after a failed handshake.
pub struct RecordedChain(Arc<AcceptAndRecord>);

impl RecordedChain {
    /// The certificates the server sent, leaf first; empty if it never got that far.
    /// The stapled OCSP response the server sent, empty if none.
    pub fn take_staple(&self) -> Vec<u8> {
        self.0
            .staple
            .lock()
            .map(|mut staple| std::mem::take(&mut *staple))
            .unwrap_or_default()
    }

    pub fn take(&self) -> Vec<CertificateDer<'static>> {
        self.0
            .seen
            .lock()
            .map(|mut seen| std::mem::take(&mut *seen))
            .unwrap_or_default()
    }
}

impl ServerCertVerifier for AcceptAndRecord {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut staple) = self.staple.lock() {
            *staple = ocsp_response.to_vec();
        }
        if let Ok(mut seen) = self.seen.lock() {
            *seen = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|cert| cert.clone().into_owned())
                .collect();
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Why the presented chain does not verify, with a stable code for checks and labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyFailure {
    /// expired | not_yet_valid | wrong_host | unknown_issuer | bad_signature | weak_key |
    /// weak_signature | revoked | no_certificate | bad_name | other
    pub code: String,
    /// One sentence a network engineer reads: never a library's debug dump.
    pub message: String,
}

impl VerifyFailure {
    fn from_rustls(err: &rustls::Error) -> VerifyFailure {
        let (code, message) = match err {
            rustls::Error::InvalidCertificate(cert_err) => match cert_err {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    ("expired", "the certificate has expired".to_string())
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    ("not_yet_valid", "the certificate is not valid yet".to_string())
                }
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                    ("wrong_host", "the certificate does not name this host".to_string())
                }
                CertificateError::UnknownIssuer => (
                    "unknown_issuer",
                    "the chain does not lead to a trusted root".to_string(),
                ),
                CertificateError::BadSignature => {
                    ("bad_signature", "a signature in the chain does not verify".to_string())
                }
                CertificateError::UnsupportedSignatureAlgorithmContext { .. } => (
                    "weak_signature",
                    "the chain is signed with an algorithm browsers reject (SHA-1 or MD5)".to_string(),
                ),
                CertificateError::Revoked => ("revoked", "the certificate has been revoked".to_string()),
                _ => ("other", "the certificate is not valid".to_string()),
            },
            _ => ("other", "the certificate is not valid".to_string()),
        };
        VerifyFailure {
            code: code.into(),
            message,
        }
    }
}

/// Signature algorithms whose certificates browsers refuse.
const WEAK_SIGNATURE_OIDS: [(&str, &str); 5] = [
    ("1.2.840.113549.1.1.2", "MD2"),
    ("1.2.840.113549.1.1.4", "MD5"),
    ("1.2.840.113549.1.1.5", "SHA-1"),
    ("1.2.840.10045.4.1", "SHA-1"),
    ("1.2.840.10040.4.3", "SHA-1"),
];

/// RSA keys shorter than this are refused by browsers and by the CA/Browser Forum rules.
pub const MIN_RSA_BITS: usize = 2048;

/// The weakness of a chain a browser would refuse it for, checked before the trust path so the
/// reason names the real problem (ring reports a short RSA key as a bad signature).
fn weakness(chain: &[CertFacts]) -> Option<VerifyFailure> {
    let self_signed_root = |index: usize, cert: &CertFacts| index > 0 && cert.self_signed;
    for (index, cert) in chain.iter().enumerate() {
        if self_signed_root(index, cert) {
            continue;
        }
        let which = if index == 0 {
            "the certificate"
        } else {
            "an intermediate"
        };
        if let Some(bits) = cert.rsa_bits.filter(|bits| *bits < MIN_RSA_BITS) {
            return Some(VerifyFailure {
                code: "weak_key".into(),
                message: format!("{which} has a {bits}-bit RSA key (at least {MIN_RSA_BITS} needed)"),
            });
        }
        if let Some(weak) = cert.weak_signature.as_deref() {
            return Some(VerifyFailure {
                code: "weak_signature".into(),
                message: format!("{which} is signed with {weak}, which browsers reject"),
            });
        }
    }
    None
}

/// Facts about one certificate, from x509-parser; kept whether or not the chain verifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub dns_names: Vec<String>,
    pub sha256: String,
    pub self_signed: bool,
    pub key: String,
    /// Key size when the key is RSA, to name keys that are too short.
    pub rsa_bits: Option<usize>,
    /// The digest of a signature browsers reject (SHA-1, MD5), when the certificate has one.
    pub weak_signature: Option<String>,
    /// Whether this certificate's issuer is a trust anchor (the chain can end here).
    pub issuer_is_trust_anchor: bool,
    /// Whether this certificate is itself one of the trust anchors.
    pub is_trust_anchor: bool,
    /// http:// CRL distribution points, where revocation is published.
    pub crl_urls: Vec<String>,
    /// OCSP responders named in the Authority Information Access extension.
    pub ocsp_urls: Vec<String>,
}

/// Parses one DER certificate. A certificate x509-parser cannot read yields `None`; the
/// fingerprint is still recorded by the caller.
pub fn cert_facts(der: &[u8], setup: &TlsSetup) -> Option<CertFacts> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let dns_names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(dns.to_string()),
                GeneralName::IPAddress(bytes) => Some(format!("IP:{}", hex(bytes))),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut rsa_bits = None;
    let key = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
            rsa_bits = Some(rsa.key_size());
            format!("RSA {}", rsa.key_size())
        }
        Ok(x509_parser::public_key::PublicKey::EC(ec)) => format!("EC {}", ec.key_size()),
        Ok(_) => "other".into(),
        Err(_) => "unparsed".into(),
    };
    let algorithm = cert.signature_algorithm.algorithm.to_id_string();
    let weak_signature = WEAK_SIGNATURE_OIDS
        .iter()
        .find(|(oid, _)| *oid == algorithm)
        .map(|(_, name)| name.to_string());
    let issuer_raw = cert.issuer().as_raw();
    let subject_raw = cert.subject().as_raw();
    Some(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        dns_names,
        sha256: sha256_hex(der),
        self_signed: subject_raw == issuer_raw,
        key,
        rsa_bits,
        weak_signature,
        issuer_is_trust_anchor: setup.issuer_is_trust_anchor(issuer_raw),
        is_trust_anchor: setup.issuer_is_trust_anchor(subject_raw),
        crl_urls: super::crl::crl_urls(&cert),
        ocsp_urls: super::crl::ocsp_urls(&cert),
    })
}

/// What is recorded of a certificate x509-parser cannot read: its fingerprint.
fn unparseable(der: &[u8]) -> CertFacts {
    CertFacts {
        subject: "(unparseable certificate)".into(),
        issuer: String::new(),
        serial: String::new(),
        not_before: 0,
        not_after: 0,
        dns_names: Vec::new(),
        sha256: sha256_hex(der),
        self_signed: false,
        key: "unparsed".into(),
        rsa_bits: None,
        weak_signature: None,
        issuer_is_trust_anchor: false,
        is_trust_anchor: false,
        crl_urls: Vec::new(),
        ocsp_urls: Vec::new(),
    }
}

/// Lower-case hex SHA-256, the fingerprint SOC tools compare.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Everything learnt from one handshake.
#[derive(Clone, Debug, Serialize)]
pub struct TlsFacts {
    /// The host name the certificate was judged for (the hop's host on a redirect).
    pub host: String,
    pub version: String,
    pub cipher: String,
    pub alpn: Option<String>,
    pub chain: Vec<CertFacts>,
    /// `None` when the chain verifies for the host.
    pub verify_failure: Option<VerifyFailure>,
    /// False when the chain was recorded but the handshake did not finish (version and cipher
    /// are then unknown).
    pub handshake_completed: bool,
    /// The stapled OCSP response, read against the chain (when the server stapled one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staple: Option<super::ocsp::StapleFacts>,
    /// The chain as sent, kept only until the certificate level has read it.
    #[serde(skip)]
    pub chain_der: Vec<Vec<u8>>,
}

/// Reads the facts out of a finished client connection.
pub fn facts_from_connection(conn: &rustls::ClientConnection, host: &str, setup: &TlsSetup) -> TlsFacts {
    let chain: Vec<CertificateDer<'static>> = conn
        .peer_certificates()
        .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|suite| format!("{:?}", suite.suite()))
        .unwrap_or_else(|| "unknown".into());
    let alpn = conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
    let mut facts = facts_from_chain(&chain, host, setup);
    facts.version = version;
    facts.cipher = cipher;
    facts.alpn = alpn;
    facts.handshake_completed = true;
    facts
}

/// Judges a recorded chain for `host`. Version and cipher are left unknown: the caller fills
/// them in when the handshake finished.
pub fn facts_from_chain(chain: &[CertificateDer<'static>], host: &str, setup: &TlsSetup) -> TlsFacts {
    let parsed: Vec<CertFacts> = chain.iter().map(|der| setup.facts_of(der.as_ref())).collect();
    let verify_failure = weakness(&parsed).or_else(|| setup.verify(chain, &parsed, host));
    TlsFacts {
        host: host.to_string(),
        version: "unknown".into(),
        cipher: "unknown".into(),
        alpn: None,
        chain: parsed,
        verify_failure,
        handshake_completed: false,
        staple: None,
        chain_der: chain.iter().map(|der| der.as_ref().to_vec()).collect(),
    }
}

/// A TLS handshake error as a sentence, without rustls' debug wording.
pub fn describe_handshake_error(err: &std::io::Error) -> String {
    let inner = err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::AlertReceived(alert)) => match alert {
            rustls::AlertDescription::HandshakeFailure | rustls::AlertDescription::InsufficientSecurity => {
                "the server refused every TLS 1.2/1.3 cipher suite offered (handshake_failure alert)".into()
            }
            rustls::AlertDescription::ProtocolVersion => {
                "the server does not speak TLS 1.2 or 1.3 (protocol_version alert)".into()
            }
            rustls::AlertDescription::UnrecognisedName => {
                "the server does not serve this host name (unrecognized_name alert)".into()
            }
            other => format!("the server aborted the handshake ({} alert)", alert_label(other)),
        },
        Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::HandshakePayloadTooLarge)) => {
            "the server's certificate message is larger than 64 KiB, more than this auditor reads".into()
        }
        Some(rustls::Error::InvalidMessage(_)) | Some(rustls::Error::InappropriateHandshakeMessage { .. }) => {
            "the server sent a malformed TLS message".into()
        }
        Some(rustls::Error::PeerIncompatible(_)) => {
            "the server offers nothing this auditor's TLS 1.2/1.3 client accepts".into()
        }
        Some(rustls::Error::InvalidCertificate(cert_err)) => {
            VerifyFailure::from_rustls(&rustls::Error::InvalidCertificate(cert_err.clone())).message
        }
        Some(rustls::Error::PeerMisbehaved(_)) => "the server broke the TLS protocol".into(),
        Some(_) => "the TLS handshake failed".into(),
        None => match err.kind() {
            std::io::ErrorKind::UnexpectedEof => "the server closed the connection during the TLS handshake".into(),
            std::io::ErrorKind::ConnectionReset => "the server reset the connection during the TLS handshake".into(),
            _ => format!("the TLS handshake failed: {err}"),
        },
    }
}

fn alert_label(alert: &rustls::AlertDescription) -> String {
    let debug = format!("{alert:?}");
    let mut label = String::new();
    for (index, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            label.push('_');
        }
        label.push(c.to_ascii_lowercase());
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

    fn leaf(
        names: &[&str],
        issuer: &CertifiedIssuer<'static, KeyPair>,
        until: (i32, u8, u8),
    ) -> CertificateDer<'static> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("params");
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
        let key = KeyPair::generate().expect("key");
        params.signed_by(&key, issuer).expect("leaf").der().clone()
    }

    /// A chain verified once is trusted again without its signatures, but never for another
    /// host name, and an expired chain is never remembered as trusted.
    #[test]
    fn a_remembered_chain_still_has_its_host_name_and_expiry_checked() {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.not_before = rcgen::date_time_ymd(2024, 1, 1);
        ca.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let root = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("key")).expect("root");
        let dir = tempfile::tempdir().expect("tempdir");
        let root_path = dir.path().join("root.pem");
        std::fs::write(&root_path, root.pem()).expect("write root");
        let setup = TlsSetup::new(&[root_path]).expect("setup");

        let chain = vec![leaf(&["a.example.vn"], &root, (2035, 1, 1))];
        assert_eq!(facts_from_chain(&chain, "a.example.vn", &setup).verify_failure, None);
        assert_eq!(setup.trusted_chains.len(), 1, "the verified chain is remembered");
        assert_eq!(facts_from_chain(&chain, "a.example.vn", &setup).verify_failure, None);
        let other_host = facts_from_chain(&chain, "b.example.vn", &setup).verify_failure;
        assert_eq!(other_host.map(|f| f.code), Some("wrong_host".to_string()));

        let expired = vec![leaf(&["a.example.vn"], &root, (2021, 1, 1))];
        for _ in 0..2 {
            let failure = facts_from_chain(&expired, "a.example.vn", &setup).verify_failure;
            assert_eq!(failure.map(|f| f.code), Some("expired".to_string()));
        }
        assert_eq!(setup.trusted_chains.len(), 1, "a failing chain is not remembered");
        assert_eq!(setup.parsed.len(), 2, "each certificate is parsed once");
    }
}
