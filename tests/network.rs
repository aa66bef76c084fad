//! The network under the site, on test hosts in network namespaces with real servers from
//! Debian (NSD, nginx) and the real binary: a monitor without IPv6, and IPv6 paths whose
//! narrow link drops "Packet Too Big" beside one that lets it through.

mod harness;
mod netlab;
#[allow(dead_code)]
#[path = "lab/pki.rs"]
mod pki;

use std::path::Path;

use harness::{samples, show, Daemon};
use netlab::{link, nginx, nsd, zone_file, Netns};
use pki::{LabPki, Validity};
use serde_json::Value;

/// (status, English reason) of `check` for the first target of a `check --format json` run.
fn result_of(document: &Value, check: &str) -> (String, String) {
    let checks = document["targets"][0]["checks"].as_array().expect("checks");
    let found = checks
        .iter()
        .find(|c| c["id"] == check)
        .unwrap_or_else(|| panic!("{check} did not run"));
    (
        found["status"].as_str().unwrap_or_default().to_string(),
        found["reason"]["en"].as_str().unwrap_or_default().to_string(),
    )
}

/// Writes a lab certificate for `hosts` and the root, returns (cert, key, root) paths.
fn certificate(dir: &Path, pki: &LabPki, label: &str, hosts: &[&str]) -> (String, String, String) {
    let served = pki.leaf(hosts, Validity::Current, true);
    let cert = dir.join(format!("{label}.crt"));
    let key = dir.join(format!("{label}.key"));
    let root = dir.join("root.pem");
    std::fs::write(&cert, &served.chain_pem).expect("cert");
    std::fs::write(&key, &served.key_pem).expect("key");
    std::fs::write(&root, &pki.root_pem).expect("root");
    (
        cert.display().to_string(),
        key.display().to_string(),
        root.display().to_string(),
    )
}

