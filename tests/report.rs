//! Compliance reports, the CI gate and the status page, over the lab with the real binary.

mod harness;
mod lab;

use std::path::{Path, PathBuf};

use harness::browser::{browse, chromium, rows_of, test_output_dir};
use harness::{show, vnready, Daemon};
use lab::{host, Lab};
use serde_json::Value;

/// The lab config with goals added, so reports and the page have goals to show.
fn config_with_goals(lab: &Lab) -> PathBuf {
    let text = std::fs::read_to_string(&lab.config_path).expect("read lab config");
    let goals = "goals:\n  - id: lab_ipv6\n    title: 100% cổng thông tin hỗ trợ IPv6\n    title_en: 100% of portals on IPv6\n    categories: [state_portal]\n    checks: [ipv6.aaaa, ipv6.reachable]\n    target: 100%\n    deadline: 2025-12-31\n";
    let path = lab.dir.path().join("goals.yaml");
    // A hostile name from the config must reach the page as text, never as markup.
    let good_name = format!("name: \"Lab {}\"", host("good"));
    let text = text.replacen(
        &good_name,
        &format!("name: \"<script>alert(1)</script> Lab {}\"", host("good")),
        1,
    );
    std::fs::write(&path, text.replacen("targets:\n", &format!("{goals}targets:\n"), 1)).expect("write");
    path
}

