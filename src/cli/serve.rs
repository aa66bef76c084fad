//! `vnready serve`: wires config, store, supervisor, HTTP server and signals together, and
//! takes them down in order: stop scheduling, drain audits, flush the store, stop serving.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::Overrides;
use crate::daemon::shard::Shard;
use crate::daemon::supervisor::{ConfigSource, ReloadError, Supervisor, SupervisorRequest};
use crate::daemon::Daemon;
use crate::history::store::{HistoryStore, NullStore, SqliteStore, StoreHealth, StoreWriter, StoredHistory};
use crate::metrics;
use crate::web::guard::WebSecurity;
use crate::web::tls_listener::TlsListener;
use crate::web::{self, AppState};

/// Everything `serve` needs, already parsed.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub config: PathBuf,
    pub overrides: Overrides,
    pub listen: SocketAddr,
    /// `None` keeps no history.
    pub storage: Option<PathBuf>,
    /// How long the store keeps outages, gaps and transitions.
    pub retention: Duration,
    pub shard: Shard,
    pub grace: Duration,
    /// exporter-toolkit web config: TLS, basic auth, headers, rate limit.
    pub web_config: Option<PathBuf>,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ReloadError),
    #[error(transparent)]
    WebConfig(#[from] crate::config::ConfigError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the history writer: {0}")]
    StoreThread(#[source] std::io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    /// A start-up task on the blocking pool died.
    #[error("start-up work failed: {0}")]
    Blocking(String),
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(options: ServeOptions) -> Result<(), ServeError> {
    let ServeOptions {
        config,
        overrides,
        listen,
        storage,
        retention,
        shard,
        grace,
        web_config,
    } = options;
    let source = ConfigSource {
        path: config,
        overrides,
    };
    // Reading files and opening SQLite block: they run on the blocking pool, never on a
    // runtime worker.
    let (runtime, source, security) =
        tokio::task::spawn_blocking(move || (source.load(None), source, WebSecurity::open(web_config)))
            .await
            .map_err(|err| ServeError::Blocking(err.to_string()))?;
    let runtime = runtime?;
    let security = Arc::new(security?);
    let health = Arc::new(StoreHealth::default());
    let store_health = health.clone();
    let store_path = storage.clone();
    let (store, history) =
        tokio::task::spawn_blocking(move || open_store(storage.as_deref(), retention, &store_health))
            .await
            .map_err(|err| ServeError::Blocking(err.to_string()))?;
    let writer = StoreWriter::spawn(store, health.clone()).map_err(ServeError::StoreThread)?;
    let concurrency = runtime.config.concurrency;
    let daemon = Arc::new(Daemon::new(runtime, history, writer, health, shard));
    let exposition = Arc::new(metrics::daemon_exposition(
        daemon.snapshots.clone(),
        daemon.clone(),
        &daemon.ops,
        daemon.store_health.clone(),
        &shard.to_string(),
    ));

    let listener = TcpListener::bind(listen).await.map_err(|source| ServeError::Listen {
        address: listen,
        source,
    })?;
    let address = listener.local_addr().map_err(|source| ServeError::Listen {
        address: listen,
        source,
    })?;
    tracing::info!(
        event = "listening",
        address = %address,
        shard = %shard,
        targets = daemon.ops.targets.get(),
        tls = security.current().tls.is_some(),
        basic_auth = !security.current().users.is_empty(),
        "serving /metrics and /probe"
    );

    let (commands, command_receiver) = mpsc::channel(8);
    let shutdown = CancellationToken::new();
    spawn_signal_handlers(shutdown.clone(), commands.clone(), security.clone())?;
    let app = web::router(AppState {
        daemon: daemon.clone(),
        exposition,
        commands,
        probe_slots: Arc::new(Semaphore::new(concurrency.max(1))),
        security: security.clone(),
        uptime: Arc::new(crate::daemon::uptime::UptimeView::new(store_path)),
    });
    let server_stop = CancellationToken::new();
    let stopped = server_stop.clone().cancelled_owned();
    let server = if security.current().tls.is_some() {
        let listener = TlsListener::spawn(listener, security.clone(), server_stop.clone()).map_err(|source| {
            ServeError::Listen {
                address: listen,
                source,
            }
        })?;
        tokio::spawn(std::future::IntoFuture::into_future(
            axum::serve(listener, app).with_graceful_shutdown(stopped),
        ))
    } else {
        tokio::spawn(std::future::IntoFuture::into_future(
            axum::serve(listener, app).with_graceful_shutdown(stopped),
        ))
    };

    Supervisor::new(daemon.clone(), source)
        .run(command_receiver, shutdown, grace)
        .await;
    let flushing = daemon.clone();
    if let Err(err) = tokio::task::spawn_blocking(move || flushing.flush_store()).await {
        tracing::error!(event = "store_flush_failed", error = %err, "flushing the history store failed");
    }
    server_stop.cancel();
    if let Ok(Err(err)) = server.await {
        tracing::warn!(event = "http_server_failed", error = %err, "HTTP server stopped with an error");
    }
    tracing::info!(event = "stopped", "vnready stopped");
    Ok(())
}

/// Opens the store; a store that cannot be opened is reported (log + metric) and replaced by
/// one that keeps nothing, because auditing matters more than remembering.
fn open_store(
    path: Option<&std::path::Path>,
    retention: Duration,
    health: &StoreHealth,
) -> (Box<dyn HistoryStore>, StoredHistory) {
    let Some(path) = path else {
        return (Box::new(NullStore), StoredHistory::default());
    };
    let opened = SqliteStore::open(path)
        .map(|store| store.with_retention(retention))
        .and_then(|mut store| {
            let history = store.load()?;
            Ok((store, history))
        });
    match opened {
        Ok((store, history)) => {
            tracing::info!(
                event = "store_opened",
                path = %path.display(),
                targets_with_history = history.checks.len(),
                "history store opened"
            );
            (Box::new(store), history)
        }
        Err(err) => {
            health.mark_failed(&err);
            (Box::new(NullStore), StoredHistory::default())
        }
    }
}

fn spawn_signal_handlers(
    shutdown: CancellationToken,
    commands: mpsc::Sender<SupervisorRequest>,
    security: Arc<WebSecurity>,
) -> Result<(), ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(ServeError::Signals)?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = terminate.recv() => {
                    tracing::info!(event = "signal", signal = "SIGTERM", "shutting down");
                    shutdown.cancel();
                    return;
                }
                _ = interrupt.recv() => {
                    tracing::info!(event = "signal", signal = "SIGINT", "shutting down");
                    shutdown.cancel();
                    return;
                }
                _ = hangup.recv() => {
                    tracing::info!(event = "signal", signal = "SIGHUP", "reloading configuration");
                    // A bad web config is logged and the running one stays; targets reload anyway.
                    let _ = web::reload_web_config(&security).await;
                    let (reply, answer) = oneshot::channel();
                    if commands.send(SupervisorRequest::Reload(reply)).await.is_err() {
                        return;
                    }
                    // The supervisor logs the outcome; waiting keeps reloads in order.
                    let _ = answer.await;
                }
            }
        }
    });
    Ok(())
}

/// Parses `--web.listen-address`: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for every interface.
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("invalid listen address {text:?}: bad port"))?;
        return Ok(SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)));
    }
    text.parse::<SocketAddr>()
        .map_err(|_| format!("invalid listen address {text:?}: expected HOST:PORT, [IPv6]:PORT or :PORT"))
}
