//! Whether a server accepts TLS 1.3 early data (0-RTT) for the page: a first connection gets a
//! session ticket, a second resumes with the GET request sent as early data, and rustls says
//! whether the server took it. Early data can be replayed by anyone on the path, so a server
//! that accepts it for a page with side effects is open to replay (RFC 8446 §8).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::tls::TlsSetup;

/// At most this much of each answer is read (the tickets come before it).
const MAX_ANSWER: usize = 64 * 1024;

/// `Ok(true)` when the second connection's early data was accepted.
pub async fn accepted(
    setup: &TlsSetup,
    address: SocketAddr,
    host: &str,
    path: &str,
    deadline: Instant,
) -> Result<bool, String> {
    let (base, _recorded) = setup.recording_config();
    let mut config = (*base).clone();
    config.enable_early_data = true;
    // A store of its own: no other site's ticket is ever offered here.
    config.resumption = rustls::client::Resumption::in_memory_sessions(2);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: vnready\r\nConnection: close\r\n\r\n");
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|err| err.to_string())?;
    let attempt = async {
        // First visit: a full handshake, the page, and the tickets that come with it.
        let tcp = super::politeness::connect(address, None)
            .await
            .map_err(|err| err.to_string())?;
        let mut first = connector
            .connect(name.clone(), tcp)
            .await
            .map_err(|err| err.to_string())?;
        first
            .write_all(request.as_bytes())
            .await
            .map_err(|err| err.to_string())?;
        read_some(&mut first).await;
        // Closed before the second visit: a server that serves one connection at a time
        // (openssl s_server) would otherwise wait on the first.
        let _ = first.shutdown().await;
        drop(first);
        // Second visit: resume and send the request as early data.
        let tcp = super::politeness::connect(address, None)
            .await
            .map_err(|err| err.to_string())?;
        let mut second = connector
            .clone()
            .early_data(true)
            .connect(name, tcp)
            .await
            .map_err(|err| err.to_string())?;
        second
            .write_all(request.as_bytes())
            .await
            .map_err(|err| err.to_string())?;
        second.flush().await.map_err(|err| err.to_string())?;
        read_some(&mut second).await;
        Ok::<bool, String>(second.get_ref().1.is_early_data_accepted())
    };
    tokio::time::timeout_at(deadline, attempt)
        .await
        .unwrap_or_else(|_| Err("timeout".into()))
}

/// Reads the first part of the answer: by then the handshake is over, the tickets that come
/// before the answer are stored, and rustls knows whether early data was accepted. A server
/// that keeps the connection open is not waited for.
async fn read_some<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) {
    let mut buffer = vec![0u8; MAX_ANSWER];
    let _ = stream.read(&mut buffer).await;
}
