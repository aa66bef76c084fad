//! tls.ocsp_stapling on real parts: a CA and leaves made with openssl at test time, OCSP
//! responses made by `openssl ocsp` from its index (good, revoked, signed by a stranger), served
//! by nginx's `ssl_stapling_file` over TLS; a server that staples nothing, and a certificate that
//! names no responder. Then tls.valid asking the responder of a leaf without CRL (nginx serving
//! the responder's answers over http): good, revoked, unreachable. The real binary judges them.

#[allow(dead_code)]
#[path = "lab/dns.rs"]
mod dns;
mod harness;
mod netlab;

use std::path::Path;
use std::process::Stdio;

use dns::{DnsServer, ZoneData};
use harness::{check_json, status_and_reason};

const ZONE: &str = "ocsplab.vn";

fn openssl(dir: &Path, args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed by the test command");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// The lab CA and a stranger CA, each a self-signed certificate and key under `dir`.
fn make_cas(dir: &Path) {
    for (stem, subject) in [("ca", "/CN=Lab OCSP CA"), ("stranger", "/CN=Stranger CA")] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{stem}.key"),
                "-out",
                &format!("{stem}.crt"),
                "-days",
                "30",
                "-subj",
                subject,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }
}

/// A leaf for `*.ocsplab.vn` with `serial` signed by the lab CA, naming `responder` (or no
/// responder), and `STEM-chain.crt` with the CA after it.
fn make_leaf(dir: &Path, stem: &str, serial: &str, responder: Option<&str>) {
    let mut ext = format!("subjectAltName=DNS:*.{ZONE}\n");
    if let Some(url) = responder {
        ext.push_str(&format!("authorityInfoAccess=OCSP;URI:{url}\n"));
    }
    std::fs::write(dir.join(format!("{stem}.ext")), ext).expect("ext");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{stem}.key"),
            "-out",
            &format!("{stem}.csr"),
            "-subj",
            &format!("/CN=*.{ZONE}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{stem}.csr"),
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            serial,
            "-out",
            &format!("{stem}.crt"),
            "-days",
            "30",
            "-extfile",
            &format!("{stem}.ext"),
        ],
    );
    let chain = std::fs::read_to_string(dir.join(format!("{stem}.crt"))).expect("leaf")
        + &std::fs::read_to_string(dir.join("ca.crt")).expect("ca");
    std::fs::write(dir.join(format!("{stem}-chain.crt")), chain).expect("chain");
}

