//! Security options on real nginx servers over IPv4 (127.0.25.1) and IPv6 (::1): security
//! headers, Content-Security-Policy and security.txt, every status of each check, and a site
//! whose IPv6 server forgot what its IPv4 server sends. The real binary audits the sites
//! through the lab's DNS server; the security.txt files are written at test time, with
//! Expires dates relative to now.

#[allow(dead_code)]
#[path = "lab/dns.rs"]
mod dns;
mod harness;
mod netlab;
#[allow(dead_code)]
#[path = "lab/pki.rs"]
mod pki;

use std::path::Path;

use dns::{DnsServer, ZoneData};
use harness::{show, vnready};
use pki::{LabPki, Validity};
use serde_json::Value;

const ZONE: &str = "sec.lab.gov.vn";
const V4: &str = "127.0.25.1";
/// Nothing listens here: every check of a site on it is an error.
const DEAD_V4: &str = "127.0.25.9";

const GOOD_HEADERS: &str = "add_header X-Frame-Options SAMEORIGIN always;\n\
     add_header X-Content-Type-Options nosniff always;\n\
     add_header Referrer-Policy strict-origin-when-cross-origin always;\n\
     add_header Content-Security-Policy \"default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'\" always;\n";
const WEAK_HEADERS: &str = "add_header X-Frame-Options \"ALLOW-FROM https://portal.gov.vn/\" always;\n\
     add_header X-Content-Type-Options nosniff always;\n\
     add_header Referrer-Policy unsafe-url always;\n\
     add_header Content-Security-Policy \"default-src 'self' 'unsafe-inline'; base-uri 'self'; form-action 'self'\" always;\n";
const PAGE: &str =
    "<html><head><title>Cổng thông tin</title></head><body><p>Tin tức sự kiện của tỉnh</p></body></html>";
const META_PAGE: &str = "<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'\"><title>Cổng</title></head><body><p>Tin tức</p></body></html>";

fn rfc3339_in(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let at = now + days * 86_400;
    let (y, m, d) = vnready::model::calendar::civil_from_days(at.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}T00:00:00Z")
}

fn security_txt(host: &str, expires: &str) -> String {
    format!(
        "# Liên hệ báo cáo lỗ hổng\nContact: mailto:soc@{host}\nExpires: {expires}\nPreferred-Languages: vi, en\nCanonical: https://{host}/.well-known/security.txt\n"
    )
}

/// Writes `files` (path under the site's root, text) for `site`; returns the root.
fn site_root(dir: &Path, site: &str, files: &[(&str, String)]) -> String {
    let root = dir.join("www").join(site);
    for (path, text) in files {
        let file = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().expect("parent")).expect("site dir");
        std::fs::write(&file, text).expect("site file");
    }
    std::fs::create_dir_all(&root).expect("site root");
    root.display().to_string()
}

/// A `server` block for `host` on `listens`, serving `page` at / and files from `root`.
fn server(
    host: &str,
    listens: &[&str],
    tls: &(String, String),
    headers: &str,
    page: &str,
    root: &str,
    extra: &str,
) -> String {
    let listen: String = listens.iter().map(|l| format!("listen {l}:443 ssl; ")).collect();
    let (cert, key) = tls;
    let page = page.replace('"', "\\\"");
    format!(
        "server {{ {listen} server_name {host}; ssl_certificate {cert}; ssl_certificate_key {key}; ssl_protocols TLSv1.2 TLSv1.3;\n\
         root {root};\n{headers}\
         location = / {{ default_type text/html; return 200 \"{page}\"; }}\n\
         location = /.well-known/security.txt {{ default_type \"text/plain; charset=utf-8\"; }}\n\
         location = /security.txt {{ default_type \"text/plain; charset=utf-8\"; }}\n{extra}}}\n"
    )
}

