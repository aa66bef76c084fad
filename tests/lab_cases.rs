//! Every lab case audited through the library: real DNS, real TLS, real HTTP on loopback.

mod lab;

use std::collections::HashMap;
use std::sync::Arc;

use lab::{host, idn_host_ascii, Lab};
use vnready::audit::plan::AuditPlan;
use vnready::audit::runner::{audit_all, audit_target};
use vnready::audit::verdict::TargetVerdict;
use vnready::checks::{CheckId, Status};
use vnready::config::Config;
use vnready::probe::{ProbeSet, Prober};

use CheckId::*;
use Status::*;

async fn audit_lab(lab: &Lab) -> HashMap<String, TargetVerdict> {
    let config = Config::load(&lab.config_path).expect("lab config is valid");
    let prober = Arc::new(Prober::new(&config.probe).expect("prober"));
    let plan = Arc::new(AuditPlan {
        checks: CheckId::all(),
        required: Some(CheckId::all()),
        concurrency: config.concurrency,
    });
    let verdicts = audit_all(prober, &config.targets, plan, &|_| {}).await;
    verdicts.into_iter().map(|v| (v.host.clone(), v)).collect()
}

/// Injected gambling content: no false positive on the clean pages, exact words on the rest.
fn content_expectations() -> Vec<(String, CheckId, Status, &'static str)> {
    vec![
        (host("cleanfish"), ContentClean, Pass, "no gambling content"),
        (host("cleanschool"), ContentClean, Pass, "no gambling content"),
        (host("good"), ContentClean, Pass, "the crawler saw the same"),
        (
            host("policereport"),
            ContentClean,
            Warn,
            "without promotion: \"cá cược\"",
        ),
        (
            host("injected"),
            ContentClean,
            Fail,
            "injected gambling content: \"nhà cái\" (text:",
        ),
        (host("unaccented"), ContentClean, Fail, "nha cai uy tin - ca cuoc"),
        (host("hiddenbets"), ContentClean, Fail, "\"casino\" (hidden:"),
        (
            host("cloaked"),
            ContentClean,
            Fail,
            "gambling spam served only to search engines",
        ),
        (host("cloaked"), ContentClean, Fail, "\"lô đề\" (crawler-only:"),
    ]
}

/// Would the site work with IPv6 alone: the page, its name servers and its resource hosts.
fn ipv6_only_expectations() -> Vec<(String, CheckId, Status, &'static str)> {
    vec![
        (host("v6ready"), Ipv6Only, Pass, "works over IPv6 alone"),
        (host("v6script4"), Ipv6Only, Fail, "res-v4.lab.gov.vn: no AAAA (script)"),
        (
            host("v6csshang"),
            Ipv6Only,
            Fail,
            "res-hang6.lab.gov.vn: IPv6 timeout (stylesheet)",
        ),
        (
            host("v6manyhosts"),
            Ipv6Only,
            Warn,
            "not probed (over the cap): res-cap21.lab.gov.vn",
        ),
        (host("good"), Ipv6Only, Pass, ""),
        (host("v4only"), Ipv6Only, Fail, "no usable AAAA"),
        (
            "www.noaaaa.vn".to_string(),
            Ipv6Only,
            Fail,
            "no name server of noaaaa.vn answers over IPv6",
        ),
    ]
}

