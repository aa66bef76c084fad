//! The national sweep on real parts: `check --targets-file` over thousands of names in a lab
//! zone served by the in-process DNS server over UDP and TCP, HTTPS from nginx behind a
//! connection-counting proxy on 127.0.0.1 and ::1. Streaming (output before the input ends),
//! resume after `kill -9` (three times over 2,000 targets), shards by JOB_COMPLETION_INDEX,
//! and the polite defaults (4 connections per address, 20 queries a second per name server).

#[allow(dead_code)]
#[path = "lab/dns.rs"]
mod dns;
mod harness;
mod netlab;
#[allow(dead_code)]
#[path = "lab/pki.rs"]
mod pki;

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dns::{DnsServer, ZoneData};
use harness::{show, LAB_POLITENESS};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use vnready::daemon::shard::Shard;

const ZONE: &str = "sweep.gov.vn";

/// `count` sites `siteN.sweep.gov.vn` on 127.0.0.1 and ::1, in one zone on the lab server.
async fn sweep_dns(count: usize) -> DnsServer {
    let mut zones = ZoneData::default();
    zones.zone(ZONE, &[&format!("ns1.{ZONE}")]);
    zones.a(&format!("ns1.{ZONE}"), "127.0.0.1");
    for n in 0..count {
        zones.a(&format!("site{n}.{ZONE}"), "127.0.0.1");
        zones.a(&format!("site{n}.{ZONE}"), "::1");
    }
    DnsServer::start(zones).await
}

fn targets_file(dir: &Path, count: usize, port: Option<u16>) -> PathBuf {
    let mut text = String::from("# a national list, one target per line\n");
    for n in 0..count {
        match port {
            Some(port) => text.push_str(&format!("https://site{n}.{ZONE}:{port}/\n")),
            None => text.push_str(&format!("site{n}.{ZONE}\n")),
        }
    }
    let path = dir.join("targets.txt");
    std::fs::write(&path, text).expect("targets file");
    path
}

fn vnready_command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_vnready"));
    command.kill_on_drop(true);
    command
}

/// The records of a JSON-lines file, each parsed (panics on a torn or foreign line).
fn records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read output");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the file ends on a line boundary"
    );
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("line is not JSON ({err}): {line}")))
        .collect()
}