fn result<'a>(document: &'a Value, label: &str, check: &str) -> (&'a str, &'a str) {
    let host = format!("{label}.{ZONE}");
    let target = document["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["host"] == host.as_str())
        .unwrap_or_else(|| panic!("{host} not audited"));
    let found = target["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == check)
        .unwrap_or_else(|| panic!("{check} did not run on {host}"));
    (
        found["status"].as_str().unwrap_or_default(),
        found["reason"]["en"].as_str().unwrap_or_default(),
    )
}

#[track_caller]
fn expect(document: &Value, label: &str, check: &str, status: &str, words: &[&str]) {
    let (got, reason) = result(document, label, check);
    assert_eq!(got, status, "{label} {check}: {reason}");
    for word in words {
        assert!(reason.contains(word), "{label} {check}: {word:?} not in {reason:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_options_on_nginx_over_both_families() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let pki = LabPki::new();
    let served = pki.leaf(&[&format!("*.{ZONE}")], Validity::Current, true);
    let (cert, key, root_pem) = (d.join("site.crt"), d.join("site.key"), d.join("root.pem"));
    std::fs::write(&cert, &served.chain_pem).expect("cert");
    std::fs::write(&key, &served.key_pem).expect("key");
    std::fs::write(&root_pem, &pki.root_pem).expect("root");
    let tls = (cert.display().to_string(), key.display().to_string());
    let both = [V4, "[::1]"];
    let host = |label: &str| format!("{label}.{ZONE}");

    let soon = rfc3339_in(120);
    let far = rfc3339_in(800);
    let past = rfc3339_in(-30);
    let mut servers = String::new();
    // good: every header, a strict CSP, a valid security.txt.
    let good = host("good");
    let root = site_root(d, &good, &[("/.well-known/security.txt", security_txt(&good, &soon))]);
    servers += &server(&good, &both, &tls, GOOD_HEADERS, PAGE, &root, "");
    // bare: nothing at all (security.txt answers 404 at both places).
    let bare = host("bare");
    let root = site_root(d, &bare, &[]);
    servers += &server(&bare, &both, &tls, "", PAGE, &root, "");
    // split: the IPv4 server sends every header, the IPv6 one none and no CSP.
    let split = host("split");
    let root = site_root(d, &split, &[("/.well-known/security.txt", security_txt(&split, &soon))]);
    servers += &server(&split, &[V4], &tls, GOOD_HEADERS, PAGE, &root, "");
    servers += &server(
        &split,
        &["[::1]"],
        &tls,
        "add_header Referrer-Policy no-referrer always;\n",
        PAGE,
        &root,
        "",
    );
    // weak: ALLOW-FROM, a leaking referrer policy, 'unsafe-inline', no object-src, a meta CSP;
    // security.txt expires more than a year ahead.
    let weak = host("weak");
    let root = site_root(d, &weak, &[("/.well-known/security.txt", security_txt(&weak, &far))]);
    servers += &server(&weak, &both, &tls, WEAK_HEADERS, META_PAGE, &root, "");
    // invalid: security.txt with no Contact, a past Expires and a Canonical naming another site.
    let invalid = host("invalid");
    let text = format!("Expires: {past}\nCanonical: https://other.gov.vn/.well-known/security.txt\n");
    let root = site_root(d, &invalid, &[("/.well-known/security.txt", text)]);
    servers += &server(&invalid, &both, &tls, GOOD_HEADERS, PAGE, &root, "");
    // legacy: only /security.txt.
    let legacy = host("legacy");
    let text = security_txt(&legacy, &soon).replace("/.well-known/security.txt", "/security.txt");
    let root = site_root(d, &legacy, &[("/security.txt", text)]);
    servers += &server(&legacy, &both, &tls, GOOD_HEADERS, PAGE, &root, "");
    // elsewhere: the well-known file redirects to another host, which is not followed.
    let elsewhere = host("elsewhere");
    let root = site_root(d, &elsewhere, &[]);
    let redirect =
        format!("location = /.well-known/security.txt {{ return 301 https://{good}/.well-known/security.txt; }}\n");
    servers += &server(&elsewhere, &both, &tls, GOOD_HEADERS, PAGE, &root, "").replace(
        "location = /.well-known/security.txt { default_type \"text/plain; charset=utf-8\"; }\n",
        &redirect,
    );
    // badtype: a valid file served as text/html.
    let badtype = host("badtype");
    let root = site_root(
        d,
        &badtype,
        &[("/.well-known/security.txt", security_txt(&badtype, &soon))],
    );
    servers += &server(&badtype, &both, &tls, GOOD_HEADERS, PAGE, &root, "").replace(
        "location = /.well-known/security.txt { default_type \"text/plain; charset=utf-8\"; }",
        "location = /.well-known/security.txt { default_type text/html; }",
    );
    let _nginx = netlab::nginx(None, d, &servers);

    let mut zones = ZoneData::default();
    zones.zone(ZONE, &[&format!("ns1.{ZONE}")]);
    zones.a(&format!("ns1.{ZONE}"), "127.0.0.1");
    for label in [
        "good",
        "bare",
        "split",
        "weak",
        "invalid",
        "legacy",
        "elsewhere",
        "badtype",
    ] {
        zones.a(&host(label), V4);
        zones.a(&host(label), "::1");
    }
    zones.a(&host("down"), DEAD_V4);
    let dns = DnsServer::start(zones).await;

    let resolver = dns.addr().to_string();
    let root_path = root_pem.display().to_string();
    let urls: Vec<String> = [
        "good",
        "bare",
        "split",
        "weak",
        "invalid",
        "legacy",
        "elsewhere",
        "badtype",
        "down",
    ]
    .iter()
    .map(|label| format!("https://{}/", host(label)))
    .collect();
    let mut args = vec![
        "check",
        "--only",
        "http.security_headers,http.csp,http.security_txt",
        "--format",
        "json",
        "--timeout",
        "5s",
        "--resolver",
        &resolver,
        "--accept-range",
        "127.0.0.0/8",
        "--accept-range",
        "::1/128",
        "--extra-root",
        &root_path,
    ];
    args.extend(urls.iter().map(String::as_str));
    let output = vnready(&args).await;
    let document: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}\n{}", show(&output)));

    for check in ["http.security_headers", "http.csp", "http.security_txt"] {
        expect(&document, "good", check, "pass", &["2 address(es)"]);
        expect(&document, "down", check, "error", &["no address answered"]);
    }
    expect(
        &document,
        "bare",
        "http.security_headers",
        "warn",
        &[
            "[127.0.25.1], [::1] no X-Frame-Options",
            "no X-Content-Type-Options: nosniff",
            "no Referrer-Policy",
        ],
    );
    expect(
        &document,
        "bare",
        "http.csp",
        "warn",
        &["[127.0.25.1], [::1] CSP: no Content-Security-Policy header"],
    );
    expect(
        &document,
        "bare",
        "http.security_txt",
        "warn",
        &["no security.txt (/.well-known/security.txt status 404, /security.txt status 404)"],
    );

    // The per-address difference: only the IPv6 address is named.
    let (status, reason) = result(&document, "split", "http.security_headers");
    assert_eq!(status, "warn", "{reason}");
    assert!(reason.starts_with("[::1] no X-Frame-Options"), "{reason}");
    assert!(
        !reason.contains("127.0.25.1"),
        "the IPv4 server sends every header: {reason}"
    );
    let (status, reason) = result(&document, "split", "http.csp");
    assert_eq!(status, "warn", "{reason}");
    assert!(
        reason.starts_with("[::1] CSP: no Content-Security-Policy header") && !reason.contains("127.0.25.1"),
        "{reason}"
    );
    expect(&document, "split", "http.security_txt", "pass", &[]);

    expect(
        &document,
        "weak",
        "http.security_headers",
        "warn",
        &[
            "ALLOW-FROM is ignored by browsers",
            "Referrer-Policy unsafe-url sends page addresses to other sites",
        ],
    );
    expect(
        &document,
        "weak",
        "http.csp",
        "warn",
        &["default-src allows 'unsafe-inline' for scripts", "no frame-ancestors"],
    );
    expect(
        &document,
        "weak",
        "http.security_txt",
        "warn",
        &["is more than a year ahead"],
    );
    let meta = &document["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["host"] == weak.as_str())
        .expect("weak")["checks"];
    let csp = meta
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == "http.csp")
        .expect("csp");
    assert_eq!(
        csp["observed"]["addresses"]["::1"]["meta"], "default-src 'self'",
        "{csp}"
    );

    expect(
        &document,
        "invalid",
        "http.security_txt",
        "fail",
        &[
            "no Contact: field",
            &format!("line 1 \"Expires: {past}\" has passed"),
            "names another location",
        ],
    );
    expect(
        &document,
        "legacy",
        "http.security_txt",
        "warn",
        &["only at the legacy /security.txt"],
    );
    expect(
        &document,
        "elsewhere",
        "http.security_txt",
        "warn",
        &[&format!(
            "redirects to another host (https://{good}/.well-known/security.txt), not followed"
        )],
    );
    expect(
        &document,
        "badtype",
        "http.security_txt",
        "fail",
        &["Content-Type is text/html, not text/plain; charset=utf-8"],
    );
}