/// The sites that break on one address, one family or one hop only: none may pass.
fn every_address_expectations() -> Vec<(String, CheckId, Status, &'static str)> {
    vec![
        (host("v6status"), Ipv6Reachable, Fail, "[::1] status 503"),
        (host("v6status"), HttpUp, Fail, "[::1] status 503"),
        (
            host("v6status"),
            Ipv6SameContent,
            Fail,
            "status differs: IPv4 200, IPv6 503",
        ),
        (host("bothdown"), Ipv6Reachable, Error, "fails on both families"),
        (host("bothdown"), HttpUp, Fail, "status 503"),
        (host("hopexpired"), TlsValid, Fail, "hop https://expired.lab.gov.vn"),
        (host("hopexpired"), TlsValid, Fail, "expired"),
        (host("hopexpired"), HttpUp, Fail, "invalid certificate"),
        (host("hopexpired"), Ipv6Reachable, Error, "fails on both families"),
        (host("hopexpired"), TlsExpiry, Fail, "hop https://expired.lab.gov.vn"),
        (host("downgrade"), HttpsRedirect, Fail, "downgrades HTTPS"),
        (
            host("internal"),
            HttpUp,
            Fail,
            "non-public address, 127.0.0.2 (Loopback",
        ),
        (host("internal"), HttpUp, Fail, "from a fetch over ipv6"),
        (host("internal"), Ipv6Reachable, Error, "not followed"),
        (host("internal"), DomainVn, Fail, "127.0.0.2"),
        (
            host("internalname"),
            HttpUp,
            Fail,
            "resolves only to non-public addresses",
        ),
        // Every address of a redirect host is asked: the dead second AAAA of the login host.
        // (Whichever AAAA the resolver lists first, the reason names the hop and its address.)
        (host("hopmulti"), Ipv6Reachable, Fail, "/login [fd00:76e::2]"),
        (host("hopmulti"), Ipv6Reachable, Fail, "connection refused"),
        (
            host("hopmulti"),
            HttpUp,
            Fail,
            "redirect to https://ssomulti.lab.gov.vn:",
        ),
        (host("hopmulti"), HttpUp, Fail, "/login [fd00:76e::2]"),
        (host("hopmulti"), HttpsRedirect, Pass, ""),
        (host("offvndown"), DomainVn, Fail, "gone.cdn-example.com"),
        (host("offvndown"), HttpUp, Fail, "gone.cdn-example.com"),
        (host("plainv6"), HttpsRedirect, Fail, "[::1] http:// answers 200"),
        (host("plainv6"), HttpUp, Pass, ""),
        (host("twov6"), Ipv6SameContent, Fail, "[fd00:76e::2]"),
        (host("twov6"), Ipv6Reachable, Pass, "2 IPv6"),
        (
            host("tls10v6"),
            TlsModern,
            Fail,
            "[::1] still accepts TLS 1.1 and TLS 1.0",
        ),
        (host("tls10"), TlsModern, Fail, "TLS 1.1 and TLS 1.0"),
        // One verdict per fault: TLS 1.2 is negotiated; the suites are tls.ciphers'.
        (host("cbconly"), TlsModern, Pass, "TLS 1.2"),
        (
            host("cbconly"),
            TlsCiphers,
            Fail,
            "accepts ECDHE-ECDSA-AES128-SHA (CBC with SHA-1, insufficient)",
        ),
        (host("cbconly"), HttpUp, Error, "obsolete TLS suites"),
        (host("cbconly"), Ipv6Reachable, Error, "obsolete TLS suites"),
        (host("nullonly"), TlsModern, Pass, "TLS 1.2"),
        (host("nullonly"), TlsCiphers, Fail, "(no encryption, insufficient)"),
        (host("rsa1024"), TlsValid, Fail, "1024-bit RSA key"),
        (host("sha1"), TlsValid, Fail, "signed with SHA-1"),
        (host("hugecert"), TlsValid, Error, "larger than 64 KiB"),
        (
            host("noroute"),
            Ipv6Reachable,
            Error,
            "this monitor has no IPv6 connectivity",
        ),
        // A monitor without a route to the site's IPv6 address judges what it can reach and
        // names the rest; only the IPv6 checks say "not tested".
        (
            host("noroute"),
            HttpUp,
            Pass,
            "not tested from this monitor: [2001:db8:76e::1]",
        ),
        (
            host("noroute"),
            TlsValid,
            Pass,
            "not tested from this monitor: [2001:db8:76e::1]",
        ),
        (host("noroute"), TlsModern, Pass, "not tested from this monitor"),
        (host("noroute"), HttpsHsts, Pass, "not tested from this monitor"),
        (host("noroute"), HttpsRedirect, Pass, "not tested from this monitor"),
        (host("noroute"), ContentClean, Pass, "not tested from this monitor"),
        (
            "www.nsnoroute.vn".to_string(),
            Ipv6Ns,
            Error,
            "this monitor has no IPv6 route to the name servers",
        ),
    ]
}

