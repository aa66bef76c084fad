//! Daemon benchmark: the real `vnready serve` over synthetic lab targets on loopback.
//!
//! Runs two daemons side by side over the same lab, one with a small and one with a large
//! target list, for one steady interval after their first round, and reports per daemon:
//! CPU (share of one core) and RSS, /metrics size and render time, and how late audits start
//! compared with their schedule. Ratios large/small are printed because absolute figures on a
//! shared 2-core machine are noisy.
//!
//! `cargo bench --bench daemon` (env: BENCH_TARGETS=1000, BENCH_SMALL=100, BENCH_INTERVAL=60)

#[path = "../tests/lab/dns.rs"]
#[allow(dead_code)]
mod dns;
#[path = "../tests/lab/pki.rs"]
#[allow(dead_code)]
mod pki;
#[path = "../tests/lab/web.rs"]
#[allow(dead_code)]
mod web;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const ZONE: &str = "bench.gov.vn";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Lab {
    dir: tempfile::TempDir,
    dns: dns::DnsServer,
    https_port: u16,
    http_port: u16,
    root: PathBuf,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn start_lab(targets: u64) -> Lab {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::LabPki::new();
    let wildcard = format!("*.{ZONE}");
    let cert = pki.leaf(&[wildcard.as_str()], pki::Validity::Current, true);
    let (https4, https6, https_port) = web::bind_pair().await;
    let (http4, http6, http_port) = web::bind_pair().await;
    let page = web::Page::ok(
        "<html><head><title>Cổng thông tin</title></head><body>Tin tức</body></html>",
        Some("max-age=31536000"),
    );
    let https = web::Behaviour::Https { cert, page };
    let plain = web::Behaviour::Http {
        page: web::Page::redirect(&format!("https://s0.{ZONE}:{https_port}/")),
    };
    let counters = Arc::new(web::Counters::default());
    let tasks = vec![
        web::serve(https4, https.clone(), counters.clone()),
        web::serve(https6, https, counters.clone()),
        web::serve(http4, plain.clone(), counters.clone()),
        web::serve(http6, plain, counters),
    ];
    let mut zones = dns::ZoneData::default();
    let ns1 = format!("ns1.{ZONE}");
    let ns2 = format!("ns2.{ZONE}");
    zones.zone(ZONE, &[&ns1, &ns2]);
    for ns in [&ns1, &ns2] {
        zones.a(ns, "127.0.0.1");
        zones.a(ns, "::1");
    }
    for i in 0..targets {
        let host = format!("s{i}.{ZONE}");
        zones.a(&host, "127.0.0.1");
        zones.a(&host, "::1");
    }
    let dns = dns::DnsServer::start(zones).await;
    let root = dir.path().join("root.pem");
    std::fs::write(&root, &pki.root_pem).expect("write root");
    Lab {
        dir,
        dns,
        https_port,
        http_port,
        root,
        _tasks: tasks,
    }
}

fn write_config(lab: &Lab, from: u64, count: u64, interval: u64, name: &str) -> PathBuf {
    let mut yaml = format!(
        "defaults:\n  interval: {interval}s\n  timeout: 5s\n  concurrency: 32\nresolver:\n  servers: [\"{}\"]\n  ns_port: {}\n\
         trust:\n  extra_roots: [\"{}\"]\n  accept_ranges: [\"127.0.0.0/8\", \"::1/128\"]\ntargets:\n",
        lab.dns.addr(),
        lab.dns.port,
        lab.root.display()
    );
    for i in from..from + count {
        yaml.push_str(&format!(
            "  - url: \"https://s{i}.{ZONE}:{}/\"\n    http_url: \"http://s{i}.{ZONE}:{}/\"\n    agency: \"Sở {}\"\n    category: state_portal\n",
            lab.https_port,
            lab.http_port,
            i % 40
        ));
    }
    let path = lab.dir.path().join(name);
    std::fs::write(&path, yaml).expect("write config");
    path
}

struct Daemon {
    child: Child,
    address: String,
    ready: tokio::sync::oneshot::Receiver<()>,
}

async fn spawn_daemon(config: &Path) -> Daemon {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vnready"))
        .args([
            "serve",
            "--log.format",
            "json",
            "--web.listen-address",
            "127.0.0.1:0",
            "--storage.path",
        ])
        .arg(config.with_extension("db"))
        .arg("--config")
        .arg(config)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn vnready");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let (address_tx, address_rx) = tokio::sync::oneshot::channel();
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut address_tx = Some(address_tx);
        let mut ready_tx = Some(ready_tx);
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if event["event"] == "listening" {
                if let (Some(tx), Some(address)) = (address_tx.take(), event["address"].as_str()) {
                    let _ = tx.send(address.to_string());
                }
            }
            if event["event"] == "ready" {
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(());
                }
            }
        }
    });
    let address = address_rx.await.expect("daemon printed its address");
    Daemon { child, address, ready }
}

async fn get_metrics(address: &str) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (body, elapsed)
}

/// utime+stime in seconds, and RSS in KiB, from /proc.
fn cpu_and_rss(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or_default();
    // Fields after ")" start at state (field 3); utime is field 14, stime 15.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    (cpu, rss)
}

