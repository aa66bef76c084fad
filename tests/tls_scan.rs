//! The deep TLS scan on real servers: `openssl s_server` for what nginx cannot be made to do
//! (RSA key exchange, a server that prefers a phase-out suite, ffdhe2048 and ffdhe3072 DHE,
//! SHA-1 key-exchange signatures), `gnutls-serv` without RFC 5746, nginx without the extended
//! master secret and one that accepts 0-RTT early data, and a site whose IPv6 server is the one nobody updated. The real binary scans
//! them through the lab's DNS server; every status of tls.ciphers, tls.key_exchange and
//! tls.features is shown, each naming the address.

#[allow(dead_code)]
#[path = "lab/dns.rs"]
mod dns;
mod harness;
mod netlab;

use std::path::Path;
use std::process::Stdio;

use dns::{DnsServer, ZoneData};
use harness::{check_json, check_result};
use serde_json::Value;

const ZONE: &str = "scanlab.vn";

fn openssl(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed by the test command");
    assert!(status.success(), "openssl {args:?}");
}

fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// A server process killed on drop.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `ip:port` accepts a connection: only the started server can make that true.
fn wait_listening(ip: &str, port: u16, what: &str) {
    let address = std::net::SocketAddr::new(ip.parse().expect("ip"), port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(address).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not listen on {address}"
        );
        std::thread::yield_now();
    }
}

/// A port free on 127.0.0.1 and on ::1, for a site whose servers listen on both.
fn dual_free_port() -> u16 {
    loop {
        let port = free_port("127.0.0.1");
        if std::net::TcpListener::bind(("::1", port)).is_ok() {
            return port;
        }
    }
}

/// `openssl s_server -www` on `ip` and `port` with `args`.
fn s_server(dir: &Path, ip: &str, port: u16, args: &[&str]) -> Server {
    let accept = match ip.contains(':') {
        true => format!("[{ip}]:{port}"),
        false => format!("{ip}:{port}"),
    };
    let child = std::process::Command::new("openssl")
        .args([
            "s_server", "-accept", &accept, "-cert", "site.crt", "-key", "site.key", "-www", "-quiet",
        ])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server");
    wait_listening(ip, port, "openssl s_server");
    Server(child)
}