/// Serves `servers` (nginx `server` blocks) and audits `sites` (label and port under the lab
/// zone) with `check` through the lab's DNS, trusting the lab CA: the `check` document.
async fn audit_on_nginx(dir: &Path, servers: &str, sites: &[(&str, u16)], check: &str) -> serde_json::Value {
    let nginx_dir = dir.join("nginx");
    std::fs::create_dir_all(&nginx_dir).expect("nginx dir");
    let _nginx = netlab::nginx(None, &nginx_dir, servers);
    let mut zones = ZoneData::default();
    zones.zone(ZONE, &[&format!("ns1.{ZONE}")]);
    zones.a(&format!("ns1.{ZONE}"), "127.0.0.1");
    let mut yaml = String::new();
    for (label, port) in sites {
        zones.a(&format!("{label}.{ZONE}"), "127.0.0.1");
        yaml.push_str(&format!("  - url: https://{label}.{ZONE}:{port}/\n"));
    }
    let dns = DnsServer::start(zones).await;
    let config = dir.join(format!("{check}.yaml"));
    std::fs::write(
        &config,
        format!(
            "resolver:\n  servers: [\"{}\"]\ntrust:\n  extra_roots: [\"{}/ca.crt\"]\n  accept_ranges: [\"127.0.0.0/8\"]\ntargets:\n{yaml}",
            dns.addr(),
            dir.display()
        ),
    )
    .expect("config");
    check_json(&config, check, "10s").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_stapling_status_on_nginx() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    make_cas(d);
    make_leaf(d, "leaf", "4097", Some(&format!("http://ocsp.{ZONE}.invalid/")));
    make_leaf(d, "noaia", "4098", None);
    // The CA's index: the leaf valid, then revoked.
    let subject = format!("/CN=*.{ZONE}");
    std::fs::write(
        d.join("good.txt"),
        format!("V\t301231000000Z\t\t1001\tunknown\t{subject}\n"),
    )
    .expect("index");
    std::fs::write(
        d.join("revoked.txt"),
        format!("R\t301231000000Z\t251201000000Z\t1001\tunknown\t{subject}\n"),
    )
    .expect("index");
    openssl(
        d,
        &[
            "ocsp",
            "-issuer",
            "ca.crt",
            "-cert",
            "leaf.crt",
            "-no_nonce",
            "-reqout",
            "req.der",
        ],
    );
    for (out, index, signer) in [
        ("good.der", "good.txt", "ca"),
        ("revoked.der", "revoked.txt", "ca"),
        ("stranger.der", "good.txt", "stranger"),
    ] {
        openssl(
            d,
            &[
                "ocsp",
                "-index",
                index,
                "-rsigner",
                &format!("{signer}.crt"),
                "-rkey",
                &format!("{signer}.key"),
                "-CA",
                "ca.crt",
                "-reqin",
                "req.der",
                "-respout",
                out,
                "-ndays",
                "7",
            ],
        );
    }

    let cases = [
        (
            "good",
            "leaf",
            Some("good.der"),
            "pass",
            "a valid, current, good OCSP staple on all 1 address(es)",
        ),
        (
            "revoked",
            "leaf",
            Some("revoked.der"),
            "fail",
            "[127.0.0.1] staples an OCSP response saying the certificate is revoked",
        ),
        (
            "stranger",
            "leaf",
            Some("stranger.der"),
            "fail",
            "signature does not verify",
        ),
        ("none", "leaf", None, "warn", "[127.0.0.1] sends no OCSP staple"),
        ("noaia", "noaia", None, "skip", "names no OCSP responder"),
    ];
    let mut servers = String::new();
    let mut ports = Vec::new();
    for (label, cert, staple, _, _) in cases {
        let port = free_port();
        ports.push(port);
        let stapling = match staple {
            Some(file) => format!("ssl_stapling on; ssl_stapling_file {}/{file};", d.display()),
            None => String::new(),
        };
        servers.push_str(&format!(
            "server {{ listen 127.0.0.1:{port} ssl; server_name {label}.{ZONE}; ssl_certificate {d}/{cert}-chain.crt; \
             ssl_certificate_key {d}/{cert}.key; ssl_protocols TLSv1.2 TLSv1.3; {stapling} \
             location / {{ return 200 ok; }} }}\n",
            d = d.display()
        ));
    }
    let sites: Vec<(&str, u16)> = cases
        .iter()
        .zip(&ports)
        .map(|((label, ..), port)| (*label, *port))
        .collect();
    let document = audit_on_nginx(d, &servers, &sites, "tls.ocsp_stapling").await;
    let mut wrong = Vec::new();
    for ((label, _, _, expected, words), port) in cases.iter().zip(&ports) {
        let (status, reason) = status_and_reason(
            &document,
            &format!("https://{label}.{ZONE}:{port}/"),
            "tls.ocsp_stapling",
        );
        if status != *expected || !reason.contains(words) {
            wrong.push(format!(
                "{label}: {status} {reason:?}, expected {expected} with {words:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    eprintln!("tls.ocsp_stapling: {} cases on nginx", cases.len());
}

/// tls.valid asks the responder of a leaf that names no CRL: good passes, revoked fails, a
/// responder that cannot be reached warns (never a pass that hides it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_by_the_ocsp_responder_in_tls_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    make_cas(d);
    let (good_port, revoked_port, dead_port) = (free_port(), free_port(), free_port());
    make_leaf(d, "fine", "8193", Some(&format!("http://127.0.0.1:{good_port}")));
    make_leaf(d, "gone", "8194", Some(&format!("http://127.0.0.1:{revoked_port}")));
    make_leaf(d, "dark", "8195", Some(&format!("http://127.0.0.1:{dead_port}")));
    let subject = format!("/CN=*.{ZONE}");
    std::fs::write(
        d.join("good.txt"),
        format!("V\t301231000000Z\t\t2001\tunknown\t{subject}\n"),
    )
    .expect("index");
    std::fs::write(
        d.join("revoked.txt"),
        format!("R\t301231000000Z\t251201000000Z\t2002\tunknown\t{subject}\n"),
    )
    .expect("index");
    // Each responder's answer, made by `openssl ocsp` from the CA's index and served by nginx
    // for whatever request path (GET, RFC 6960 A.1) comes.
    for (leaf, index, out) in [("fine", "good.txt", "fine.der"), ("gone", "revoked.txt", "gone.der")] {
        openssl(
            d,
            &[
                "ocsp",
                "-issuer",
                "ca.crt",
                "-cert",
                &format!("{leaf}.crt"),
                "-no_nonce",
                "-reqout",
                &format!("{leaf}.req"),
            ],
        );
        openssl(
            d,
            &[
                "ocsp",
                "-index",
                index,
                "-rsigner",
                "ca.crt",
                "-rkey",
                "ca.key",
                "-CA",
                "ca.crt",
                "-reqin",
                &format!("{leaf}.req"),
                "-respout",
                out,
                "-ndays",
                "7",
            ],
        );
    }

    let cases = [
        ("fine", "pass", "not revoked"),
        ("gone", "fail", "the certificate was revoked on 2025-12-01"),
        ("dark", "warn", "revocation could not be checked"),
    ];
    let mut servers = String::new();
    for (port, answer) in [(good_port, "fine.der"), (revoked_port, "gone.der")] {
        servers.push_str(&format!(
            "server {{ listen 127.0.0.1:{port}; location / {{ default_type application/ocsp-response; \
             rewrite ^ /{answer} break; root {d}; }} }}\n",
            d = d.display()
        ));
    }
    let mut ports = Vec::new();
    for (label, _, _) in cases {
        let port = free_port();
        ports.push(port);
        servers.push_str(&format!(
            "server {{ listen 127.0.0.1:{port} ssl; server_name {label}.{ZONE}; ssl_certificate {d}/{label}-chain.crt; \
             ssl_certificate_key {d}/{label}.key; ssl_protocols TLSv1.2 TLSv1.3; location / {{ return 200 ok; }} }}\n",
            d = d.display()
        ));
    }
    let sites: Vec<(&str, u16)> = cases
        .iter()
        .zip(&ports)
        .map(|((label, ..), port)| (*label, *port))
        .collect();
    let document = audit_on_nginx(d, &servers, &sites, "tls.valid").await;
    let mut wrong = Vec::new();
    for ((label, expected, words), port) in cases.iter().zip(&ports) {
        let (status, reason) = status_and_reason(&document, &format!("https://{label}.{ZONE}:{port}/"), "tls.valid");
        if status != *expected || !reason.contains(words) {
            wrong.push(format!(
                "{label}: {status} {reason:?}, expected {expected} with {words:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The request vnready sends is one openssl reads, naming the leaf's serial.
    for stem in ["fine", "ca"] {
        openssl(
            d,
            &[
                "x509",
                "-in",
                &format!("{stem}.crt"),
                "-outform",
                "DER",
                "-out",
                &format!("{stem}.der"),
            ],
        );
    }
    let leaf = std::fs::read(d.join("fine.der")).expect("leaf");
    let issuer = std::fs::read(d.join("ca.der")).expect("issuer");
    let request = vnready::probe::ocsp::request(&leaf, &issuer).expect("request");
    std::fs::write(d.join("ours.req"), request).expect("request");
    let text = std::process::Command::new("openssl")
        .args(["ocsp", "-reqin", "ours.req", "-req_text", "-noverify"])
        .current_dir(d)
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Serial Number: 2001"), "{text}");
    eprintln!("tls.valid by OCSP: {} cases on openssl ocsp", cases.len());
}
