//! Property tests on the stable toolchain: what users and remote servers control (targets files,
//! URLs and host names, response bodies) never panics and stays bounded. 10,000 cases each in
//! the test command; `PROPTEST_CASES=1000000 cargo test --release --test properties` before a
//! release.

use std::path::Path;

use proptest::prelude::*;
use vnready::checks::similarity::{first_difference, normalise, similarity, title};
use vnready::config::Config;
use vnready::model::target::{host_for_display, parse_http_url, TargetUrl};

fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Pieces real targets files are made of, so random files reach deep into the parser.
fn yaml_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("targets:\n".to_string()),
        Just("  - url: https://a.gov.vn/\n".to_string()),
        Just("    category: state_portal\n".to_string()),
        Just("    expect_status: [200, \"2xx\"]\n".to_string()),
        Just("defaults:\n  timeout: 10s\n".to_string()),
        Just("resolver:\n  servers: [\"127.0.0.1:53\"]\n".to_string()),
        Just("trust:\n  accept_ranges: [\"10.0.0.0/8\"]\n".to_string()),
        Just("goals:\n  - id: g\n    title: t\n    checks: [ipv6.aaaa]\n    deadline: 2025-12-31\n".to_string()),
        Just("&a [1, 2]\n".to_string()),
        Just("*a\n".to_string()),
        Just("{{{{\n".to_string()),
        Just("\t- :\n".to_string()),
        "[ -~\u{80}-\u{2ff}\n]{0,40}",
    ]
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn targets_files_parse_or_fail_with_a_location(pieces in proptest::collection::vec(yaml_piece(), 0..12)) {
        let text: String = pieces.concat();
        if let Err(err) = Config::parse(&text, Path::new("targets.yaml")) {
            prop_assert!(err.to_string().starts_with("targets.yaml"), "{err}");
        }
    }

    #[test]
    fn urls_and_host_names_never_panic(text in "\\PC{0,80}") {
        if let Ok(url) = TargetUrl::parse(&text) {
            let host = url.url.host_str().unwrap_or_default().to_string();
            prop_assert!(!host.is_empty());
            let shown = host_for_display(&host);
            prop_assert!(!shown.is_empty());
        }
        let _ = parse_http_url(&text);
    }

    #[test]
    fn idn_hosts_round_trip_to_punycode(label in "[a-zà-ỹđ0-9]{1,20}") {
        if let Ok(url) = TargetUrl::parse(&format!("https://{label}.gov.vn/")) {
            let host = url.url.host_str().unwrap_or_default();
            prop_assert!(host.is_ascii(), "{host}");
            prop_assert!(host.ends_with(".gov.vn"));
        }
    }

    #[test]
    fn body_comparison_is_total_and_bounded(a in "\\PC{0,160}", b in "\\PC{0,160}") {
        let score = similarity(&a, &b);
        prop_assert!((0.0..=1.0).contains(&score), "{score}");
        prop_assert!((similarity(&a, &a) - 1.0).abs() < 1e-9 || normalise(&a).is_empty());
        let _ = first_difference(&a, &b);
        let _ = normalise(&a);
    }

    #[test]
    fn titles_come_out_of_any_markup(prefix in "\\PC{0,60}", inner in "\\PC{0,60}", suffix in "\\PC{0,60}") {
        let page = format!("{prefix}<title>{inner}</title>{suffix}");
        let _ = title(&page);
        let _ = title(&prefix);
    }

    /// What `ipv6.only` reads from a page: any markup (broken tags, odd attributes, URLs of
    /// every shape) gives only absolute http(s) URLs with a host, never a panic.
    #[test]
    fn resources_come_out_of_any_markup(
        pieces in proptest::collection::vec(markup_piece(), 0..16),
        noise in "\\PC{0,40}",
    ) {
        let page = format!("{noise}{}", pieces.concat());
        let base = url::Url::parse("https://portal.haiduong.gov.vn/a/b.html").expect("url");
        let resources = vnready::probe::html::page_resources(&page, &base);
        for resource in &resources {
            let url = url::Url::parse(&resource.url).expect("absolute URL");
            prop_assert!(matches!(url.scheme(), "http" | "https"));
            prop_assert!(url.host_str().is_some());
        }
        prop_assert!(vnready::probe::html::hosts_of(&resources).len() <= resources.len());
    }
}

