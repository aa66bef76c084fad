//! Lab web servers: HTTPS (rustls + hyper) and plain HTTP on 127.0.0.1 and ::1, plus servers
//! that refuse, hang, or still speak TLS 1.0 (openssl s_server). Each listener counts TCP
//! accepts, finished TLS handshakes and HTTP requests so tests can assert connection costs.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::pki::ServedCert;

/// What a listener answers.
#[derive(Clone)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Page {
    pub fn ok(body: &str, hsts: Option<&str>) -> Page {
        let mut headers = vec![("content-type".to_string(), "text/html; charset=utf-8".to_string())];
        if let Some(value) = hsts {
            headers.push(("strict-transport-security".into(), value.into()));
        }
        Page {
            status: 200,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    /// A binary body (a CRL) with its content type.
    pub fn bytes(body: Vec<u8>, content_type: &str) -> Page {
        Page {
            status: 200,
            headers: vec![("content-type".to_string(), content_type.to_string())],
            body,
        }
    }

    pub fn status(status: u16, body: &str) -> Page {
        Page {
            status,
            headers: vec![("content-type".to_string(), "text/html; charset=utf-8".to_string())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn redirect(location: &str) -> Page {
        Page {
            status: 301,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        }
    }
}

/// Counters of one listener.
#[derive(Default)]
pub struct Counters {
    pub tcp_accepts: AtomicUsize,
    pub tls_handshakes: AtomicUsize,
    pub requests: AtomicUsize,
}

impl Counters {
    pub fn get(&self) -> (usize, usize, usize) {
        (
            self.tcp_accepts.load(Ordering::SeqCst),
            self.tls_handshakes.load(Ordering::SeqCst),
            self.requests.load(Ordering::SeqCst),
        )
    }
}

/// How a listener behaves.
#[derive(Clone)]
pub enum Behaviour {
    Https {
        cert: ServedCert,
        page: Page,
    },
    Http {
        page: Page,
    },
    /// HTTPS whose answers alternate between two pages, request by request: a site whose
    /// status changes on every audit (crash tests need a stream of transitions).
    Alternating {
        cert: ServedCert,
        pages: Arc<[Page; 2]>,
        served: Arc<AtomicUsize>,
    },
    /// HTTPS that shows search crawlers (a User-Agent with "Googlebot") another page: cloaking.
    Cloaking {
        cert: ServedCert,
        page: Page,
        crawler_page: Page,
    },
    /// HTTPS answering `pages[current]`: a test switches the page between two audits.
    Switchable {
        cert: ServedCert,
        pages: Arc<[Page; 2]>,
        current: Arc<AtomicUsize>,
    },
    /// Accepts TCP and then never says a word.
    Hang,
    /// Completes TLS, then answers 200 with a chunked body that never ends.
    EndlessBody {
        cert: ServedCert,
    },
    /// Completes TLS, then sends response headers forever.
    HeaderFlood {
        cert: ServedCert,
    },
}

/// Binds `127.0.0.1` and `::1` on one shared port (retrying until both are free).
pub async fn bind_pair() -> (TcpListener, TcpListener, u16) {
    for _ in 0..50 {
        let Ok(v4) = TcpListener::bind("127.0.0.1:0").await else {
            continue;
        };
        let port = v4.local_addr().expect("bound").port();
        if let Ok(v6) = TcpListener::bind(("::1", port)).await {
            return (v4, v6, port);
        }
    }
    panic!("no port free on both 127.0.0.1 and ::1");
}

/// Serves `behaviour` on `listener` until the task is aborted.
pub fn serve(listener: TcpListener, behaviour: Behaviour, counters: Arc<Counters>) -> tokio::task::JoinHandle<()> {
    let acceptor = match &behaviour {
        Behaviour::Https { cert, .. }
        | Behaviour::Alternating { cert, .. }
        | Behaviour::Cloaking { cert, .. }
        | Behaviour::Switchable { cert, .. }
        | Behaviour::EndlessBody { cert }
        | Behaviour::HeaderFlood { cert } => {
            let config =
                rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .expect("versions")
                    .with_no_client_auth()
                    .with_single_cert(cert.chain.clone(), cert.key())
                    .expect("lab certificate");
            Some(TlsAcceptor::from(Arc::new(config)))
        }
        _ => None,
    };
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            counters.tcp_accepts.fetch_add(1, Ordering::SeqCst);
            let behaviour = behaviour.clone();
            let counters = counters.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match behaviour {
                    Behaviour::Hang => {
                        let _held = stream;
                        std::future::pending::<()>().await;
                    }
                    Behaviour::Http { page } => serve_http(stream, page, counters).await,
                    Behaviour::EndlessBody { .. } | Behaviour::HeaderFlood { .. } => {
                        let Some(acceptor) = acceptor else { return };
                        if let Ok(tls) = acceptor.accept(stream).await {
                            counters.tls_handshakes.fetch_add(1, Ordering::SeqCst);
                            let endless_body = matches!(behaviour, Behaviour::EndlessBody { .. });
                            flood(tls, endless_body).await;
                        }
                    }
                    Behaviour::Https { page, .. } => {
                        let Some(acceptor) = acceptor else { return };
                        if let Ok(tls) = acceptor.accept(stream).await {
                            counters.tls_handshakes.fetch_add(1, Ordering::SeqCst);
                            serve_http(tls, page, counters).await;
                        }
                    }
                    Behaviour::Cloaking { page, crawler_page, .. } => {
                        let Some(acceptor) = acceptor else { return };
                        if let Ok(tls) = acceptor.accept(stream).await {
                            counters.tls_handshakes.fetch_add(1, Ordering::SeqCst);
                            serve_by_agent(tls, page, crawler_page, counters).await;
                        }
                    }
                    Behaviour::Switchable { pages, current, .. } => {
                        let Some(acceptor) = acceptor else { return };
                        if let Ok(tls) = acceptor.accept(stream).await {
                            counters.tls_handshakes.fetch_add(1, Ordering::SeqCst);
                            let page = pages[current.load(Ordering::SeqCst) % 2].clone();
                            serve_http(tls, page, counters).await;
                        }
                    }
                    Behaviour::Alternating { pages, served, .. } => {
                        let Some(acceptor) = acceptor else { return };
                        if let Ok(tls) = acceptor.accept(stream).await {
                            counters.tls_handshakes.fetch_add(1, Ordering::SeqCst);
                            let page = pages[served.fetch_add(1, Ordering::SeqCst) % 2].clone();
                            serve_http(tls, page, counters).await;
                        }
                    }
                }
            });
        }
    })
}

