//! Availability on the real lab: the daemon audits a dual-stack site every second while the
//! test turns its IPv6 server to 503 for a stretch, stops the daemon for a while, starts it
//! again; the report's availability and outage must match what was done, within an interval.

mod harness;
mod lab;

use std::sync::atomic::Ordering;
use std::time::Duration;

use harness::browser::{browse, chromium, rows_of, test_output_dir};
use harness::{show, vnready, Daemon, Mark};
use lab::{host, Lab};
use serde_json::Value;

/// The toggle site's audit interval (lab-toggle.yaml) and what one audit may add to it.
const INTERVAL: f64 = 1.0;
const SLACK: f64 = 1.0;

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// Waits for `count` audits that began after `mark`. An audit in flight when the test changed
/// the server may have asked its page before the change and finish after it, so the first
/// "audited" line after the mark is not counted: every audit counted started after the change.
/// (Counting the server's requests would not do: one audit asks the page and security.txt.)
async fn audits_after(daemon: &mut Daemon, mark: Mark, count: usize) {
    daemon
        .wait_for_events(mark, count + 1, |e| e["event"] == "audited")
        .await;
}

/// Waits until `check` turns to `to` after `mark`: the daemon has seen the change the test made.
async fn turns(daemon: &mut Daemon, mark: Mark, check: &str, to: &str) {
    daemon
        .wait_for_event(mark, |e| {
            e["event"] == "check_changed" && e["check"] == check && e["to"] == to
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv6_outage_and_a_daemon_stop_in_the_availability_report() {
    let lab = Lab::start().await;
    let store = lab.dir.path().join("uptime.db");
    let config = lab.toggle_config_path.display().to_string();
    let store_arg = store.display().to_string();
    let args = [
        "--config",
        config.as_str(),
        "--storage.path",
        store_arg.as_str(),
        "--log.level",
        "info,vnready=debug",
    ];
    let started = now();

    let mut daemon = Daemon::start(&args).await;
    daemon.wait_ready().await;
    audits_after(&mut daemon, Mark::START, 2).await;

    // IPv6 answers 503 for a stretch of several audits.
    let mark = daemon.mark();
    lab.toggle_v6.store(1, Ordering::SeqCst);
    let down_at = now();
    turns(&mut daemon, mark, "http.up", "fail").await;
    audits_after(&mut daemon, mark, 4).await;
    let mark = daemon.mark();
    lab.toggle_v6.store(0, Ordering::SeqCst);
    let up_at = now();
    turns(&mut daemon, mark, "http.up", "pass").await;
    audits_after(&mut daemon, mark, 2).await;

    // The daemon stops for a few seconds: that time is not monitored, neither up nor down.
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().await, Some(0));
    let stopped_at = now();
    // The length of the stop is the scenario itself, not a wait for something to happen.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut daemon = Daemon::start(&args).await;
    daemon.wait_ready().await;
    let restarted_at = now();
    audits_after(&mut daemon, Mark::START, 2).await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().await, Some(0));
    let ended = now();

    let since = rfc3339(started - 5.0);
    let output = vnready(&[
        "report",
        "--config",
        &config,
        "--storage.path",
        &store_arg,
        "--format",
        "json",
        "--since",
        &since,
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let site = &report["sites"][0];
    let v4 = &site["availability"]["ipv4"];
    let v6 = &site["availability"]["ipv6"];
    assert_eq!(v4["ratio"], 1.0, "IPv4 never failed: {site}");

    let outages = site["outages"].as_array().expect("outages");
    assert_eq!(outages.len(), 1, "one IPv6 outage: {outages:?}");
    let outage = &outages[0];
    assert_eq!(outage["family"], "ipv6");
    let (start, end, seconds) = (
        outage["start"].as_f64().expect("start"),
        outage["end"].as_f64().expect("the outage ended"),
        outage["seconds"].as_f64().expect("seconds"),
    );
    assert!(
        start >= down_at && start <= down_at + INTERVAL + SLACK,
        "outage starts at the first failing audit: {start} vs {down_at}"
    );
    assert!(
        end >= up_at && end <= up_at + INTERVAL + SLACK,
        "outage ends at the first passing audit: {end} vs {up_at}"
    );
    assert!(
        (seconds - (up_at - down_at)).abs() <= INTERVAL + SLACK,
        "{seconds} s vs the {} s stretch",
        up_at - down_at
    );
    assert!(outage["reason"].as_str().is_some_and(|r| r.contains("503")), "{outage}");

    // IPv6 availability is up time over monitored time; the stop is not monitored.
    let monitored = v6["monitored_seconds"].as_f64().expect("monitored");
    let up = v6["up_seconds"].as_f64().expect("up");
    let ratio = v6["ratio"].as_f64().expect("ratio");
    assert!(
        (monitored - up - seconds).abs() <= INTERVAL + SLACK,
        "down time is the outage: {v6}"
    );
    assert!((ratio - up / monitored).abs() < 1e-9, "{v6}");
    let stop = restarted_at - stopped_at;
    let watched = ended - started;
    assert!(
        monitored <= watched - stop + 2.0 * INTERVAL + SLACK,
        "the {stop:.1} s stop is not monitored: monitored {monitored:.1} of {watched:.1} s"
    );
    assert!(
        v6["monitored_ratio"].as_f64().expect("share") < 1.0,
        "the report says not everything was monitored: {v6}"
    );
    assert_eq!(
        v4["monitored_seconds"]
            .as_f64()
            .map(|s| (s - monitored).abs() <= INTERVAL + SLACK),
        Some(true),
        "both families were monitored alike: {site}"
    );

    // The CSV outage table and the English Markdown say the same, in words.
    let output = vnready(&[
        "report",
        "--config",
        &config,
        "--storage.path",
        &store_arg,
        "--format",
        "csv",
        "--table",
        "outages",
        "--since",
        &since,
    ])
    .await;
    let csv = String::from_utf8_lossy(&output.stdout);
    assert!(csv.contains("IPv6") && csv.contains("503"), "{csv}");
    let output = vnready(&[
        "report",
        "--config",
        &config,
        "--storage.path",
        &store_arg,
        "--format",
        "markdown",
        "--lang",
        "en",
        "--since",
        &since,
    ])
    .await;
    let markdown = String::from_utf8_lossy(&output.stdout);
    assert!(
        markdown.contains("## Availability") && markdown.contains("## Outages"),
        "{markdown}"
    );
    assert!(markdown.contains("| 100.0% (monitored"), "{markdown}");

    // The status page and the badge, from the same store, in Chromium: the 30-day figures and
    // a 90-day bar per family in the table and on the site's page, inline SVG, no script.
    let browser = chromium();
    let daemon = Daemon::start(&args).await;
    let base = format!("http://{}", daemon.address);
    let dom = browse(browser, &format!("{base}/"), None).await;
    let rows = rows_of(&dom, "sites");
    assert_eq!(rows.len(), 1, "{dom}");
    assert!(
        rows[0].contains("IPv4 100,0% (giám sát") && rows[0].contains("IPv6 "),
        "{}",
        rows[0]
    );
    assert!(!dom.contains("<script"));
    let bar = |dom: &str, family: &str| -> String {
        dom.split(&format!("data-family=\"{family}\""))
            .nth(1)
            .and_then(|rest| rest.split("</svg>").next())
            .unwrap_or_else(|| panic!("no {family} bar in {dom}"))
            .to_string()
    };
    for family in ["ipv4", "ipv6"] {
        let cell = bar(&dom, family);
        assert!(cell.contains("width=\"360\""), "90 days of 4 px: {cell}");
        assert!(
            cell.contains("#bdbdbd"),
            "days before monitoring began are grey: {cell}"
        );
        assert!(cell.contains(": 100,0%</title>") || family == "ipv6", "{cell}");
    }
    let out = test_output_dir();
    browse(browser, &format!("{base}/"), Some(&out.join("status-availability.png"))).await;
    let target: String = url::form_urlencoded::byte_serialize(lab.url_of(&host("toggle6")).as_bytes()).collect();
    let dom = browse(browser, &format!("{base}/site?target={target}&lang=en"), None).await;
    let cell = bar(&dom, "ipv6");
    assert!(cell.contains("width=\"360\""), "90 days on the site's page too: {cell}");
    assert!(cell.contains("not monitored</title>"), "{cell}");
    let outage_rows = rows_of(&dom, "outages");
    assert_eq!(outage_rows.len(), 1, "{dom}");
    assert!(
        outage_rows[0].contains("IPv6") && outage_rows[0].contains("503"),
        "{}",
        outage_rows[0]
    );

    let badge = daemon
        .get(&format!("/badge?target={target}&family=ipv6&window=30d"))
        .await;
    assert_eq!(badge.status, 200);
    assert!(
        badge.content_type.starts_with("image/svg+xml"),
        "{}",
        badge.content_type
    );
    // The figure of the report, or higher: the site has only been up since.
    let shown: f64 = badge
        .body
        .split("IPv6 30d: ")
        .nth(1)
        .and_then(|rest| rest.split('%').next())
        .and_then(|figure| figure.parse().ok())
        .unwrap_or_else(|| panic!("no IPv6 figure in {}", badge.body));
    assert!(
        shown >= (ratio * 1000.0).floor() / 10.0 && shown < 100.0,
        "{shown}% vs {ratio}"
    );
    browse(
        browser,
        &format!("{base}/badge?target={target}&family=ipv4&window=7d"),
        Some(&out.join("badge.png")),
    )
    .await;
    let v4_badge = daemon
        .get(&format!("/badge?target={target}&family=ipv4&window=7d"))
        .await;
    assert!(
        v4_badge.body.contains("IPv4 7d") && v4_badge.body.contains("100.0%"),
        "{}",
        v4_badge.body
    );
    let unlisted = daemon.get("/badge?target=https%3A%2F%2Fexample.com%2F").await;
    assert_eq!(unlisted.status, 403, "only listed targets: {}", unlisted.body);
}

/// An RFC 3339 time for `--since`.
fn rfc3339(unix: f64) -> String {
    let seconds = unix.floor() as i64;
    let (year, month, day) = vnready::model::calendar::civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}
