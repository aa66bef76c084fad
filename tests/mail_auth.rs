//! SPF, DMARC and DKIM over real DNS (the lab's authoritative server on loopback, UDP and TCP),
//! judged by the real binary: every status of `mail.spf`, `mail.dmarc` and `mail.dkim`, the
//! organisational-domain fallback, report authorisation, and the rule for domains that send no
//! mail. DKIM keys are generated at test time with openssl.

#[allow(dead_code)]
#[path = "lab/dns.rs"]
mod dns;
mod harness;

use dns::{DnsServer, ZoneData};
use harness::{show, vnready};
use hickory_proto::rr::rdata::MX;
use hickory_proto::rr::{Name, RData};
use serde_json::Value;

const ZONE: &str = "lab.gov.vn";
/// A second organisation whose apex publishes DMARC with sp=quarantine for its subdomains.
const ORG2: &str = "org2.gov.vn";
/// Another organisation, for report addresses it has not authorised.
const VENDOR: &str = "vendor.vn";

fn mx(zones: &mut ZoneData, owner: &str, preference: u16, exchange: &str) {
    let mut exchange = Name::from_utf8(exchange).expect("name");
    exchange.set_fqdn(true);
    zones.add(owner, RData::MX(MX::new(preference, exchange)));
}

/// A DKIM key record for a fresh RSA key of `bits`, split into TXT character-strings.
fn rsa_key_record(bits: u32) -> Vec<String> {
    let key = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            &format!("rsa_keygen_bits:{bits}"),
        ])
        .output()
        .expect("openssl genpkey (scripts/test.sh installs openssl)");
    assert!(key.status.success(), "openssl genpkey failed");
    let mut public = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl pkey");
    use std::io::Write;
    public
        .stdin
        .take()
        .expect("stdin")
        .write_all(&key.stdout)
        .expect("write key");
    let der = public.wait_with_output().expect("public key").stdout;
    use base64::Engine;
    let record = format!(
        "v=DKIM1; k=rsa; p={}",
        base64::engine::general_purpose::STANDARD.encode(der)
    );
    record
        .as_bytes()
        .chunks(200)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect()
}

/// One TXT record, split into character-strings of at most 200 bytes (a string holds 255).
fn txt(zones: &mut ZoneData, owner: &str, text: &str) {
    let parts: Vec<&str> = text
        .as_bytes()
        .chunks(200)
        .map(|chunk| std::str::from_utf8(chunk).expect("ASCII record"))
        .collect();
    zones.txt(owner, &parts);
}