/// The schedule-lag histogram as (upper bound, cumulative count), plus sum and count.
fn lag_histogram(metrics: &str) -> (Vec<(f64, f64)>, f64, f64) {
    let mut buckets = Vec::new();
    let (mut sum, mut count) = (0.0, 0.0);
    for line in metrics.lines() {
        let value = || {
            line.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_default()
        };
        if let Some(rest) = line.strip_prefix("vnready_schedule_lag_seconds_bucket{le=\"") {
            let bound = rest.split('"').next().unwrap_or_default();
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().unwrap_or_default()
            };
            buckets.push((bound, value()));
        } else if line.starts_with("vnready_schedule_lag_seconds_sum") {
            sum = value();
        } else if line.starts_with("vnready_schedule_lag_seconds_count") {
            count = value();
        }
    }
    (buckets, sum, count)
}

/// The smallest bucket bound under which `quantile` of the window's audits started.
fn quantile_bound(before: &[(f64, f64)], after: &[(f64, f64)], quantile: f64) -> f64 {
    let total = after.last().map(|b| b.1).unwrap_or_default() - before.last().map(|b| b.1).unwrap_or_default();
    for (index, (bound, cumulative)) in after.iter().enumerate() {
        let earlier = before.get(index).map(|b| b.1).unwrap_or_default();
        if total > 0.0 && (cumulative - earlier) / total >= quantile {
            return *bound;
        }
    }
    f64::INFINITY
}

struct Figures {
    targets: u64,
    cpu_share: f64,
    rss_mib: f64,
    metrics_bytes: usize,
    render_ms: f64,
    audits: f64,
    mean_lag_ms: f64,
    p50_lag_bound: f64,
    p99_lag_bound: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --all-targets` also runs bench binaries, without `--bench`: a benchmark
    // is not a test, so say so and leave.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("benches/daemon.rs is a benchmark: run it with `cargo bench --bench daemon`");
        return;
    }
    let large = env_number("BENCH_TARGETS", 1000);
    let small = env_number("BENCH_SMALL", 100);
    let interval = env_number("BENCH_INTERVAL", 60);
    let lab = start_lab(large + small).await;
    let configs = [
        (small, write_config(&lab, large, small, interval, "small.yaml")),
        (large, write_config(&lab, 0, large, interval, "large.yaml")),
    ];
    eprintln!("bench: {small} and {large} synthetic targets, interval {interval}s, side by side");
    let mut daemons = Vec::new();
    for (count, config) in &configs {
        daemons.push((*count, spawn_daemon(config).await));
    }
    let warmup = Instant::now();
    for (_, daemon) in &mut daemons {
        (&mut daemon.ready).await.expect("daemon became ready");
    }
    eprintln!(
        "bench: both ready after {:.1}s (first round)",
        warmup.elapsed().as_secs_f64()
    );

    let mut starts = Vec::new();
    for (_, daemon) in &daemons {
        let pid = daemon.child.id().expect("pid");
        let (metrics, _) = get_metrics(&daemon.address).await;
        starts.push((cpu_and_rss(pid).0, lag_histogram(&metrics)));
    }
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(interval)).await;
    let seconds = window.elapsed().as_secs_f64();

    let mut figures = Vec::new();
    for ((count, daemon), (cpu_before, (buckets_before, sum_before, count_before))) in daemons.iter().zip(&starts) {
        let pid = daemon.child.id().expect("pid");
        let (cpu_after, rss) = cpu_and_rss(pid);
        let mut renders = Vec::new();
        let mut body = String::new();
        for _ in 0..20 {
            let (text, elapsed) = get_metrics(&daemon.address).await;
            renders.push(elapsed.as_secs_f64() * 1000.0);
            body = text;
        }
        renders.sort_by(f64::total_cmp);
        let (buckets, sum, lag_count) = lag_histogram(&body);
        let audits = lag_count - count_before;
        figures.push(Figures {
            targets: *count,
            cpu_share: (cpu_after - cpu_before) / seconds,
            rss_mib: rss as f64 / 1024.0,
            metrics_bytes: body.len(),
            render_ms: renders[renders.len() / 2],
            audits,
            mean_lag_ms: if audits > 0.0 {
                (sum - sum_before) / audits * 1000.0
            } else {
                0.0
            },
            p50_lag_bound: quantile_bound(buckets_before, &buckets, 0.5),
            p99_lag_bound: quantile_bound(buckets_before, &buckets, 0.99),
        });
    }
    println!("\nvnready serve, steady window of {seconds:.0}s after the first round (interval {interval}s)\n");
    println!(
        "{:>8} {:>10} {:>9} {:>12} {:>11} {:>8} {:>12} {:>10} {:>10}",
        "targets", "cpu(core)", "rss MiB", "/metrics B", "render ms", "audits", "mean lag ms", "p50 lag≤", "p99 lag≤"
    );
    for f in &figures {
        println!(
            "{:>8} {:>10.3} {:>9.1} {:>12} {:>11.2} {:>8.0} {:>12.2} {:>9}s {:>9}s",
            f.targets,
            f.cpu_share,
            f.rss_mib,
            f.metrics_bytes,
            f.render_ms,
            f.audits,
            f.mean_lag_ms,
            f.p50_lag_bound,
            f.p99_lag_bound
        );
    }
    if let [s, l] = &figures[..] {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        println!(
            "\nratios {}/{} targets: cpu ×{:.2}, rss ×{:.2}, /metrics size ×{:.2}, render time ×{:.2}, audits ×{:.2}",
            l.targets,
            s.targets,
            ratio(l.cpu_share, s.cpu_share),
            ratio(l.rss_mib, s.rss_mib),
            ratio(l.metrics_bytes as f64, s.metrics_bytes as f64),
            ratio(l.render_ms, s.render_ms),
            ratio(l.audits, s.audits)
        );
    }
    for (_, daemon) in &mut daemons {
        let _ = daemon.child.kill().await;
    }
}
