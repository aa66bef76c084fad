//! `mail.ipv6`, `mail.starttls` and `mail.tls` against real SMTP servers (a private Postfix
//! from Debian) on loopback, with MX, A and AAAA records served by the lab's DNS server: an
//! exchange with strict STARTTLS, one without STARTTLS, one accepting TLS 1.0 over IPv4 only,
//! one accepting anonymous suites, one with a certificate for another name, one without AAAA,
//! one whose IPv6 address refuses the SMTP port, a domain without MX and a null MX. The real
//! `vnready check` audits them.

mod harness;
mod lab;

use std::path::{Path, PathBuf};

use hickory_proto::rr::rdata::MX;
use hickory_proto::rr::{Name, RData};
use serde_json::Value;

use harness::{check_json, status_and_reason};
use lab::dns::{DnsServer, ZoneData};
use lab::pki::{LabPki, Validity};
use lab::postfix::{Listener, MxTls, Postfix};

/// An address on lo where nothing listens: a refused SMTP port.
const REFUSING_V6: &str = "fd00:76e::3";

/// Addresses on lo of the STARTTLS variants, one Postfix listener each.
const TLS10_V6: &str = "fd00:76e::12";
const TLS10_V4: &str = "127.0.26.12";
const ANON_V6: &str = "fd00:76e::13";
const WRONGNAME_V6: &str = "fd00:76e::14";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("[::1]:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Writes `host`'s certificate from the lab CA (or one for `other` name) into `dir`.
fn cert_files(dir: &Path, pki: &LabPki, name: &str) -> (PathBuf, PathBuf) {
    let cert = pki.leaf(&[name], Validity::Current, true);
    let (cert_path, key_path) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    std::fs::write(&cert_path, &cert.chain_pem).expect("cert");
    std::fs::write(&key_path, &cert.key_pem).expect("key");
    std::fs::set_permissions(&key_path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    (cert_path, key_path)
}

/// One Postfix: mx-tls on ::1 and 127.0.0.1 (strict, so also mx-v4's address), mx-plain
/// without STARTTLS, mx-tls10 strict over IPv6 but accepting TLS 1.0 over IPv4, mx-anon with
/// Postfix's default suites, mx-wrongname with a certificate for another host.
async fn start_postfix(dir: &Path, port: u16, pki: &LabPki) -> Postfix {
    let listener = |ip: &str, tls: MxTls, name: &str| {
        let (cert, key) = cert_files(dir, pki, name);
        Listener {
            ip: ip.parse().expect("ip"),
            tls,
            cert,
            key,
        }
    };
    let listeners = [
        listener("::1", MxTls::Strict, "mx-tls.maillab.vn"),
        listener("127.0.0.1", MxTls::Strict, "mx-tls.maillab.vn"),
        listener(lab::SECOND_V6, MxTls::None, "mx-plain.maillab.vn"),
        listener(TLS10_V6, MxTls::Strict, "mx-tls10.maillab.vn"),
        listener(TLS10_V4, MxTls::Tls10, "mx-tls10.maillab.vn"),
        listener(ANON_V6, MxTls::AnonymousSuites, "mx-anon.maillab.vn"),
        listener(WRONGNAME_V6, MxTls::Strict, "other.maillab.vn"),
    ];
    Postfix::start(dir, port, &listeners).await
}

fn mx(zones: &mut ZoneData, owner: &str, preference: u16, exchange: &str) {
    let mut name = Name::from_utf8(exchange).expect("name");
    name.set_fqdn(true);
    zones.add(owner, RData::MX(MX::new(preference, name)));
}

fn status<'a>(document: &'a Value, target: &str, check: &str) -> (&'a str, &'a str) {
    status_and_reason(document, target, check)
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
    for v6 in [REFUSING_V6, TLS10_V6, ANON_V6, WRONGNAME_V6] {
        lab::ip_command(&["-6", "addr", "add", &format!("{v6}/128"), "dev", "lo", "nodad"]);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = LabPki::new();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, &pki.root_pem).expect("root");
    let port = free_port();
    let _postfix = start_postfix(dir.path(), port, &pki).await;

    let mut zones = ZoneData::default();
    zones.zone("maillab.vn", &["ns1.maillab.vn"]);
    zones.a("ns1.maillab.vn", "127.0.0.1");
    zones.a("mx-tls.maillab.vn", "::1");
    zones.a("mx-tls.maillab.vn", "127.0.0.1");
    zones.a("mx-plain.maillab.vn", lab::SECOND_V6);
    zones.a("mx-v4.maillab.vn", "127.0.0.1");
    zones.a("mx-refused.maillab.vn", REFUSING_V6);
    zones.a("mx-tls10.maillab.vn", TLS10_V6);
    zones.a("mx-tls10.maillab.vn", TLS10_V4);
    zones.a("mx-anon.maillab.vn", ANON_V6);
    zones.a("mx-wrongname.maillab.vn", WRONGNAME_V6);
    mx(&mut zones, "tls10.maillab.vn", 10, "mx-tls10.maillab.vn");
    mx(&mut zones, "anon.maillab.vn", 10, "mx-anon.maillab.vn");
    mx(&mut zones, "wrongname.maillab.vn", 10, "mx-wrongname.maillab.vn");
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

    let domains = [
        "plain",
        "noaaaa",
        "refused",
        "mixed",
        "nomx",
        "nullmx",
        "tls10",
        "anon",
        "wrongname",
    ];
    let mut yaml = format!(
        "resolver:\n  servers: [\"{}\"]\n  ns_port: {}\n  smtp_port: {port}\ntrust:\n  extra_roots: [\"{root}\"]\n  accept_ranges: [\"127.0.0.0/8\", \"::1/128\", \"fd00:76e::/64\"]\ntargets:\n  - url: https://www.maillab.vn/\n",
        dns.addr(),
        dns.port,
        root = root.display(),
    );
    for domain in domains {
        yaml.push_str(&format!(
            "  - url: https://www.{domain}.maillab.vn/\n    mail_domain: {domain}.maillab.vn\n"
        ));
    }
    let config = dir.path().join("mail.yaml");
    std::fs::write(&config, yaml).expect("config");
    let document = check_json(&config, "mail.ipv6,mail.starttls,mail.tls", "5s").await;

    let expectations = [
        (
            "https://www.maillab.vn/",
            "mail.ipv6",
            "pass",
            "every MX host answers SMTP over IPv6: mx-tls.maillab.vn",
        ),
        ("https://www.maillab.vn/", "mail.starttls", "pass", "STARTTLS offered"),
        (
            "https://www.maillab.vn/",
            "mail.tls",
            "pass",
            "TLS 1.2+ and sound suites on all 2 mail server address(es)",
        ),
        (
            "https://www.plain.maillab.vn/",
            "mail.tls",
            "fail",
            "mx-plain.maillab.vn [fd00:76e::2]: STARTTLS not offered",
        ),
        (
            "https://www.tls10.maillab.vn/",
            "mail.tls",
            "fail",
            "mx-tls10.maillab.vn [127.0.26.12]: accepts TLS 1.",
        ),
        (
            "https://www.anon.maillab.vn/",
            "mail.tls",
            "fail",
            "mx-anon.maillab.vn [fd00:76e::13]: accepts insufficient suite ADH-",
        ),
        (
            "https://www.wrongname.maillab.vn/",
            "mail.tls",
            "warn",
            "[fd00:76e::14]: certificate does not verify",
        ),
        (
            "https://www.refused.maillab.vn/",
            "mail.tls",
            "error",
            "mx-refused.maillab.vn [fd00:76e::3]: SMTP connect",
        ),
        ("https://www.nullmx.maillab.vn/", "mail.tls", "skip", "null MX"),
        ("https://www.nomx.maillab.vn/", "mail.tls", "skip", "no MX record"),
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
    let (_, tls10) = status(&document, "https://www.tls10.maillab.vn/", "mail.tls");
    assert!(
        !tls10.contains(TLS10_V6),
        "the strict IPv6 address is not blamed: {tls10}"
    );
    eprintln!("mail: {} cases on Postfix over IPv6 and IPv4", expectations.len());
}
