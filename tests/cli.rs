//! The real `vnready` binary against the lab: formats, exit codes and the flag contract.

mod harness;
mod lab;

use harness::{show, vnready};
use lab::{host, Lab};
use serde_json::Value;

fn status_of(document: &Value, host: &str, check: &str) -> String {
    let target = document["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["host"] == host)
        .expect("target in output");
    let result = target["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == check)
        .expect("check in output");
    result["status"].as_str().expect("status").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_over_the_whole_lab_gives_every_expected_status() {
    let lab = Lab::start().await;
    let config = lab.config_path.display().to_string();
    let output = vnready(&["check", "--config", &config, "--format", "json"]).await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "the lab has failing sites\n{}",
        show(&output)
    );
    let document: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(document["targets"].as_array().map(Vec::len), Some(lab.urls.len()));
    // A one-shot audit of every lab site says nothing on stderr unless asked: no DNS-library
    // dumps, no per-site lines.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.lines().count() <= 2, "check logged:\n{stderr}");
    let first = &document["targets"][0];
    assert_eq!(first["target"], lab.urls[0].as_str(), "target is echoed as given");
    assert!(first["addresses"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(first["checks"][0]["reason"]["vi"].is_string());
    for (site, check, status) in [
        (host("good"), "ipv6.reachable", "pass"),
        (host("good"), "tls.valid", "pass"),
        (host("v4only"), "ipv6.aaaa", "fail"),
        (host("v6hang"), "ipv6.reachable", "fail"),
        (host("v6doc"), "ipv6.aaaa", "fail"),
        (host("expired"), "tls.valid", "fail"),
        (host("nointermediate"), "tls.chain_complete", "fail"),
        (host("tls10"), "tls.modern", "fail"),
        (host("noredirect"), "https.redirect", "fail"),
        (host("offvn"), "domain.vn", "fail"),
        (host("shorthsts"), "https.hsts", "fail"),
        (host("nx"), "dns.resolves", "fail"),
        (host("silent"), "dns.resolves", "error"),
        ("www.noaaaa.vn".to_string(), "ipv6.ns", "fail"),
    ] {
        assert_eq!(status_of(&document, &site, check), status, "{site} {check}");
    }
    // With --config each target is judged by its category's policy (the lab's are state
    // portals): a healthy portal passes even without DNSSEC; an IPv4-only one does not.
    let passed = |site: &str| {
        document["targets"]
            .as_array()
            .and_then(|targets| targets.iter().find(|t| t["host"] == site))
            .and_then(|t| t["passed"].as_bool())
    };
    assert_eq!(passed(&host("good")), Some(true));
    assert_eq!(passed(&host("v4only")), Some(false));
    assert_eq!(passed(&host("expired")), Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_exits_zero_when_required_checks_pass_and_writes_junit() {
    let lab = Lab::start().await;
    let config = lab.single_site_config(&host("good")).display().to_string();
    let mut args = vec![
        "check".to_string(),
        "--config".into(),
        config,
        "--format".into(),
        "junit".into(),
    ];
    args.extend(lab.flags());
    args.extend([
        "--require".into(),
        "ipv6.aaaa,ipv6.reachable,tls.valid,https.redirect".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = vnready(&args).await;
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let junit = String::from_utf8_lossy(&output.stdout);
    assert!(junit.starts_with("<?xml"));
    let checks = vnready::checks::CheckId::all().len();
    assert_eq!(junit.matches("<testcase ").count(), checks, "one testcase per check");
    assert!(!junit.contains("<failure"), "{junit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_exits_one_and_names_the_failing_rule() {
    let lab = Lab::start().await;
    let mut args = vec![
        "check".to_string(),
        lab.url_of(&host("v4only")),
        "--format".into(),
        "junit".into(),
    ];
    args.extend(lab.flags());
    args.extend([
        "--require".into(),
        "ipv6.aaaa".into(),
        "--only".into(),
        "ipv6.aaaa,tls.valid".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = vnready(&args).await;
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let junit = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        junit.matches("<testcase ").count(),
        2,
        "--only limits the checks: {junit}"
    );
    assert!(junit.contains("<failure message=\"no AAAA record"), "{junit}");
    assert!(junit.contains("type=\"ipv6.aaaa\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_is_a_table_with_marks_and_reasons() {
    let lab = Lab::start().await;
    let mut args = vec![
        "check".to_string(),
        lab.url_of(&host("good")),
        lab.url_of(&host("v4only")),
    ];
    args.extend(lab.flags());
    args.extend(["--only".into(), "ipv6.aaaa,tls.valid".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = vnready(&args).await;
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let good_row = text.lines().find(|l| l.contains(&host("good"))).expect("row for good");
    assert!(good_row.starts_with('✓') && good_row.contains("PASS"), "{good_row}");
    let bad_row = text
        .lines()
        .find(|l| l.contains(&host("v4only")))
        .expect("row for v4only");
    assert!(bad_row.starts_with('✗') && bad_row.contains('✗'), "{bad_row}");
    assert!(
        text.contains("✗ ipv6.aaaa") && text.contains("no AAAA record"),
        "{text}"
    );
}

#[tokio::test]
async fn usage_and_config_errors_exit_two_with_a_clear_message() {
    let output = vnready(&["check", "--require", "ipv6.magic", "a.gov.vn"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unknown check \"ipv6.magic\""),
        "{}",
        show(&output)
    );

    let output = vnready(&["check"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no targets"));

    let output = vnready(&["check", "--timeout", "soon", "a.gov.vn"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("targets.yaml");
    std::fs::write(
        &bad,
        "targets:\n  - url: https://a.gov.vn/\n    timeout: 10 minutes please\n",
    )
    .expect("write");
    for command in ["validate", "check"] {
        let output = if command == "validate" {
            vnready(&["validate", &bad.display().to_string()]).await
        } else {
            vnready(&["check", "--config", &bad.display().to_string()]).await
        };
        assert_eq!(output.status.code(), Some(2), "{command}: {}", show(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("targets.yaml:3:") && stderr.contains("invalid duration"),
            "{command}: {stderr}"
        );
    }
}

#[tokio::test]
async fn shipped_targets_file_validates() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/targets.yaml");
    let output = vnready(&["validate", shipped]).await;
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("14 target(s)"),
        "{}",
        show(&output)
    );
}

#[tokio::test]
async fn check_help_documents_every_contract_flag() {
    let output = vnready(&["check", "--help"]).await;
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--resolver",
        "--accept-range",
        "--extra-root",
        "--timeout",
        "--concurrency",
        "--require",
        "--only",
        "--format",
        "--config",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

/// `--only` narrows what is shown, never what a policy-judged gate requires: an IPv4-only state
/// portal must not pass `check --config FILE --only tls.valid`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_with_a_config_still_runs_the_required_checks() {
    let lab = Lab::start().await;
    let site = lab.site(&host("v4only"));
    let config = lab.dir.path().join("only.yaml");
    std::fs::write(
        &config,
        format!(
            "resolver:\n  ns_port: {}\ntargets:\n  - url: \"{}\"\n    http_url: \"http://{}:{}/\"\n    category: state_portal\n",
            lab.dns.port,
            lab.url_of(&host("v4only")),
            site.host,
            site.http_port
        ),
    )
    .expect("write config");
    let mut args = vec!["check".to_string(), "--config".into(), config.display().to_string()];
    args.extend(lab.flags());
    args.extend(["--only".into(), "tls.valid".into(), "--format".into(), "json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = vnready(&args).await;
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("also running"),
        "{}",
        show(&output)
    );
    let document: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(status_of(&document, &host("v4only"), "tls.valid"), "pass");
    assert_eq!(status_of(&document, &host("v4only"), "ipv6.aaaa"), "fail");
}

/// The shipped systemd unit must start the daemon with flags this build accepts.
#[test]
fn the_systemd_unit_uses_flags_this_build_accepts() {
    use clap::Parser;
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/systemd/vnready.service"))
        .expect("unit file");
    let exec = unit
        .split("ExecStart=")
        .nth(1)
        .and_then(|rest| rest.split("\nExecReload").next())
        .expect("ExecStart line");
    let words: Vec<&str> = exec.split_whitespace().filter(|w| *w != "\\").collect();
    assert!(
        words.contains(&"--web.config.file"),
        "the hardened unit protects the endpoints"
    );
    let parsed = vnready::cli::Cli::try_parse_from(&words);
    assert!(
        parsed.is_ok(),
        "{words:?}: {}",
        parsed.err().map(|e| e.to_string()).unwrap_or_default()
    );
}
