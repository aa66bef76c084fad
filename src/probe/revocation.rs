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

/// CRLs by URL, shared by every audit of the process.
#[derive(Default)]
pub struct CrlCache {
    crls: SharedCache<Result<Arc<ParsedCrl>, String>>,
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

/// Fetches a CRL over plain HTTP from the first usable address of its host.
async fn download(http: &HttpProber<'_>, url: &str, deadline: Instant) -> Result<Vec<u8>, String> {
    let parsed = Url::parse(url).map_err(|_| format!("invalid CRL address {url}"))?;
    if parsed.scheme() != "http" {
        return Err(format!("CRL at {url} is not served over http://"));
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
        return Err(format!("CRL host {host} has no public address"));
    };
    let fetch = http.fetch(&parsed, ip, deadline, MAX_CRL_BYTES, 0.0).await;
    if let Some(err) = &fetch.error {
        return Err(format!("CRL at {url} could not be fetched: {}", err.message));
    }
    match fetch.final_status() {
        Some(200) if !fetch.body_truncated => Ok(fetch.body),
        Some(200) => Err(format!("CRL at {url} is larger than {MAX_CRL_BYTES} bytes")),
        Some(status) => Err(format!("CRL at {url} answered status {status}")),
        None => Err(format!("CRL at {url} gave no answer")),
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
