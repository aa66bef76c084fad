//! `routing.rpki` against a real RPKI-to-Router server (StayRTR from Debian) serving a VRP file
//! this test writes, with route origins served in Team Cymru's TXT format by the lab's DNS
//! server: valid, invalid origin, invalid length, not-found, and the validator down. Nothing is
//! fetched from the documentation addresses the sites publish: routing needs only their names.

#[allow(dead_code)]
#[path = "lab/dns.rs"]
mod dns;
mod harness;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use dns::{DnsServer, ZoneData};
use harness::{show, vnready};
use serde_json::Value;

const ZONE: &str = "rpki.lab.gov.vn";

/// StayRTR on 127.0.0.1, stopped when dropped.
struct Stayrtr {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Stayrtr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- stayrtr\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Starts StayRTR on `vrps` and waits for its "Server started" line.
fn stayrtr(dir: &Path, vrps: &Path) -> Stayrtr {
    let found = Command::new("sh")
        .args(["-c", "command -v stayrtr"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "stayrtr is required by this test; scripts/test.sh installs it from Debian"
    );
    let port = free_port();
    let log = dir.join("stayrtr.log");
    let file = std::fs::File::create(&log).expect("log");
    let child = Command::new("stayrtr")
        .args([
            "-bind",
            &format!("127.0.0.1:{port}"),
            "-cache",
            &vrps.display().to_string(),
            "-checktime=false",
            "-metrics.addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::from(file.try_clone().expect("clone")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("start stayrtr");
    let mut server = Stayrtr { child, port, log };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&server.log).unwrap_or_default();
        if text.contains("Server started") {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("stayrtr exited ({status}): {text}");
        }
        assert!(std::time::Instant::now() < deadline, "stayrtr did not start: {text}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The lab zone (sites on documentation addresses, each with its own route) and the route
/// origins in Team Cymru's format.
async fn lab_dns() -> DnsServer {
    let mut zones = ZoneData::default();
    zones.zone(ZONE, &["ns1.rpki.lab.gov.vn"]);
    zones.a("ns1.rpki.lab.gov.vn", "127.0.0.1");
    for (site, ip) in [
        ("valid", "192.0.2.10"),
        ("wrongas", "198.51.100.10"),
        ("toolong", "203.0.113.130"),
        ("notfound", "2001:db8:76e:5::1"),
    ] {
        zones.a(&format!("{site}.{ZONE}"), ip);
    }
    zones.zone("origin.asn.cymru.com", &["ns1.rpki.lab.gov.vn"]);
    zones.zone("origin6.asn.cymru.com", &["ns1.rpki.lab.gov.vn"]);
    zones.txt(
        "10.2.0.192.origin.asn.cymru.com",
        &["64500 | 192.0.2.0/24 | VN | apnic | 2020-01-01"],
    );
    zones.txt(
        "10.100.51.198.origin.asn.cymru.com",
        &["64666 | 198.51.100.0/24 | VN | apnic | 2020-01-01"],
    );
    zones.txt(
        "130.113.0.203.origin.asn.cymru.com",
        &["64500 | 203.0.113.128/25 | VN | apnic | 2020-01-01"],
    );
    let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.5.0.0.0.e.6.7.0.8.b.d.0.1.0.0.2.origin6.asn.cymru.com";
    zones.txt(v6, &["64500 | 2001:db8:76e:5::/64 | VN | apnic | 2020-01-01"]);
    DnsServer::start(zones).await
}

const VRPS: &str = r#"{"metadata":{"buildtime":"2026-12-01T00:00:00Z"},"roas":[
 {"prefix":"192.0.2.0/24","maxLength":24,"asn":64500,"ta":"lab"},
 {"prefix":"198.51.100.0/24","maxLength":24,"asn":"AS64500","ta":"lab"},
 {"prefix":"203.0.113.0/24","maxLength":24,"asn":64500,"ta":"lab"}]}"#;

/// `check --only routing.rpki` over every lab site with `validator` flags; status and reason
/// per site label.
async fn audit(dns: &DnsServer, validator: &[&str]) -> Vec<(String, String, String)> {
    let mut args = vec![
        "check",
        "--only",
        "routing.rpki",
        "--format",
        "json",
        "--timeout",
        "5s",
        "--accept-range",
        "192.0.2.0/24",
        "--accept-range",
        "198.51.100.0/24",
        "--accept-range",
        "203.0.113.0/24",
        "--accept-range",
        "2001:db8:76e::/48",
        "--accept-range",
        "127.0.0.1/32",
    ];
    let resolver = dns.addr().to_string();
    args.extend(["--resolver", &resolver]);
    args.extend_from_slice(validator);
    let sites: Vec<String> = ["valid", "wrongas", "toolong", "notfound"]
        .iter()
        .map(|site| format!("https://{site}.{ZONE}/"))
        .collect();
    args.extend(sites.iter().map(String::as_str));
    let output = vnready(&args).await;
    let document: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}\n{}", show(&output)));
    document["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|target| {
            let check = &target["checks"][0];
            let label = target["host"]
                .as_str()
                .unwrap_or_default()
                .split('.')
                .next()
                .unwrap_or_default();
            (
                label.to_string(),
                check["status"].as_str().unwrap_or_default().to_string(),
                check["reason"]["en"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn expect(results: &[(String, String, String)], label: &str, status: &str, words: &str) {
    let (_, got, reason) = results
        .iter()
        .find(|(site, _, _)| site == label)
        .unwrap_or_else(|| panic!("{label} not audited: {results:?}"));
    assert_eq!(got, status, "{label}: {reason}");
    assert!(reason.contains(words), "{label}: {words:?} not in {reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rpki_state_from_a_real_rtr_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vrps = dir.path().join("vrps.json");
    std::fs::write(&vrps, VRPS).expect("write vrps");
    let dns = lab_dns().await;
    let rtr = stayrtr(dir.path(), &vrps);
    let address = format!("127.0.0.1:{}", rtr.port);

    let results = audit(&dns, &["--rpki-rtr", &address]).await;
    expect(&results, "valid", "pass", "are RPKI-valid (RTR 127.0.0.1:");
    expect(
        &results,
        "wrongas",
        "fail",
        "[198.51.100.10] (site) route 198.51.100.0/24 from AS64666 is RPKI-invalid: origin AS not authorised (ROA: AS64500 198.51.100.0/24 max /24)",
    );
    expect(
        &results,
        "toolong",
        "fail",
        "route 203.0.113.128/25 from AS64500 is RPKI-invalid: more specific than the ROA allows",
    );
    expect(
        &results,
        "notfound",
        "warn",
        "[2001:db8:76e:5::1] (site) route 2001:db8:76e:5::/64 from AS64500: no ROA covers it",
    );

    // The same VRPs from the file, and the same origins from a local table.
    let table = dir.path().join("origins.csv");
    std::fs::write(
        &table,
        "prefix,asn\n192.0.2.0/24,64500\n198.51.100.0/24,64666\n203.0.113.128/25,AS64500\n2001:db8:76e:5::/64,64500\n",
    )
    .expect("table");
    let (vrps_path, table_path) = (vrps.display().to_string(), table.display().to_string());
    let from_files = audit(&dns, &["--rpki-vrps", &vrps_path, "--route-origins", &table_path]).await;
    for label in ["valid", "wrongas", "toolong", "notfound"] {
        let rtr_status = &results.iter().find(|(site, _, _)| site == label).expect("audited").1;
        let file_status = &from_files.iter().find(|(site, _, _)| site == label).expect("audited").1;
        assert_eq!(rtr_status, file_status, "{label}: RTR and files agree");
    }

    // The validator down: nothing is validated, and nothing passes.
    drop(rtr);
    let down = audit(&dns, &["--rpki-rtr", &address]).await;
    for label in ["valid", "wrongas", "toolong", "notfound"] {
        expect(&down, label, "error", "the RPKI validator (RTR 127.0.0.1:");
    }
    // No validator configured: skipped, with the reason.
    let none = audit(&dns, &[]).await;
    expect(&none, "valid", "skip", "no RPKI validator configured");
}