proptest! {
    #![proptest_config(cases())]

    /// The nesting bound that protects the HTML parser always keeps a prefix of the page,
    /// whatever mix of tags, comments and text it is given.
    #[test]
    fn the_nesting_bound_keeps_a_prefix_of_any_text(
        text in "(<[a-zA-Z!/]{0,4}|[^<]{0,3}|<!--|-->|</script>|<script>|\\PC){0,200}",
    ) {
        let kept = vnready::probe::html::bounded(&text);
        prop_assert!(text.starts_with(kept));
    }
}

/// A fragment of HTML: a loading tag with a URL of some shape, a base, or plain junk.
fn markup_piece() -> impl Strategy<Value = String> {
    let url = prop_oneof![
        Just("https://cdn.example.vn/x.js".to_string()),
        Just("//static.example.com/s.css".to_string()),
        Just("../img/a.png".to_string()),
        Just("javascript:alert(1)".to_string()),
        Just("data:image/png;base64,AAAA".to_string()),
        Just("http://[::1]:8080/".to_string()),
        Just("https://xn--cng-6ta.vn/".to_string()),
        "\\PC{0,30}",
    ];
    let tag = prop_oneof![
        Just("script src"),
        Just("img src"),
        Just("link rel=stylesheet href"),
        Just("link rel=\"preload icon\" href"),
        Just("iframe src"),
        Just("form action"),
        Just("base href"),
        Just("video src"),
    ];
    prop_oneof![
        (tag, url).prop_map(|(tag, url)| format!("<{tag}=\"{url}\">")),
        "\\PC{0,20}".prop_map(|junk| format!("<{junk}")),
        "\\PC{0,20}",
    ]
}

/// The classic "billion laughs": nine levels of aliases, each nine times the one below. It must
/// end with an error, not expand into gigabytes (an expansion would take minutes and gigabytes;
/// no timing is asserted, the suite simply would not finish).
#[test]
fn alias_bombs_are_refused_quickly() {
    let mut text =
        String::from("a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for level in 1..10 {
        let previous = format!("*a{}", level - 1);
        let list = vec![previous; 9].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{list}]\n"));
    }
    text.push_str("targets:\n  - url: https://a.gov.vn/\n");
    let result = Config::parse(&text, Path::new("bomb.yaml"));
    assert!(result.is_err(), "an alias bomb must not be accepted");
}

