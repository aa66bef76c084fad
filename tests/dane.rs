//! mail.dane on real parts: zones signed at test time (ldns) and served by NSD, TLSA records
//! made from the certificates a private Postfix offers over STARTTLS on loopback IPv6, and the
//! real `vnready check` validating from the parent's keys. Each status: pass (two DANE-EE
//! records, one matching), warn (one record: no rollover), warn (TLSA in an unsigned zone),
//! fail (no record matches), fail (bogus signatures), fail (one MX host without TLSA beside one
//! with), skip (no TLSA at all). Then tls.dane on an openssl s_server over 127.0.0.1 and ::1 with
//! `_PORT._tcp` TLSA records in the same zones: pass, fail, skip, warn (unsigned), fail (bogus).

mod harness;
mod lab;

use std::path::PathBuf;

use harness::{check_json, status_and_reason};
use lab::nsd::{keys, run, start_nsd, tool};
use lab::pki::{LabPki, Validity};
use lab::postfix::{Listener, MxTls, Postfix};
use serde_json::Value;

const PARENT: &str = "danelab.vn";

/// The MX hosts: name, IPv6 address on lo, and the zone they live in.
const EXCHANGES: [(&str, &str, &str); 7] = [
    ("mx-good", "fd00:76e::21", "secure"),
    ("mx-single", "fd00:76e::22", "secure"),
    ("mx-mismatch", "fd00:76e::23", "secure"),
    ("mx-none", "fd00:76e::24", "secure"),
    ("mx-plain", "fd00:76e::25", "insecure"),
    ("mx-bogus", "fd00:76e::26", "bogus"),
    ("mx-second", "fd00:76e::27", "secure"),
];

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("[::1]:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// SHA-256 of the certificate's SubjectPublicKeyInfo: the "3 1 1" association data.
fn spki_sha256(der: &[u8]) -> String {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).expect("certificate");
    ring::digest::digest(&ring::digest::SHA256, cert.tbs_certificate.subject_pki.raw)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn zone_text(zone: &str, body: &str) -> String {
    format!(
        "$ORIGIN {zone}.\n$TTL 300\n@ IN SOA ns1.{PARENT}. hostmaster.{zone}. 1 3600 600 86400 300\n@ IN NS ns1.{PARENT}.\n{body}\n"
    )
}

fn result<'a>(document: &'a Value, target: &str, id: &str) -> (&'a str, &'a str) {
    status_and_reason(document, target, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_dane_status_on_signed_zones_and_a_real_postfix() {
    for name in ["nsd", "ldns-keygen", "ldns-signzone", "postfix"] {
        tool(name);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let pki = LabPki::new();
    let root = d.join("root.pem");
    std::fs::write(&root, &pki.root_pem).expect("root");

    // One certificate per exchange, served by Postfix; TLSA records name their keys.
    let mut listeners = Vec::new();
    let mut digests = std::collections::HashMap::new();
    for (name, ip, zone) in EXCHANGES {
        lab::ip_command(&["-6", "addr", "add", &format!("{ip}/128"), "dev", "lo", "nodad"]);
        let host = format!("{name}.{zone}.{PARENT}");
        let cert = pki.leaf(&[&host], Validity::Current, true);
        let (cert_path, key_path): (PathBuf, PathBuf) = (d.join(format!("{name}.crt")), d.join(format!("{name}.key")));
        std::fs::write(&cert_path, &cert.chain_pem).expect("cert");
        std::fs::write(&key_path, &cert.key_pem).expect("key");
        digests.insert(name, spki_sha256(cert.chain[0].as_ref()));
        listeners.push(Listener {
            ip: ip.parse().expect("ip"),
            tls: MxTls::Strict,
            cert: cert_path,
            key: key_path,
        });
    }
    let port = free_port();
    let _postfix = Postfix::start(d, port, &listeners).await;

    let next_key = "ab".repeat(32);
    let wrong = "cd".repeat(32);
    let tlsa = |name: &str, data: &[&str]| -> String {
        data.iter()
            .map(|digest| format!("_25._tcp.{name} IN TLSA 3 1 1 {digest}\n"))
            .collect()
    };
    let mut zones: std::collections::HashMap<&str, String> = ["secure", "insecure", "bogus"]
        .into_iter()
        .map(|zone| (zone, String::new()))
        .collect();
    for (name, ip, zone) in EXCHANGES {
        let body = zones.get_mut(zone).expect("zone");
        body.push_str(&format!("{name} IN AAAA {ip}\n"));
        let own = digests[name].as_str();
        let records = match name {
            "mx-good" | "mx-plain" | "mx-bogus" | "mx-second" => tlsa(name, &[own, &next_key]),
            "mx-single" => tlsa(name, &[own]),
            "mx-mismatch" => tlsa(name, &[&wrong, &next_key]),
            _ => String::new(),
        };
        body.push_str(&records);
        // Each mail domain is the exchange's own name without "mx-".
        let domain = name.trim_start_matches("mx-");
        body.push_str(&format!("{domain} IN MX 10 {name}\n"));
    }
    // A domain with two exchanges, one without TLSA.
    zones
        .get_mut("secure")
        .expect("secure")
        .push_str("twohosts IN MX 10 mx-second\ntwohosts IN MX 20 mx-none\n");
    // tls.dane: one web server on 127.0.0.1 and ::1 (the same port), its TLSA records beside
    // the mail ones.
    let web_port = loop {
        let port = free_port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            break port;
        }
    };
    let web_names: Vec<String> = [
        "www-good.secure",
        "www-bad.secure",
        "www-none.secure",
        "www.insecure",
        "www.bogus",
    ]
    .iter()
    .map(|n| format!("{n}.{PARENT}"))
    .collect();
    let web_cert = pki.leaf(
        &web_names.iter().map(String::as_str).collect::<Vec<_>>(),
        Validity::Current,
        true,
    );
    let web_digest = spki_sha256(web_cert.chain[0].as_ref());
    let files = lab::web::write_served(&web_cert, d, "web");
    let _web = [
        lab::web::OpensslServer::start("127.0.0.1", web_port, &files, &[]).await,
        lab::web::OpensslServer::start("::1", web_port, &files, &[]).await,
    ];
    let web_tlsa = |owner: &str, data: &[&str]| -> String {
        data.iter()
            .map(|digest| format!("_{web_port}._tcp.{owner} IN TLSA 3 1 1 {digest}\n"))
            .collect()
    };
    for (zone, owner, data, dual) in [
        ("secure", "www-good", vec![web_digest.as_str(), next_key.as_str()], true),
        ("secure", "www-bad", vec![wrong.as_str(), next_key.as_str()], false),
        ("secure", "www-none", vec![], false),
        ("insecure", "www", vec![web_digest.as_str(), next_key.as_str()], false),
        ("bogus", "www", vec![web_digest.as_str(), next_key.as_str()], false),
    ] {
        let body = zones.get_mut(zone).expect("zone");
        body.push_str(&format!("{owner} IN A 127.0.0.1\n"));
        if dual {
            body.push_str(&format!("{owner} IN AAAA ::1\n"));
        }
        body.push_str(&web_tlsa(owner, &data));
    }
    let mut delegations = String::from("ns1 IN A 127.0.0.1\n");
    let mut stems = std::collections::HashMap::new();
    for (zone, body) in &zones {
        let name = format!("{zone}.{PARENT}");
        std::fs::write(d.join(format!("{name}.zone")), zone_text(&name, body)).expect("zone");
        delegations.push_str(&format!("{zone} IN NS ns1.{PARENT}.\n"));
        if *zone != "insecure" {
            let (ksk, zsk) = keys(d, &name);
            let ds = std::fs::read_to_string(d.join(format!("{ksk}.ds"))).expect("ds");
            delegations.push_str(&ds);
            stems.insert(*zone, (ksk, zsk));
        }
    }
    std::fs::write(d.join(format!("{PARENT}.zone")), zone_text(PARENT, &delegations)).expect("parent");
    let (parent_ksk, parent_zsk) = keys(d, PARENT);
    for (zone, (ksk, zsk)) in &stems {
        let file = format!("{zone}.{PARENT}.zone");
        match *zone {
            // Signatures that expired in 2020: every validated answer is bogus.
            "bogus" => run(
                d,
                "ldns-signzone",
                &["-i", "20190101000000", "-e", "20200101000000", &file, ksk, zsk],
            ),
            _ => run(d, "ldns-signzone", &[&file, ksk, zsk]),
        };
    }
    run(
        d,
        "ldns-signzone",
        &[&format!("{PARENT}.zone"), &parent_ksk, &parent_zsk],
    );
    let anchor = d.join("anchor.keys");
    let key = |stem: &str| std::fs::read_to_string(d.join(format!("{stem}.key"))).expect("key");
    std::fs::write(&anchor, format!("{}{}", key(&parent_ksk), key(&parent_zsk))).expect("anchor");
    let served: Vec<(String, String)> = std::iter::once((PARENT.to_string(), format!("{PARENT}.zone.signed")))
        .chain(zones.keys().map(|zone| {
            let name = format!("{zone}.{PARENT}");
            let file = match *zone {
                "insecure" => format!("{name}.zone"),
                _ => format!("{name}.zone.signed"),
            };
            (name, file)
        }))
        .collect();
    let served_refs: Vec<(&str, &str)> = served.iter().map(|(z, f)| (z.as_str(), f.as_str())).collect();
    let nsd = start_nsd(d, &served_refs);

    let cases = [
        ("good", "secure", "pass", "the certificate on all 1 address(es) matches"),
        ("single", "secure", "warn", "no rollover"),
        ("plain", "insecure", "warn", "TLSA in an unsigned zone"),
        (
            "mismatch",
            "secure",
            "fail",
            "mx-mismatch.secure.danelab.vn [fd00:76e::23]: the certificate matches no TLSA record",
        ),
        ("bogus", "bogus", "fail", "bogus"),
        (
            "twohosts",
            "secure",
            "fail",
            "mx-none.secure.danelab.vn: no TLSA record while other MX hosts have one",
        ),
        (
            "none",
            "secure",
            "skip",
            "no MX host of none.secure.danelab.vn publishes TLSA",
        ),
    ];
    let mut yaml = format!(
        "resolver:\n  servers: [\"127.0.0.1:{}\"]\n  smtp_port: {port}\n  trust_anchor: \"{}\"\ntrust:\n  extra_roots: [\"{}\"]\n  accept_ranges: [\"127.0.0.0/8\", \"::1/128\", \"fd00:76e::/64\"]\ntargets:\n",
        nsd.port,
        anchor.display(),
        root.display()
    );
    for (domain, zone, _, _) in cases {
        yaml.push_str(&format!(
            "  - url: https://www.{domain}.{zone}.{PARENT}/\n    mail_domain: {domain}.{zone}.{PARENT}\n"
        ));
    }
    let config = d.join("dane.yaml");
    std::fs::write(&config, yaml).expect("config");
    let document = check_json(&config, "mail.dane", "10s").await;
    for (domain, zone, expected, words) in cases {
        let target = format!("https://www.{domain}.{zone}.{PARENT}/");
        let (status, reason) = result(&document, &target, "mail.dane");
        assert_eq!(status, expected, "{target}: {reason}");
        assert!(reason.contains(words), "{target}: {reason:?} lacks {words:?}");
    }
    eprintln!("mail.dane: {} cases on signed zones and Postfix", cases.len());

    let web_cases = [
        ("www-good.secure", "pass", "matches the chain on all 2 address(es)"),
        ("www-bad.secure", "fail", "[127.0.0.1] the chain matches no TLSA record"),
        ("www-none.secure", "skip", "no TLSA record"),
        ("www.insecure", "warn", "unsigned zone"),
        ("www.bogus", "fail", "bogus"),
    ];
    let mut yaml = format!(
        "resolver:\n  servers: [\"127.0.0.1:{}\"]\n  trust_anchor: \"{}\"\ntrust:\n  extra_roots: [\"{}\"]\n  accept_ranges: [\"127.0.0.0/8\", \"::1/128\"]\ntargets:\n",
        nsd.port,
        anchor.display(),
        root.display()
    );
    for (host, _, _) in web_cases {
        yaml.push_str(&format!("  - url: https://{host}.{PARENT}:{web_port}/\n"));
    }
    let config = d.join("tls-dane.yaml");
    std::fs::write(&config, yaml).expect("config");
    let document = check_json(&config, "tls.dane", "10s").await;
    for (host, expected, words) in web_cases {
        let target = format!("https://{host}.{PARENT}:{web_port}/");
        let (status, reason) = result(&document, &target, "tls.dane");
        assert_eq!(status, expected, "{target}: {reason}");
        assert!(reason.contains(words), "{target}: {reason:?} lacks {words:?}");
    }
    eprintln!(
        "tls.dane: {} cases on signed zones and openssl s_server",
        web_cases.len()
    );
    drop(nsd);
}
