//! mail.mta_sts on real parts: MTA-STS and TLS-RPT records in the lab's authoritative DNS,
//! policies served by nginx over HTTPS on IPv4 (127.0.27.1) and IPv6 (fd00:76e::31) with
//! certificates from a CA made at test time, judged by the real binary. Every status: an
//! enforced policy (pass), testing mode, no TLS-RPT and no MTA-STS (warn), an uncovered MX host,
//! a policy only one family serves, a redirect, a certificate for another name and a policy host
//! that does not resolve (fail), no MX (skip).

#[allow(dead_code)]
#[path = "lab/dns.rs"]
mod dns;
mod harness;
mod netlab;
#[allow(dead_code)]
#[path = "lab/pki.rs"]
mod pki;

use dns::{DnsServer, ZoneData};
use harness::{check_json, status_and_reason};
use hickory_proto::rr::rdata::MX;
use hickory_proto::rr::{Name, RData};
use pki::{LabPki, Validity};
use serde_json::Value;

const ZONE: &str = "stslab.vn";
const V4: &str = "127.0.27.1";
const V6: &str = "fd00:76e::31";

fn policy(mode: &str, mx: &str) -> String {
    format!("version: STSv1\\nmode: {mode}\\nmx: {mx}\\nmax_age: 604800\\n")
}

/// A server block for `host` on `listens`, answering the policy path with `answer` (an nginx
/// `return`).
fn server(host: &str, listens: &[&str], tls: &(String, String), answer: &str) -> String {
    let listen: String = listens.iter().map(|l| format!("listen {l}:443 ssl; ")).collect();
    let (cert, key) = tls;
    format!(
        "server {{ {listen} server_name {host}; ssl_certificate {cert}; ssl_certificate_key {key}; ssl_protocols TLSv1.2 TLSv1.3;\n\
         location = /.well-known/mta-sts.txt {{ default_type text/plain; {answer} }}\n}}\n"
    )
}

