//! `--web.config.file`: the web configuration format of Prometheus' exporter-toolkit, so an
//! operator who has protected node_exporter or blackbox_exporter reuses the same file:
//! `tls_server_config` (certificate, key, minimum/maximum version, client certificates),
//! `http_server_config.headers`, `basic_auth_users` (bcrypt hashes) and `rate_limit`.
//! Served over rustls: TLS 1.0/1.1 and non-AEAD suites do not exist here and are refused with
//! a clear error rather than silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::{yaml_error, ConfigError, SourceFile};
use crate::model::duration::HumanDuration;

/// A validated web configuration, ready to serve with.
pub struct WebConfig {
    /// `None`: plain HTTP.
    pub tls: Option<Arc<ServerConfig>>,
    /// Client certificates must carry one of these SANs (exact match); empty: any verified one.
    pub client_allowed_sans: Vec<String>,
    /// User → bcrypt hash; empty: no authentication.
    pub users: BTreeMap<String, String>,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub rate_limit: Option<RateLimit>,
}

/// A token bucket: one request per `interval`, bursts of `burst`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
}

impl WebConfig {
    /// No file: plain HTTP, no authentication (the default, for a loopback listener).
    pub fn open() -> WebConfig {
        WebConfig {
            tls: None,
            client_allowed_sans: Vec::new(),
            users: BTreeMap::new(),
            headers: Vec::new(),
            rate_limit: None,
        }
    }

