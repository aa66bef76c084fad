//! Headless Chromium for the status page and badge tests, and where they leave screenshots.

use std::path::{Path, PathBuf};

/// Where tests leave files a person may want to look at (screenshots, sample reports).
pub fn test_output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-output");
    std::fs::create_dir_all(&dir).expect("create test-output");
    dir
}

/// Headless Chromium from Debian; the test command installs it.
pub fn chromium() -> &'static str {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if std::process::Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return candidate;
        }
    }
    panic!("chromium is required for the status page test (apt-get install chromium; scripts/test.sh does)");
}

pub async fn browse(browser: &str, url: &str, screenshot: Option<&Path>) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut command = tokio::process::Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--window-size=1400,1800",
        "--accept-lang=vi-VN",
    ]);
    command.arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(path) => command.arg(format!("--screenshot={}", path.display())),
        None => command.arg("--dump-dom"),
    };
    let output = command
        .arg(url)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run chromium");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Text a user sees in a table row (tags stripped).
pub fn rows_of(dom: &str, table_id: &str) -> Vec<String> {
    let table = dom
        .split(&format!("<table id=\"{table_id}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap_or_default();
    table
        .split("<tr")
        .skip(2)
        .map(|row| {
            let row = format!("<tr{row}");
            let mut text = String::new();
            let mut in_tag = false;
            for c in row.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => {
                        in_tag = false;
                        text.push(' ');
                    }
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}
