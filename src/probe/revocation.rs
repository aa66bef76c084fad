//! Revocation from the CA's CRL: the leaf's CRL distribution point is fetched (like a redirect
//! hop: the address is classified, internal addresses are never contacted), its signature is
//! checked against the issuer the server sent, and the leaf's serial is looked up. CRLs are
//! cached per URL until their nextUpdate (at most an hour), so a CA shared by a thousand sites
//! costs one download per hour, and concurrent audits wait for one download rather than start
//! their own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::proto::rr::RecordType;
use tokio::time::Instant;
use url::Url;

use super::addr::classify;
use super::crl::Revocation;
use super::dns::addresses_of;
use super::http::HttpProber;
use super::shared::SharedCache;

/// A CRL larger than this is not read (the largest public CRLs are a few MiB).
pub const MAX_CRL_BYTES: usize = 16 * 1024 * 1024;
/// A fresh CRL is reused for at most this long, even if its nextUpdate is later.
const MAX_CRL_AGE: Duration = Duration::from_secs(3600);
/// A failed download is retried after this long, not at every audit.
const FAILED_CRL_AGE: Duration = Duration::from_secs(60);

/// A downloaded CRL, parsed once.
struct ParsedCrl {
    der: Vec<u8>,
    /// Revoked serials (raw DER integer bytes) and when.
    revoked: HashMap<Vec<u8>, i64>,
    /// Issuer public keys (DER SubjectPublicKeyInfo) the signature was verified with.
    verified_with: Mutex<Vec<Vec<u8>>>,
}

/// CRLs by URL and OCSP answers by certificate, shared by every audit of the process.
#[derive(Default)]
pub struct CrlCache {
    crls: SharedCache<Result<Arc<ParsedCrl>, String>>,
    ocsp: SharedCache<Revocation>,
}

impl CrlCache {
    /// Whether `leaf` (DER) issued by `issuer` (DER, the next certificate the server sent) is
    /// revoked according to the CRL at `url`.
    pub async fn check(
        &self,
        http: &HttpProber<'_>,
        url: &str,
        leaf: &[u8],
        issuer: Option<&[u8]>,
        deadline: Instant,
    ) -> Revocation {
        let unknown = |reason: String| Revocation::Unknown {
            url: url.to_string(),
            reason,
        };
        let Some(issuer) = issuer else {
            return unknown("the server does not send the issuer, so the CRL's signature cannot be checked".into());
        };
        let crl = match self.crl(http, url, deadline).await {
            Ok(crl) => crl,
            Err(reason) => return unknown(reason),
        };
        if let Err(reason) = verify_signature(&crl, issuer) {
            return unknown(reason);
        }
        let serial = match x509_parser::parse_x509_certificate(leaf) {
            Ok((_, cert)) => cert.raw_serial().to_vec(),
            Err(_) => return unknown("the certificate could not be parsed".into()),
        };
        match crl.revoked.get(&serial) {
            Some(since) => Revocation::Revoked {
                url: url.to_string(),
                since: *since,
            },
            None => Revocation::Good { url: url.to_string() },
        }
    }

    /// Whether `leaf` is revoked according to the OCSP responder at `url` (for a leaf that names
    /// no CRL). One question per certificate per hour, shared by every site that serves it.
    pub async fn check_ocsp(
        &self,
        http: &HttpProber<'_>,
        url: &str,
        leaf: &[u8],
        issuer: Option<&[u8]>,
        deadline: Instant,
    ) -> Revocation {
        let unknown = |reason: String| Revocation::Unknown {
            url: url.to_string(),
            reason,
        };
        let Some(issuer) = issuer else {
            return unknown("the server does not send the issuer, so OCSP cannot be asked".into());
        };
        let key = format!("{url}|{}", super::tls::sha256_hex(leaf));
        let compute = || async {
            let answer = ask_ocsp(http, url, leaf, issuer, deadline).await;
            let fresh_for = match answer {
                Revocation::Unknown { .. } => FAILED_CRL_AGE,
                _ => MAX_CRL_AGE,
            };
            (answer, fresh_for)
        };
        self.ocsp
            .get_or_compute(&key, deadline, compute)
            .await
            .unwrap_or_else(|| unknown("timeout waiting for another audit's OCSP answer".into()))
    }

    async fn crl(&self, http: &HttpProber<'_>, url: &str, deadline: Instant) -> Result<Arc<ParsedCrl>, String> {
        let compute = || async {
            let crl = download(http, url, deadline)
                .await
                .and_then(|der| parse(der).map(Arc::new));
            let fresh_for = if crl.is_ok() { MAX_CRL_AGE } else { FAILED_CRL_AGE };
            (crl, fresh_for)
        };
        self.crls
            .get_or_compute(url, deadline, compute)
            .await
            .unwrap_or_else(|| Err("timeout waiting for another audit's CRL download".into()))
    }
}