    /// Reads and validates a file; certificate and key files are read now, so a broken file
    /// is refused at start or reload rather than at the first connection.
    pub fn load(path: &Path) -> Result<WebConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.display().to_string(),
            source,
        })?;
        WebConfig::parse(&text, path)
    }

    /// Parses config text; `path` names it in errors and anchors relative file names.
    pub fn parse(text: &str, path: &Path) -> Result<WebConfig, ConfigError> {
        let file = path.display().to_string();
        if text.trim().is_empty() {
            return Ok(WebConfig::open());
        }
        let raw: RawWebConfig = serde_saphyr::from_str(text).map_err(|err| yaml_error(&file, text, &err))?;
        let source = Source {
            file: &file,
            base_dir: path.parent().unwrap_or(Path::new("")),
        };
        let (tls, client_allowed_sans) = match raw.tls_server_config {
            Some(tls) => {
                let sans = tls.client_allowed_sans.clone();
                (Some(Arc::new(server_config(tls, &source)?)), sans)
            }
            None => (None, Vec::new()),
        };
        let mut users = BTreeMap::new();
        for (user, hash) in raw.basic_auth_users {
            if !is_bcrypt_hash(&hash.value) {
                return Err(source.at(
                    hash.referenced,
                    format!(
                        "basic_auth_users.{user}: expected a bcrypt hash ($2y$10$…), e.g. from `htpasswd -nBC 10 \"\"`"
                    ),
                ));
            }
            users.insert(user, hash.value);
        }
        let mut headers = Vec::new();
        for (name, value) in raw.http_server_config.headers {
            headers.push(response_header(&name, value, &source)?);
        }
        let rate_limit = match raw.rate_limit {
            Some(limit) if !limit.interval.0.is_zero() => {
                if limit.burst == 0 {
                    return Err(source.unlocated("rate_limit.burst must be at least 1 when an interval is set"));
                }
                Some(RateLimit {
                    interval: limit.interval.0,
                    burst: limit.burst,
                })
            }
            _ => None,
        };
        Ok(WebConfig {
            tls,
            client_allowed_sans,
            users,
            headers,
            rate_limit,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: RawHttp,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, Spanned<String>>,
    rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    cert_file: Option<Spanned<PathBuf>>,
    key_file: Option<Spanned<PathBuf>>,
    client_auth_type: Option<Spanned<String>>,
    client_ca: Option<String>,
    client_ca_file: Option<Spanned<PathBuf>>,
    #[serde(default)]
    client_allowed_sans: Vec<String>,
    min_version: Option<Spanned<String>>,
    max_version: Option<Spanned<String>>,
    #[serde(default)]
    cipher_suites: Vec<Spanned<String>>,
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    curve_preferences: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    /// Accepted for compatibility; vnready serves HTTP/1.1, which every scraper speaks.
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: HumanDuration,
    #[serde(default)]
    burst: u32,
}

type Source<'a> = SourceFile<'a>;

/// Reads a file named in the web config, pointing at its key when it cannot be read.
fn read(source: &Source<'_>, spanned: &Spanned<PathBuf>, what: &str) -> Result<Vec<u8>, ConfigError> {
    let path = source.absolute(&spanned.value);
    std::fs::read(&path).map_err(|err| source.at(spanned.referenced, format!("{what} {}: {err}", path.display())))
}

/// The one file-or-inline PEM value (`cert_file` or `cert`, …); both or neither is an error.
fn pem(
    file: Option<&Spanned<PathBuf>>,
    inline: Option<&String>,
    names: (&str, &str),
    source: &Source<'_>,
) -> Result<Option<Vec<u8>>, ConfigError> {
    match (file, inline) {
        (Some(_), Some(_)) => {
            Err(source.unlocated(&format!("tls_server_config: give {} or {}, not both", names.0, names.1)))
        }
        (Some(file), None) => read(source, file, names.0).map(Some),
        (None, Some(text)) => Ok(Some(text.as_bytes().to_vec())),
        (None, None) => Ok(None),
    }
}

fn server_config(raw: RawTls, source: &Source<'_>) -> Result<ServerConfig, ConfigError> {
    let provider = Arc::new(crypto_provider(&raw.cipher_suites, &raw.curve_preferences, source)?);
    let versions = protocol_versions(raw.min_version.as_ref(), raw.max_version.as_ref(), source)?;
    let cert_pem = pem(raw.cert_file.as_ref(), raw.cert.as_ref(), ("cert_file", "cert"), source)?
        .ok_or_else(|| source.unlocated("tls_server_config: cert_file (or cert) is required"))?;
    let key_pem = pem(raw.key_file.as_ref(), raw.key.as_ref(), ("key_file", "key"), source)?
        .ok_or_else(|| source.unlocated("tls_server_config: key_file (or key) is required"))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|err| source.unlocated(&format!("tls_server_config: the certificate is not valid PEM: {err}")))?;
    if chain.is_empty() {
        return Err(source.unlocated("tls_server_config: no certificate found in the PEM"));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|err| source.unlocated(&format!("tls_server_config: the private key is not valid PEM: {err}")))?;

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|err| source.unlocated(&format!("tls_server_config: {err}")))?;
    let client_ca = pem(
        raw.client_ca_file.as_ref(),
        raw.client_ca.as_ref(),
        ("client_ca_file", "client_ca"),
        source,
    )?;
    let auth_type = raw
        .client_auth_type
        .as_ref()
        .map(|s| s.value.as_str())
        .unwrap_or("NoClientCert");
    let builder = match auth_type {
        "NoClientCert" => {
            if !raw.client_allowed_sans.is_empty() {
                return Err(source.unlocated(
                    "tls_server_config: client_allowed_sans needs client_auth_type: RequireAndVerifyClientCert",
                ));
            }
            builder.with_no_client_auth()
        }
        "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
            let ca = client_ca.ok_or_else(|| {
                source.unlocated(&format!(
                    "tls_server_config: client_auth_type {auth_type} needs client_ca_file (or client_ca)"
                ))
            })?;
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&ca) {
                let cert = cert.map_err(|err| source.unlocated(&format!("client CA is not valid PEM: {err}")))?;
                roots
                    .add(cert)
                    .map_err(|err| source.unlocated(&format!("client CA cannot be used: {err}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth_type == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|err| source.unlocated(&format!("client CA cannot be used: {err}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        other => {
            let location = raw.client_auth_type.as_ref().map(|s| s.referenced);
            let message = format!(
                "unsupported client_auth_type {other:?}: expected NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert (the others do not verify the certificate)"
            );
            return Err(match location {
                Some(location) => source.at(location, message),
                None => source.unlocated(&message),
            });
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|err| source.unlocated(&format!("tls_server_config: certificate and key do not fit: {err}")))?;
    config.ignore_client_order = raw.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn tls_version(spanned: &Spanned<String>, source: &Source<'_>) -> Result<u8, ConfigError> {
    match spanned.value.as_str() {
        "TLS12" => Ok(2),
        "TLS13" => Ok(3),
        "TLS10" | "TLS11" => Err(source.at(
            spanned.referenced,
            format!(
                "{:?} is not offered: TLS 1.0 and 1.1 are obsolete (RFC 8996); expected TLS12 or TLS13",
                spanned.value
            ),
        )),
        other => Err(source.at(
            spanned.referenced,
            format!("invalid TLS version {other:?}: expected TLS12 or TLS13"),
        )),
    }
}

fn protocol_versions(
    min: Option<&Spanned<String>>,
    max: Option<&Spanned<String>>,
    source: &Source<'_>,
) -> Result<Vec<&'static SupportedProtocolVersion>, ConfigError> {
    let min = min.map(|v| tls_version(v, source)).transpose()?.unwrap_or(2);
    let max = max.map(|v| tls_version(v, source)).transpose()?.unwrap_or(3);
    if min > max {
        return Err(source.unlocated("tls_server_config: min_version is above max_version"));
    }
    let mut versions = Vec::new();
    if min <= 2 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= 3 {
        versions.push(&rustls::version::TLS13);
    }
    Ok(versions)
}

/// The ring provider narrowed to the configured TLS 1.2 suites and curves (Go's names, as
/// exporter-toolkit takes them). TLS 1.3 suites are always on, as in Go.
fn crypto_provider(
    suites: &[Spanned<String>],
    curves: &[Spanned<String>],
    source: &Source<'_>,
) -> Result<CryptoProvider, ConfigError> {
    use rustls::crypto::ring::{cipher_suite, kx_group};
    let mut provider = rustls::crypto::ring::default_provider();
    if !suites.is_empty() {
        let known = [
            (
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            ),
            (
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            ),
            (
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            ),
            (
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
                cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            ),
            (
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            ),
            (
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            ),
            (
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            ),
            (
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
                cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            ),
        ];
        let mut chosen = vec![
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ];
        for name in suites {
            let Some((_, suite)) = known.iter().find(|(go_name, _)| *go_name == name.value) else {
                let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                return Err(source.at(
                    name.referenced,
                    format!(
                        "cipher suite {:?} is not offered (only AEAD suites with forward secrecy are); expected one of {}",
                        name.value,
                        names.join(", ")
                    ),
                ));
            };
            chosen.push(*suite);
        }
        provider.cipher_suites = chosen;
    }
    if !curves.is_empty() {
        let mut groups = Vec::new();
        for name in curves {
            let group = match name.value.as_str() {
                "X25519" => kx_group::X25519,
                "CurveP256" => kx_group::SECP256R1,
                "CurveP384" => kx_group::SECP384R1,
                other => {
                    return Err(source.at(
                        name.referenced,
                        format!("curve {other:?} is not offered; expected X25519, CurveP256 or CurveP384"),
                    ))
                }
            };
            groups.push(group);
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

/// exporter-toolkit's response headers, with the values it accepts.
fn response_header(
    name: &str,
    value: Spanned<String>,
    source: &Source<'_>,
) -> Result<(HeaderName, HeaderValue), ConfigError> {
    const ALLOWED: [&str; 5] = [
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "X-XSS-Protection",
        "Strict-Transport-Security",
    ];
    if !ALLOWED.contains(&name) {
        return Err(source.at(
            value.referenced,
            format!("unsupported header {name:?}: expected one of {}", ALLOWED.join(", ")),
        ));
    }
    let valid = match name {
        "X-Frame-Options" => ["deny", "sameorigin"].contains(&value.value.to_ascii_lowercase().as_str()),
        "X-Content-Type-Options" => value.value.eq_ignore_ascii_case("nosniff"),
        _ => true,
    };
    let header_value = HeaderValue::from_str(&value.value)
        .ok()
        .filter(|_| valid)
        .ok_or_else(|| {
            source.at(
                value.referenced,
                format!("invalid value {:?} for header {name}", value.value),
            )
        })?;
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| source.at(value.referenced, format!("invalid header name {name:?}")))?;
    Ok((header_name, header_value))
}

/// A bcrypt hash as htpasswd and exporter-toolkit write it: `$2a$`, `$2b$` or `$2y$`, a
/// two-digit cost and 53 characters of salt and hash.
fn is_bcrypt_hash(text: &str) -> bool {
    let parts: Vec<&str> = text.split('$').collect();
    parts.len() == 4
        && parts[0].is_empty()
        && ["2a", "2b", "2x", "2y"].contains(&parts[1])
        && parts[2].len() == 2
        && parts[2].parse::<u32>().is_ok_and(|cost| (4..=31).contains(&cost))
        && parts[3].len() == 53
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebConfig, String> {
        WebConfig::parse(text, Path::new("/etc/vnready/web.yml")).map_err(|err| err.to_string())
    }

    #[test]
    fn an_empty_file_is_plain_http_without_auth() {
        let config = parse("").expect("empty");
        assert!(config.tls.is_none() && config.users.is_empty() && config.rate_limit.is_none());
    }

    #[test]
    fn bad_values_are_named_with_their_position() {
        for (text, expected) in [
            (
                "basic_auth_users:\n  alice: secret\n",
                "web.yml:2:10: basic_auth_users.alice: expected a bcrypt hash",
            ),
            (
                "tls_server_config:\n  cert_file: missing.pem\n  key_file: missing.key\n",
                "web.yml:2:14: cert_file /etc/vnready/missing.pem",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n  min_version: TLS10\n",
                "TLS 1.0 and 1.1 are obsolete",
            ),
            ("tls_servr_config: {}\n", "unknown field"),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "invalid value \"allow\" for header X-Frame-Options",
            ),
            ("rate_limit:\n  interval: 1s\n", "rate_limit.burst must be at least 1"),
        ] {
            let err = match parse(text) {
                Err(err) => err,
                Ok(_) => panic!("{text:?} was accepted"),
            };
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn hashes_headers_and_rate_limit_are_kept() {
        let hash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";
        let text = format!(
            "basic_auth_users:\n  prometheus: {hash}\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\nrate_limit:\n  interval: 100ms\n  burst: 5\n"
        );
        let config = parse(&text).expect("valid");
        assert_eq!(config.users.get("prometheus").map(String::as_str), Some(hash));
        assert_eq!(config.headers.len(), 1);
        assert_eq!(
            config.rate_limit,
            Some(RateLimit {
                interval: Duration::from_millis(100),
                burst: 5
            })
        );
    }
}
