//! DNSSEC end to end: zones signed at test time with Debian's ldns tools, served by NSD on
//! loopback, validated by the real `vnready check` from a configured trust anchor. A `dns.dnssec`
//! that always failed, or always passed, could not pass this test.

mod harness;
mod lab;

use std::path::{Path, PathBuf};

use harness::{show, vnready};
use lab::nsd::{keys, run, start_nsd, tool, Nsd};
use serde_json::Value;

const PARENT: &str = "dnssec-lab.vn";

/// A zone file with SOA, NS (served by ns1 in the parent) and `www`, plus `extra` lines.
fn write_zone(dir: &Path, zone: &str, extra: &str) {
    let text = format!(
        "$ORIGIN {zone}.\n$TTL 300\n@ IN SOA ns1.{PARENT}. hostmaster.{zone}. 1 3600 600 86400 300\n@ IN NS ns1.{PARENT}.\nwww IN A 127.0.0.1\n{extra}\n"
    );
    std::fs::write(dir.join(format!("{zone}.zone")), text).expect("write zone");
}

/// A signed parent (the trust anchor) delegating to a signed child, an unsigned child, and a
/// child whose signatures expired in 2020.
struct SignedLab {
    _dir: tempfile::TempDir,
    nsd: Nsd,
    anchor: PathBuf,
    ds_anchor: PathBuf,
}