/// An nginx `server` block for `host` on `listens` with HSTS, and one redirecting port 80.
fn site_block(host: &str, listens: &[String], cert: &str, key: &str) -> String {
    let https: String = listens.iter().map(|l| format!("listen {l}:443 ssl; ")).collect();
    let http: String = listens.iter().map(|l| format!("listen {l}:80; ")).collect();
    format!(
        "server {{ {https} server_name {host}; ssl_certificate {cert}; ssl_certificate_key {key}; ssl_protocols TLSv1.2 TLSv1.3;\n\
         add_header Strict-Transport-Security \"max-age=31536000\" always;\n\
         location / {{ default_type text/html; return 200 '<html><head><title>Cổng thông tin</title></head><body><p>Tin tức sự kiện của tỉnh</p></body></html>'; }} }}\n\
         server {{ {http} server_name {host}; location / {{ return 301 https://$host$request_uri; }} }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_without_ipv6_judges_what_it_can_reach_and_never_fails_a_site_for_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // The monitor: a namespace with IPv6 turned off and an IPv4 link to the host, where a
    // dual-stack site and its name servers live (their IPv6 addresses are real, on the link).
    let monitor = Netns::new("m");
    monitor.disable_ipv6();
    let (host_end, monitor_end) = link(None, Some(&monitor), 1500);
    host_end.addr("10.77.1.1/30");
    host_end.addr("fd77:1::1/64");
    host_end.addr("fd77:1::2/64");
    monitor_end.addr("10.77.1.2/30");

    let zone = "v4mon.lab.gov.vn";
    let site = format!("www.{zone}");
    let records = vec![
        "ns1 IN A 10.77.1.1".to_string(),
        "ns1 IN AAAA fd77:1::1".to_string(),
        "ns2 IN A 10.77.1.1".to_string(),
        "ns2 IN AAAA fd77:1::2".to_string(),
        "www IN A 10.77.1.1".to_string(),
        "www IN AAAA fd77:1::1".to_string(),
    ];
    let _dns = nsd(
        None,
        d,
        &["10.77.1.1", "fd77:1::1", "fd77:1::2"],
        &[(zone, zone_file(zone, &["ns1", "ns2"], &records))],
    );
    let pki = LabPki::new();
    let (cert, key, root) = certificate(d, &pki, "www", &[&site]);
    let _web = nginx(
        None,
        d,
        &site_block(&site, &["10.77.1.1".into(), "[fd77:1::1]".into()], &cert, &key),
    );

    let flags = [
        "--resolver",
        "10.77.1.1:53",
        "--accept-range",
        "10.77.1.0/30",
        "--accept-range",
        "fd77:1::/64",
        "--extra-root",
        &root,
        "--timeout",
        "5s",
    ];
    let url = format!("https://{site}/");
    let output = monitor
        .tokio_command(env!("CARGO_BIN_EXE_vnready"))
        .args(["check", "--format", "json", &url])
        .args(flags)
        .output()
        .await
        .expect("run vnready in the monitor's namespace");
    let document: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}\n{}", show(&output)));
    let gap = "not tested from this monitor: [fd77:1::1]";
    // Checks that are not about IPv6 pass on IPv4 and name the IPv6 address they skipped.
    for check in [
        "tls.valid",
        "tls.expiry",
        "tls.chain_complete",
        "tls.modern",
        "https.hsts",
        "https.redirect",
        "http.up",
        "content.clean",
    ] {
        let (status, reason) = result_of(&document, check);
        assert_eq!(status, "pass", "{check}: {reason}\n{}", show(&output));
        assert!(reason.contains(gap), "{check}: {reason}");
        assert!(reason.contains("IPv6 route"), "{check} says why: {reason}");
    }
    // The IPv6 checks cannot be tested here: error, never fail.
    let (status, reason) = result_of(&document, "ipv6.ns");
    assert_eq!(status, "error", "ipv6.ns: {reason}");
    assert!(
        reason.contains("this monitor has no IPv6 route to the name servers"),
        "{reason}"
    );
    let (status, reason) = result_of(&document, "ipv6.reachable");
    assert_eq!(status, "error", "ipv6.reachable: {reason}");
    assert!(reason.contains("this monitor has no IPv6 connectivity"), "{reason}");
    assert_eq!(result_of(&document, "ipv6.aaaa").0, "pass");
    for check in ["ipv6.only", "ipv6.same_content"] {
        let (status, reason) = result_of(&document, check);
        assert_eq!(status, "error", "{check}: {reason}");
        assert!(reason.contains("no IPv6 route"), "{check}: {reason}");
    }

    // The daemon in the same namespace says so on /metrics, for the dashboard's banner.
    let config = d.join("targets.yaml");
    std::fs::write(
        &config,
        format!(
            "resolver:\n  servers: [\"10.77.1.1:53\"]\ntrust:\n  extra_roots: [\"{root}\"]\n  accept_ranges: [\"10.77.1.0/30\", \"fd77:1::/64\"]\ntargets:\n  - url: \"{url}\"\n"
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    let store = d.join("history.db").display().to_string();
    let daemon = Daemon::start_in_netns(
        &monitor.name,
        "10.77.1.2:0",
        &["--config", &config, "--storage.path", &store],
    )
    .await;
    let metrics = daemon.get("/metrics").await;
    let up: Vec<f64> = samples(&metrics.body)
        .iter()
        .filter(|s| s.name == "vnready_monitor_ipv6_up")
        .map(|s| s.value)
        .collect();
    assert_eq!(up, vec![0.0], "{}", metrics.body);
    drop(daemon);

    // On the host, the same gauge agrees with the kernel's own route lookup.
    let host_has_route = std::process::Command::new("ip")
        .args(["-6", "route", "get", "2001:500:2f::f"])
        .output()
        .is_ok_and(|out| out.status.success());
    let daemon = Daemon::start(&["--config", &config, "--storage.path", &format!("{store}.host")]).await;
    let metrics = daemon.get("/metrics").await;
    let up = samples(&metrics.body)
        .into_iter()
        .find(|s| s.name == "vnready_monitor_ipv6_up")
        .map(|s| s.value);
    assert_eq!(up, Some(f64::from(u8::from(host_has_route))), "{}", metrics.body);
}

/// monitor ─1500─ r1 ─1280─ r2 ─1500─ server A (r2 drops the Packet Too Big it sends to A)
///                              └──1500─ server B (Packet Too Big gets through; a mute port)
/// The monitor resolves through NSD on its own loopback. Each server has its own namespace, so
/// a path MTU learnt by B never heals A.
struct PmtuLab {
    _dir: tempfile::TempDir,
    root: String,
    monitor: Netns,
    _routers: [Netns; 2],
    _servers: [Netns; 2],
    _processes: Vec<netlab::Server>,
    _mute: std::process::Child,
}

const PMTU_ZONE: &str = "pmtu.lab.gov.vn";

fn pmtu_lab() -> PmtuLab {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (monitor, r1, r2) = (Netns::new("m"), Netns::new("r"), Netns::new("s"));
    let (server_a, server_b) = (Netns::new("a"), Netns::new("b"));
    r1.forward();
    r2.forward();
    let (m, r1a) = link(Some(&monitor), Some(&r1), 1500);
    m.addr("10.78.1.2/24");
    m.addr("fd78:1::2/64");
    r1a.addr("10.78.1.1/24");
    r1a.addr("fd78:1::1/64");
    let (r1b, r2a) = link(Some(&r1), Some(&r2), 1280);
    r1b.addr("10.78.2.1/24");
    r1b.addr("fd78:2::1/64");
    r2a.addr("10.78.2.2/24");
    r2a.addr("fd78:2::2/64");
    let (r2b, a) = link(Some(&r2), Some(&server_a), 1500);
    r2b.addr("10.78.3.1/24");
    r2b.addr("fd78:3::1/64");
    a.addr("10.78.3.2/24");
    a.addr("fd78:3::2/64");
    let (r2c, b) = link(Some(&r2), Some(&server_b), 1500);
    r2c.addr("10.78.4.1/24");
    r2c.addr("fd78:4::1/64");
    b.addr("10.78.4.2/24");
    b.addr("fd78:4::2/64");
    for (ns, v4, v6) in [
        (&monitor, "10.78.1.1", "fd78:1::1"),
        (&server_a, "10.78.3.1", "fd78:3::1"),
        (&server_b, "10.78.4.1", "fd78:4::1"),
    ] {
        ns.ip(&["route", "add", "default", "via", v4]);
        ns.ip(&["-6", "route", "add", "default", "via", v6]);
    }
    for net in ["3", "4"] {
        r1.ip(&["route", "add", &format!("10.78.{net}.0/24"), "via", "10.78.2.2"]);
        r1.ip(&["-6", "route", "add", &format!("fd78:{net}::/64"), "via", "fd78:2::2"]);
    }
    r2.ip(&["route", "add", "10.78.1.0/24", "via", "10.78.2.1"]);
    r2.ip(&["-6", "route", "add", "fd78:1::/64", "via", "fd78:2::1"]);
    // The firewall that breaks A's path: r2 never tells A that its packets are too big.
    let rules = d.join("pmtu.nft");
    std::fs::write(
        &rules,
        "table ip6 pmtu {\n chain out {\n  type filter hook output priority 0;\n  ip6 daddr fd78:3::2 icmpv6 type packet-too-big drop\n }\n}\n",
    )
    .expect("nft rules");
    r2.exec("nft", &["-f", &rules.display().to_string()]);

    // A certificate with many names and a page of 40 KB: the handshake and the response need
    // full-size segments.
    let pki = LabPki::new();
    let mut names: Vec<String> = (0..60).map(|i| format!("alias{i}.{PMTU_ZONE}")).collect();
    names.insert(0, format!("*.{PMTU_ZONE}"));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let served = pki.leaf(&names, Validity::Current, true);
    let (cert, key, root) = (d.join("site.crt"), d.join("site.key"), d.join("root.pem"));
    std::fs::write(&cert, &served.chain_pem).expect("cert");
    std::fs::write(&key, &served.key_pem).expect("key");
    std::fs::write(&root, &pki.root_pem).expect("root");
    let page = format!(
        "<html><head><title>Cổng</title></head><body>{}</body></html>",
        "<p>Thông báo của tỉnh về IPv6.</p>".repeat(1000)
    );
    std::fs::write(d.join("index.html"), page).expect("page");
    let mut processes = Vec::new();
    for (ns, v4, v6, label) in [
        (&server_a, "10.78.3.2", "fd78:3::2", "a"),
        (&server_b, "10.78.4.2", "fd78:4::2", "b"),
    ] {
        let sub = d.join(label);
        std::fs::create_dir_all(&sub).expect("dir");
        let block = format!(
            "server {{ listen {v4}:443 ssl; listen [{v6}]:443 ssl; server_name _; ssl_certificate {cert}; ssl_certificate_key {key};\n\
             ssl_protocols TLSv1.2 TLSv1.3; root {root_dir}; location / {{ index index.html; }} }}\n",
            cert = cert.display(),
            key = key.display(),
            root_dir = d.display()
        );
        processes.push(nginx(Some(ns), &sub, &block));
    }
    // On B, a port that accepts connections and never says a word.
    let mute = server_b
        .command("python3")
        .args([
            "-c",
            "import socket\ns=socket.socket(socket.AF_INET6)\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('fd78:4::2',8443))\ns.listen(16)\nheld=[]\nwhile True: held.append(s.accept())",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 for the mute server");
    let records = vec![
        "ns1 IN A 127.0.0.1".to_string(),
        "blackhole IN A 10.78.3.2".to_string(),
        "blackhole IN AAAA fd78:3::2".to_string(),
        "clean IN A 10.78.4.2".to_string(),
        "clean IN AAAA fd78:4::2".to_string(),
        "mute IN AAAA fd78:4::2".to_string(),
        "v4only IN A 10.78.4.2".to_string(),
    ];
    let dns_dir = d.join("dns");
    std::fs::create_dir_all(&dns_dir).expect("dir");
    processes.push(nsd(
        Some(&monitor),
        &dns_dir,
        &["127.0.0.1"],
        &[(PMTU_ZONE, zone_file(PMTU_ZONE, &["ns1"], &records))],
    ));
    // The mute server is up once a connection to it is accepted.
    monitor.exec(
        "python3",
        &[
            "-c",
            "import socket; socket.create_connection(('fd78:4::2', 8443), timeout=20).close()",
        ],
    );
    PmtuLab {
        _dir: dir,
        root: root.display().to_string(),
        monitor,
        _routers: [r1, r2],
        _servers: [server_a, server_b],
        _processes: processes,
        _mute: mute,
    }
}

impl Drop for PmtuLab {
    fn drop(&mut self) {
        let _ = self._mute.kill();
        let _ = self._mute.wait();
    }
}

/// `vnready check --only … --format json` of `url` from the monitor's namespace.
async fn check_from(lab: &PmtuLab, url: &str) -> (std::process::Output, Value) {
    let output = lab
        .monitor
        .tokio_command(env!("CARGO_BIN_EXE_vnready"))
        .args([
            "check",
            "--format",
            "json",
            "--only",
            "ipv6.pmtu,ipv6.reachable,http.up",
            "--resolver",
            "127.0.0.1:53",
            "--accept-range",
            "10.78.0.0/16",
            "--accept-range",
            "fd78::/16",
            "--extra-root",
            &lab.root,
            "--timeout",
            "6s",
            url,
        ])
        .output()
        .await
        .expect("run vnready in the monitor's namespace");
    let document = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}\n{}", show(&output)));
    (output, document)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_that_drops_packet_too_big_is_a_path_mtu_blackhole_not_a_dead_server() {
    let lab = pmtu_lab();
    let site = |label: &str| format!("https://{label}.{PMTU_ZONE}/");
    let urls = [
        site("clean"),
        site("blackhole"),
        format!("https://mute.{PMTU_ZONE}:8443/"),
        site("v4only"),
    ];
    let (clean, blackhole, mute, v4only) = tokio::join!(
        check_from(&lab, &urls[0]),
        check_from(&lab, &urls[1]),
        check_from(&lab, &urls[2]),
        check_from(&lab, &urls[3]),
    );

    // Packet Too Big reaches B: its path works at full size after discovery.
    let (status, reason) = result_of(&clean.1, "ipv6.pmtu");
    assert_eq!(status, "pass", "{reason}\n{}", show(&clean.0));
    assert_eq!(result_of(&clean.1, "ipv6.reachable").0, "pass");

    // A's path stalls with full-size packets and works with 1280-byte ones.
    let (status, reason) = result_of(&blackhole.1, "ipv6.pmtu");
    assert_eq!(status, "fail", "{reason}\n{}", show(&blackhole.0));
    assert!(
        reason.contains(
            "path MTU blackhole over IPv6: [fd78:3::2] stalls with full-size packets and works with 1280-byte packets"
        ),
        "{reason}"
    );
    let (status, reason) = result_of(&blackhole.1, "ipv6.reachable");
    assert_eq!(status, "fail", "{reason}");
    assert!(
        reason.contains("path MTU blackhole"),
        "ipv6.reachable names it: {reason}"
    );
    // IPv4 is not filtered: its path MTU is discovered and the site works over IPv4.
    let retries = &blackhole.1["targets"][0]["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == "ipv6.pmtu"))
        .expect("ipv6.pmtu")["observed"];
    assert_eq!(retries["ipv4_blackholes"], serde_json::json!([]), "{retries}");

    // A server that never answers, at any size, is not a blackhole.
    let (status, reason) = result_of(&mute.1, "ipv6.pmtu");
    assert_eq!(status, "error", "{reason}\n{}", show(&mute.0));
    assert!(reason.contains("does not answer at any size"), "{reason}");
    assert_eq!(result_of(&mute.1, "ipv6.reachable").0, "fail");

    let (status, reason) = result_of(&v4only.1, "ipv6.pmtu");
    assert_eq!(status, "skip", "{reason}");
}