/// (host, check, expected status, words the English reason must contain)
fn expectations() -> Vec<(String, CheckId, Status, &'static str)> {
    let mut table = vec![
        (host("good"), DnsResolves, Pass, ""),
        (host("good"), Ipv6Aaaa, Pass, ""),
        (host("good"), Ipv6Reachable, Pass, ""),
        (host("good"), Ipv6SameContent, Pass, "similar"),
        (host("good"), Ipv6Ns, Pass, "2 name servers"),
        (host("good"), DomainVn, Pass, ""),
        (host("good"), DomainGovVn, Pass, ""),
        (host("good"), TlsValid, Pass, ""),
        (host("good"), TlsExpiry, Pass, ""),
        (host("good"), TlsModern, Pass, "TLS 1.0/1.1 refused"),
        (host("good"), TlsChainComplete, Pass, ""),
        (host("good"), HttpsRedirect, Pass, ""),
        (host("good"), HttpsHsts, Pass, ""),
        (host("good"), HttpUp, Pass, ""),
        (host("v4only"), Ipv6Aaaa, Fail, "no AAAA"),
        (host("v4only"), Ipv6Reachable, Fail, "no usable IPv6"),
        (host("v4only"), HttpUp, Pass, ""),
        (host("v4only"), Ipv6SameContent, Skip, ""),
        (host("v6only"), Ipv6Aaaa, Pass, ""),
        (host("v6only"), Ipv6Reachable, Pass, ""),
        (host("v6only"), HttpUp, Pass, ""),
        (host("v6only"), TlsValid, Pass, ""),
        (host("v6only"), HttpsRedirect, Pass, ""),
        (host("v6refused"), Ipv6Aaaa, Pass, ""),
        (host("v6refused"), Ipv6Reachable, Fail, "refused"),
        (host("v6refused"), HttpUp, Fail, "refused"),
        (host("v6hang"), Ipv6Reachable, Fail, "timeout"),
        (host("v6hang"), HttpUp, Fail, "timeout"),
        // An address whose handshake never finished is named, not skipped.
        (host("v6hang"), TlsValid, Error, "[::1] timeout"),
        (host("v6doc"), Ipv6Aaaa, Fail, "Documentation"),
        (host("v6doc"), Ipv6Reachable, Fail, ""),
        (host("v6mapped"), Ipv6Aaaa, Fail, "IPv4-mapped"),
        (host("v6diff"), Ipv6Reachable, Pass, ""),
        (host("v6diff"), Ipv6SameContent, Fail, "titles differ"),
        (host("expired"), TlsValid, Fail, "expired"),
        (host("expired"), TlsExpiry, Fail, "expired"),
        (
            host("notyet"),
            TlsValid,
            Fail,
            "[::1]: the certificate is not valid yet",
        ),
        (host("wronghost"), TlsValid, Fail, "does not name this host"),
        (host("selfsigned"), TlsValid, Fail, "not trusted"),
        (host("selfsigned"), TlsChainComplete, Pass, ""),
        (host("nointermediate"), TlsValid, Fail, "not trusted"),
        (host("nointermediate"), TlsChainComplete, Fail, "intermediate missing"),
        (host("tls10"), TlsModern, Fail, "accepts TLS 1."),
        (host("tls10"), TlsValid, Pass, ""),
        (host("noredirect"), HttpsRedirect, Fail, "without redirecting"),
        (host("offvn"), DomainVn, Fail, "portal.cdn-example.com"),
        (host("offvn"), HttpUp, Pass, ""),
        (host("shorthsts"), HttpsHsts, Fail, "under one year"),
        (
            host("hstsv6zero"),
            HttpsHsts,
            Fail,
            "[::1] HSTS max-age 0 s (0 days) is under one year",
        ),
        (host("crosssigned"), TlsValid, Pass, ""),
        (host("crosssigned"), TlsChainComplete, Pass, ""),
        (
            host("crosssigned"),
            TlsExpiry,
            Warn,
            "also sends CN=vnready Lab Root CA, O=vnready lab, which expired",
        ),
        (host("nx"), DnsResolves, Fail, "NXDOMAIN"),
        (host("nx"), HttpUp, Fail, ""),
        (host("servfail"), DnsResolves, Fail, "SERVFAIL"),
        (host("silent"), DnsResolves, Error, "timeout"),
        (host("silent"), TlsValid, Error, ""),
        (host("cdn"), DnsResolves, Pass, ""),
        (host("cdn"), DomainVn, Pass, ""),
        (host("cdn"), Ipv6Reachable, Pass, ""),
        (
            "www.noaaaa.vn".to_string(),
            Ipv6Ns,
            Fail,
            "without IPv6: ns1.noaaaa.vn, ns2.noaaaa.vn",
        ),
        ("www.noaaaa.vn".to_string(), Ipv6Reachable, Pass, ""),
        ("www.noaaaa.vn".to_string(), DomainGovVn, Fail, ""),
        (idn_host_ascii(), DomainVn, Pass, ""),
        (idn_host_ascii(), TlsValid, Pass, ""),
        (idn_host_ascii(), Ipv6Reachable, Pass, ""),
    ];
    table.extend(ipv6_only_expectations());
    table.extend(content_expectations());
    table.push((host("endless"), HttpUp, Pass, ""));
    table.push((host("headerflood"), HttpUp, Fail, "waiting for the response"));
    table.extend(every_address_expectations());
    // No lab zone is signed against the real root: DNSSEC must never come out as a pass.
    table.push((host("good"), DnsDnssec, Fail, ""));
    table
}

