//! The real `vnready serve` daemon over the lab: metrics contract, promtool, /probe, reloads,
//! signals, crash safety of the history store, and sharding.

mod harness;
mod lab;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use harness::{samples, Daemon, Sample};
use lab::{host, Lab};

/// A config over some lab sites, with the lab's resolver, roots and ranges.
fn config_for(lab: &Lab, hosts: &[String], interval: &str, name: &str) -> PathBuf {
    let mut yaml = format!(
        "defaults:\n  timeout: {timeout}\n  interval: {interval}\nresolver:\n  servers: [\"{dns}\"]\n  ns_port: {port}\n\
         trust:\n  extra_roots: [\"{root}\"]\n  accept_ranges: [\"127.0.0.0/8\", \"::1/128\"]\ntargets:\n",
        timeout = lab::LAB_TIMEOUT,
        dns = lab.dns.addr(),
        port = lab.dns.port,
        root = lab.root_path.display()
    );
    for name in hosts {
        let site = lab.site(name);
        yaml.push_str(&format!(
            "  - url: \"{}\"\n    http_url: \"http://{}:{}/\"\n    agency: \"Sở Y tế\"\n    category: health\n",
            site.url(),
            site.host,
            site.http_port
        ));
    }
    let path = lab.dir.path().join(name);
    std::fs::write(&path, yaml).expect("write config");
    path
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    find(samples, name, labels)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
        .value
}

