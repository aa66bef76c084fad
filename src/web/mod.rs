//! The daemon's HTTP endpoints, with the paths and behaviour Prometheus exporters use:
//! `/metrics`, `/probe`, `/-/healthy`, `/-/ready`, `/-/reload`, the status page, and the
//! exporter-toolkit web config (TLS, basic auth, headers, rate limit) in front of them all.

pub mod badge;
pub mod config;
pub mod guard;
pub mod probe;
pub mod status;
pub mod tls_listener;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::audit::runner;
use crate::daemon::supervisor::SupervisorRequest;
use crate::daemon::Daemon;
use crate::history::snapshots::TargetSnapshot;
use crate::metrics::{self, Exposition};
use crate::model::clock::unix_now;
use guard::WebSecurity;
use probe::ProbeRefusal;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub daemon: Arc<Daemon>,
    /// What `/metrics` renders.
    pub exposition: Arc<metrics::DaemonExposition>,
    pub commands: mpsc::Sender<SupervisorRequest>,
    /// Bounds concurrent `/probe` audits so scrapes cannot exhaust the machine.
    pub probe_slots: Arc<Semaphore>,
    /// TLS, users, headers and rate limit from `--web.config.file`.
    pub security: Arc<WebSecurity>,
    /// Availability history for the status page and the badges.
    pub uptime: Arc<crate::daemon::uptime::UptimeView>,
}

/// Re-reads the web config on the blocking pool and logs the outcome; a bad file keeps the
/// running one.
pub async fn reload_web_config(security: &Arc<WebSecurity>) -> Result<(), String> {
    let reloading = security.clone();
    let outcome = tokio::task::spawn_blocking(move || reloading.reload())
        .await
        .unwrap_or_else(|err| Err(format!("reading the web config failed: {err}")));
    match outcome {
        Ok(true) => {
            tracing::info!(event = "web_config_reloaded", "web config reloaded");
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(message) => {
            tracing::error!(event = "web_config_reload_failed", error = %message, "web config reload rejected; the running one stays");
            Err(message)
        }
    }
}

/// The router with every endpoint.
pub fn router(state: AppState) -> Router {
    let security = state.security.clone();
    Router::new()
        .route("/", get(status_overview))
        .route("/site", get(status_site))
        .route("/badge", get(badge_handler))
        .route("/metrics", get(metrics_handler))
        .route("/probe", get(probe_handler))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route("/-/reload", post(reload))
        .layer(axum::middleware::from_fn_with_state(security, guard::guard))
        .with_state(state)
}

fn page_language(params: &HashMap<String, String>, headers: &HeaderMap) -> crate::report::Lang {
    status::language(
        params,
        headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
    )
}

async fn status_overview(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Html<String> {
    let lang = page_language(&params, &headers);
    let summaries = state.uptime.summaries(unix_now()).await;
    Html(status::overview(&state.daemon, &params, lang, &summaries))
}

async fn status_site(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = page_language(&params, &headers);
    let now = unix_now();
    let summaries = state.uptime.summaries(now).await;
    let history = match params.get("target") {
        Some(target) => state.uptime.site(target, now).await,
        None => Vec::new(),
    };
    match status::site_page(&state.daemon, &params, lang, &summaries, &history) {
        Some(page) => Html(page).into_response(),
        None => (StatusCode::NOT_FOUND, "no such target here\n").into_response(),
    }
}

/// `/badge`: a listed target's availability over a window, as an SVG to embed.
async fn badge_handler(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let runtime = state.daemon.active();
    let request = match badge::request(&runtime.config, &params) {
        Ok(request) => request,
        Err(badge::BadgeRefusal::BadRequest(message)) => {
            return (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
        }
        Err(badge::BadgeRefusal::Forbidden(message)) => {
            return (StatusCode::FORBIDDEN, format!("{message}\n")).into_response()
        }
    };
    let now = unix_now();
    let history = state.uptime.site(&request.target.id, now).await;
    let svg = badge::render(&request, &history, now);
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        svg,
    )
        .into_response()
}

fn exposition(headers: &HeaderMap) -> Exposition {
    Exposition::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

fn render_response(rendered: std::io::Result<Vec<u8>>, format: Exposition) -> Response {
    match rendered {
        Ok(body) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "encoding metrics failed\n").into_response(),
    }
}

/// Streams the exposition as it is written, off the runtime workers that probe, gzipped when
/// the scraper asks (Prometheus always does): 10,000 targets are 40 MB of text, which is
/// never held whole.
async fn metrics_handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let format = exposition(&headers);
    let gzip = accepts_gzip(&headers);
    let (chunks, receiver) = mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
    let exposition = state.exposition.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = ChunkSender::new(chunks);
        let written = if gzip {
            let mut encoder = flate2::write::GzEncoder::new(&mut sink, flate2::Compression::fast());
            exposition
                .write(format, &mut encoder)
                .and_then(|()| encoder.finish().map(|_| ()))
        } else {
            exposition.write(format, &mut sink)
        };
        match written.and_then(|()| sink.flush_chunk()) {
            Ok(()) => {}
            // The scraper hung up: nobody is left to tell.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(err) => sink.fail(err),
        }
    });
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let mut response = (
        [(header::CONTENT_TYPE, format.content_type())],
        axum::body::Body::from_stream(stream),
    )
        .into_response();
    if gzip {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, header::HeaderValue::from_static("gzip"));
    }
    response
        .headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept-Encoding"));
    response
}