/// Deep nesting and a huge scalar end with a located error, without quoting the scalar back.
#[test]
fn deep_nesting_and_huge_scalars_are_bounded() {
    let deep = format!("targets: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let err = Config::parse(&deep, Path::new("deep.yaml")).expect_err("deep nesting refused");
    assert!(err.to_string().starts_with("deep.yaml"), "{err}");

    let huge = format!("targets:\n  - url: https://{}.gov.vn/\n", "a".repeat(4 * 1024 * 1024));
    let err = match Config::parse(&huge, Path::new("huge.yaml")) {
        Ok(_) => panic!("an 8 MiB host name was accepted as a target"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.starts_with("huge.yaml") && err.contains("at most 2048"),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(
        err.len() < 1000,
        "the message quotes the whole scalar ({} bytes)",
        err.len()
    );
}

/// A line of a security.txt: the fields RFC 9116 names with values of some shape, the
/// OpenPGP frame's lines, comments, dash escapes and junk.
fn security_txt_line() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("mailto:soc@haiduong.gov.vn".to_string()),
        Just("https://haiduong.gov.vn/.well-known/security.txt".to_string()),
        Just("2027-06-01T00:00:00Z".to_string()),
        Just("2027-13-45T99:99:99+25:61".to_string()),
        Just("vi, en".to_string()),
        "\\PC{0,40}",
    ];
    let name = prop_oneof![
        Just("Contact"),
        Just("Expires"),
        Just("Canonical"),
        Just("Preferred-Languages"),
        Just("Encryption"),
        Just("x"),
    ];
    prop_oneof![
        (name, value).prop_map(|(name, value)| format!("{name}: {value}")),
        Just("-----BEGIN PGP SIGNED MESSAGE-----".to_string()),
        Just("Hash: SHA512".to_string()),
        Just("-----BEGIN PGP SIGNATURE-----".to_string()),
        Just("-----END PGP SIGNATURE-----".to_string()),
        Just(String::new()),
        "#\\PC{0,20}",
        "- \\PC{0,20}",
        "\\PC{0,60}",
    ]
}

/// A CSP directive with sources of every kind, or junk.
fn csp_piece() -> impl Strategy<Value = String> {
    let directive = prop_oneof![
        Just("default-src"),
        Just("script-src"),
        Just("object-src"),
        Just("base-uri"),
        Just("frame-ancestors"),
        Just("form-action"),
        Just("SCRIPT-SRC"),
    ];
    let source = prop_oneof![
        Just("'self'"),
        Just("'none'"),
        Just("'unsafe-inline'"),
        Just("'unsafe-eval'"),
        Just("'strict-dynamic'"),
        Just("'nonce-abc'"),
        Just("'sha256-x'"),
        Just("*"),
        Just("https:"),
        Just("data:"),
        Just("http://cdn.vn"),
        Just("https://*"),
        Just(":"),
    ];
    prop_oneof![
        (directive, proptest::collection::vec(source, 0..5)).prop_map(|(d, s)| format!("{d} {}", s.join(" "))),
        Just(";".to_string()),
        Just(",".to_string()),
        "\\PC{0,30}",
    ]
}

proptest! {
    #![proptest_config(cases())]

    /// Any file parses without a panic; every field it reports is a line of the file, and a
    /// judgement of it always comes back.
    #[test]
    fn security_txt_files_of_any_shape_parse_and_are_judged(
        lines in proptest::collection::vec(security_txt_line(), 0..24),
        crlf in any::<bool>(),
    ) {
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        let parsed = vnready::checks::security_txt::parse(&text);
        let count = text.split('\n').count();
        for field in &parsed.fields {
            prop_assert!(field.line >= 1 && field.line <= count, "{field:?}");
            prop_assert!(!field.name.contains(':'));
        }
        for bad in &parsed.bad_lines {
            prop_assert!(bad.text.chars().count() <= 81, "{bad:?}");
        }
        let judged = vnready::checks::security_txt::judge(
            &parsed,
            "https://haiduong.gov.vn/.well-known/security.txt",
            Some("text/plain; charset=utf-8"),
            1_800_000_000,
        );
        prop_assert!(judged.invalid.len() + judged.weak.len() <= parsed.fields.len() + parsed.bad_lines.len() + 3);
    }

    /// Any policy text parses without a panic into lower-case directive names, and its
    /// weaknesses are named.
    #[test]
    fn csp_policies_of_any_shape_parse_and_are_judged(pieces in proptest::collection::vec(csp_piece(), 0..12)) {
        let text = pieces.join("; ");
        let policies = vnready::checks::csp::parse_header_lines(&[text.as_str()]);
        for policy in &policies {
            for directive in &policy.directives {
                prop_assert_eq!(directive.name.to_ascii_lowercase(), directive.name.clone());
            }
        }
        let weak = vnready::checks::csp::weaknesses(&policies);
        prop_assert!(weak.iter().all(|(en, vi)| !en.is_empty() && !vi.is_empty()));
        let _ = vnready::checks::csp::meta_policy(text.as_bytes());
    }
}

/// An SPF term of every kind, with arguments of some shape, or junk.
fn spf_term() -> impl Strategy<Value = String> {
    let qualifier = prop_oneof![Just(""), Just("+"), Just("-"), Just("~"), Just("?")];
    let mechanism = prop_oneof![
        Just("all".to_string()),
        Just("mx".to_string()),
        Just("a/24//64".to_string()),
        Just("include:_spf.haiduong.gov.vn".to_string()),
        Just("ip4:203.162.4.0/24".to_string()),
        Just("ip6:2402:800::/32".to_string()),
        Just("exists:%{i}._spf.%{d}".to_string()),
        Just("ptr".to_string()),
        "(a|mx|ip4|ip6|include|exists|ptr):[ -~]{0,20}",
    ];
    prop_oneof![
        (qualifier, mechanism).prop_map(|(q, m)| format!("{q}{m}")),
        Just("redirect=_spf.example.vn".to_string()),
        Just("exp=explain.%{d}".to_string()),
        "[a-z]{1,8}=[ -~]{0,20}",
        "\\PC{0,20}",
    ]
}

/// A DMARC tag of every kind, or junk.
fn dmarc_tag() -> impl Strategy<Value = String> {
    prop_oneof![
        "p=(none|quarantine|reject|[a-z]{0,6})",
        "sp=(none|quarantine|reject|[a-z]{0,6})",
        "pct=[0-9]{0,4}",
        "t=[yn]?",
        "rua=(mailto:[a-z]{1,6}@[a-z]{1,6}\\.vn(![0-9]{1,3}[kmgt]?)?,?){0,3}",
        "ruf=\\PC{0,20}",
        "adkim=[rsx]",
        "ri=[0-9a-z]{0,6}",
        "\\PC{0,20}",
    ]
}

proptest! {
    #![proptest_config(cases())]

    /// Any SPF text parses or fails naming one of its own terms; a record that parses
    /// counts no more DNS terms than it has terms.
    #[test]
    fn spf_records_of_any_shape_parse_or_name_a_term(terms in proptest::collection::vec(spf_term(), 0..14)) {
        let text = format!("v=spf1 {}", terms.join(" "));
        prop_assert!(vnready::model::spf::is_spf(&text));
        match vnready::model::spf::parse(&text) {
            Ok(record) => {
                prop_assert!(record.dns_terms().len() <= record.terms.len());
                let _ = (record.all(), record.includes(), record.redirect(), record.target_lookups());
            }
            Err(err) => prop_assert!(text.contains(&err.term), "{err} not in {text}"),
        }
    }

    /// Any DMARC text parses or says why; a record that parses keeps pct within 0–100.
    #[test]
    fn dmarc_records_of_any_shape_parse_or_say_why(tags in proptest::collection::vec(dmarc_tag(), 0..10)) {
        let text = format!("v=DMARC1; {}", tags.join("; "));
        match vnready::model::dmarc::parse(&text) {
            Ok(record) => {
                prop_assert!(record.percent <= 100);
                let _ = (record.inherited_policy(), record.report_domains());
            }
            Err(err) => prop_assert!(!err.why.is_empty()),
        }
        let _ = vnready::model::dkim::parse_key(&text);
    }
}

fn policy_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "version: (STSv1|STSv2|)",
        "mode: (enforce|testing|none|[a-z]{0,8})",
        "max_age: [0-9]{0,12}",
        "mx: (\\*\\.)?[a-z0-9-]{0,10}(\\.[a-z0-9-]{0,6}){0,3}\\.?",
        "[a-z_]{1,8}: \\PC{0,20}",
        "\\PC{0,30}",
    ]
}