fn result<'a>(document: &'a Value, label: &str, check: &str) -> (&'a str, &'a str) {
    let found = check_result(document, |id| id.starts_with(&format!("https://{label}.")), check);
    (
        found["status"].as_str().unwrap_or_default(),
        found["reason"]["en"].as_str().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scan_status_on_real_servers() {
    for tool in ["openssl", "gnutls-serv", "nginx"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{tool} is required: scripts/test.sh installs it (openssl, gnutls-bin, nginx-light)"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "site.key",
            "-out",
            "site.crt",
            "-days",
            "30",
            "-subj",
            "/CN=scanlab.vn",
        ],
    );
    // An ECDSA P-256 certificate: an OpenSSL server with one refuses a TLS 1.2 client that
    // does not offer P-256 among its groups.
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ec.key",
            "-out",
            "ec.crt",
            "-days",
            "30",
            "-subj",
            "/CN=scanlab.vn",
        ],
    );
    for group in ["ffdhe2048", "ffdhe3072"] {
        openssl(
            d,
            &[
                "genpkey",
                "-genparam",
                "-algorithm",
                "DH",
                "-pkeyopt",
                &format!("group:{group}"),
                "-out",
                &format!("{group}.pem"),
            ],
        );
    }
    let modern = [
        "-cipher",
        "ECDHE+AESGCM:ECDHE+CHACHA20",
        "-serverpref",
        "-groups",
        "X25519:P-256",
        "-sigalgs",
        "RSA-PSS+SHA256:RSA-PSS+SHA384:RSA+SHA256:RSA+SHA384:RSA+SHA512",
    ];
    let mut servers = Vec::new();
    let mut sites: Vec<(&str, Vec<(&str, u16)>)> = Vec::new();
    let mut add = |label: &'static str, listeners: Vec<(&'static str, Vec<&str>)>| {
        let port = dual_free_port();
        let mut addresses = Vec::new();
        for (ip, args) in listeners {
            servers.push(s_server(d, ip, port, &args));
            addresses.push((ip, port));
        }
        sites.push((label, addresses));
    };
    add("modern", vec![("127.0.0.1", modern.to_vec()), ("::1", modern.to_vec())]);
    add(
        "rsakx",
        vec![("127.0.0.1", vec!["-no_tls1_3", "-cipher", "ECDHE+AESGCM:AES128-SHA"])],
    );
    add(
        "prefers",
        vec![(
            "127.0.0.1",
            vec![
                "-no_tls1_3",
                "-serverpref",
                "-cipher",
                "ECDHE-RSA-AES128-SHA256:ECDHE+AESGCM",
            ],
        )],
    );
    add(
        "dhe2048",
        vec![(
            "127.0.0.1",
            vec![
                "-cipher",
                "ECDHE+AESGCM:DHE-RSA-AES128-GCM-SHA256",
                "-dhparam",
                "ffdhe2048.pem",
            ],
        )],
    );
    add(
        "dhe3072",
        vec![(
            "127.0.0.1",
            vec![
                "-cipher",
                "ECDHE+AESGCM:DHE-RSA-AES128-GCM-SHA256",
                "-dhparam",
                "ffdhe3072.pem",
            ],
        )],
    );
    // A server that lets clients renegotiate (OpenSSL refuses by default).
    add(
        "clientreneg",
        vec![(
            "127.0.0.1",
            vec!["-no_tls1_3", "-client_renegotiation", "-cipher", "ECDHE+AESGCM"],
        )],
    );
    // The same on an ECDSA certificate, and an ECDSA server that only does P-256 and refuses.
    add(
        "ecdsareneg",
        vec![(
            "127.0.0.1",
            vec![
                "-cert",
                "ec.crt",
                "-key",
                "ec.key",
                "-no_tls1_3",
                "-client_renegotiation",
                "-cipher",
                "ECDHE+AESGCM",
            ],
        )],
    );
    add(
        "ecdsap256",
        vec![(
            "127.0.0.1",
            vec!["-cert", "ec.crt", "-key", "ec.key", "-no_tls1_3", "-groups", "P-256"],
        )],
    );
    // Stock OpenSSL 3 still signs with SHA-224 when asked to.
    add("sha224", vec![("127.0.0.1", vec!["-cipher", "ECDHE+AESGCM"])]);
    add(
        "sha1",
        vec![(
            "127.0.0.1",
            vec![
                "-no_tls1_3",
                "-cipher",
                "ECDHE+AESGCM:@SECLEVEL=0",
                "-sigalgs",
                "RSA+SHA256:RSA+SHA1",
            ],
        )],
    );
    // The IPv4 server was updated, the IPv6 one was not.
    add(
        "split",
        vec![
            ("127.0.0.1", modern.to_vec()),
            ("::1", vec!["-cipher", "ECDHE+AESGCM:AES256-GCM-SHA384"]),
        ],
    );

    // gnutls-serv without RFC 5746 (it binds every address; nothing is sent to it but ours).
    let gnutls_port = free_port("127.0.0.1");
    let gnutls = std::process::Command::new("gnutls-serv")
        .args([
            "--http",
            "--x509certfile",
            "site.crt",
            "--x509keyfile",
            "site.key",
            "-p",
        ])
        .arg(gnutls_port.to_string())
        .args(["--priority", "NORMAL:%DISABLE_SAFE_RENEGOTIATION"])
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gnutls-serv");
    let _gnutls = Server(gnutls);
    wait_listening("127.0.0.1", gnutls_port, "gnutls-serv");
    sites.push(("norfc5746", vec![("127.0.0.1", gnutls_port)]));

    // nginx with the extended master secret turned off.
    let nginx_port = free_port("127.0.0.1");
    let zero_rtt_port = free_port("127.0.0.1");
    let block = format!(
        "server {{ listen 127.0.0.1:{nginx_port} ssl; server_name noems.{ZONE}; ssl_certificate {d}/site.crt; \
         ssl_certificate_key {d}/site.key; ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers ECDHE+AESGCM; \
         ssl_conf_command Options -ExtendedMasterSecret; location / {{ return 200 ok; }} }}\n\
         server {{ listen 127.0.0.1:{zero_rtt_port} ssl; server_name zerortt.{ZONE}; ssl_certificate {d}/site.crt; \
         ssl_certificate_key {d}/site.key; ssl_protocols TLSv1.3; ssl_early_data on; \
         location / {{ return 200 ok; }} }}\n",
        d = d.display()
    );
    let nginx_dir = d.join("nginx");
    std::fs::create_dir_all(&nginx_dir).expect("nginx dir");
    let _nginx = netlab::nginx(None, &nginx_dir, &block);
    sites.push(("zerortt", vec![("127.0.0.1", zero_rtt_port)]));
    sites.push(("noems", vec![("127.0.0.1", nginx_port)]));
    // Nothing listens: every check is an error naming the address.
    sites.push(("closed", vec![("127.0.0.1", free_port("127.0.0.1"))]));

    let mut zones = ZoneData::default();
    zones.zone(ZONE, &[&format!("ns1.{ZONE}")]);
    zones.a(&format!("ns1.{ZONE}"), "127.0.0.1");
    let mut yaml = String::new();
    for (label, addresses) in &sites {
        let host = format!("{label}.{ZONE}");
        for (ip, _) in addresses {
            zones.a(&host, ip);
        }
        let port = addresses[0].1;
        yaml.push_str(&format!("  - url: https://{host}:{port}/\n"));
    }
    let dns = DnsServer::start(zones).await;
    let config = format!(
        "resolver:\n  servers: [\"{}\"]\ntrust:\n  accept_ranges: [\"127.0.0.0/8\", \"::1/128\"]\ntargets:\n{yaml}",
        dns.addr()
    );
    let config_path = d.join("scan.yaml");
    std::fs::write(&config_path, config).expect("config");
    let document = check_json(&config_path, "tls.ciphers,tls.key_exchange,tls.features", "20s").await;
    let cases = [
        ("modern", "tls.ciphers", "pass", "all"),
        ("modern", "tls.key_exchange", "pass", "all"),
        ("modern", "tls.features", "pass", "all"),
        (
            "rsakx",
            "tls.ciphers",
            "fail",
            "[127.0.0.1] accepts AES128-SHA (RSA key exchange",
        ),
        (
            "prefers",
            "tls.ciphers",
            "warn",
            "prefers ECDHE-RSA-AES128-SHA256 over its good suites",
        ),
        (
            "dhe2048",
            "tls.key_exchange",
            "fail",
            "[127.0.0.1] offers DHE with a 2048-bit group",
        ),
        (
            "dhe2048",
            "tls.ciphers",
            "warn",
            "DHE-RSA-AES128-GCM-SHA256 (finite-field DHE, phase-out)",
        ),
        ("dhe3072", "tls.key_exchange", "warn", "3072-bit group (phase-out)"),
        ("sha1", "tls.key_exchange", "fail", "signs the key exchange with SHA-1"),
        (
            "sha224",
            "tls.key_exchange",
            "warn",
            "[127.0.0.1] signs the key exchange with SHA-224",
        ),
        ("split", "tls.ciphers", "fail", "[::1] accepts AES256-GCM-SHA384"),
        ("norfc5746", "tls.features", "fail", "no secure renegotiation (RFC 5746"),
        ("noems", "tls.features", "fail", "no extended master secret (RFC 7627)"),
        (
            "zerortt",
            "tls.features",
            "fail",
            "[127.0.0.1] accepts TLS 1.3 early data (0-RTT)",
        ),
        (
            "clientreneg",
            "tls.features",
            "warn",
            "[127.0.0.1] accepts a renegotiation the client starts",
        ),
        (
            "ecdsareneg",
            "tls.features",
            "warn",
            "[127.0.0.1] accepts a renegotiation the client starts",
        ),
        ("ecdsap256", "tls.features", "pass", ""),
        ("closed", "tls.ciphers", "error", "[127.0.0.1]"),
        ("closed", "tls.features", "error", "[127.0.0.1]"),
    ];
    let mut wrong = Vec::new();
    for (label, check, expected, words) in cases {
        let (status, reason) = result(&document, label, check);
        if status != expected || !reason.contains(words) {
            wrong.push(format!(
                "{label} {check}: {status} {reason:?}, expected {expected} with {words:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let (_, split) = result(&document, "split", "tls.ciphers");
    assert!(
        !split.contains("127.0.0.1"),
        "the updated IPv4 server is not blamed: {split}"
    );
    // Every scan stays within its budget and records what it found, by address.
    let scans: Vec<&Value> = document["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["checks"].as_array().into_iter().flatten())
        .filter(|c| c["id"] == "tls.ciphers")
        .flat_map(|c| c["observed"]["scans"].as_array().into_iter().flatten())
        .collect();
    assert!(
        scans
            .iter()
            .all(|scan| scan["handshakes"].as_u64().is_some_and(|n| n <= 40)),
        "{scans:?}"
    );
    let max = scans
        .iter()
        .filter_map(|scan| scan["handshakes"].as_u64())
        .max()
        .unwrap_or_default();
    for scan in &scans {
        eprintln!(
            "tls scan: [{}] {} handshakes {}",
            scan["ip"], scan["handshakes"], scan["incomplete"]
        );
    }
    eprintln!(
        "tls scan: {} cases, {} address scans, at most {max} handshakes per address",
        cases.len(),
        scans.len()
    );
    agree_with_testssl(d, &document, &sites).await;
    drop(servers);
}

/// What testssl.sh (the Debian package) says of one server, in the terms vnready reports.
#[derive(Debug, Default, PartialEq)]
struct PeerView {
    suites: std::collections::BTreeSet<u16>,
    tls12: bool,
    tls13: bool,
    groups: std::collections::BTreeSet<String>,
    secure_renegotiation: Option<bool>,
    client_renegotiation: Option<bool>,
}

/// Runs testssl.sh against four of the lab's servers and compares accepted suites, protocols,
/// ECDHE groups, secure and client-initiated renegotiation with vnready's `observed`. 0-RTT is not
/// compared: testssl 3.0.8 does not test it (docs/checks.md).
async fn agree_with_testssl(dir: &Path, document: &Value, sites: &[(&str, Vec<(&str, u16)>)]) {
    let labels = ["modern", "rsakx", "dhe2048", "prefers", "clientreneg"];
    let runs = labels.iter().map(|label| {
        let port = sites.iter().find(|(l, _)| l == label).expect("site").1[0].1;
        let json = dir.join(format!("testssl-{label}.json"));
        async move {
            let status = tokio::process::Command::new("testssl")
                .args(["--quiet", "--warnings", "off", "--color", "0", "--jsonfile"])
                .arg(&json)
                .args(["-p", "-E", "-R", "--fs", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await
                .expect("testssl is installed by scripts/test.sh (testssl.sh)");
            assert!(status.success() || json.exists(), "testssl on {label}: {status}");
            let findings: Vec<Value> =
                serde_json::from_str(&std::fs::read_to_string(&json).expect("testssl json")).expect("testssl json");
            (*label, peer_view(&findings))
        }
    });
    let peers = futures::future::join_all(runs).await;
    let mut differences = Vec::new();
    for (label, peer) in peers {
        let ours = our_view(document, label);
        if ours != peer {
            differences.push(format!("{label}: vnready {ours:?}\n  testssl {peer:?}"));
        }
    }
    assert!(
        differences.is_empty(),
        "vnready and testssl.sh disagree:\n{}",
        differences.join("\n")
    );
    eprintln!(
        "tls scan: vnready agrees with testssl.sh on {} servers (suites, protocols, groups, both renegotiations)",
        labels.len()
    );
}

fn peer_view(findings: &[Value]) -> PeerView {
    let mut view = PeerView::default();
    for finding in findings {
        let id = finding["id"].as_str().unwrap_or_default();
        let text = finding["finding"].as_str().unwrap_or_default();
        if let Some(hex) = id
            .strip_prefix("cipher-tls1_2_x")
            .or_else(|| id.strip_prefix("cipher-tls1_3_x"))
        {
            if let Ok(code) = u16::from_str_radix(hex, 16) {
                view.suites.insert(code);
            }
        }
        match id {
            "TLS1_2" => view.tls12 = text.starts_with("offered"),
            "TLS1_3" => view.tls13 = text.starts_with("offered"),
            "PFS_ECDHE_curves" | "FS_ECDHE_curves" => {
                view.groups = text
                    .split_whitespace()
                    .map(|curve| match curve {
                        "prime256v1" => "secp256r1".to_string(),
                        other => other.to_string(),
                    })
                    .collect()
            }
            "secure_renego" => view.secure_renegotiation = Some(text.starts_with("supported")),
            "secure_client_renego" => view.client_renegotiation = Some(!text.starts_with("not vulnerable")),
            _ => {}
        }
    }
    view
}

fn our_view(document: &Value, label: &str) -> PeerView {
    let observed = |check: &str| -> Value {
        let found = check_result(document, |id| id.starts_with(&format!("https://{label}.")), check);
        found["observed"]["scans"]
            .as_array()
            .and_then(|scans| scans.iter().find(|scan| scan["ip"] == "127.0.0.1"))
            .cloned()
            .unwrap_or_default()
    };
    let ciphers = observed("tls.ciphers");
    let groups = observed("tls.key_exchange");
    let features = observed("tls.features");
    let names = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let code = |name: &str| {
        vnready::model::cipher_suites::SUITES
            .iter()
            .find(|suite| suite.name == name)
            .map(|suite| suite.code)
    };
    let tls12 = names(&ciphers["tls12_suites"]);
    let tls13 = names(&ciphers["tls13_suites"]);
    PeerView {
        suites: tls12.iter().chain(&tls13).filter_map(|name| code(name)).collect(),
        tls12: !tls12.is_empty(),
        tls13: !tls13.is_empty(),
        groups: names(&groups["tls12_groups"])
            .into_iter()
            .chain(names(&groups["tls13_groups"]))
            .collect(),
        secure_renegotiation: features["secure_renegotiation"]
            .as_bool()
            .or(Some(true).filter(|_| tls12.is_empty())),
        client_renegotiation: features["client_renegotiation"].as_bool(),
    }
}