async fn serve_http<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    page: Page,
    counters: Arc<Counters>,
) {
    serve_chosen(stream, counters, move |_| page.clone()).await;
}

/// Answers `crawler_page` when the User-Agent names Googlebot, `page` otherwise.
async fn serve_by_agent<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    page: Page,
    crawler_page: Page,
    counters: Arc<Counters>,
) {
    serve_chosen(stream, counters, move |request| {
        let crawler = request
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|agent| agent.contains("Googlebot"));
        if crawler {
            crawler_page.clone()
        } else {
            page.clone()
        }
    })
    .await;
}

/// Serves HTTP/1.1 on `stream`, answering each request with the page `choose` picks for it.
async fn serve_chosen<S, F>(stream: S, counters: Arc<Counters>, choose: F)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn(&Request<hyper::body::Incoming>) -> Page + Send + 'static,
{
    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
        counters.requests.fetch_add(1, Ordering::SeqCst);
        let page = choose(&request);
        async move {
            let mut response = Response::builder().status(page.status);
            for (name, value) in &page.headers {
                response = response.header(name, value);
            }
            Ok::<_, Infallible>(response.body(Full::new(Bytes::from(page.body))).expect("response"))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A hostile server: after the request, an endless body or endless headers, until the client
/// goes away.
async fn flood<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, endless_body: bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = [0u8; 4096];
    if stream.read(&mut request).await.is_err() {
        return;
    }
    let (head, unit): (&[u8], Vec<u8>) = if endless_body {
        let chunk = vec![b'x'; 16 * 1024];
        let mut unit = format!("{:x}\r\n", chunk.len()).into_bytes();
        unit.extend_from_slice(&chunk);
        unit.extend_from_slice(b"\r\n");
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
            unit,
        )
    } else {
        (
            b"HTTP/1.1 200 OK\r\n",
            b"X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(64),
        )
    };
    if stream.write_all(head).await.is_err() {
        return;
    }
    while stream.write_all(&unit).await.is_ok() {}
}