proptest! {
    #![proptest_config(cases())]

    /// Any MTA-STS policy text parses or says why; one that parses keeps max_age within the
    /// RFC's year and, unless its mode is none, has mx patterns that match only names of their
    /// own shape.
    #[test]
    fn mta_sts_policies_of_any_shape_parse_or_say_why(
        lines in proptest::collection::vec(policy_line(), 0..10),
        crlf in any::<bool>(),
        host in "[a-z0-9.-]{0,30}",
    ) {
        use vnready::model::mta_sts::{mx_matches, parse_policy, StsMode, MAX_AGE_LIMIT};
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        match parse_policy(&text) {
            Ok(policy) => {
                prop_assert!(policy.max_age <= MAX_AGE_LIMIT);
                prop_assert!(policy.mode == StsMode::None || !policy.mx.is_empty());
                for pattern in &policy.mx {
                    if mx_matches(pattern, &host) {
                        prop_assert!(host.trim_end_matches('.').ends_with(pattern.trim_start_matches('*')), "{pattern} {host}");
                    }
                }
            }
            Err(why) => prop_assert!(!why.is_empty()),
        }
    }

    /// Any `_mta-sts`, TLS-RPT or TLSA text parses or is refused, never panics; a TLSA record
    /// that parses has even-length lower-case hex data.
    #[test]
    fn mta_sts_tlsrpt_and_tlsa_records_never_panic(
        text in "(v=STSv1; |v=TLSRPTv1; |)\\PC{0,60}",
        tlsa in "[0-9]{1,3} [0-9]{1,3} [0-9]{1,3} [0-9a-fA-Fx ]{0,70}",
    ) {
        let _ = vnready::model::mta_sts::parse_sts_record(&text);
        let _ = vnready::model::mta_sts::parse_tlsrpt(&text);
        if let Some(record) = vnready::model::tlsa::Tlsa::parse(&tlsa) {
            prop_assert!(record.data.len() % 2 == 0);
            prop_assert!(record.data.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            let _ = (record.usable_for_smtp(), record.short());
        }
    }
}
