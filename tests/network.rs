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