/// Runs the daemon over the lab until its first round is stored, then stops it cleanly.
async fn history_of(lab: &Lab, config: &Path, store: &Path) {
    let mut daemon = Daemon::start(&[
        "--config",
        &config.display().to_string(),
        "--storage.path",
        &store.display().to_string(),
    ])
    .await;
    daemon.wait_ready().await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().await, Some(0));
    let _ = lab;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_in_every_format_from_the_history_store() {
    let lab = Lab::start().await;
    let config = config_with_goals(&lab);
    let store = lab.dir.path().join("history.db");
    history_of(&lab, &config, &store).await;
    let out = test_output_dir();
    let base = [
        "report",
        "--config",
        &config.display().to_string(),
        "--storage.path",
        &store.display().to_string(),
    ];
    let run = |format: &'static str, file: PathBuf, extra: Vec<String>| {
        let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        args.extend([
            "--format".into(),
            format.into(),
            "--output".into(),
            file.display().to_string(),
        ]);
        args.extend(extra);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let output = vnready(&args).await;
            assert_eq!(output.status.code(), Some(0), "{format}: {}", show(&output));
            file
        }
    };
    let v4only = lab.url_of(&host("v4only"));

    // CSV: BOM, Vietnamese header, plain words, read by Python's csv module.
    let csv_path = run("csv", out.join("report.csv"), vec![]).await;
    let bytes = std::fs::read(&csv_path).expect("csv");
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
    let python = std::process::Command::new("python3")
        .args([
            "-c",
            "import csv,sys,json; rows=list(csv.reader(open(sys.argv[1], encoding='utf-8-sig'))); print(json.dumps(rows))",
            &csv_path.display().to_string(),
        ])
        .output()
        .expect("python3 is required (scripts/test.sh installs it)");
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let rows: Vec<Vec<String>> = serde_json::from_slice(&python.stdout).expect("rows");
    assert_eq!(rows[0][0], "Cơ quan");
    assert_eq!(rows[0][9], "Từ ngày");
    let v4_row = rows
        .iter()
        .find(|r| r[4] == v4only && r[7] == "Chưa hỗ trợ IPv6")
        .unwrap_or_else(|| panic!("no IPv6 failure row for {v4only}: {rows:?}"));
    assert_eq!(v4_row[8], "Bắt buộc");
    assert!(!v4_row[9].is_empty(), "failing since is filled");
    assert!(rows.iter().all(|r| r.len() == 11));

    // XLSX: seven sheets, read back.
    let xlsx_path = run("xlsx", out.join("report.xlsx"), vec![]).await;
    {
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx_path).expect("open xlsx");
        assert_eq!(
            book.sheet_names(),
            [
                "Theo trang",
                "Theo cơ quan",
                "Theo tiêu chí",
                "Mục tiêu",
                "Sẵn sàng",
                "Gián đoạn",
                "Bảo mật",
                "Thư điện tử"
            ]
        );
        let availability = book.worksheet_range("Sẵn sàng").expect("availability sheet");
        let cells: Vec<String> = availability.cells().map(|(_, _, c)| c.to_string()).collect();
        assert!(cells.iter().any(|c| c == "Toàn tỉnh"), "{cells:?}");
        let goals = book.worksheet_range("Mục tiêu").expect("goals sheet");
        let cells: Vec<String> = goals.cells().map(|(_, _, c)| c.to_string()).collect();
        assert!(
            cells.iter().any(|c| c == "100% cổng thông tin hỗ trợ IPv6"),
            "{cells:?}"
        );
        let sites = book.worksheet_range("Theo trang").expect("sites sheet");
        assert!(sites.rows().any(|r| r
            .iter()
            .any(|c| matches!(c, calamine::Data::String(s) if s == "Chưa hỗ trợ IPv6"))));
    }

    // HTML: self-contained, Vietnamese, goals with the province total.
    let html_path = run("html", out.join("report.html"), vec![]).await;
    let html = std::fs::read_to_string(&html_path).expect("html");
    for words in [
        "Mục tiêu kế hoạch",
        "100% cổng thông tin hỗ trợ IPv6",
        "Toàn tỉnh",
        "Chưa hỗ trợ IPv6",
        "Sở Khoa học và Công nghệ",
    ] {
        assert!(html.contains(words), "HTML lacks {words}");
    }
    assert!(!html.contains("<script") && !html.contains("http-equiv"));

    // Markdown and English.
    let md_path = run("markdown", out.join("report-en.md"), vec!["--lang".into(), "en".into()]).await;
    let md = std::fs::read_to_string(&md_path).expect("md");
    assert!(md.contains("No IPv6 support") && md.contains("Plan goals"), "{md}");

    // JSON, then a comparison against an "earlier" report in which v4only still had IPv6.
    let json_path = run("json", out.join("report.json"), vec![]).await;
    let mut earlier: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json")).expect("parse");
    let site = earlier["sites"]
        .as_array_mut()
        .expect("sites")
        .iter_mut()
        .find(|s| s["target"] == v4only.as_str())
        .expect("v4only in report");
    for check in site["checks"].as_array_mut().expect("checks") {
        if check["id"] == "ipv6.aaaa" {
            check["status"] = "pass".into();
        }
    }
    let earlier_path = lab.dir.path().join("earlier.json");
    std::fs::write(&earlier_path, earlier.to_string()).expect("write earlier");
    let compared = run(
        "html",
        out.join("report-compared.html"),
        vec!["--compare".into(), earlier_path.display().to_string()],
    )
    .await;
    let compared = std::fs::read_to_string(compared).expect("compared");
    let regressed = compared
        .split("<ul id=\"regressed\">")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .expect("regressed list");
    assert!(
        regressed.contains("Có địa chỉ IPv6 toàn cầu (AAAA) — Đạt → Không đạt"),
        "{regressed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_can_audit_first_without_a_store() {
    let lab = Lab::start().await;
    let config = config_with_goals(&lab);
    let missing = lab.dir.path().join("none.db");
    let output = vnready(&[
        "report",
        "--config",
        &config.display().to_string(),
        "--storage.path",
        &missing.display().to_string(),
        "--format",
        "json",
    ])
    .await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "no store and no --audit is a usage error"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("--audit"));

    let output = vnready(&[
        "report",
        "--audit",
        "--config",
        &config.display().to_string(),
        "--storage.path",
        &missing.display().to_string(),
        "--format",
        "json",
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["sites"].as_array().map(Vec::len), Some(lab.urls.len()));
    let goal = &report["goals"][0];
    assert_eq!(goal["id"], "lab_ipv6");
    let achieved = goal["achieved_ratio"].as_f64().expect("ratio");
    assert!(
        achieved > 0.0 && achieved < 1.0,
        "the lab has IPv6 and non-IPv6 portals: {achieved}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_applies_category_policies_and_baselines() {
    let lab = Lab::start().await;
    let v4only = lab.url_of(&host("v4only"));
    let config_one = lab.single_site_config(&host("v4only"));
    let base_flags = lab.flags();
    let gate = |policy: &'static str| {
        let mut args: Vec<String> = vec!["check".into(), "--config".into(), config_one.display().to_string()];
        args.extend(base_flags.iter().cloned());
        args.extend(["--policy".into(), policy.into(), "--format".into(), "json".into()]);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            vnready(&args).await
        }
    };
    // An IPv4-only site is fine for an e-newspaper (only .vn is required)…
    let output = gate("e_newspaper").await;
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    // …but not for a state portal, and the JSON names the failing rule and why.
    let output = gate("state_portal").await;
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let document: Value = serde_json::from_slice(&output.stdout).expect("json");
    let target = &document["targets"][0];
    assert_eq!(target["target"], v4only.as_str());
    let failing: Vec<&Value> = target["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "fail" && target["required"].as_array().is_some_and(|r| r.contains(&c["id"])))
        .collect();
    assert!(failing
        .iter()
        .any(|c| c["id"] == "ipv6.aaaa" && c["reason"]["vi"].as_str().is_some()));
    let output = gate("bank").await;
    assert_eq!(output.status.code(), Some(2));

    // Baseline: the old file has v4only; the new one adds good. Only good is audited.
    let new_config = lab.dir.path().join("new.yaml");
    let good = lab.site(&host("good"));
    let mut text = std::fs::read_to_string(&config_one).expect("read");
    text.push_str(&format!(
        "  - url: \"{}\"\n    http_url: \"http://{}:{}/\"\n    category: state_portal\n",
        good.url(),
        good.host,
        good.http_port
    ));
    std::fs::write(&new_config, text).expect("write");
    let mut args: Vec<String> = vec![
        "check".into(),
        "--baseline".into(),
        config_one.display().to_string(),
        "--config".into(),
        new_config.display().to_string(),
        "--format".into(),
        "junit".into(),
    ];
    args.extend(base_flags.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = vnready(&args).await;
    let junit = String::from_utf8_lossy(&output.stdout);
    assert!(
        junit.contains(&good.url()) && !junit.contains(&v4only),
        "{}",
        show(&output)
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "the added site is a healthy portal: {}",
        show(&output)
    );
    // No change at all: nothing to audit, exit 0.
    let output = vnready(&[
        "check",
        "--baseline",
        &new_config.display().to_string(),
        "--config",
        &new_config.display().to_string(),
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_in_chromium() {
    let browser = chromium();
    let lab = Lab::start().await;
    let config = config_with_goals(&lab);
    let mut daemon = Daemon::start(&["--config", &config.display().to_string(), "--storage.path", ""]).await;
    daemon.wait_ready().await;
    let base = format!("http://{}", daemon.address);
    let out = test_output_dir();

    // The overview in Vietnamese (Chromium sends Accept-Language: vi-VN): goals, groups, sites.
    let dom = browse(browser, &format!("{base}/"), None).await;
    assert!(dom.contains("<html lang=\"vi\">"));
    for words in [
        "Tình trạng tuân thủ",
        "Mục tiêu kế hoạch",
        "100% cổng thông tin hỗ trợ IPv6",
        "Quá hạn, chưa đạt",
        "Sở Khoa học và Công nghệ",
    ] {
        assert!(dom.contains(words), "overview lacks {words:?}");
    }
    let rows = rows_of(&dom, "sites");
    assert_eq!(rows.len(), lab.urls.len());
    let v4 = rows.iter().find(|r| r.contains(&host("v4only"))).expect("v4only row");
    assert!(
        v4.contains("Chưa đạt") && v4.contains("Chưa hỗ trợ IPv6") && v4.contains("từ ngày"),
        "{v4}"
    );
    browse(browser, &format!("{base}/"), Some(&out.join("status-page.png"))).await;
    assert!(std::fs::metadata(out.join("status-page.png")).is_ok_and(|m| m.len() > 10_000));

    // Filtering without JavaScript: only sites failing IPv6 AAAA.
    let dom = browse(browser, &format!("{base}/?failing=ipv6.aaaa&sort=site&dir=asc"), None).await;
    let rows = rows_of(&dom, "sites");
    assert!(!rows.is_empty() && rows.len() < lab.urls.len());
    assert!(
        rows.iter()
            .all(|r| r.contains("Chưa hỗ trợ IPv6") || r.contains("Không kiểm tra được (Có địa chỉ IPv6")),
        "{rows:?}"
    );
    assert!(rows.iter().any(|r| r.contains(&host("v4only"))));
    assert!(!rows.iter().any(|r| r.contains(&host("good"))));
    let names: Vec<&String> = rows.iter().collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|r| r.to_lowercase());
    assert_eq!(names, sorted, "sorted by site name");

    // English on request, and a per-site page with reasons, since and observed values.
    let dom = browse(browser, &format!("{base}/?lang=en"), None).await;
    assert!(dom.contains("Compliance status") && dom.contains("No IPv6 support"));
    let target = url::form_urlencoded::byte_serialize(lab.url_of(&host("expired")).as_bytes()).collect::<String>();
    let dom = browse(browser, &format!("{base}/site?target={target}"), None).await;
    let checks = rows_of(&dom, "checks");
    let tls = checks.iter().find(|r| r.contains("tls.valid")).expect("tls.valid row");
    assert!(tls.contains("Không đạt") && tls.contains("Bắt buộc"), "{tls}");
    assert!(dom.contains("id=\"addresses\"") && dom.contains("127.0.0.1") && dom.contains("::1"));
    assert!(dom.contains("id=\"certificate\""));
    browse(
        browser,
        &format!("{base}/site?target={target}"),
        Some(&out.join("status-site.png")),
    )
    .await;

    // Names from the config are escaped, never markup.
    let dom = browse(browser, &format!("{base}/"), None).await;
    assert!(!dom.contains("<script>alert(1)"), "config text became markup");
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt; Lab"),
        "the name is shown as text"
    );
}