fn result<'a>(document: &'a Value, domain: &str) -> (&'a str, &'a str) {
    status_and_reason(document, &format!("https://www.{domain}.{ZONE}/"), "mail.mta_sts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mta_sts_status_on_nginx_over_both_families() {
    // The IPv6 address of the policy servers, on lo (already there from an earlier run is fine).
    let added = std::process::Command::new("ip")
        .args(["-6", "addr", "add", &format!("{V6}/128"), "dev", "lo", "nodad"])
        .output()
        .expect("ip");
    let stderr = String::from_utf8_lossy(&added.stderr);
    assert!(
        added.status.success() || stderr.contains("File exists") || stderr.contains("already assigned"),
        "ip addr add: {stderr}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let pki = LabPki::new();
    let domains = [
        "good",
        "testing",
        "norpt",
        "none",
        "uncovered",
        "split",
        "redirect",
        "nohost",
        "badcert",
        "nomx",
    ];
    let policy_hosts: Vec<String> = domains.iter().map(|dm| format!("mta-sts.{dm}.{ZONE}")).collect();
    let names: Vec<&str> = policy_hosts
        .iter()
        .map(String::as_str)
        .filter(|h| !h.contains("badcert"))
        .collect();
    let write_cert = |stem: &str, names: &[&str]| {
        let served = pki.leaf(names, Validity::Current, true);
        let (cert, key) = (d.join(format!("{stem}.crt")), d.join(format!("{stem}.key")));
        std::fs::write(&cert, &served.chain_pem).expect("cert");
        std::fs::write(&key, &served.key_pem).expect("key");
        (cert.display().to_string(), key.display().to_string())
    };
    let tls = write_cert("sts", &names);
    let wrong = write_cert("wrong", &["wrong.stslab.vn"]);
    let root = d.join("root.pem");
    std::fs::write(&root, &pki.root_pem).expect("root");
    let both = [V4, &format!("[{V6}]")];
    let v6 = format!("[{V6}]");
    let host = |domain: &str| format!("mta-sts.{domain}.{ZONE}");
    let own = |domain: &str| format!("mx.{domain}.{ZONE}");
    let ok = |mode: &str, mx: &str| format!("return 200 \"{}\";", policy(mode, mx));

    let mut servers = String::new();
    servers += &server(&host("good"), &both, &tls, &ok("enforce", &format!("*.good.{ZONE}")));
    servers += &server(&host("testing"), &both, &tls, &ok("testing", &own("testing")));
    servers += &server(&host("norpt"), &both, &tls, &ok("enforce", &own("norpt")));
    servers += &server(&host("uncovered"), &both, &tls, &ok("enforce", "mx.other.vn"));
    servers += &server(&host("split"), &[V4], &tls, &ok("enforce", &own("split")));
    servers += &server(&host("split"), &[&v6], &tls, "return 404;");
    servers += &server(
        &host("redirect"),
        &both,
        &tls,
        &format!("return 301 https://{}/.well-known/mta-sts.txt;", host("good")),
    );
    servers += &server(&host("badcert"), &both, &wrong, &ok("enforce", &own("badcert")));
    let _nginx = netlab::nginx(None, d, &servers);

    let mut zones = ZoneData::default();
    zones.zone(ZONE, &[&format!("ns1.{ZONE}")]);
    zones.a(&format!("ns1.{ZONE}"), "127.0.0.1");
    for domain in domains {
        let apex = format!("{domain}.{ZONE}");
        if domain != "nomx" {
            let mut exchange = Name::from_utf8(own(domain)).expect("name");
            exchange.set_fqdn(true);
            zones.add(&apex, RData::MX(MX::new(10, exchange)));
        }
        if domain != "none" {
            zones.txt(&format!("_mta-sts.{apex}"), &["v=STSv1; id=20261207T1"]);
        }
        if domain != "norpt" {
            zones.txt(
                &format!("_smtp._tls.{apex}"),
                &[&format!("v=TLSRPTv1; rua=mailto:tlsrpt@{apex}")],
            );
        }
        if !matches!(domain, "nohost" | "none" | "nomx") {
            zones.a(&host(domain), V4);
            zones.a(&host(domain), V6);
        }
    }
    let dns = DnsServer::start(zones).await;
    let mut yaml = format!(
        "resolver:\n  servers: [\"{}\"]\ntrust:\n  extra_roots: [\"{}\"]\n  accept_ranges: [\"127.0.27.0/24\", \"fd00:76e::/64\"]\ntargets:\n",
        dns.addr(),
        root.display()
    );
    for domain in domains {
        yaml.push_str(&format!(
            "  - url: https://www.{domain}.{ZONE}/\n    mail_domain: {domain}.{ZONE}\n"
        ));
    }
    let config = d.join("mta-sts.yaml");
    std::fs::write(&config, yaml).expect("config");
    let document = check_json(&config, "mail.mta_sts", "10s").await;

    let cases = [
        ("good", "pass", "TLS-RPT to mailto:tlsrpt@good.stslab.vn"),
        ("testing", "warn", "mode: testing"),
        ("norpt", "warn", "no TLS-RPT record"),
        ("none", "warn", "no MTA-STS record at _mta-sts.none.stslab.vn"),
        ("uncovered", "fail", "MX host mx.uncovered.stslab.vn is not covered"),
        ("split", "fail", "[fd00:76e::31]: status 404"),
        ("redirect", "fail", "which senders do not follow"),
        ("badcert", "fail", "certificate not valid"),
        ("nohost", "fail", "mta-sts.nohost.stslab.vn has no usable address"),
        ("nomx", "skip", "no MX record"),
    ];
    for (domain, expected, words) in cases {
        let (status, reason) = result(&document, domain);
        assert_eq!(status, expected, "{domain}: {reason}");
        assert!(reason.contains(words), "{domain}: {reason:?} lacks {words:?}");
    }
    let (_, split) = result(&document, "split");
    assert!(
        !split.contains(&format!("[{V4}]")),
        "the IPv4 address serves the policy: {split}"
    );
    eprintln!("mail.mta_sts: {} cases on nginx over both families", cases.len());
}
