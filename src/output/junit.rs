//! JUnit XML: one testsuite per target, one testcase per check, so CI systems show which rule
//! failed on which site and why.

use std::fmt::Write;

use crate::audit::verdict::TargetVerdict;
use crate::checks::{CheckId, Status};

pub fn render(verdicts: &[TargetVerdict], _checks: &[CheckId]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total: usize = verdicts.iter().map(|v| v.checks.len()).sum();
    let failures: usize = verdicts
        .iter()
        .map(|v| v.blocking().filter(|c| c.status == Status::Fail).count())
        .sum();
    let errors: usize = verdicts
        .iter()
        .map(|v| v.blocking().filter(|c| c.status == Status::Error).count())
        .sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"vnready\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for verdict in verdicts {
        let suite_failures = verdict.blocking().filter(|c| c.status == Status::Fail).count();
        let suite_errors = verdict.blocking().filter(|c| c.status == Status::Error).count();
        let skipped = verdict.checks.iter().filter(|c| c.status == Status::Skip).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{suite_failures}\" errors=\"{suite_errors}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            escape(&verdict.target),
            verdict.checks.len(),
            verdict.observations.duration_seconds
        );
        for check in &verdict.checks {
            let required = verdict.required.contains(&check.id);
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(&verdict.target),
                check.id.as_str()
            );
            let message = escape(&format!("{} / {}", check.reason.en, check.reason.vi));
            let observed = escape(&serde_json::to_string_pretty(&check.observed).unwrap_or_default());
            match (check.status, required) {
                (Status::Fail, true) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{message}\" type=\"{}\">{observed}</failure>\n    </testcase>",
                        check.id.as_str()
                    );
                }
                (Status::Error, true) => {
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{message}\" type=\"{}\">{observed}</error>\n    </testcase>",
                        check.id.as_str()
                    );
                }
                (Status::Skip, _) => {
                    let _ = writeln!(out, ">\n      <skipped message=\"{message}\"/>\n    </testcase>");
                }
                (Status::Pass, _) => {
                    let _ = writeln!(out, "/>");
                }
                (status, _) => {
                    let note = if required { "" } else { " (not required)" };
                    let _ = writeln!(
                        out,
                        ">\n      <system-out>{}: {message}{note}</system-out>\n    </testcase>",
                        status.as_str()
                    );
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 forbids.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
    }
}
