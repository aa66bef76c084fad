//! `mail.ipv6` and `mail.starttls` against a real SMTP server (OpenSMTPD from Debian) on
//! loopback IPv6, with MX and AAAA records served by the lab's DNS server: an exchange with
//! STARTTLS, one without, one without AAAA, one whose IPv6 address refuses the SMTP port, a
//! domain without MX and a null MX. The real `vnready check` audits them.

mod harness;
mod lab;

use std::path::Path;
use std::process::Stdio;

use hickory_proto::rr::rdata::MX;
use hickory_proto::rr::{Name, RData};
use serde_json::Value;

use harness::{show, vnready};
use lab::dns::{DnsServer, ZoneData};
use lab::pki::{LabPki, Validity};

/// An address on lo where nothing listens: a refused SMTP port.
const REFUSING_V6: &str = "fd00:76e::3";

/// OpenSMTPD in the foreground, killed when dropped.
struct Smtpd {
    _child: tokio::process::Child,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("[::1]:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

async fn start_smtpd(dir: &Path, port: u16, pki: &LabPki) -> Smtpd {
    let cert = pki.leaf(&["mx-tls.maillab.vn"], Validity::Current, true);
    let (cert_path, key_path) = (dir.join("mx.crt"), dir.join("mx.key"));
    std::fs::write(&cert_path, &cert.chain_pem).expect("cert");
    std::fs::write(&key_path, &cert.key_pem).expect("key");
    std::fs::set_permissions(&key_path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let config = dir.join("smtpd.conf");
    std::fs::write(
        &config,
        format!(
            "pki mx-tls.maillab.vn cert \"{cert}\"\npki mx-tls.maillab.vn key \"{key}\"\n\
             listen on ::1 port {port} tls pki mx-tls.maillab.vn hostname mx-tls.maillab.vn\n\
             listen on {plain} port {port} hostname mx-plain.maillab.vn\n\
             action \"local\" mbox\nmatch from any for any action \"local\"\n",
            cert = cert_path.display(),
            key = key_path.display(),
            plain = lab::SECOND_V6,
        ),
    )
    .expect("smtpd.conf");
    let child = tokio::process::Command::new("smtpd")
        .args(["-d", "-f"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("smtpd is required: scripts/test.sh installs opensmtpd");
    // Ready when both listeners accept: a fact only the started server can produce.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for host in ["::1", lab::SECOND_V6] {
        let address = std::net::SocketAddr::new(host.parse().expect("ip"), port);
        while tokio::net::TcpStream::connect(address).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "smtpd did not start listening on {address}"
            );
            tokio::task::yield_now().await;
        }
    }
    Smtpd { _child: child }
}

fn mx(zones: &mut ZoneData, owner: &str, preference: u16, exchange: &str) {
    let mut name = Name::from_utf8(exchange).expect("name");
    name.set_fqdn(true);
    zones.add(owner, RData::MX(MX::new(preference, name)));
}

fn status<'a>(document: &'a Value, target: &str, check: &str) -> (&'a str, &'a str) {
    let site = document["targets"]
        .as_array()
        .and_then(|targets| targets.iter().find(|t| t["target"] == target))
        .unwrap_or_else(|| panic!("{target} not in output"));
    let result = site["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == check))
        .unwrap_or_else(|| panic!("{check} not run for {target}"));
    (
        result["status"].as_str().unwrap_or_default(),
        result["reason"]["en"].as_str().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_over_ipv6_on_a_real_smtp_server() {
    lab::ip_command(&[
        "-6",
        "addr",
        "add",
        &format!("{}/128", lab::SECOND_V6),
        "dev",
        "lo",
        "nodad",
    ]);
    lab::ip_command(&["-6", "addr", "add", &format!("{REFUSING_V6}/128"), "dev", "lo", "nodad"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = LabPki::new();
    let port = free_port();
    let _smtpd = start_smtpd(dir.path(), port, &pki).await;

    let mut zones = ZoneData::default();
    zones.zone("maillab.vn", &["ns1.maillab.vn"]);
    zones.a("ns1.maillab.vn", "127.0.0.1");
    zones.a("mx-tls.maillab.vn", "::1");
    zones.a("mx-tls.maillab.vn", "127.0.0.1");
    zones.a("mx-plain.maillab.vn", lab::SECOND_V6);
    zones.a("mx-v4.maillab.vn", "127.0.0.1");
    zones.a("mx-refused.maillab.vn", REFUSING_V6);
    // The zone apex's own mail (a target without mail_domain uses it).
    mx(&mut zones, "maillab.vn", 10, "mx-tls.maillab.vn");
    mx(&mut zones, "plain.maillab.vn", 10, "mx-plain.maillab.vn");
    mx(&mut zones, "noaaaa.maillab.vn", 10, "mx-v4.maillab.vn");
    mx(&mut zones, "refused.maillab.vn", 10, "mx-refused.maillab.vn");
    mx(&mut zones, "mixed.maillab.vn", 10, "mx-tls.maillab.vn");
    mx(&mut zones, "mixed.maillab.vn", 20, "mx-v4.maillab.vn");
    zones.a("nomx.maillab.vn", "127.0.0.1");
    zones.add("nullmx.maillab.vn", RData::MX(MX::new(0, Name::root())));
    let dns = DnsServer::start(zones).await;

    let domains = ["plain", "noaaaa", "refused", "mixed", "nomx", "nullmx"];
    let mut yaml = format!(
        "resolver:\n  servers: [\"{}\"]\n  ns_port: {}\n  smtp_port: {port}\ntrust:\n  accept_ranges: [\"127.0.0.0/8\", \"::1/128\", \"fd00:76e::/64\"]\ntargets:\n  - url: https://www.maillab.vn/\n",
        dns.addr(),
        dns.port
    );
    for domain in domains {
        yaml.push_str(&format!(
            "  - url: https://www.{domain}.maillab.vn/\n    mail_domain: {domain}.maillab.vn\n"
        ));
    }
    let config = dir.path().join("mail.yaml");
    std::fs::write(&config, yaml).expect("config");
    let output = vnready(&[
        "check",
        "--config",
        &config.display().to_string(),
        "--only",
        "mail.ipv6,mail.starttls",
        "--format",
        "json",
        "--timeout",
        "5s",
    ])
    .await;
    let document: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", show(&output)));

    let expectations = [
        (
            "https://www.maillab.vn/",
            "mail.ipv6",
            "pass",
            "every MX host answers SMTP over IPv6: mx-tls.maillab.vn",
        ),
        ("https://www.maillab.vn/", "mail.starttls", "pass", "STARTTLS offered"),
        (
            "https://www.plain.maillab.vn/",
            "mail.ipv6",
            "pass",
            "mx-plain.maillab.vn",
        ),
        (
            "https://www.plain.maillab.vn/",
            "mail.starttls",
            "fail",
            "mx-plain.maillab.vn [fd00:76e::2]",
        ),
        (
            "https://www.noaaaa.maillab.vn/",
            "mail.ipv6",
            "fail",
            "mx-v4.maillab.vn: no AAAA",
        ),
        (
            "https://www.noaaaa.maillab.vn/",
            "mail.starttls",
            "error",
            "no MX host answered",
        ),
        (
            "https://www.refused.maillab.vn/",
            "mail.ipv6",
            "fail",
            "mx-refused.maillab.vn [fd00:76e::3]: connect over IPv6: connection refused",
        ),
        (
            "https://www.mixed.maillab.vn/",
            "mail.ipv6",
            "fail",
            "mx-v4.maillab.vn: no AAAA",
        ),
        (
            "https://www.nomx.maillab.vn/",
            "mail.ipv6",
            "skip",
            "nomx.maillab.vn has no MX record",
        ),
        ("https://www.nomx.maillab.vn/", "mail.starttls", "skip", "no MX record"),
        (
            "https://www.nullmx.maillab.vn/",
            "mail.ipv6",
            "skip",
            "null MX (RFC 7505)",
        ),
    ];
    for (target, check, expected, words) in expectations {
        let (got, reason) = status(&document, target, check);
        assert_eq!(got, expected, "{target} {check}: {reason}");
        assert!(reason.contains(words), "{target} {check}: {reason:?} lacks {words:?}");
    }
    let (_, mixed) = status(&document, "https://www.mixed.maillab.vn/", "mail.ipv6");
    assert!(!mixed.contains("mx-tls"), "a working exchange is not blamed: {mixed}");
    eprintln!("mail: {} cases on OpenSMTPD over IPv6", expectations.len());
}
