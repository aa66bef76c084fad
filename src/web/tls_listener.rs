//! A TLS listener for axum: TCP connections are accepted at once and their handshakes run
//! concurrently, each bounded in time, so one slow or silent client cannot hold up the others.
//! Each handshake uses the web config current at that moment, so a reload's new certificate
//! is served to the next connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::guard::WebSecurity;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many handshakes at once; more connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 256;

/// Connections that completed a TLS handshake (and, when asked, presented an allowed SAN).
pub struct TlsListener {
    established: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp` until `stop` is cancelled.
    pub fn spawn(
        tcp: TcpListener,
        security: Arc<WebSecurity>,
        stop: CancellationToken,
    ) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (sender, established) = mpsc::channel(64);
        let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let accepted = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = tcp.accept() => accepted,
                };
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        tracing::warn!(event = "accept_failed", error = %err, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let config = security.current();
                let sender = sender.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let Some(tls) = config.tls.clone() else { return };
                    let handshake = TlsAcceptor::from(tls).accept(stream);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                        Ok(Ok(stream)) if san_allowed(&stream, &config.client_allowed_sans) => {
                            let _ = sender.send((stream, peer)).await;
                        }
                        Ok(Ok(_)) => {
                            tracing::warn!(event = "client_san_refused", peer = %peer, "client certificate has no allowed SAN");
                        }
                        Ok(Err(err)) => tracing::debug!(peer = %peer, error = %err, "TLS handshake failed"),
                        Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { established, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.established.recv().await {
            Some(connection) => connection,
            // The accept loop stopped: no connection will ever come again.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// With `client_allowed_sans`, the verified client certificate must name one of them exactly
/// (DNS name, IP address, e-mail or URI), as exporter-toolkit requires.
fn san_allowed(stream: &TlsStream<TcpStream>, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(leaf) = stream.get_ref().1.peer_certificates().and_then(|chain| chain.first()) else {
        return false;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf.as_ref()) else {
        return false;
    };
    let Ok(Some(sans)) = cert.subject_alternative_name() else {
        return false;
    };
    sans.value.general_names.iter().any(|name| {
        use x509_parser::extensions::GeneralName;
        let text = match name {
            GeneralName::DNSName(dns) => dns.to_string(),
            GeneralName::RFC822Name(mail) => mail.to_string(),
            GeneralName::URI(uri) => uri.to_string(),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => <[u8; 4]>::try_from(*bytes)
                    .map(|b| std::net::IpAddr::from(b).to_string())
                    .unwrap_or_default(),
                16 => <[u8; 16]>::try_from(*bytes)
                    .map(|b| std::net::IpAddr::from(b).to_string())
                    .unwrap_or_default(),
                _ => String::new(),
            },
            _ => String::new(),
        };
        !text.is_empty() && allowed.contains(&text)
    })
}