/// An `io::Write` that hands 256 KiB chunks to the response body; a full channel makes the
/// writer wait, so a slow scraper cannot make it buffer the whole exposition.
struct ChunkSender {
    chunks: mpsc::Sender<std::io::Result<bytes::Bytes>>,
    buffer: Vec<u8>,
}

impl ChunkSender {
    const CHUNK: usize = 256 * 1024;

    fn new(chunks: mpsc::Sender<std::io::Result<bytes::Bytes>>) -> ChunkSender {
        ChunkSender {
            chunks,
            buffer: Vec::with_capacity(Self::CHUNK),
        }
    }

    fn flush_chunk(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = bytes::Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(Self::CHUNK)));
        self.chunks
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }

    /// Ends the body with an error, so the scraper sees a broken response, not a short one.
    fn fail(self, err: std::io::Error) {
        tracing::error!(event = "metrics_render_failed", error = %err, "writing /metrics failed");
        let _ = self.chunks.blocking_send(Err(err));
    }
}

impl std::io::Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= Self::CHUNK {
            self.flush_chunk()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether Accept-Encoding lists gzip with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let quality_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            coding.eq_ignore_ascii_case("gzip") && !quality_zero
        })
}

#[derive(serde::Deserialize)]
struct ProbeParams {
    target: Option<String>,
}

async fn probe_handler(
    State(state): State<AppState>,
    Query(params): Query<ProbeParams>,
    headers: HeaderMap,
) -> Response {
    let runtime = state.daemon.active();
    let mut target = match probe::resolve_target(&runtime.config, params.target.as_deref()) {
        Ok(target) => target,
        Err(refusal @ ProbeRefusal::BadRequest(_)) => {
            return (StatusCode::BAD_REQUEST, format!("{refusal}\n")).into_response()
        }
        Err(refusal @ ProbeRefusal::Forbidden(_)) => {
            tracing::warn!(event = "probe_refused", target = ?params.target, "refused /probe of an unlisted target");
            return (StatusCode::FORBIDDEN, format!("{refusal}\n")).into_response();
        }
    };
    let Ok(_slot) = state.probe_slots.try_acquire() else {
        state.daemon.ops.probe_requests_throttled.inc();
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "5")],
            "too many /probe audits running; retry on the next scrape\n",
        )
            .into_response();
    };
    let scrape_timeout = headers
        .get("X-Prometheus-Scrape-Timeout-Seconds")
        .and_then(|v| v.to_str().ok());
    target.settings.timeout = probe::budget(target.settings.timeout, scrape_timeout);
    let started = Instant::now();
    let _in_flight = InFlight::enter(&state.daemon.ops.probe_requests_in_flight);
    let mut verdict = Box::pin(runner::audit_target(&runtime.prober, &target, &runtime.plan)).await;
    verdict.drop_bodies();
    let snapshot = Arc::new(TargetSnapshot {
        target: Arc::new(target),
        verdict,
        states: Default::default(),
        audited_at: unix_now(),
    });
    let format = exposition(&headers);
    render_response(
        metrics::render_probe(&snapshot, started.elapsed().as_secs_f64(), format),
        format,
    )
}

/// Counts a running `/probe` audit until it ends, also when the scraper hangs up and the
/// handler is dropped half-way.
struct InFlight(prometheus_client::metrics::gauge::Gauge);

impl InFlight {
    fn enter(gauge: &prometheus_client::metrics::gauge::Gauge) -> InFlight {
        gauge.inc();
        InFlight(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn healthy() -> &'static str {
    "Healthy\n"
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.daemon.is_ready() {
        (StatusCode::OK, "Ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: first round of audits running\n",
        )
            .into_response()
    }
}

async fn reload(State(state): State<AppState>) -> Response {
    if let Err(message) = reload_web_config(&state.security).await {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload rejected: {message}\n"),
        )
            .into_response();
    }
    let (reply, answer) = oneshot::channel();
    if state.commands.send(SupervisorRequest::Reload(reply)).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match answer.await {
        Ok(Ok(summary)) => (StatusCode::OK, format!("reloaded: {summary}\n")).into_response(),
        Ok(Err(message)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload rejected: {message}\n"),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response(),
    }
}
