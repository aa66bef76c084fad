//! What stands in front of every endpoint when a web config asks for it: the rate limit,
//! HTTP basic authentication against bcrypt hashes, and the configured response headers.
//! The web config is swapped whole on reload; a bad file keeps the running one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::config::{RateLimit, WebConfig};
use crate::config::ConfigError;

/// Verifying a bcrypt hash costs ~70 ms at cost 10; answers are remembered for this many
/// distinct credentials, then the memory starts over (a flood of guesses cannot grow it).
const MAX_REMEMBERED_CREDENTIALS: usize = 1024;

/// A hash for users that do not exist, so a wrong user name costs as much as a wrong password
/// and the answer time does not tell which users exist. Made once, of a random password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let password = ring::rand::generate::<[u8; 16]>(&ring::rand::SystemRandom::new())
            .map(|random| random.expose())
            .unwrap_or([7; 16]);
        bcrypt::hash(password, bcrypt::DEFAULT_COST).unwrap_or_default()
    })
}

/// The active web config and what the guard remembers between requests.
pub struct WebSecurity {
    path: Option<PathBuf>,
    current: RwLock<Arc<WebConfig>>,
    verified: Mutex<HashMap<[u8; 32], bool>>,
    bucket: Mutex<TokenBucket>,
}

impl WebSecurity {
    /// Loads `--web.config.file`, or serves plain HTTP without authentication when none is given.
    pub fn open(path: Option<PathBuf>) -> Result<WebSecurity, ConfigError> {
        let config = match &path {
            Some(path) => WebConfig::load(path)?,
            None => WebConfig::open(),
        };
        Ok(WebSecurity {
            path,
            current: RwLock::new(Arc::new(config)),
            verified: Mutex::default(),
            bucket: Mutex::new(TokenBucket::new()),
        })
    }

    pub fn current(&self) -> Arc<WebConfig> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the file. Certificates, users, headers and limits change in place; turning TLS
    /// on or off changes the listener and needs a restart, so such a file is refused.
    pub fn reload(&self) -> Result<bool, String> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let fresh = WebConfig::load(path).map_err(|err| err.to_string())?;
        if fresh.tls.is_some() != self.current().tls.is_some() {
            return Err(format!(
                "{}: turning TLS on or off needs a restart; the running web config stays",
                path.display()
            ));
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        self.verified.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(true)
    }

    /// Whether the credentials match a configured user; bcrypt runs off the runtime workers.
    async fn authorised(&self, config: &WebConfig, user: &str, password: &str) -> bool {
        let key = credential_key(user, password, config.users.get(user).map(String::as_str));
        if let Some(known) = self.verified.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return *known;
        }
        let hash = config.users.get(user).cloned();
        let password = password.to_string();
        let verdict = tokio::task::spawn_blocking(move || {
            let (known, checked_against) = match &hash {
                Some(hash) => (true, hash.as_str()),
                None => (false, dummy_hash()),
            };
            let matches = bcrypt::verify(&password, checked_against).unwrap_or(false);
            matches && known
        })
        .await
        .unwrap_or(false);
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= MAX_REMEMBERED_CREDENTIALS {
            verified.clear();
        }
        verified.insert(key, verdict);
        verdict
    }
}

/// Remembered answers are keyed by a digest of the user, the password and the hash it was
/// checked against, so no password is kept and a changed hash is checked again.
fn credential_key(user: &str, password: &str, hash: Option<&str>) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, "\0", password, "\0", hash.unwrap_or_default()] {
        context.update(part.as_bytes());
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(context.finish().as_ref());
    key
}

/// The user and password of an `Authorization: Basic …` header.
fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The middleware: rate limit, then authentication, then the handler, then the headers.
pub async fn guard(State(security): State<Arc<WebSecurity>>, request: Request, next: Next) -> Response {
    let config = security.current();
    if let Some(limit) = config.rate_limit {
        let allowed = security
            .bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(limit, Instant::now());
        if !allowed {
            return (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded\n").into_response();
        }
    }
    if !config.users.is_empty() {
        let authorised = match basic_credentials(&request) {
            Some((user, password)) => security.authorised(&config, &user, &password).await,
            None => false,
        };
        if !authorised {
            let mut response = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"vnready\", charset=\"UTF-8\""),
            );
            return with_headers(response, &config);
        }
    }
    with_headers(next.run(request).await, &config)
}

fn with_headers(mut response: Response, config: &WebConfig) -> Response {
    for (name, value) in &config.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// exporter-toolkit's limiter: a token every `interval`, at most `burst` saved up.
struct TokenBucket {
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    fn new() -> TokenBucket {
        TokenBucket {
            tokens: 0.0,
            last: None,
        }
    }

    fn take(&mut self, limit: RateLimit, now: Instant) -> bool {
        let burst = f64::from(limit.burst);
        let refill = match self.last {
            None => burst,
            Some(last) => now.duration_since(last).as_secs_f64() / limit.interval.as_secs_f64(),
        };
        self.tokens = (self.tokens + refill).min(burst);
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bucket_allows_a_burst_then_one_per_interval() {
        let limit = RateLimit {
            interval: Duration::from_secs(1),
            burst: 3,
        };
        let mut bucket = TokenBucket::new();
        let start = Instant::now();
        let first: Vec<bool> = (0..4).map(|_| bucket.take(limit, start)).collect();
        assert_eq!(first, vec![true, true, true, false]);
        assert!(!bucket.take(limit, start + Duration::from_millis(500)));
        assert!(bucket.take(limit, start + Duration::from_millis(1600)));
        assert!(!bucket.take(limit, start + Duration::from_millis(1700)));
    }

    #[test]
    fn the_dummy_hash_is_a_valid_bcrypt_hash_no_password_matches() {
        assert_eq!(bcrypt::verify("", dummy_hash()).ok(), Some(false));
        let key = credential_key("alice", "pw", Some("h"));
        assert_ne!(
            key,
            credential_key("alice", "pw", Some("h2")),
            "a changed hash is checked again"
        );
    }
}
