//! How far a connection has got, as it goes: when it connected and when the server last sent
//! a byte. A path that drops full-size packets (an IPv6 path-MTU blackhole) shows as a
//! connection that completed its TCP handshake and then received nothing; the fetch is watched
//! so the path-MTU probe can tell that from a slow server while the fetch is still running.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// Not yet.
const NEVER: u64 = u64::MAX;

/// Shared by a fetch's connections and whoever watches them.
#[derive(Debug)]
pub struct Progress {
    start: Instant,
    /// Milliseconds after `start` of the latest TCP connect, or [`NEVER`].
    connected_ms: AtomicU64,
    /// Milliseconds after `start` of the latest byte read, or [`NEVER`].
    read_ms: AtomicU64,
    /// Bytes read over every watched connection.
    bytes: AtomicU64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            start: Instant::now(),
            connected_ms: AtomicU64::new(NEVER),
            read_ms: AtomicU64::new(NEVER),
            bytes: AtomicU64::new(0),
        }
    }
}

impl Progress {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(NEVER - 1)
    }

    /// A watched connection completed its TCP handshake.
    pub fn connected(&self) {
        self.connected_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn read(&self, bytes: usize) {
        self.read_ms.store(self.now_ms(), Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Bytes received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// When the watched fetch will have been quiet for `quiet` since its last connect or
    /// byte; `None` while it has not connected (a slow connect is not a stalled path).
    pub fn stalled_at(&self, quiet: Duration) -> Option<Instant> {
        let connected = self.connected_ms.load(Ordering::Relaxed);
        if connected == NEVER {
            return None;
        }
        let read = self.read_ms.load(Ordering::Relaxed);
        let last = if read == NEVER { connected } else { connected.max(read) };
        Some(self.start + Duration::from_millis(last) + quiet)
    }
}

/// A stream that reports reads to a [`Progress`].
pub struct Watched<S> {
    inner: S,
    progress: Option<std::sync::Arc<Progress>>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, progress: Option<std::sync::Arc<Progress>>) -> Watched<S> {
        if let Some(progress) = &progress {
            progress.connected();
        }
        Watched { inner, progress }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            if let Some(progress) = &self.progress {
                progress.read(read);
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_are_counted_and_quiet_is_measured_from_the_last_one() {
        let progress = std::sync::Arc::new(Progress::default());
        assert_eq!(progress.stalled_at(Duration::from_secs(1)), None, "not connected yet");
        let (client, mut server) = tokio::io::duplex(64);
        let mut watched = Watched::new(client, Some(progress.clone()));
        let connected = progress.stalled_at(Duration::ZERO).expect("connected");
        server.write_all(b"hello").await.expect("write");
        let mut buffer = [0u8; 5];
        watched.read_exact(&mut buffer).await.expect("read");
        assert_eq!(progress.bytes(), 5);
        assert!(progress.stalled_at(Duration::ZERO).expect("connected") >= connected);
    }
}
