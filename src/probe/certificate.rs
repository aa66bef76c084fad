//! The certificate level: what is true of each certificate the site served, whichever address
//! or redirect hop served it, asked once per certificate: its revocation in the CA's CRL
//! (each CRL itself is downloaded once per hour for the whole process, see
//! [`super::revocation`]). Chain verification is remembered per chain in [`super::tls`].

use serde::Serialize;

use super::context::Context;
use super::crl::Revocation;
use super::http::AddressFetch;

/// Facts of the distinct leaf certificates the site served.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CertificateLevel {
    pub certificates: Vec<CertificateFacts>,
}

/// One leaf certificate.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateFacts {
    /// SHA-256 of the leaf's DER, as in [`super::tls::CertFacts::sha256`].
    pub sha256: String,
    /// What the CA's CRL says about it, when it names one.
    pub revocation: Option<Revocation>,
}

impl CertificateLevel {
    /// The revocation status of the leaf with this fingerprint, when it was checked.
    pub fn revocation(&self, sha256: &str) -> Option<&Revocation> {
        self.certificates
            .iter()
            .find(|cert| cert.sha256 == sha256)
            .and_then(|cert| cert.revocation.as_ref())
    }
}

/// A leaf to look up: its DER and its issuer's (the next certificate the server sent).
pub struct Pending {
    sha256: String,
    crl_url: Option<String>,
    ocsp_url: Option<String>,
    leaf: Vec<u8>,
    issuer: Option<Vec<u8>>,
}

/// Takes the chains out of every handshake of the fetches (they are not kept past this level),
/// one per distinct leaf; a copy that came with its issuer is preferred.
pub fn pending(fetches: &mut [AddressFetch]) -> Vec<Pending> {
    let mut pending: Vec<Pending> = Vec::new();
    let handshakes = fetches.iter_mut().flat_map(|fetch| {
        fetch
            .tls
            .iter_mut()
            .chain(fetch.hop_handshakes.iter_mut().map(|hop| &mut hop.tls))
    });
    for tls in handshakes {
        let mut chain = std::mem::take(&mut tls.chain_der).into_iter();
        let (Some(leaf_facts), Some(leaf)) = (tls.chain.first(), chain.next()) else {
            continue;
        };
        let issuer = chain.next();
        match pending.iter_mut().find(|known| known.sha256 == leaf_facts.sha256) {
            Some(known) if known.issuer.is_none() => known.issuer = issuer,
            Some(_) => {}
            None => pending.push(Pending {
                sha256: leaf_facts.sha256.clone(),
                crl_url: leaf_facts.crl_urls.first().cloned(),
                ocsp_url: leaf_facts.ocsp_urls.first().cloned(),
                leaf,
                issuer,
            }),
        }
    }
    pending
}

/// Looks every pending leaf up, concurrently.
pub async fn observe(cx: &Context<'_>, pending: Vec<Pending>) -> CertificateLevel {
    let http = cx.http().first_hop_address_only();
    let certificates = futures::future::join_all(pending.into_iter().map(|cert| {
        let http = &http;
        async move {
            // The CRL when the leaf names one; otherwise its OCSP responder.
            let revocation = match (&cert.crl_url, &cert.ocsp_url) {
                (Some(url), _) => Some(
                    cx.shared
                        .crls
                        .check(http, url, &cert.leaf, cert.issuer.as_deref(), cx.deadline)
                        .await,
                ),
                (None, Some(url)) => Some(
                    cx.shared
                        .crls
                        .check_ocsp(http, url, &cert.leaf, cert.issuer.as_deref(), cx.deadline)
                        .await,
                ),
                (None, None) => None,
            };
            CertificateFacts {
                sha256: cert.sha256,
                revocation,
            }
        }
    }))
    .await;
    CertificateLevel { certificates }
}