/// Asks the responder at `url` by GET (RFC 6960 A.1) and reads its answer for `leaf`.
async fn ask_ocsp(http: &HttpProber<'_>, url: &str, leaf: &[u8], issuer: &[u8], deadline: Instant) -> Revocation {
    use base64::Engine;
    let unknown = |reason: String| Revocation::Unknown {
        url: url.to_string(),
        reason,
    };
    let Some(request) = super::ocsp::request(leaf, issuer) else {
        return unknown("the certificate could not be parsed for an OCSP request".into());
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(request);
    let escaped: String = url::form_urlencoded::byte_serialize(encoded.as_bytes()).collect();
    let ask = format!("{}/{escaped}", url.trim_end_matches('/'));
    let body = match download_from(http, &ask, url, deadline, 64 * 1024, "OCSP responder").await {
        Ok(body) => body,
        Err(reason) => return unknown(reason),
    };
    let facts = super::ocsp::check(&body, leaf, Some(issuer));
    let now = crate::model::clock::unix_now() as i64;
    if let Some(problem) = facts.problem {
        return unknown(format!("OCSP responder {url}: {problem}"));
    }
    if !facts.signature_valid {
        return unknown(format!("OCSP responder {url}: the answer's signature does not verify"));
    }
    if facts.next_update.is_some_and(|next| next < now) {
        return unknown(format!("OCSP responder {url}: the answer has expired"));
    }
    match facts.status.as_deref() {
        Some("good") => Revocation::Good { url: url.to_string() },
        Some("revoked") => Revocation::Revoked {
            url: url.to_string(),
            since: facts.revoked_at.unwrap_or(now),
        },
        Some(other) => unknown(format!("OCSP responder {url} answered {other}")),
        None => unknown(format!("OCSP responder {url} did not answer for this certificate")),
    }
}

/// Fetches a CRL over plain HTTP from the first usable address of its host.
async fn download(http: &HttpProber<'_>, url: &str, deadline: Instant) -> Result<Vec<u8>, String> {
    download_from(http, url, url, deadline, MAX_CRL_BYTES, "CRL").await
}

/// Fetches `url` over plain HTTP from the first usable address of its host, classified like a
/// redirect hop (an internal address is never contacted); `named` and `what` word the errors.
async fn download_from(
    http: &HttpProber<'_>,
    url: &str,
    named: &str,
    deadline: Instant,
    max_bytes: usize,
    what: &str,
) -> Result<Vec<u8>, String> {
    let parsed = Url::parse(url).map_err(|_| format!("invalid {what} address {named}"))?;
    if parsed.scheme() != "http" {
        return Err(format!("{what} at {named} is not served over http://"));
    }
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_matches(|c| c == '[' || c == ']');
    let candidates: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(literal) => vec![literal],
        Err(_) => {
            let v4 = http.dns.lookup(host, RecordType::A, deadline).await;
            let v6 = http.dns.lookup(host, RecordType::AAAA, deadline).await;
            addresses_of(&v4).into_iter().chain(addresses_of(&v6)).collect()
        }
    };
    let Some(ip) = candidates
        .iter()
        .copied()
        .find(|ip| classify(*ip, http.accept_ranges).class.is_usable())
    else {
        return Err(format!("{what} host {host} has no public address"));
    };
    let fetch = http.fetch(&parsed, ip, deadline, max_bytes, 0.0).await;
    if let Some(err) = &fetch.error {
        return Err(format!("{what} at {named} could not be fetched: {}", err.message));
    }
    match fetch.final_status() {
        Some(200) if !fetch.body_truncated => Ok(fetch.body),
        Some(200) => Err(format!("{what} at {named} is larger than {max_bytes} bytes")),
        Some(status) => Err(format!("{what} at {named} answered status {status}")),
        None => Err(format!("{what} at {named} gave no answer")),
    }
}

fn parse(der: Vec<u8>) -> Result<ParsedCrl, String> {
    let revoked = {
        let (_, crl) = x509_parser::parse_x509_crl(&der).map_err(|_| "the CRL is not a valid DER CRL".to_string())?;
        crl.iter_revoked_certificates()
            .map(|entry| (entry.raw_serial().to_vec(), entry.revocation_date.timestamp()))
            .collect()
    };
    Ok(ParsedCrl {
        der,
        revoked,
        verified_with: Mutex::default(),
    })
}

/// Checks the CRL's signature with the issuer's key once per issuer.
fn verify_signature(crl: &ParsedCrl, issuer: &[u8]) -> Result<(), String> {
    let (_, issuer) =
        x509_parser::parse_x509_certificate(issuer).map_err(|_| "the issuer certificate could not be parsed")?;
    let key = issuer.public_key().raw.to_vec();
    if crl.verified_with.lock().is_ok_and(|known| known.contains(&key)) {
        return Ok(());
    }
    let (_, parsed) = x509_parser::parse_x509_crl(&crl.der).map_err(|_| "the CRL is not a valid DER CRL")?;
    parsed
        .verify_signature(issuer.public_key())
        .map_err(|_| "the CRL's signature does not verify with the issuer's key".to_string())?;
    if let Ok(mut known) = crl.verified_with.lock() {
        known.push(key);
    }
    Ok(())
}