fn targets_in(samples: &[Sample]) -> BTreeSet<String> {
    samples
        .iter()
        .filter(|s| s.name == "vnready_target_info")
        .filter_map(|s| s.label("target").map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_the_contract_and_promtool_accepts_them() {
    let lab = Lab::start().await;
    let mut daemon = Daemon::start(&["--config", &arg(&lab.config_path), "--storage.path", ""]).await;
    assert_eq!(daemon.get("/-/healthy").await.status, 200);
    daemon.wait_ready().await;

    let reply = daemon.get("/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        reply.content_type
    );
    let text = reply.body;
    let all = samples(&text);

    // Every family of the contract is present, with HELP, and no sample carries a timestamp.
    for family in [
        "vnready_check_status",
        "vnready_check_last_change_timestamp_seconds",
        "vnready_target_info",
        "vnready_target_compliance_ratio",
        "vnready_probe_success",
        "vnready_http_duration_seconds",
        "vnready_http_status_code",
        "vnready_dns_addresses",
        "vnready_tls_cert_not_after_timestamp_seconds",
        "vnready_tls_cert_info",
        "vnready_build_info",
        "vnready_config_last_reload_successful",
        "vnready_config_last_reload_success_timestamp_seconds",
        "vnready_probes_total",
        "vnready_targets",
    ] {
        assert!(all.iter().any(|s| s.name == family), "{family} missing");
        assert!(text.contains(&format!("# HELP {family} ")), "{family} has no HELP");
    }
    assert!(all.iter().all(|s| s.extra.is_empty()), "a sample has a timestamp");
    assert_eq!(targets_in(&all).len(), lab.urls.len());
    assert_eq!(value(&all, "vnready_targets", &[]), lab.urls.len() as f64);
    // The series budget (docs/metrics.md): at most 60 per target over the lab's sites, broken
    // ones included.
    let per_target = all.iter().filter(|s| s.label("target").is_some()).count() as f64 / lab.urls.len() as f64;
    eprintln!(
        "metrics: {per_target:.1} series per target over {} lab targets",
        lab.urls.len()
    );
    assert!(per_target <= 60.0, "{per_target:.1} series per target");

    let good = lab.url_of(&host("good"));
    let v4only = lab.url_of(&host("v4only"));
    let expired = lab.url_of(&host("expired"));
    let v6hang = lab.url_of(&host("v6hang"));
    assert_eq!(
        value(
            &all,
            "vnready_check_status",
            &[("target", &good), ("check", "ipv6.aaaa")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &all,
            "vnready_check_status",
            &[("target", &v4only), ("check", "ipv6.aaaa")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &all,
            "vnready_dns_addresses",
            &[("target", &v4only), ("ip_family", "ipv6")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &all,
            "vnready_probe_success",
            &[("target", &v6hang), ("ip_family", "ipv4")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &all,
            "vnready_probe_success",
            &[("target", &v6hang), ("ip_family", "ipv6")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &all,
            "vnready_http_status_code",
            &[("target", &good), ("ip_family", "ipv6")]
        ),
        200.0
    );
    assert!(find(
        &all,
        "vnready_http_duration_seconds",
        &[("target", &good), ("ip_family", "ipv6"), ("phase", "tls")]
    )
    .is_some());
    // An expired certificate still exports its expiry, in the past, and is marked invalid.
    let expiry = value(
        &all,
        "vnready_tls_cert_not_after_timestamp_seconds",
        &[("target", &expired)],
    );
    assert!(expiry > 0.0 && expiry < harness_now(), "expiry {expiry}");
    assert_eq!(value(&all, "vnready_tls_cert_valid", &[("target", &expired)]), 0.0);
    assert_eq!(
        value(
            &all,
            "vnready_check_status",
            &[("target", &expired), ("check", "tls.valid")]
        ),
        2.0
    );
    let info = find(&all, "vnready_target_info", &[("target", &good)]).expect("target_info");
    assert_eq!(info.label("agency"), Some("Sở Khoa học và Công nghệ"));
    assert_eq!(info.label("category"), Some("state_portal"));

    // promtool reads the text format and has nothing to say.
    let promtool = promtool_check(&text).await;
    assert!(promtool.is_empty(), "promtool check metrics:\n{promtool}");

    // OpenMetrics when Prometheus asks for it.
    let open = daemon
        .request(
            "GET",
            "/metrics",
            &[("accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")],
        )
        .await;
    assert!(
        open.content_type.starts_with("application/openmetrics-text"),
        "{}",
        open.content_type
    );
    assert!(open.body.ends_with("# EOF\n"));
    assert!(open.body.contains("# TYPE vnready_target info"));
    assert!(open.body.contains("# UNIT vnready_http_duration_seconds seconds"));

    // Gzip when the scraper asks (Prometheus sends Accept-Encoding: gzip); the same samples.
    let plain = daemon.get("/metrics").await;
    let zipped = daemon.request("GET", "/metrics", &[("accept-encoding", "gzip")]).await;
    assert_eq!(zipped.content_encoding, "gzip");
    assert!(
        zipped.bytes.len() * 4 < plain.bytes.len(),
        "gzip should shrink the exposition"
    );
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped.bytes[..]), &mut unzipped)
        .expect("valid gzip");
    let names = |text: &str| -> BTreeSet<String> { samples(text).into_iter().map(|s| s.name).collect() };
    assert_eq!(names(&unzipped), names(&plain.body));
    let refused = daemon
        .request("GET", "/metrics", &[("accept-encoding", "gzip;q=0, identity")])
        .await;
    assert_eq!(refused.content_encoding, "", "q=0 refuses gzip");
}

fn harness_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// Runs `promtool check metrics` over `text` and returns what it printed. promtool comes
/// from Debian's prometheus package, which the test command installs.
async fn promtool_check(text: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let mut child = match tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => panic!("promtool is required (apt-get install prometheus; scripts/test.sh does): {err}"),
    };
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(text.as_bytes()).await.expect("write to promtool");
    drop(stdin);
    let output = child.wait_with_output().await.expect("promtool");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() && printed.trim().is_empty() {
        return format!("promtool exited with {:?}", output.status.code());
    }
    printed.trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_serves_listed_targets_only() {
    let lab = Lab::start().await;
    let hosts = [host("good"), host("v4only")];
    let mut config = std::fs::read_to_string(config_for(&lab, &hosts, "1h", "probe.yaml")).expect("read");
    config = config.replacen(
        "targets:\n",
        "probe_endpoint:\n  allow_host_suffixes: [\"cdn-example.com\"]\ntargets:\n",
        1,
    );
    let path = lab.dir.path().join("probe-allow.yaml");
    std::fs::write(&path, config).expect("write");
    let daemon = Daemon::start(&["--config", &arg(&path), "--storage.path", ""]).await;

    let good = lab.url_of(&host("good"));
    let reply = daemon
        .request(
            "GET",
            &format!("/probe?target={}", urlencode(&good)),
            &[("X-Prometheus-Scrape-Timeout-Seconds", "10")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let all = samples(&reply.body);
    assert_eq!(targets_in(&all), BTreeSet::from([good.clone()]));
    assert!(all.iter().all(|s| s.label("target").is_none_or(|t| t == good)));
    assert_eq!(
        value(
            &all,
            "vnready_check_status",
            &[("target", &good), ("check", "ipv6.reachable")]
        ),
        0.0
    );
    assert!(find(&all, "vnready_probe_duration_seconds", &[]).is_some());
    assert!(promtool_check(&reply.body).await.is_empty());

    for refused in ["https://example.com/", "https://evil-lab.gov.vn/", "10.0.0.1"] {
        let reply = daemon.get(&format!("/probe?target={}", urlencode(refused))).await;
        let expected = if refused == "10.0.0.1" { 400 } else { 403 };
        assert_eq!(reply.status, expected, "{refused}: {}", reply.body);
    }
    assert_eq!(daemon.get("/probe").await.status, 400);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_a_good_file_and_keeps_running_on_a_bad_one() {
    let lab = Lab::start().await;
    let config = lab.dir.path().join("reload.yaml");
    let first = config_for(&lab, &[host("good"), host("v4only")], "1h", "first.yaml");
    std::fs::copy(&first, &config).expect("copy");
    let mut daemon = Daemon::start(&[
        "--config",
        &arg(&config),
        "--storage.path",
        "",
        "--log.level",
        "info,vnready=debug",
    ])
    .await;
    daemon.wait_ready().await;
    let before = samples(&daemon.get("/metrics").await.body);
    assert_eq!(value(&before, "vnready_config_last_reload_successful", &[]), 1.0);
    let loaded_at = value(&before, "vnready_config_last_reload_success_timestamp_seconds", &[]);

    // Good file over POST: v4only leaves, v6only arrives and is audited at once.
    let second = config_for(&lab, &[host("good"), host("v6only")], "1h", "second.yaml");
    std::fs::copy(&second, &config).expect("copy");
    let before_post = daemon.mark();
    let reply = daemon.request("POST", "/-/reload", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("1 added, 1 removed"), "{}", reply.body);
    let v6only = lab.url_of(&host("v6only"));
    let first_change = daemon
        .wait_for_event(before_post, |e| {
            e["event"] == "check_changed" && e["target"] == v6only.as_str()
        })
        .await;
    // Event lines carry what a SIEM needs at the top level.
    for field in ["check", "from", "to", "at", "reason", "reason_vi", "timestamp", "level"] {
        assert!(first_change.get(field).is_some(), "{field} missing in {first_change}");
    }
    daemon
        .wait_for_event(before_post, |e| {
            e["event"] == "audited" && e["target"] == v6only.as_str()
        })
        .await;
    let after = samples(&daemon.get("/metrics").await.body);
    let expected: BTreeSet<String> = [lab.url_of(&host("good")), v6only.clone()].into();
    assert_eq!(targets_in(&after), expected, "removed target's series must disappear");
    assert!(!after
        .iter()
        .any(|s| s.label("target") == Some(lab.url_of(&host("v4only")).as_str())));
    assert!(value(&after, "vnready_config_last_reload_success_timestamp_seconds", &[]) >= loaded_at);
    // The unchanged target kept its schedule: the reload did not audit it again.
    let good = lab.url_of(&host("good"));
    let good_audits = daemon
        .events()
        .iter()
        .filter(|e| e["event"] == "audited" && e["target"] == good.as_str())
        .count();
    assert_eq!(good_audits, 1);

    // Bad file: rejected with file:line:col, nothing changes, the gauge says so.
    std::fs::write(&config, "targets:\n  - url: https://a.gov.vn/\n    colour: blue\n").expect("write bad");
    let before_bad = daemon.mark();
    let reply = daemon.request("POST", "/-/reload", &[]).await;
    assert_eq!(reply.status, 500);
    let location = format!("{}:3:5", config.display());
    assert!(reply.body.contains(&location), "{} lacks {location}", reply.body);
    let failed = daemon
        .wait_for_event(before_bad, |e| e["event"] == "reload_failed")
        .await;
    assert!(
        failed["error"].as_str().unwrap_or_default().contains(&location),
        "{failed}"
    );
    let rejected = samples(&daemon.get("/metrics").await.body);
    assert_eq!(value(&rejected, "vnready_config_last_reload_successful", &[]), 0.0);
    assert_eq!(targets_in(&rejected), expected);

    // SIGHUP with a good file again: back to one target, gauge back to 1.
    let third = config_for(&lab, &[host("good")], "1h", "third.yaml");
    std::fs::copy(&third, &config).expect("copy");
    let before_hup = daemon.mark();
    daemon.signal("HUP");
    daemon.wait_for_event(before_hup, |e| e["event"] == "reloaded").await;
    let healed = samples(&daemon.get("/metrics").await.body);
    assert_eq!(value(&healed, "vnready_config_last_reload_successful", &[]), 1.0);
    assert_eq!(targets_in(&healed), BTreeSet::from([good]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_zero() {
    let lab = Lab::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("history.db");
    let mut daemon = Daemon::start(&["--config", &arg(&lab.config_path), "--storage.path", &arg(&store)]).await;
    daemon.wait_ready().await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().await, Some(0));
    assert!(daemon.events().iter().any(|e| e["event"] == "stopped"));
    // A whole round over the lab logs only vnready's own lines: every line is a JSON event, and
    // besides the per-check baseline and fact changes only a handful of lifecycle lines (no
    // DNS-library dumps: the lab's unsigned zones made hundreds of those per site).
    let log = daemon.log();
    let not_events: Vec<&String> = log
        .iter()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .map(|event| event.get("event").is_none())
                .unwrap_or(true)
        })
        .collect();
    assert!(
        not_events.is_empty(),
        "lines that are not vnready events: {not_events:#?}"
    );
    let lifecycle = daemon
        .events()
        .iter()
        .filter(|e| {
            !matches!(
                e["event"].as_str(),
                Some("check_changed" | "certificate_changed" | "addresses_changed" | "name_servers_changed")
            )
        })
        .count();
    assert!(
        lifecycle <= 10,
        "{lifecycle} lifecycle lines in one round:\n{}",
        log.join("\n")
    );
    assert!(
        log.iter().all(|line| !line.contains('\u{1b}')),
        "no colour codes in a file"
    );
    let stored = vnready::history::store::SqliteStore::open(&store).expect("open store");
    assert!(stored.consistency_problems().expect("check").is_empty());
    let good = lab.url_of(&host("good"));
    assert!(
        stored.latest_verdict(&good).expect("read").is_some(),
        "flushed before exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_write_and_restart_keep_history() {
    let lab = Lab::start().await;
    let hosts: Vec<String> = [
        "good",
        "v4only",
        "expired",
        "noredirect",
        "shorthsts",
        "v6only",
        "offvn",
        "wronghost",
    ]
    .iter()
    .map(|l| host(l))
    .collect();
    let config = config_for(&lab, &hosts, "1s", "fast.yaml");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("history.db");
    let args = [
        "--config".to_string(),
        arg(&config),
        "--storage.path".into(),
        arg(&store),
        "--log.level".into(),
        "info,vnready=debug".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let v4only = lab.url_of(&host("v4only"));
    let since_of = |samples: &[Sample]| {
        value(
            samples,
            "vnready_check_last_change_timestamp_seconds",
            &[("target", &v4only), ("check", "ipv6.aaaa")],
        )
    };

    let mut daemon = Daemon::start(&args).await;
    daemon.wait_ready().await;
    let original_since = since_of(&samples(&daemon.get("/metrics").await.body));

    // Kill while audits (and so writes) are streaming in: every target is re-audited each
    // second, and each kill lands right after a fresh batch of audits was logged.
    for round in 0..4 {
        let now = daemon.mark();
        daemon
            .wait_for_events(now, 3 + round, |e| e["event"] == "audited")
            .await;
        daemon.signal("KILL");
        assert_eq!(daemon.wait_exit().await, None, "killed by a signal");
        let stored = vnready::history::store::SqliteStore::open(&store).expect("reopen after kill -9");
        let problems = stored.consistency_problems().expect("check");
        assert!(problems.is_empty(), "round {round}: {problems:?}");
        drop(stored);
        daemon = Daemon::start(&args).await;
        daemon.wait_ready().await;
        let restored = samples(&daemon.get("/metrics").await.body);
        assert_eq!(
            since_of(&restored),
            original_since,
            "round {round}: failing-since moved"
        );
    }
    // No transition was recorded twice: restarts do not re-announce unchanged statuses.
    let stored = vnready::history::store::SqliteStore::open(&store).expect("open");
    let transitions = stored.transitions_of(&v4only).expect("read");
    let aaaa: Vec<_> = transitions.iter().filter(|t| t.check == "ipv6.aaaa").collect();
    assert_eq!(aaaa.len(), 1, "{aaaa:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_cover_the_lab_exactly_once() {
    let lab = Lab::start().await;
    let mut owned: BTreeMap<String, u32> = BTreeMap::new();
    let mut total_owned = 0.0;
    let mut daemons = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let daemon = Daemon::start(&[
            "--config",
            &arg(&lab.config_path),
            "--storage.path",
            "",
            "--shard",
            &shard,
        ])
        .await;
        daemons.push(daemon);
    }
    for daemon in &mut daemons {
        daemon.wait_ready().await;
        let all = samples(&daemon.get("/metrics").await.body);
        let mine = targets_in(&all);
        assert_eq!(value(&all, "vnready_targets", &[]), mine.len() as f64);
        assert_eq!(value(&all, "vnready_targets_configured", &[]), lab.urls.len() as f64);
        total_owned += value(&all, "vnready_targets", &[]);
        for target in mine {
            *owned.entry(target).or_default() += 1;
        }
    }
    let expected: BTreeSet<String> = lab.urls.iter().cloned().collect();
    assert_eq!(owned.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(owned.values().all(|count| *count == 1), "{owned:?}");
    assert_eq!(total_owned, lab.urls.len() as f64);
}

/// A small tmpfs mounted for one test and unmounted after it.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed: this test needs root (CI and scripts/test.sh run as root)"
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes zeros until the disk refuses more.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).expect("create filler");
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).and_then(|()| file.flush()).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_keeps_probing_and_exporting_and_says_so() {
    let lab = Lab::start().await;
    let config = config_for(&lab, &[host("good"), host("v4only")], "1s", "disk.yaml");
    let disk = SmallDisk::mount("4m");
    let store = disk.path().join("history.db");
    let mut daemon = Daemon::start(&[
        "--config",
        &arg(&config),
        "--storage.path",
        &arg(&store),
        "--log.level",
        "info,vnready=debug",
    ])
    .await;
    daemon.wait_ready().await;
    let healthy = samples(&daemon.get("/metrics").await.body);
    assert_eq!(value(&healthy, "vnready_store_healthy", &[]), 1.0);

    // Fill the disk: the next write cannot grow the WAL.
    let before_fill = daemon.mark();
    let filler = disk.fill();
    let failed = daemon
        .wait_for_event(before_fill, |e| e["event"] == "store_failed")
        .await;
    assert_eq!(failed["reason"], "full", "{failed}");
    // Probing and exporting go on: more audits finish and /metrics follows them.
    let good = lab.url_of(&host("good"));
    let before = value(
        &samples(&daemon.get("/metrics").await.body),
        "vnready_target_last_audit_timestamp_seconds",
        &[("target", &good)],
    );
    let after_failure = daemon.mark();
    daemon
        .wait_for_events(after_failure, 4, |e| e["event"] == "audited")
        .await;
    let full = samples(&daemon.get("/metrics").await.body);
    assert_eq!(value(&full, "vnready_store_healthy", &[]), 0.0);
    assert!(value(&full, "vnready_store_write_errors_total", &[]) >= 1.0);
    assert!(
        value(
            &full,
            "vnready_target_last_audit_timestamp_seconds",
            &[("target", &good)]
        ) > before
    );
    assert_eq!(daemon.get("/-/healthy").await.status, 200);

    // Space comes back: writes resume by themselves.
    let before_space = daemon.mark();
    std::fs::remove_file(&filler).expect("remove filler");
    daemon
        .wait_for_event(before_space, |e| e["event"] == "store_recovered")
        .await;
    let recovered = samples(&daemon.get("/metrics").await.body);
    assert_eq!(value(&recovered, "vnready_store_healthy", &[]), 1.0);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().await, Some(0));
    let stored = vnready::history::store::SqliteStore::open(&store).expect("open");
    assert!(stored.consistency_problems().expect("check").is_empty());
}

/// What curl saw: its exit code, the HTTP status (0 when there was none) and the body.
struct Curl {
    exit: i32,
    status: u16,
    headers: String,
    body: String,
}

/// Runs the real curl; `args` come before the URL.
async fn curl(args: &[&str], url: &str) -> Curl {
    let dir = tempfile::tempdir().expect("tempdir");
    let headers_path = dir.path().join("headers");
    let output = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "-o", "-", "-D"])
        .arg(&headers_path)
        .args(["-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .await
        .expect("curl is required; scripts/test.sh installs it");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    Curl {
        exit: output.status.code().unwrap_or(-1),
        status: status.trim().parse().unwrap_or(0),
        headers: std::fs::read_to_string(&headers_path).unwrap_or_default(),
        body: body.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_config_serves_tls_and_basic_auth_and_reloads_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = lab::pki::LabPki::new();
    let cert = pki.leaf(&["localhost", "127.0.0.1"], lab::pki::Validity::Current, true);
    let (cert_path, key_path, ca_path) = (
        dir.path().join("web.pem"),
        dir.path().join("web.key"),
        dir.path().join("ca.pem"),
    );
    std::fs::write(&cert_path, &cert.chain_pem).expect("cert");
    std::fs::write(&key_path, &cert.key_pem).expect("key");
    std::fs::write(&ca_path, &pki.root_pem).expect("ca");
    let hash = bcrypt::hash("s3cret", 4).expect("bcrypt");
    let web_config = |min_version: &str| {
        format!(
            "tls_server_config:\n  cert_file: web.pem\n  key_file: web.key\n  min_version: {min_version}\n\
             http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n\
             basic_auth_users:\n  prometheus: {hash}\n"
        )
    };
    let web_path = dir.path().join("web.yml");
    std::fs::write(&web_path, web_config("TLS12")).expect("web.yml");
    let targets = dir.path().join("targets.yaml");
    std::fs::write(&targets, "targets: []\n").expect("targets");
    let daemon = Daemon::start(&[
        "--config",
        &arg(&targets),
        "--storage.path",
        "",
        "--web.config.file",
        &arg(&web_path),
    ])
    .await;
    let url = |path: &str| format!("https://localhost:{}{path}", daemon.address.port());
    let resolve = format!("localhost:{}:127.0.0.1", daemon.address.port());
    let ca = arg(&ca_path);
    let trusted = ["--resolve", &resolve, "--cacert", &ca];

    let with_auth = [&trusted[..], &["-u", "prometheus:s3cret"]].concat();
    let scrape = curl(&with_auth, &url("/metrics")).await;
    assert_eq!((scrape.exit, scrape.status), (0, 200), "{}", scrape.body);
    assert!(scrape.body.contains("vnready_build_info"), "{}", scrape.body);
    assert!(scrape
        .headers
        .to_ascii_lowercase()
        .contains("x-content-type-options: nosniff"));

    let anonymous = curl(&trusted, &url("/metrics")).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous
        .headers
        .to_ascii_lowercase()
        .contains("www-authenticate: basic"));
    let wrong = curl(
        &[&trusted[..], &["-u", "prometheus:guess"]].concat(),
        &url("/-/healthy"),
    )
    .await;
    assert_eq!(wrong.status, 401);
    let stranger = curl(&[&trusted[..], &["-u", "root:s3cret"]].concat(), &url("/-/healthy")).await;
    assert_eq!(stranger.status, 401);

    // No plain HTTP on a TLS listener, and no TLS from an untrusted point of view.
    let plain = curl(&[], &format!("http://127.0.0.1:{}/metrics", daemon.address.port())).await;
    assert!(
        plain.exit != 0 || plain.status != 200,
        "plain HTTP answered: {}",
        plain.status
    );
    let untrusted = curl(&["--resolve", &resolve, "-u", "prometheus:s3cret"], &url("/metrics")).await;
    assert_eq!(
        untrusted.exit, 60,
        "curl must refuse the lab certificate without --cacert"
    );

    // /-/reload only answers POST; a reload to TLS 1.3 only takes effect for new connections.
    assert_eq!(curl(&with_auth, &url("/-/reload")).await.status, 405);
    std::fs::write(&web_path, web_config("TLS13")).expect("web.yml");
    let mark = daemon.mark();
    let reload = curl(&[&with_auth[..], &["-X", "POST"]].concat(), &url("/-/reload")).await;
    assert_eq!(reload.status, 200, "{}", reload.body);
    assert!(daemon
        .events_since(mark)
        .iter()
        .any(|e| e["event"] == "web_config_reloaded"));
    let old_client = curl(&[&with_auth[..], &["--tls-max", "1.2"]].concat(), &url("/metrics")).await;
    assert_ne!(old_client.exit, 0, "a TLS 1.2 client must be refused after the reload");
    let new_client = curl(&[&with_auth[..], &["--tlsv1.3"]].concat(), &url("/metrics")).await;
    assert_eq!(new_client.status, 200);

    // A broken web config is refused and the running one keeps serving.
    std::fs::write(&web_path, "basic_auth_users:\n  prometheus: plaintext\n").expect("web.yml");
    let rejected = curl(&[&with_auth[..], &["-X", "POST"]].concat(), &url("/-/reload")).await;
    assert_eq!(rejected.status, 500);
    assert!(rejected.body.contains("web.yml:2:15"), "{}", rejected.body);
    assert_eq!(curl(&with_auth, &url("/metrics")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_web_config_stops_the_start_with_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let web_path = dir.path().join("web.yml");
    std::fs::write(
        &web_path,
        "tls_server_config:\n  cert_file: none.pem\n  key_file: none.key\n",
    )
    .expect("web");
    let targets = dir.path().join("targets.yaml");
    std::fs::write(&targets, "targets: []\n").expect("targets");
    let output = harness::vnready(&[
        "serve",
        "--config",
        &arg(&targets),
        "--storage.path",
        "",
        "--web.listen-address",
        "127.0.0.1:0",
        "--web.config.file",
        &arg(&web_path),
    ])
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", harness::show(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("web.yml:2:14: cert_file"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_answers_429_beyond_its_concurrency_limit() {
    let lab = Lab::start().await;
    let hosts = [host("v6hang"), host("good")];
    let mut config = std::fs::read_to_string(config_for(&lab, &hosts, "1h", "limit.yaml")).expect("read");
    // One /probe slot, and an audit that holds it: v6hang's IPv6 never answers within 60 s.
    config = config.replacen("defaults:\n", "defaults:\n  concurrency: 1\n", 1);
    config = config.replacen(&format!("timeout: {}", lab::LAB_TIMEOUT), "timeout: 60s", 1);
    let path = lab.dir.path().join("limit-1.yaml");
    std::fs::write(&path, config).expect("write");
    let daemon = std::sync::Arc::new(Daemon::start(&["--config", &arg(&path), "--storage.path", ""]).await);

    let hang = lab.url_of(&host("v6hang"));
    let holder = daemon.clone();
    let held = tokio::spawn(async move { holder.get(&format!("/probe?target={}", urlencode(&hang))).await });
    // Wait until the daemon says the slot is taken: only the request above can take it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let metrics = samples(&daemon.get("/metrics").await.body);
        if find(&metrics, "vnready_probe_requests_in_flight", &[]).is_some_and(|s| s.value == 1.0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the first /probe never started");
        tokio::task::yield_now().await;
    }
    let good = lab.url_of(&host("good"));
    let refused = daemon.get(&format!("/probe?target={}", urlencode(&good))).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let metrics = samples(&daemon.get("/metrics").await.body);
    assert_eq!(value(&metrics, "vnready_probe_requests_throttled_total", &[]), 1.0);
    assert_eq!(daemon.get("/-/reload").await.status, 405, "/-/reload answers POST only");
    held.abort();
}

/// A transition as the crash test compares them: site, check, new status, time in
/// milliseconds (a JSON log line may round the last bit of an f64).
type Change = (String, String, String, i64);

fn change(target: &str, check: &str, to: &str, at: f64) -> Change {
    (
        target.to_string(),
        check.to_string(),
        to.to_string(),
        (at * 1000.0).round() as i64,
    )
}

/// Every transition in the store, with duplicates kept (a duplicate is a failure).
fn stored_changes(store: &Path, targets: &[String]) -> Vec<Change> {
    let stored = vnready::history::store::SqliteStore::open(store).expect("reopen after the crash");
    let problems = stored.consistency_problems().expect("check");
    assert!(problems.is_empty(), "{problems:?}");
    let mut all = Vec::new();
    for target in targets {
        for t in stored.transitions_of(target).expect("read") {
            all.push(change(target, &t.check, &t.to, t.at));
        }
    }
    all
}

/// 20 crashes of a daemon whose 8 sites change status on every audit (one audit a second
/// each): 16 `kill -9`s after a varying number of commits, and 4 aborts inside a write
/// transaction (rows written, not committed). After each, the store must hold exactly the
/// transitions the daemon logged as committed — none lost, none twice — plus at most the one
/// whose commit finished as the process died, and nothing that was never announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_crashes_lose_and_duplicate_no_committed_transition() {
    let lab = Lab::start().await;
    let config = std::fs::read_to_string(&lab.flapping_config_path).expect("flapping config");
    let targets: Vec<String> = config
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- url: "))
        .map(|url| url.trim_matches('"').to_string())
        .collect();
    assert_eq!(targets.len(), lab::FLAPPING_SITES);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("history.db");
    let args = [
        "--config".to_string(),
        arg(&lab.flapping_config_path),
        "--storage.path".into(),
        arg(&store),
        "--log.level".into(),
        "info,vnready=debug".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut committed: BTreeSet<Change> = BTreeSet::new();
    let mut announced: BTreeSet<Change> = BTreeSet::new();
    let mut unlogged_commits = 0;
    for run in 0..20u64 {
        let in_transaction = run % 5 == 4;
        let fault = (run / 5 * 3 + 2).to_string();
        let env: Vec<(&str, &str)> = if in_transaction {
            vec![(vnready::history::store::ABORT_BEFORE_COMMIT_ENV, fault.as_str())]
        } else {
            Vec::new()
        };
        let mut daemon = Daemon::start_with_env(&args, &env).await;
        let how = if in_transaction {
            format!("abort inside write transaction #{fault}")
        } else {
            let commits = 1 + (run * 3 % 11) as usize;
            daemon
                .wait_for_events(harness::Mark::START, commits, |e| e["event"] == "store_committed")
                .await;
            daemon.signal("KILL");
            format!("kill -9 after {commits} commits")
        };
        assert_eq!(daemon.wait_exit().await, None, "run {run}: ended by a signal");
        let events = daemon.events();
        let mut announced_now: BTreeSet<Change> = BTreeSet::new();
        for event in &events {
            let target = event["target"].as_str().unwrap_or_default();
            match event["event"].as_str() {
                Some("check_changed") => {
                    announced_now.insert(change(
                        target,
                        event["check"].as_str().unwrap_or_default(),
                        event["to"].as_str().unwrap_or_default(),
                        event["at"].as_f64().unwrap_or_default(),
                    ));
                }
                Some("store_committed") => {
                    let list: Vec<(String, String, f64)> =
                        serde_json::from_str(event["transitions"].as_str().unwrap_or("[]")).expect("transitions");
                    for (check, to, at) in list {
                        committed.insert(change(target, &check, &to, at));
                    }
                }
                _ => {}
            }
        }
        announced.extend(announced_now.iter().cloned());
        let stored = stored_changes(&store, &targets);
        let unique: BTreeSet<Change> = stored.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            stored.len(),
            "run {run} ({how}): a transition was stored twice"
        );
        let lost: Vec<&Change> = committed.difference(&unique).collect();
        assert!(
            lost.is_empty(),
            "run {run} ({how}): committed transitions lost: {lost:?}"
        );
        let phantom: Vec<&Change> = unique.difference(&announced).collect();
        assert!(
            phantom.is_empty(),
            "run {run} ({how}): stored but never announced: {phantom:?}"
        );
        // A record whose commit finished just before the kill has no `store_committed` line
        // yet; its transitions are kept (committed means durable), and were announced.
        let unlogged: Vec<Change> = unique.difference(&committed).cloned().collect();
        let unlogged_targets: BTreeSet<&String> = unlogged.iter().map(|c| &c.0).collect();
        assert!(
            unlogged_targets.len() <= 1,
            "run {run} ({how}): unlogged commits {unlogged:?}"
        );
        unlogged_commits += unlogged_targets.len();
        committed.extend(unlogged);
        let in_flight = announced_now.difference(&committed).count();
        eprintln!(
            "crash run {run:>2}: {how:<38} announced {:>3}, stored in total {:>4}, announced but not yet committed when it died {in_flight}",
            announced_now.len(),
            unique.len()
        );
    }
    assert!(
        committed.len() > 100,
        "the lab produced too few transitions: {}",
        committed.len()
    );
    eprintln!(
        "20 crashes: {} committed transitions, 0 lost, 0 duplicated, {unlogged_commits} committed in the instant before a kill",
        committed.len()
    );
}

/// A round over the whole lab logs its events and a handful of operational lines at the
/// default level: no third-party lines (the DNS library would dump whole DNS messages), no
/// per-audit chatter, no colour codes in a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_logs_its_events_and_a_few_lines_more() {
    let lab = Lab::start().await;
    let mut daemon = Daemon::start(&["--config", &arg(&lab.config_path), "--storage.path", ""]).await;
    daemon.wait_ready().await;
    let log = daemon.log();
    let events = [
        "check_changed",
        "certificate_changed",
        "addresses_changed",
        "name_servers_changed",
    ];
    let mut event_lines = 0;
    let mut other = Vec::new();
    for line in &log {
        assert!(!line.contains('\u{1b}'), "colour codes in a non-terminal log: {line}");
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("a line that is not ours: {line}"));
        let event = parsed["event"]
            .as_str()
            .unwrap_or_else(|| panic!("a line without an event: {line}"));
        if events.contains(&event) {
            event_lines += 1;
        } else {
            other.push(event.to_string());
        }
    }
    assert!(event_lines >= lab.urls.len(), "every site announces its first statuses");
    assert!(
        other.len() <= 6,
        "{} operational lines in one round over {} sites: {other:?}",
        other.len(),
        lab.urls.len()
    );
    eprintln!(
        "one round over {} sites: {} lines, {event_lines} of them events, other: {other:?}",
        lab.urls.len(),
        log.len()
    );
}

/// A third-party script host appearing on a page between two audits is an event for the SOC,
/// with the host and the page, and a metric.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_script_host_is_an_event_and_a_metric() {
    let lab = Lab::start().await;
    let config = config_for(&lab, &[host("newscript")], "1s", "script.yaml");
    let mut daemon = Daemon::start(&[
        "--config",
        &arg(&config),
        "--storage.path",
        "",
        "--log.level",
        "info,vnready=debug",
    ])
    .await;
    daemon.wait_ready().await;
    let url = lab.url_of(&host("newscript"));
    let before = samples(&daemon.get("/metrics").await.body);
    assert!(find(&before, "vnready_script_host_info", &[("target", &url)]).is_none());

    let mark = daemon.mark();
    lab.script_switch.store(1, std::sync::atomic::Ordering::SeqCst);
    let added = daemon.wait_for_event(mark, |e| e["event"] == "script_host_added").await;
    assert_eq!(added["target"], url.as_str());
    assert_eq!(added["host"], "cdn.bet-tracker.example");
    assert!(added["page"]
        .as_str()
        .is_some_and(|p| p.starts_with("https://newscript.")));
    // The snapshot is replaced after the events are logged: wait for a later audit's line.
    let mark = daemon.mark();
    daemon
        .wait_for_event(mark, |e| e["event"] == "audited" && e["target"] == url.as_str())
        .await;
    let after = samples(&daemon.get("/metrics").await.body);
    assert!(find(
        &after,
        "vnready_script_host_info",
        &[("target", &url), ("host", "cdn.bet-tracker.example")]
    )
    .is_some());

    let mark = daemon.mark();
    lab.script_switch.store(0, std::sync::atomic::Ordering::SeqCst);
    let removed = daemon
        .wait_for_event(mark, |e| e["event"] == "script_host_removed")
        .await;
    assert_eq!(removed["host"], "cdn.bet-tracker.example");
}
