//! What a certificate says about its revocation (its CRL distribution points) and what the
//! CA's answer was. Plain data shared by the TLS facts and the CRL fetcher.

use serde::Serialize;

/// What the CA's revocation data says about one certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Revocation {
    /// The CRL was fetched, its signature verifies, and the serial is not listed.
    Good { url: String },
    /// The serial is listed as revoked at `since` (Unix seconds).
    Revoked { url: String, since: i64 },
    /// Revocation could not be checked; never read as "not revoked".
    Unknown { url: String, reason: String },
}

/// The OCSP responder URLs of the Authority Information Access extension.
pub fn ocsp_urls(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    let mut urls = Vec::new();
    for extension in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(access) = extension.parsed_extension() {
            for description in &access.accessdescs {
                // id-ad-ocsp: 1.3.6.1.5.5.7.48.1
                if description.access_method.to_id_string() == "1.3.6.1.5.5.7.48.1" {
                    if let GeneralName::URI(uri) = &description.access_location {
                        urls.push(uri.to_string());
                    }
                }
            }
        }
    }
    urls
}

/// The http:// CRL distribution points of a certificate.
pub fn crl_urls(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
    let mut urls = Vec::new();
    for extension in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = extension.parsed_extension() {
            for point in points.iter() {
                if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                    for name in names {
                        if let GeneralName::URI(uri) = name {
                            urls.push(uri.to_string());
                        }
                    }
                }
            }
        }
    }
    urls
}