async fn lab_dns() -> DnsServer {
    let mut z = ZoneData::default();
    let ns = format!("ns1.{ZONE}");
    for zone in [ZONE, ORG2, VENDOR] {
        z.zone(zone, &[&ns]);
    }
    z.a(&ns, "127.0.0.1");
    let d = |label: &str| format!("{label}.{ZONE}");

    // good: SPF through an include, DMARC p=reject with a report address of its own, a strong key.
    mx(&mut z, &d("good"), 10, &format!("mx.{}", d("good")));
    txt(&mut z, &d("good"), "v=spf1 mx include:_spf.provider.lab.gov.vn -all");
    txt(&mut z, &d("good"), "google-site-verification=abc");
    txt(
        &mut z,
        &format!("_spf.provider.{ZONE}"),
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all",
    );
    txt(
        &mut z,
        &format!("_dmarc.{}", d("good")),
        "v=DMARC1; p=reject; rua=mailto:dmarc@good.lab.gov.vn",
    );
    let strong = rsa_key_record(2048);
    z.txt(
        &format!("s1._domainkey.{}", d("good")),
        &strong.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    // soft: ?all, p=none, a 1024-bit key.
    mx(&mut z, &d("soft"), 10, &format!("mx.{}", d("soft")));
    txt(&mut z, &d("soft"), "v=spf1 mx ?all");
    txt(&mut z, &format!("_dmarc.{}", d("soft")), "v=DMARC1; p=none");
    let weak = rsa_key_record(1024);
    z.txt(
        &format!("s1._domainkey.{}", d("soft")),
        &weak.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    // bad: two SPF records, a DMARC record that does not parse, no DKIM at all.
    mx(&mut z, &d("bad"), 10, &format!("mx.{}", d("bad")));
    txt(&mut z, &d("bad"), "v=spf1 mx -all");
    txt(&mut z, &d("bad"), "v=spf1 a -all");
    txt(&mut z, &format!("_dmarc.{}", d("bad")), "v=DMARC1; p=bogus");

    // deep: eleven includes, more than the ten lookups SPF allows; DMARC from its organisation.
    let deep = format!("deep.{ORG2}");
    mx(&mut z, &deep, 10, &format!("mx.{deep}"));
    let includes: Vec<String> = (1..=11).map(|n| format!("include:i{n}.{ORG2}")).collect();
    txt(&mut z, &deep, &format!("v=spf1 {} -all", includes.join(" ")));
    for n in 1..=11 {
        txt(&mut z, &format!("i{n}.{ORG2}"), "v=spf1 -all");
    }
    txt(&mut z, &format!("_dmarc.{ORG2}"), "v=DMARC1; p=reject; sp=quarantine");
    z.txt(&format!("k._domainkey.{deep}"), &["v=DKIM1; p="]);

    // plusall: +all; reports to another organisation that has not authorised them; a revoked key.
    mx(&mut z, &d("plusall"), 10, &format!("mx.{}", d("plusall")));
    txt(&mut z, &d("plusall"), "v=spf1 +all");
    txt(
        &mut z,
        &format!("_dmarc.{}", d("plusall")),
        &format!("v=DMARC1; p=quarantine; rua=mailto:reports@{VENDOR}"),
    );
    z.txt(&format!("old._domainkey.{}", d("plusall")), &["v=DKIM1; k=rsa; p="]);

    // voids: three a:/mx: terms naming names that do not exist.
    mx(&mut z, &d("voids"), 10, &format!("mx.{}", d("voids")));
    txt(
        &mut z,
        &d("voids"),
        &format!("v=spf1 a:nx1.{ZONE} a:nx2.{ZONE} mx:nx3.{ZONE} -all"),
    );
    txt(&mut z, &format!("_dmarc.{}", d("voids")), "v=DMARC1; p=reject; pct=50");

    // parked: no MX, no SPF, no DMARC: it sends no mail and does not say so.
    z.a(&d("parked"), "192.0.2.7");
    // nullmx: a null MX with the two records a domain that sends no mail publishes.
    mx(&mut z, &d("nullmx"), 0, ".");
    txt(&mut z, &d("nullmx"), "v=spf1 -all");
    txt(&mut z, &format!("_dmarc.{}", d("nullmx")), "v=DMARC1; p=reject");
    // broken: the name server fails every question about it.
    z.servfail(&d("broken"));
    z.servfail(&format!("_dmarc.{}", d("broken")));
    z.servfail(&format!("_domainkey.{}", d("broken")));
    DnsServer::start(z).await
}

fn targets_file(dir: &std::path::Path, resolver: &str) -> std::path::PathBuf {
    let mut text = format!("resolver:\n  servers: [\"{resolver}\"]\ntargets:\n");
    let domains = [
        ("good", format!("good.{ZONE}"), "[s1]"),
        ("soft", format!("soft.{ZONE}"), "[s1]"),
        ("bad", format!("bad.{ZONE}"), "[]"),
        ("deep", format!("deep.{ORG2}"), "[k]"),
        ("plusall", format!("plusall.{ZONE}"), "[old]"),
        ("voids", format!("voids.{ZONE}"), "[]"),
        ("parked", format!("parked.{ZONE}"), "[]"),
        ("nullmx", format!("nullmx.{ZONE}"), "[]"),
        ("broken", format!("broken.{ZONE}"), "[]"),
    ];
    for (label, domain, selectors) in domains {
        text.push_str(&format!(
            "  - url: https://www.{domain}/\n    name: {label}\n    mail_domain: {domain}\n    mail:\n      dkim_selectors: {selectors}\n"
        ));
    }
    let path = dir.join("targets.yaml");
    std::fs::write(&path, text).expect("targets.yaml");
    path
}

#[track_caller]
fn expect(document: &Value, label: &str, check: &str, status: &str, words: &[&str]) {
    let target = document["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["name"] == label)
        .unwrap_or_else(|| panic!("{label} not audited"));
    let found = target["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == check)
        .unwrap_or_else(|| panic!("{check} did not run on {label}"));
    let reason = found["reason"]["en"].as_str().unwrap_or_default();
    assert_eq!(found["status"], status, "{label} {check}: {reason}");
    for word in words {
        assert!(reason.contains(word), "{label} {check}: {word:?} not in {reason:?}");
    }
    assert!(!found["reason"]["vi"].as_str().unwrap_or_default().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spf_dmarc_and_dkim_of_every_kind_over_real_dns() {
    let dns = lab_dns().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = targets_file(dir.path(), &dns.addr().to_string());
    let config = config.display().to_string();
    let output = vnready(&[
        "check",
        "--config",
        &config,
        "--only",
        "mail.spf,mail.dmarc,mail.dkim",
        "--format",
        "json",
        "--timeout",
        "5s",
    ])
    .await;
    let document: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}\n{}", show(&output)));

    expect(
        &document,
        "good",
        "mail.spf",
        "pass",
        &["ends in -all within 2 of 10 DNS lookups"],
    );
    expect(&document, "good", "mail.dmarc", "pass", &["p=reject", "rejected"]);
    expect(&document, "good", "mail.dkim", "pass", &["RSA 2048"]);

    expect(&document, "soft", "mail.spf", "warn", &["ends in ?all"]);
    expect(
        &document,
        "soft",
        "mail.dmarc",
        "warn",
        &["DMARC p=none: reports only, spoofed mail is still delivered"],
    );
    expect(
        &document,
        "soft",
        "mail.dkim",
        "warn",
        &["RSA 1024-bit key, under 2048 bits"],
    );

    expect(&document, "bad", "mail.spf", "fail", &["publishes 2 SPF records"]);
    expect(&document, "bad", "mail.dmarc", "fail", &["does not parse", "p=bogus"]);
    expect(
        &document,
        "bad",
        "mail.dkim",
        "fail",
        &["_domainkey.bad.lab.gov.vn does not exist (NXDOMAIN)"],
    );

    expect(
        &document,
        "deep",
        "mail.spf",
        "fail",
        &[
            "SPF: 11 DNS-querying terms (include:i1.org2.gov.vn, include:i2.org2.gov.vn",
            "more than 10: receivers treat it as permerror",
        ],
    );
    expect(
        &document,
        "deep",
        "mail.dmarc",
        "pass",
        &["(inherited from _dmarc.org2.gov.vn)", "quarantined"],
    );
    expect(&document, "deep", "mail.dkim", "fail", &["the key is revoked"]);

    expect(&document, "plusall", "mail.spf", "fail", &["ends in +all"]);
    expect(
        &document,
        "plusall",
        "mail.dmarc",
        "warn",
        &[&format!(
            "plusall.lab.gov.vn._report._dmarc.{VENDOR} has no v=DMARC1 record"
        )],
    );

    expect(
        &document,
        "voids",
        "mail.spf",
        "fail",
        &["3 void lookups", "a:nx1.lab.gov.vn"],
    );
    expect(&document, "voids", "mail.dmarc", "warn", &["pct=50"]);

    expect(
        &document,
        "parked",
        "mail.spf",
        "fail",
        &[
            "sends no mail but says nothing",
            "\"v=spf1 -all\"",
            "\"v=DMARC1; p=reject\"",
        ],
    );
    expect(
        &document,
        "parked",
        "mail.dmarc",
        "fail",
        &["sends no mail but has no DMARC record"],
    );
    expect(&document, "parked", "mail.dkim", "skip", &["sends no mail"]);

    expect(&document, "nullmx", "mail.spf", "pass", &["v=spf1 -all"]);
    expect(&document, "nullmx", "mail.dmarc", "pass", &["p=reject"]);
    expect(&document, "nullmx", "mail.dkim", "skip", &[]);

    for check in ["mail.spf", "mail.dmarc"] {
        expect(&document, "broken", check, "error", &["SERVFAIL"]);
    }
}