fn signed_lab() -> SignedLab {
    for name in ["nsd", "ldns-keygen", "ldns-signzone"] {
        tool(name);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let secure = format!("secure.{PARENT}");
    let insecure = format!("insecure.{PARENT}");
    let bogus = format!("bogus.{PARENT}");
    for zone in [&secure, &insecure, &bogus] {
        write_zone(d, zone, "");
    }
    let (secure_ksk, secure_zsk) = keys(d, &secure);
    let (bogus_ksk, bogus_zsk) = keys(d, &bogus);
    let (parent_ksk, parent_zsk) = keys(d, PARENT);
    let ds = |stem: &str| std::fs::read_to_string(d.join(format!("{stem}.ds"))).expect("ds file");
    let delegations = format!(
        "ns1 IN A 127.0.0.1\nsecure IN NS ns1.{PARENT}.\n{}\ninsecure IN NS ns1.{PARENT}.\nbogus IN NS ns1.{PARENT}.\n{}",
        ds(&secure_ksk),
        ds(&bogus_ksk)
    );
    write_zone(d, PARENT, &delegations);
    let zone_file = |zone: &str| format!("{zone}.zone");
    run(d, "ldns-signzone", &[&zone_file(&secure), &secure_ksk, &secure_zsk]);
    run(
        d,
        "ldns-signzone",
        &[
            "-i",
            "20190101000000",
            "-e",
            "20200101000000",
            &zone_file(&bogus),
            &bogus_ksk,
            &bogus_zsk,
        ],
    );
    run(d, "ldns-signzone", &[&zone_file(PARENT), &parent_ksk, &parent_zsk]);
    // The anchor: every DNSKEY of the parent, as `dig DNSKEY` would list them.
    let anchor = d.join("anchor.keys");
    let key = |stem: &str| std::fs::read_to_string(d.join(format!("{stem}.key"))).expect("key file");
    std::fs::write(&anchor, format!("{}{}", key(&parent_ksk), key(&parent_zsk))).expect("anchor");
    let ds_anchor = d.join("anchor.ds");
    std::fs::write(&ds_anchor, ds(&parent_ksk)).expect("ds anchor");
    let signed = |zone: &str| format!("{zone}.zone.signed");
    let nsd = start_nsd(
        d,
        &[
            (PARENT, &signed(PARENT)),
            (&secure, &signed(&secure)),
            (&bogus, &signed(&bogus)),
            (&insecure, &zone_file(&insecure)),
        ],
    );
    SignedLab {
        _dir: dir,
        nsd,
        anchor,
        ds_anchor,
    }
}

fn dnssec_result(document: &Value, host: &str) -> (String, String) {
    let target = document["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["host"] == host)
        .unwrap_or_else(|| panic!("{host} in {document}"));
    let check = target["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == "dns.dnssec")
        .expect("dns.dnssec ran");
    (
        check["status"].as_str().unwrap_or_default().to_string(),
        check["reason"]["en"].as_str().unwrap_or_default().to_string(),
    )
}

/// `vnready check --only dns.dnssec` over `hosts`, through the lab's NSD, with `anchor` if given.
async fn dnssec_check(lab: &SignedLab, anchor: Option<&Path>, hosts: &[String]) -> (std::process::Output, Value) {
    let mut args = vec![
        "check".to_string(),
        "--resolver".into(),
        format!("127.0.0.1:{}", lab.nsd.port),
        "--only".into(),
        "dns.dnssec".into(),
        "--format".into(),
        "json".into(),
        "--timeout".into(),
        "10s".into(),
    ];
    if let Some(anchor) = anchor {
        args.extend(["--trust-anchor".to_string(), anchor.display().to_string()]);
    }
    args.extend(hosts.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = vnready(&args).await;
    let document: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("JSON output ({err})\n{}", show(&output)));
    (output, document)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_unsigned_and_expired_zones_validate_as_secure_insecure_and_bogus() {
    let lab = signed_lab();
    let hosts = [
        format!("www.secure.{PARENT}"),
        format!("www.insecure.{PARENT}"),
        format!("www.bogus.{PARENT}"),
    ];
    let (output, document) = dnssec_check(&lab, Some(&lab.anchor), &hosts).await;
    assert_eq!(output.status.code(), Some(1), "two zones fail\n{}", show(&output));
    let expected = [
        (&hosts[0], "pass", "validates"),
        (&hosts[1], "fail", "not signed (insecure)"),
        (&hosts[2], "fail", "bogus"),
    ];
    for (host, status, words) in expected {
        let (got, reason) = dnssec_result(&document, host);
        assert_eq!(got, status, "{host}: {reason}\n{}", show(&output));
        assert!(reason.contains(words), "{host}: {reason}");
    }

    // Without the anchor, the same signed zone cannot chain to the real root: never a pass.
    let (_, document) = dnssec_check(&lab, None, &hosts[..1]).await;
    let (status, reason) = dnssec_result(&document, &hosts[0]);
    assert_ne!(status, "pass", "validated without the anchor: {reason}");
}

/// The parent's DS written as IANA writes the root's anchor (root-anchors.xml).
fn iana_xml_anchor(lab: &SignedLab) -> PathBuf {
    let ds = std::fs::read_to_string(&lab.ds_anchor).expect("ds anchor");
    let words: Vec<&str> = ds.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "DS").expect("a DS record");
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TrustAnchor id=\"lab\" source=\"lab\">\n<Zone>{zone}</Zone>\n<KeyDigest id=\"old\" validFrom=\"2010-07-15T00:00:00+00:00\" validUntil=\"2019-01-11T00:00:00+00:00\">\n<KeyTag>1</KeyTag>\n<Algorithm>13</Algorithm>\n<DigestType>2</DigestType>\n<Digest>00</Digest>\n</KeyDigest>\n<KeyDigest id=\"lab\" validFrom=\"2017-02-02T00:00:00+00:00\">\n<KeyTag>{tag}</KeyTag>\n<Algorithm>{algorithm}</Algorithm>\n<DigestType>{digest_type}</DigestType>\n<Digest>{digest}</Digest>\n</KeyDigest>\n</TrustAnchor>\n",
        zone = words[0],
        tag = words[at + 1],
        algorithm = words[at + 2],
        digest_type = words[at + 3],
        digest = words[at + 4..].concat().to_uppercase(),
    );
    let path = lab.ds_anchor.with_extension("xml");
    std::fs::write(&path, xml).expect("write xml anchor");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ds_anchor_and_an_iana_xml_anchor_validate_like_the_keys() {
    let lab = signed_lab();
    let hosts = [format!("www.secure.{PARENT}"), format!("www.bogus.{PARENT}")];
    for anchor in [lab.ds_anchor.clone(), iana_xml_anchor(&lab)] {
        let (output, document) = dnssec_check(&lab, Some(&anchor), &hosts).await;
        let (status, reason) = dnssec_result(&document, &hosts[0]);
        assert_eq!(status, "pass", "{}: {reason}\n{}", anchor.display(), show(&output));
        let (status, reason) = dnssec_result(&document, &hosts[1]);
        assert_eq!(status, "fail", "{}: {reason}", anchor.display());
    }
    // A DS that matches none of the zone's keys proves nothing: never a pass.
    let wrong = lab.ds_anchor.with_extension("wrong");
    let ds = std::fs::read_to_string(&lab.ds_anchor).expect("ds");
    let mut words: Vec<String> = ds.split_whitespace().map(String::from).collect();
    if let Some(last) = words.last_mut() {
        *last = "0".repeat(last.len());
    }
    std::fs::write(&wrong, words.join(" ")).expect("write");
    let (_, document) = dnssec_check(&lab, Some(&wrong), &hosts[..1]).await;
    let (status, reason) = dnssec_result(&document, &hosts[0]);
    assert_eq!(status, "error", "{reason}");
    assert!(reason.contains("matches the trust anchor's DS"), "{reason}");
}

#[tokio::test]
async fn a_trust_anchor_file_must_hold_dnskey_or_ds_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("anchor.txt");
    std::fs::write(&bad, "lab.vn. IN DS 12345 13 2 not-hex\n").expect("write");
    let path = bad.display().to_string();
    let output = vnready(&[
        "check",
        "--resolver",
        "127.0.0.1:1",
        "--trust-anchor",
        &path,
        "--only",
        "dns.dnssec",
        "a.gov.vn",
    ])
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 1") && stderr.contains("not hexadecimal") && stderr.contains(&path),
        "{stderr}"
    );
}
