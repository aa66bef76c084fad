//! dns.caa over real DNS (the lab's authoritative server on loopback): the set found at the
//! host or a parent (RFC 8659 tree climbing), a set with a bad iodef, a set naming no CA, no
//! set at any level, and a failing lookup, judged by the real binary.

#[allow(dead_code)]
#[path = "lab/dns.rs"]
mod dns;
mod harness;

use dns::{DnsServer, ZoneData};
use harness::{check_json, status_and_reason};
use hickory_proto::rr::rdata::CAA;
use hickory_proto::rr::{Name, RData};

const ZONE: &str = "caalab.gov.vn";

fn caa(tag: &str, value: &str) -> RData {
    let mut record = CAA::new_issue(false, Some(Name::from_ascii("ca.vn").expect("name")), Vec::new());
    record.tag = tag.to_string();
    record.value = value.as_bytes().to_vec();
    RData::CAA(record)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caa_status_over_real_dns() {
    let mut zones = ZoneData::default();
    zones.zone(ZONE, &[&format!("ns1.{ZONE}")]);
    zones.a(&format!("ns1.{ZONE}"), "127.0.0.1");
    // The zone apex names one CA: hosts without their own set inherit it.
    zones.add(ZONE, caa("issue", "ca.vn"));
    zones.add(ZONE, caa("iodef", "mailto:soc@caalab.gov.vn"));
    // A host's own set, with an iodef senders cannot use.
    zones.add(&format!("badiodef.{ZONE}"), caa("issue", "ca.vn"));
    zones.add(
        &format!("badiodef.{ZONE}"),
        caa("iodef", "ftp://reports.caalab.gov.vn/"),
    );
    // A set that names no CA (only an iodef).
    zones.add(&format!("noissue.{ZONE}"), caa("iodef", "mailto:soc@caalab.gov.vn"));
    zones.servfail(&format!("broken.{ZONE}"));
    // Another zone without CAA anywhere; the lab also answers for the top-level domain, as
    // the real .vn servers do (no CAA there).
    zones.zone("nocaa.vn", &[&format!("ns1.{ZONE}")]);
    zones.zone("vn", &[&format!("ns1.{ZONE}")]);
    for host in ["inherits", "badiodef", "noissue", "broken"] {
        zones.a(&format!("{host}.{ZONE}"), "127.0.0.1");
    }
    zones.a("www.nocaa.vn", "127.0.0.1");
    let dns = DnsServer::start(zones).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let targets = [
        "inherits.caalab.gov.vn",
        "badiodef.caalab.gov.vn",
        "noissue.caalab.gov.vn",
        "broken.caalab.gov.vn",
        "www.nocaa.vn",
    ];
    let mut yaml = format!("resolver:\n  servers: [\"{}\"]\ntargets:\n", dns.addr());
    for host in targets {
        yaml.push_str(&format!("  - url: https://{host}/\n"));
    }
    let config = dir.path().join("caa.yaml");
    std::fs::write(&config, yaml).expect("config");
    let document = check_json(&config, "dns.caa", "10s").await;
    let cases = [
        (
            "inherits.caalab.gov.vn",
            "pass",
            "CAA at caalab.gov.vn allows only issue ca.vn",
        ),
        (
            "badiodef.caalab.gov.vn",
            "fail",
            "iodef \"ftp://reports.caalab.gov.vn/\" is neither mailto: nor https:",
        ),
        ("noissue.caalab.gov.vn", "fail", "no issue or issuewild record"),
        ("broken.caalab.gov.vn", "error", "could not be tested"),
        (
            "www.nocaa.vn",
            "warn",
            "no CAA record at any level (www.nocaa.vn, nocaa.vn, vn)",
        ),
    ];
    for (host, expected, words) in cases {
        let (status, reason) = status_and_reason(&document, &format!("https://{host}/"), "dns.caa");
        assert_eq!(status, expected, "{host}: {reason}");
        assert!(reason.contains(words), "{host}: {reason:?} lacks {words:?}");
    }
    eprintln!("dns.caa: {} cases over real DNS", cases.len());
}