// Three workers: the audits are tasks on the test's runtime (as in `check`), beside the lab's
// own servers, and used to run on the test's main thread as a third one.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn every_lab_case_gets_the_expected_verdict() {
    let lab = Lab::start().await;
    let started = std::time::Instant::now();
    let verdicts = audit_lab(&lab).await;
    eprintln!(
        "audited {} lab targets in {:.2}s (timeout {})",
        verdicts.len(),
        started.elapsed().as_secs_f64(),
        lab::LAB_TIMEOUT
    );
    let mut mismatches = Vec::new();
    for (host, check, status, words) in expectations() {
        let Some(verdict) = verdicts.get(&host) else {
            mismatches.push(format!("{host}: no verdict"));
            continue;
        };
        let Some(result) = verdict.check(check) else {
            mismatches.push(format!("{host} {check}: not run"));
            continue;
        };
        let status_ok = if check == DnsDnssec {
            result.status != Pass
        } else {
            result.status == status
        };
        let readable = !result.reason.en.contains("Context {") && !result.reason.en.contains("Some(");
        if !status_ok || !result.reason.en.contains(words) || !readable {
            mismatches.push(format!(
                "{host} {check}: expected {status:?} with {words:?}, got {:?}: {}",
                result.status, result.reason.en
            ));
        }
        assert!(!result.reason.vi.is_empty(), "{host} {check} has no Vietnamese reason");
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatch(es):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );

    // The CNAME chain to the non-.vn CDN is recorded, and the IDN host is shown in Vietnamese.
    assert_eq!(
        verdicts[&host("cdn")].observations.dns.records.cname_chain,
        vec!["edge.cdn-example.com".to_string()]
    );
    assert_eq!(verdicts[&idn_host_ascii()].host_display, lab::idn_host_unicode());
    // An endless body is cut at the configured cap, never read to the end.
    let endless = &verdicts[&host("endless")].observations.address.fetches[0];
    assert!(endless.body_truncated);
    assert_eq!(endless.body_bytes, 1024 * 1024);
    // A redirect into an internal address is never connected to, over either family.
    assert_eq!(lab.internal.get(), (0, 0, 0), "the auditor connected to 127.0.0.2");
    // Only the healthy site passes every check but DNSSEC (and mail: the lab zone has no MX;
    // routing: the lab configures no RPKI validator, tests/routing.rs does).
    let good = &verdicts[&host("good")];
    assert_eq!(good.status_of(MailIpv6), Some(Skip));
    assert_eq!(good.status_of(RoutingRpki), Some(Skip));
    // The lab zone sends no mail and publishes v=spf1 -all and p=reject: nothing to sign.
    assert_eq!(good.status_of(MailDkim), Some(Skip));
    // Security options: the lab's in-process server answers every path with the same page and
    // no security headers, so they warn here (a catch-all page is "no security.txt", never an
    // invalid one); tests/security.rs judges every status of them on nginx.
    for check in [HttpSecurityHeaders, HttpCsp, HttpSecurityTxt] {
        assert_eq!(good.status_of(check), Some(Warn), "{check}");
    }
    let txt = good
        .checks
        .iter()
        .find(|c| c.id == HttpSecurityTxt)
        .expect("security.txt");
    assert!(
        txt.reason.en.contains("answers 200 with text/html"),
        "{}",
        txt.reason.en
    );
    let not_passing: Vec<_> = good
        .checks
        .iter()
        .filter(|c| {
            !matches!(
                c.id,
                DnsDnssec
                    | MailIpv6
                    | MailStarttls
                    | MailDkim
                    | MailTls
                    | MailMtaSts
                    | MailDane
                    | TlsDane
                    | TlsOcspStapling
                    | RoutingRpki
                    | HttpSecurityHeaders
                    | HttpCsp
                    | HttpSecurityTxt
            )
        })
        .filter(|c| c.status != Pass)
        .map(|c| (c.id, c.status, c.reason.en.clone()))
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:?}");
}