fn line_count(path: &Path) -> usize {
    std::fs::read(path)
        .map(|bytes| bytes.iter().filter(|b| **b == b'\n').count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_come_out_while_the_input_is_still_open() {
    let dns = sweep_dns(20).await;
    let resolver = dns.addr().to_string();
    let mut child = vnready_command()
        .args([
            "check",
            "--targets-file",
            "-",
            "--format",
            "jsonl",
            "--only",
            "dns.resolves",
        ])
        .args([
            "--resolver",
            &resolver,
            "--accept-range",
            "127.0.0.0/8",
            "--timeout",
            "10s",
        ])
        .args(LAB_POLITENESS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vnready");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = BTreeSet::new();
    for batch in [0..10, 10..20] {
        let text: String = batch.clone().map(|n| format!("site{n}.{ZONE}\n")).collect();
        stdin.write_all(text.as_bytes()).await.expect("write targets");
        stdin.flush().await.expect("flush");
        // Every line of this batch arrives while standard input is still open: the targets
        // are read and written one at a time, not after the whole list.
        for _ in batch {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .expect("a line before the input ends")
                .expect("read stdout")
                .expect("stdout open");
            let record: Value = serde_json::from_str(&line).expect("a JSON object per line");
            assert_eq!(record["checks"][0]["id"], "dns.resolves", "{line}");
            assert_eq!(record["checks"][0]["status"], "pass", "{line}");
            assert!(record["audited_at"].as_f64().is_some_and(|t| t > 1.7e9), "{line}");
            seen.insert(record["target"].as_str().expect("target").to_string());
        }
    }
    assert_eq!(seen.len(), 20);
    drop(stdin);
    let output = child.wait_with_output().await.expect("vnready exits");
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("20 target(s) audited (20 passed)"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_three_kill_nines_holds_every_target_exactly_once() {
    const TARGETS: usize = 2000;
    let dir = tempfile::tempdir().expect("tempdir");
    let dns = sweep_dns(TARGETS).await;
    let resolver = dns.addr().to_string();
    let list = targets_file(dir.path(), TARGETS, None);
    let out = dir.path().join("out.jsonl");
    let run = |resume: bool| {
        let mut command = vnready_command();
        command
            .args(["check", "--targets-file"])
            .arg(&list)
            .args(["--format", "jsonl", "--only", "dns.resolves", "-o"])
            .arg(&out)
            .args(["--resolver", &resolver, "--timeout", "10s", "--max-rate", "400"])
            .args(LAB_POLITENESS)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if resume {
            command.arg("--resume");
        }
        command.spawn().expect("spawn vnready")
    };
    let mut resume = false;
    for kill_after in [300, 500, 500] {
        let before = line_count(&out);
        let mut child = run(resume);
        // Wait for lines this run wrote (the file only grows past `before` through it).
        let waited = tokio::time::timeout(Duration::from_secs(120), async {
            while line_count(&out) < before + kill_after {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "the sweep wrote {} lines", line_count(&out) - before);
        child.start_kill().expect("kill -9");
        let status = child.wait().await.expect("reaped");
        assert_eq!(status.code(), None, "killed by a signal, not finished");
        assert!(line_count(&out) < TARGETS, "killed before the end");
        resume = true;
    }
    // A write torn by a kill leaves a line without its newline: resume cuts it off.
    let mut file = std::fs::OpenOptions::new().append(true).open(&out).expect("open");
    std::io::Write::write_all(&mut file, b"{\"target\":\"site1.sweep.gov.vn\",\"url\":\"https://si").expect("tear");
    drop(file);
    let output = run(true).wait_with_output().await.expect("final run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("removed a last line cut short"), "{stderr}");
    assert!(stderr.contains("already in the output"), "{stderr}");
    let records = records(&out);
    let mut per_target: BTreeMap<String, usize> = BTreeMap::new();
    for record in &records {
        *per_target
            .entry(record["target"].as_str().expect("target").to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_target.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "written more than once: {twice:?}");
    assert_eq!(per_target.len(), TARGETS, "every target is in the file");
    assert_eq!(records.len(), TARGETS);
}

/// The shipped Indexed Job's `completions` and its container's arguments for one pod, with
/// its volume paths moved under `dir` and its JOB_NAME given.
fn job_arguments(dir: &Path, list: &Path) -> (u32, Vec<String>) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes/sweep-job.yaml"))
        .expect("sweep-job.yaml");
    let job: Value = serde_saphyr::from_str(&text).expect("YAML");
    let completions = job["spec"]["completions"].as_u64().expect("completions") as u32;
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let args = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|arg| arg.as_str().expect("string"))
        // The lab sets its own limits.
        .filter(|arg| !arg.starts_with("--per-"))
        .map(|arg| {
            arg.replace("/data/targets.txt", &list.display().to_string())
                .replace("/data/out", &dir.join("out").display().to_string())
                .replace("$(JOB_NAME)", "lab-sweep")
        })
        .collect();
    (completions, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexed_job_pods_cover_every_target_once_as_serve_assigns_them() {
    const TARGETS: usize = 300;
    let dir = tempfile::tempdir().expect("tempdir");
    let dns = sweep_dns(TARGETS).await;
    let resolver = dns.addr().to_string();
    let list = targets_file(dir.path(), TARGETS, None);
    let (shards, args) = job_arguments(dir.path(), &list);
    let mut children = Vec::new();
    for index in 0..shards {
        // Each pod's arguments, as Kubernetes expands them for its index.
        let args: Vec<String> = args
            .iter()
            .map(|arg| arg.replace("$(JOB_COMPLETION_INDEX)", &index.to_string()))
            .collect();
        let child = vnready_command()
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .args(&args)
            .args(["--only", "dns.resolves", "--resolver", &resolver])
            .args(LAB_POLITENESS)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shard");
        children.push((index, child));
    }
    let mut owner = BTreeMap::new();
    for (index, child) in children {
        let output = child.wait_with_output().await.expect("shard exits");
        assert_eq!(output.status.code(), Some(0), "shard {index}: {}", show(&output));
        let shard = Shard {
            index: index + 1,
            count: shards,
        };
        let out = dir.path().join(format!("out/lab-sweep/shard-{index}.jsonl"));
        let records = records(&out);
        assert!(!records.is_empty(), "shard {index} took no target");
        for record in records {
            let url = record["url"].as_str().expect("url").to_string();
            // The same stable hash of the normalised URL that `serve --shard` filters by.
            assert!(shard.owns(&url), "{url} is not shard {shard}'s");
            assert!(
                owner.insert(url.clone(), index).is_none(),
                "{url} audited by two shards"
            );
        }
    }
    assert_eq!(owner.len(), TARGETS, "the shards together hold every target");
    let bad = vnready_command()
        .env("JOB_COMPLETION_INDEX", shards.to_string())
        .args(["check", "--shards", &shards.to_string(), "--targets-file"])
        .arg(&list)
        .output()
        .await
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    let expected =
        format!("shard index {shards} (--shard-index or JOB_COMPLETION_INDEX) is not below --shards {shards}");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains(&expected),
        "{}",
        show(&bad)
    );
}

/// Connections the proxy has open per listening address, and the most ever open at once.
#[derive(Default)]
struct ConnectionCounts {
    open: Mutex<Vec<std::net::TcpStream>>,
    peak: AtomicUsize,
    accepted: AtomicUsize,
}

impl ConnectionCounts {
    /// Counts the new connection against those still established. A client that closed has
    /// its FIN processed by the kernel before its close() returns on loopback, so its socket
    /// here is in CLOSE_WAIT by the time the client could open the next one.
    fn accepted(&self, stream: &tokio::net::TcpStream) {
        let Ok(mut open) = self.open.lock() else { return };
        open.retain(|socket| tcp_state(socket) == Some(TCP_ESTABLISHED));
        let fd = stream.as_raw_fd();
        // SAFETY: dup of a live descriptor; the copy is owned and closed by the std stream.
        let copy = unsafe { libc::dup(fd) };
        if copy >= 0 {
            use std::os::fd::FromRawFd;
            open.push(unsafe { std::net::TcpStream::from_raw_fd(copy) });
        }
        self.peak.fetch_max(open.len(), Ordering::SeqCst);
        self.accepted.fetch_add(1, Ordering::SeqCst);
    }
}

const TCP_ESTABLISHED: u8 = 1;

fn tcp_state(socket: &std::net::TcpStream) -> Option<u8> {
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut length = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `length` bytes into `info`.
    let result = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut length,
        )
    };
    (result == 0).then_some(info.tcpi_state)
}

/// A TCP proxy on `listen` in front of nginx at `upstream`, counting connections.
async fn counting_proxy(listen: std::net::SocketAddr, upstream: std::net::SocketAddr) -> Arc<ConnectionCounts> {
    let listener = tokio::net::TcpListener::bind(listen).await.expect("bind proxy");
    let counts = Arc::new(ConnectionCounts::default());
    let shared = counts.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            shared.accepted(&client);
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_limits_hold_four_connections_per_address_and_twenty_queries_a_second() {
    const TARGETS: usize = 60;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let lab_pki = pki::LabPki::new();
    let cert = lab_pki.leaf(&[&format!("*.{ZONE}")], pki::Validity::Current, true);
    std::fs::write(d.join("site.crt"), &cert.chain_pem).expect("cert");
    std::fs::write(d.join("site.key"), &cert.key_pem).expect("key");
    std::fs::write(d.join("root.pem"), &lab_pki.root_pem).expect("root");
    let nginx_port = netlab::free_port();
    let servers = format!(
        "server {{ listen 127.0.0.1:{nginx_port} ssl; listen [::1]:{nginx_port} ssl; server_name _;\n\
         ssl_certificate {d}/site.crt; ssl_certificate_key {d}/site.key;\n\
         location / {{ return 200 \"<html><body>ok</body></html>\"; }} }}\n",
        d = d.display()
    );
    let nginx_dir = d.join("nginx");
    std::fs::create_dir_all(&nginx_dir).expect("nginx dir");
    let _nginx = netlab::nginx(None, &nginx_dir, &servers);
    let port = netlab::free_port();
    let v4 = counting_proxy(
        format!("127.0.0.1:{port}").parse().unwrap(),
        format!("127.0.0.1:{nginx_port}").parse().unwrap(),
    )
    .await;
    let v6 = counting_proxy(
        format!("[::1]:{port}").parse().unwrap(),
        format!("[::1]:{nginx_port}").parse().unwrap(),
    )
    .await;
    let dns = sweep_dns(TARGETS).await;
    let list = targets_file(d, TARGETS, Some(port));
    let root = d.join("root.pem");
    let resolver = dns.addr().to_string();
    let sweep = |limits: &'static [&'static str]| {
        let (list, root, resolver) = (list.clone(), root.clone(), resolver.clone());
        async move {
            let output = vnready_command()
                .args(["check", "--targets-file"])
                .arg(&list)
                .args(["--format", "jsonl", "--only", "http.up", "--timeout", "20s"])
                .args([
                    "--resolver",
                    &resolver,
                    "--accept-range",
                    "127.0.0.0/8",
                    "--accept-range",
                    "::1/128",
                ])
                .arg("--extra-root")
                .arg(&root)
                .args(limits)
                .output()
                .await
                .expect("run vnready");
            let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(|line| serde_json::from_str(line).expect("JSON line"))
                .collect();
            assert_eq!(lines.len(), TARGETS, "{}", show(&output));
            for line in &lines {
                assert_eq!(line["checks"][0]["status"], "pass", "{line}");
            }
        }
    };
    let peaks = |reset: bool| {
        let peaks: Vec<(usize, usize)> = [&v4, &v6]
            .iter()
            .map(|counts| {
                (
                    counts.peak.load(Ordering::SeqCst),
                    counts.accepted.load(Ordering::SeqCst),
                )
            })
            .collect();
        if reset {
            for counts in [&v4, &v6] {
                counts.peak.store(0, Ordering::SeqCst);
                counts.accepted.store(0, Ordering::SeqCst);
            }
        }
        peaks
    };
    // No limit flags: the defaults are what is tested.
    sweep(&[]).await;
    let first_arrivals = dns.arrivals().len();
    for (family, (peak, accepted)) in ["IPv4", "IPv6"].iter().zip(peaks(true)) {
        assert!(
            accepted >= TARGETS,
            "{family}: {accepted} connections for {TARGETS} sites"
        );
        assert!(peak <= 4, "{family}: {peak} connections open at once to one address");
    }
    // Queries unlimited, connections at the default: the sweep runs in parallel, 4 at most.
    sweep(&["--per-nameserver-qps", "100000"]).await;
    for (family, (peak, _)) in ["IPv4", "IPv6"].iter().zip(peaks(true)) {
        assert!(peak <= 4, "{family}: {peak} connections open at once to one address");
        assert!(
            peak >= 2,
            "{family}: the sweep still works in parallel ({peak} at most)"
        );
    }
    // And the proxy does see more when the limit is lifted: the counts above mean something.
    sweep(&["--per-nameserver-qps", "100000", "--per-address-concurrency", "64"]).await;
    let unlimited = peaks(false);
    assert!(
        unlimited.iter().any(|(peak, _)| *peak > 4),
        "without the limit the proxy saw {unlimited:?} (peak, connections)"
    );
    // Queries about the zone, by arrival: a turn every 50 ms, so 20 in any second, and a
    // timer that wakes late can put one query next to the following one (without the limit,
    // sixty sites ask hundreds in the first second).
    let mut times: Vec<std::time::Instant> = dns
        .arrivals()
        .into_iter()
        .take(first_arrivals)
        .filter(|(_, name)| name.trim_end_matches('.').ends_with(ZONE))
        .map(|(at, _)| at)
        .collect();
    times.sort();
    assert!(times.len() >= 2 * TARGETS, "{} queries about the zone", times.len());
    let busiest = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| t.duration_since(times[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    eprintln!("busiest second: {busiest} queries");
    assert!(
        busiest <= 22,
        "{busiest} queries within one second to the zone's only server"
    );
}

/// Zones of several registries, so the national views have more than one row each.
const NATIONAL_ZONES: [&str; 5] = ["sweep.gov.vn", "truong.edu.vn", "cho.com.vn", "bao.vn", "abroad.com"];
const PROVINCES: [&str; 3] = ["Hải Phòng", "Hà Nội", "Đà Nẵng"];

/// `check --only … --format jsonl` of `list` into `out`, with `extra` flags (a shard).
async fn sweep_into(list: &Path, out: &Path, resolver: &str, lab: &Path, extra: &[&str]) {
    let output = vnready_command()
        .args(["check", "--targets-file"])
        .arg(list)
        .args([
            "--format",
            "jsonl",
            "--only",
            "dns.resolves,ipv6.aaaa,domain.vn,routing.rpki",
            "-o",
        ])
        .arg(out)
        .args(["--resolver", resolver, "--timeout", "10s"])
        .args(["--accept-range", "127.0.0.0/8", "--accept-range", "::1/128"])
        .arg("--route-origins")
        .arg(lab.join("origins.csv"))
        .arg("--rpki-vrps")
        .arg(lab.join("vrps.json"))
        .args(LAB_POLITENESS)
        .args(extra)
        .output()
        .await
        .expect("run vnready");
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", show(&output));
}

async fn report_from(from: &[String], format: &str, extra: &[&str]) -> Vec<u8> {
    let lang: &[&str] = if extra.contains(&"--lang") {
        &[]
    } else {
        &["--lang", "en"]
    };
    let output = vnready_command()
        .args(["report", "--format", format])
        .args(lang)
        .args(extra)
        .arg("--from")
        .args(from)
        .output()
        .await
        .expect("run vnready report");
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    output.stdout
}

/// The JSON report without the times that differ between two runs of the same sweep.
fn without_times(bytes: &[u8]) -> Value {
    let mut report: Value = serde_json::from_slice(bytes).expect("JSON report");
    report.as_object_mut().expect("object").remove("generated_at");
    for site in report["sites"].as_array_mut().expect("sites") {
        site.as_object_mut().expect("site").remove("audited_at");
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_of_three_shard_files_equals_the_unsharded_report() {
    const SITES: usize = 60;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut zones = ZoneData::default();
    let mut list = String::new();
    for zone in NATIONAL_ZONES {
        zones.zone(zone, &[&format!("ns1.{zone}")]);
        zones.a(&format!("ns1.{zone}"), "127.0.0.1");
    }
    for n in 0..SITES {
        let host = format!("site{n}.{}", NATIONAL_ZONES[n % NATIONAL_ZONES.len()]);
        zones.a(&host, &format!("127.{}.0.{}", n % 2, n + 1));
        if n % 2 == 0 {
            zones.a(&host, "::1");
        }
        let province = match n % 7 {
            0 => String::new(),
            _ => format!(" province=\"{}\"", PROVINCES[n % PROVINCES.len()]),
        };
        list.push_str(&format!("https://{host}/{province} category=education\n"));
    }
    let dns = DnsServer::start(zones).await;
    let resolver = dns.addr().to_string();
    std::fs::write(d.join("list.txt"), list).expect("list");
    std::fs::write(
        d.join("origins.csv"),
        "prefix,asn\n127.0.0.0/16,64500\n127.1.0.0/16,64501\n::1/128,64502\n",
    )
    .expect("origins");
    std::fs::write(
        d.join("vrps.json"),
        r#"{"roas":[{"prefix":"127.0.0.0/16","maxLength":16,"asn":64500,"ta":"lab"}]}"#,
    )
    .expect("vrps");
    let list = d.join("list.txt");
    let whole = d.join("all.jsonl");
    sweep_into(&list, &whole, &resolver, d, &[]).await;
    for k in 1..=3 {
        let shard = format!("{k}/3");
        sweep_into(
            &list,
            &d.join(format!("shard-{k}.jsonl")),
            &resolver,
            d,
            &["--shard", &shard],
        )
        .await;
    }
    let unsharded = [whole.display().to_string()];
    // The glob is vnready's to expand, as a Job's command passes it quoted.
    let merged = [format!("{}/shard-*.jsonl", d.display())];
    let one = report_from(&unsharded, "json", &[]).await;
    let three = report_from(&merged, "json", &[]).await;
    assert_eq!(without_times(&one), without_times(&three), "the merged report differs");
    for table in ["compliance", "views"] {
        let one = report_from(&unsharded, "csv", &["--table", table]).await;
        let three = report_from(&merged, "csv", &["--table", table]).await;
        assert_eq!(
            String::from_utf8_lossy(&one),
            String::from_utf8_lossy(&three),
            "CSV {table}"
        );
    }

    let report = without_times(&one);
    assert_eq!(report["total"]["sites"], SITES);
    assert_eq!(report["sites"].as_array().map(Vec::len), Some(SITES));
    for suffix in ["gov.vn", "edu.vn", "com.vn", "vn", "com"] {
        assert_eq!(report["by_domain_suffix"][suffix]["sites"], SITES / 5, "{suffix}");
    }
    let adoption = |view: &str, group: &str, check: &str| {
        let tally = &report[view][group]["checks"][check];
        (
            tally["met"].as_u64().unwrap_or(0),
            tally["problem"].as_u64().unwrap_or(0),
        )
    };
    assert_eq!(
        adoption("by_domain_suffix", "com", "domain.vn"),
        (0, 12),
        "abroad.com is not .vn"
    );
    assert_eq!(adoption("by_domain_suffix", "gov.vn", "domain.vn").1, 0);
    // Even-numbered sites have an AAAA: half of each zone's.
    assert_eq!(adoption("by_domain_suffix", "gov.vn", "ipv6.aaaa"), (6, 6));
    let total = &report["total"]["checks"]["ipv6.aaaa"];
    assert_eq!((total["met"].as_u64(), total["problem"].as_u64()), (Some(30), Some(30)));
    let provinces: Vec<&String> = report["by_province"].as_object().expect("provinces").keys().collect();
    assert_eq!(provinces, ["Hà Nội", "Hải Phòng", "Đà Nẵng"]);
    let without_province = (0..SITES).filter(|n| n % 7 == 0).count() as u64;
    let with_province: u64 = report["by_province"]
        .as_object()
        .expect("provinces")
        .values()
        .map(|tally| tally["sites"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(with_province + without_province, SITES as u64);
    // The web address's origin AS: IPv4 first, 127.0.x in AS64500, 127.1.x in AS64501.
    assert_eq!(report["by_origin_as"]["AS64500"]["sites"], SITES / 2);
    assert_eq!(report["by_origin_as"]["AS64501"]["sites"], SITES / 2);

    // Every other format is built from the same files.
    let markdown = String::from_utf8(report_from(&merged, "markdown", &[]).await).expect("UTF-8");
    assert!(markdown.contains("## Adoption by second-level domain"), "{markdown}");
    assert!(markdown.contains("| AS64501 |"), "{markdown}");
    assert_eq!(markdown.matches("https://site").count(), SITES);
    let html = String::from_utf8(report_from(&merged, "html", &[]).await).expect("UTF-8");
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("<h2>Adoption by province</h2>"));
    let xlsx = d.join("national.xlsx");
    report_from(&merged, "xlsx", &["-o", &xlsx.display().to_string()]).await;
    use calamine::Reader;
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).expect("open xlsx");
    let sites = workbook.worksheet_range("Sites").expect("sites sheet");
    assert_eq!(sites.height(), SITES + 1, "a header and a row per site");
    let vi = String::from_utf8(report_from(&merged, "csv", &["--lang", "vi"]).await).expect("UTF-8");
    assert!(vi.starts_with('\u{feff}'), "CSV for Excel");
}
