//! Machine-readable output: `{"targets":[{"target", "host", "checks":[{"id","status","reason",..}],
//! "addresses":[..], ..}], "summary": {..}}`.

use serde_json::json;

use crate::checks::CheckId;
use crate::verdict::TargetVerdict;

pub fn render(verdicts: &[TargetVerdict], checks: &[CheckId]) -> String {
    let passed = verdicts.iter().filter(|v| v.passed).count();
    let document = json!({
        "vnready_version": env!("CARGO_PKG_VERSION"),
        "generated_at": crate::output::json::now_rfc3339(),
        "checks": checks,
        "summary": { "targets": verdicts.len(), "passed": passed, "failed": verdicts.len() - passed },
        "targets": verdicts,
    });
    serde_json::to_string_pretty(&document).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
}

/// Current UTC time as RFC 3339, without pulling in a date crate.
pub fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds)).to_string()
}