/// Audits one lab site through the library with the given checks.
async fn audit_site(lab: &Lab, site: &str, checks: Vec<CheckId>, required: Vec<CheckId>) -> TargetVerdict {
    let config = Config::load(&lab.config_path).expect("lab config");
    let prober = Prober::new(&config.probe).expect("prober");
    let target = config
        .targets
        .iter()
        .find(|t| t.host() == site)
        .expect("site in the lab config");
    audit_target(
        &prober,
        target,
        &AuditPlan {
            checks,
            required: Some(required),
            concurrency: 1,
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dual_stack_target_costs_one_connection_and_handshake_per_address() {
    let lab = Lab::start().await;
    let verdict = audit_site(
        &lab,
        &host("good"),
        vec![TlsValid, HttpUp, Ipv6Reachable],
        vec![TlsValid],
    )
    .await;
    assert!(verdict.passed, "{:?}", verdict.checks);
    let site = lab.site(&host("good"));
    // (TCP accepts, TLS handshakes, HTTP requests) per family
    assert_eq!(site.v4.get(), (1, 1, 1), "IPv4 listener");
    assert_eq!(site.v6.get(), (1, 1, 1), "IPv6 listener");
    for fetch in &verdict.observations.address.fetches {
        assert_eq!(fetch.connections, 1, "{}", fetch.ip);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_audit_adds_only_the_legacy_tls_crawler_and_deep_scan_connections() {
    let lab = Lab::start().await;
    let verdict = audit_site(&lab, &host("good"), CheckId::all(), CheckId::all()).await;
    let site = lab.site(&host("good"));
    // The deep TLS scan opens one connection per hello it sends, never finishing a handshake,
    // and says how many it sent; three of them are real handshakes: the 0-RTT question's two,
    // each asking for the page (a ticket, then a resumption), and the client-renegotiation one.
    let scanned = |family: &str| -> usize {
        let scan = verdict
            .observations
            .address
            .tls_scans
            .iter()
            .find(|scan| scan.ip.is_ipv6() == (family == "ipv6"))
            .expect("every address is scanned");
        assert!(scan.incomplete.is_empty(), "{:?}", scan.incomplete);
        assert!(scan.handshakes <= 40, "{}", scan.handshakes);
        scan.handshakes
    };
    // Every address also carries the legacy ClientHello probe (a TCP connection with no
    // finished handshake); the plain-HTTP probe goes to the http:// port, one per address.
    // content.clean asks once more as a search crawler, on the first usable address only, on
    // the connection the page came back on. http.security_txt asks every address for
    // /.well-known/security.txt on that connection too, and (the lab answers every path with
    // its HTML page, so there is no plain-text file) for the legacy /security.txt: two more
    // requests per address, no more connections.
    assert_eq!(
        site.v4.get(),
        (2 + scanned("ipv4"), 1 + 3, 4 + 2),
        "IPv4 listener: page + security.txt x2 + crawler, legacy hello, deep scan"
    );
    assert_eq!(
        site.v6.get(),
        (2 + scanned("ipv6"), 1 + 3, 3 + 2),
        "IPv6 listener: page + security.txt x2, legacy hello, deep scan"
    );
}

/// The crawler's request rides on the page's connection; a server that closed it gets a new
/// one, and the crawler still sees what it is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crawler_reuses_the_page_connection_or_opens_one_when_the_server_closed_it() {
    let lab = Lab::start().await;
    let good = audit_site(&lab, &host("good"), vec![ContentClean], vec![ContentClean]).await;
    let crawler = good.observations.page.crawler.as_deref().expect("the crawler asked");
    assert!(crawler.error.is_none(), "{:?}", crawler.error);
    assert_eq!(crawler.connections, 0, "asked on the page's connection");
    assert_eq!(
        lab.site(&host("good")).v4.get(),
        (1, 1, 2),
        "one connection, two requests"
    );

    let cloaked = audit_site(&lab, &host("cloaked"), vec![ContentClean], vec![ContentClean]).await;
    let crawler = cloaked.observations.page.crawler.as_deref().expect("the crawler asked");
    assert!(crawler.error.is_none(), "{:?}", crawler.error);
    assert_eq!(crawler.connections, 1, "the server closed the page's connection");
    assert_eq!(lab.site(&host("cloaked")).v4.get(), (2, 2, 2));
    let clean = cloaked
        .checks
        .iter()
        .find(|c| c.id == ContentClean)
        .expect("content.clean");
    assert_eq!(clean.status, Fail, "{}", clean.reason.en);
    assert!(clean.reason.en.contains("crawler-only"), "{}", clean.reason.en);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_sweep_does_no_name_server_or_legacy_tls_work() {
    let lab = Lab::start().await;
    let checks = vec![TlsValid, TlsExpiry];
    assert_eq!(
        CheckId::probes_for(&checks),
        ProbeSet {
            fetch: true,
            ..ProbeSet::default()
        }
    );
    let verdict = audit_site(&lab, &host("good"), checks.clone(), checks).await;
    assert!(verdict.observations.zone.ns_queries.is_empty());
    assert!(verdict.observations.zone.facts.is_none());
    assert!(verdict.observations.address.legacy_tls.is_empty());
    assert!(verdict.observations.address.plain_http.is_empty());
    assert_eq!(lab.site(&host("good")).v4.get(), (1, 1, 1));
    let expiry = verdict.check(TlsExpiry).expect("ran");
    assert_eq!(expiry.status, Pass);
    // Certificate facts are kept: the lab leaf expires on 2035-01-01.
    assert_eq!(expiry.observed["not_after"], serde_json::json!(2051222400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_certificates_keep_their_facts() {
    let lab = Lab::start().await;
    let verdict = audit_site(&lab, &host("expired"), vec![TlsValid], vec![TlsValid]).await;
    let tls = verdict.observations.address.fetches[0]
        .tls
        .as_ref()
        .expect("handshake finished despite the bad certificate");
    assert_eq!(tls.verify_failure.as_ref().map(|f| f.code.as_str()), Some("expired"));
    // 2021-01-01T00:00:00Z
    assert_eq!(tls.chain[0].not_after, 1609459200);
    assert_eq!(tls.chain.len(), 2);
    assert!(tls.version.starts_with("TLS 1."));
}

/// Zone-level work (NS set, SOA, name-server addresses and IPv6 queries, DNSSEC) is done once
/// per zone and shared: after one site of the zone, every further site of it costs at most
/// eight queries at the zone's name server (its own A, AAAA and NS walk, plus redirect hosts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_work_is_done_once_per_zone() {
    let lab = Lab::start().await;
    let config = Config::load(&lab.config_path).expect("lab config");
    let prober = Arc::new(Prober::new(&config.probe).expect("prober"));
    let plan = Arc::new(AuditPlan {
        checks: CheckId::all(),
        required: Some(CheckId::all()),
        concurrency: 8,
    });
    let in_zone = |labels: &[&str]| -> Vec<vnready::model::target::Target> {
        let hosts: Vec<String> = labels.iter().map(|label| host(label)).collect();
        config
            .targets
            .iter()
            .filter(|t| hosts.iter().any(|h| h == t.host()))
            .cloned()
            .collect()
    };
    let first = in_zone(&["good"]);
    let before = lab.dns.queries();
    audit_all(prober.clone(), &first, plan.clone(), &|_| {}).await;
    let first_site = lab.dns.queries() - before;
    let others = in_zone(&[
        "v4only",
        "v6only",
        "v6diff",
        "noredirect",
        "shorthsts",
        "expired",
        "notyet",
        "wronghost",
        "selfsigned",
        "nointermediate",
        "v6status",
        "plainv6",
        "twov6",
        "bothdown",
    ]);
    assert_eq!(others.len(), 14);
    let before = lab.dns.queries();
    audit_all(prober.clone(), &others, plan.clone(), &|_| {}).await;
    let per_site = (lab.dns.queries() - before) as f64 / others.len() as f64;
    eprintln!("first site of the zone: {first_site} queries; each further site: {per_site:.1} queries");
    assert!(per_site <= 8.0, "{per_site} queries per further site");
    assert!(first_site as f64 > per_site, "the first site pays for the zone");
}