/// `openssl s_server` with TLS 1.0 still enabled, as old government servers have. Returns the
/// child (killed on drop) once it prints ACCEPT.
pub struct LegacyTlsServer {
    server: OpensslServer,
    pub port: u16,
}

impl LegacyTlsServer {
    pub async fn start(cert: &ServedCert, dir: &std::path::Path) -> LegacyTlsServer {
        let files = write_served(cert, dir, "legacy");
        let server = OpensslServer::start("127.0.0.1", 0, &files, &["-cipher", "DEFAULT:@SECLEVEL=0"]).await;
        LegacyTlsServer {
            port: server.port,
            server,
        }
    }

    pub fn keep(&self) -> &OpensslServer {
        &self.server
    }
}

/// A served chain written out for openssl: leaf, intermediates and key.
pub struct ServedFiles {
    pub cert: std::path::PathBuf,
    pub chain: Option<std::path::PathBuf>,
    pub key: std::path::PathBuf,
}

/// Writes `cert` as `NAME-leaf.pem`, `NAME-intermediates.pem` and `NAME-key.pem` under `dir`.
pub fn write_served(cert: &ServedCert, dir: &std::path::Path, name: &str) -> ServedFiles {
    let end = "-----END CERTIFICATE-----\n";
    let split = cert
        .chain_pem
        .find(end)
        .map(|index| index + end.len())
        .unwrap_or(cert.chain_pem.len());
    let leaf = dir.join(format!("{name}-leaf.pem"));
    let intermediates = dir.join(format!("{name}-intermediates.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    std::fs::write(&leaf, &cert.chain_pem[..split]).expect("write cert");
    std::fs::write(&intermediates, &cert.chain_pem[split..]).expect("write intermediates");
    std::fs::write(&key, &cert.key_pem).expect("write key");
    ServedFiles {
        cert: leaf,
        chain: (split < cert.chain_pem.len()).then_some(intermediates),
        key,
    }
}

/// `openssl s_server -www` on one address: the TLS dialects rustls will not serve (TLS 1.0,
/// CBC-only, NULL) and keys it will not load (RSA-1024). Killed on drop.
pub struct OpensslServer {
    child: tokio::process::Child,
    pub port: u16,
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl OpensslServer {
    /// Starts on `ip` (127.0.0.1 or ::1) and `port` (0 picks a free one); returns once it
    /// prints ACCEPT. Panics if it cannot start even on fresh ports.
    pub async fn start(ip: &str, port: u16, files: &ServedFiles, args: &[&str]) -> OpensslServer {
        for _ in 0..20 {
            if let Some(server) = Self::try_start(ip, port, files, args).await {
                return server;
            }
            assert_eq!(port, 0, "openssl s_server could not bind {ip} port {port}");
        }
        panic!("openssl s_server did not start on {ip} after 20 ports");
    }

    /// One attempt: `None` when openssl exits before listening (the port was taken meanwhile by
    /// a test running in parallel).
    pub async fn try_start(ip: &str, port: u16, files: &ServedFiles, args: &[&str]) -> Option<OpensslServer> {
        let port = if port == 0 {
            std::net::TcpListener::bind((ip, 0))
                .expect("free port")
                .local_addr()
                .expect("addr")
                .port()
        } else {
            port
        };
        let accept = if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        };
        let mut command = tokio::process::Command::new("openssl");
        command
            .args(["s_server", "-accept", &accept, "-cert"])
            .arg(&files.cert)
            .arg("-key")
            .arg(&files.key);
        if let Some(chain) = &files.chain {
            command.arg("-cert_chain").arg(chain);
        }
        let mut child = command
            .arg("-www")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("openssl is installed by the test command");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut accepted = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("ACCEPT") {
                accepted = true;
                break;
            }
        }
        if !accepted {
            return None;
        }
        // Keep reading both streams so a chatty server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        if let Some(stderr) = child.stderr.take() {
            let mut errors = BufReader::new(stderr).lines();
            tokio::spawn(async move { while let Ok(Some(_)) = errors.next_line().await {} });
        }
        Some(OpensslServer { child, port })
    }
}

pub fn socket(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse::<IpAddr>().expect("ip"), port)
}
