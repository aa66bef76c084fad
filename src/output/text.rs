//! The human table: one row per target with a mark per check, reasons underneath.

use std::fmt::Write;

use crate::audit::verdict::TargetVerdict;
use crate::checks::{CheckId, Status};

/// ✓ pass, ✗ fail, ! error, ~ warn, - skip.
pub fn mark(status: Status) -> char {
    match status {
        Status::Pass => '✓',
        Status::Fail => '✗',
        Status::Error => '!',
        Status::Warn => '~',
        Status::Skip => '-',
    }
}

/// Renders the table. Checks are numbered columns with a legend, so the table stays readable in
/// an 100-column terminal however many checks ran.
pub fn render(verdicts: &[TargetVerdict], checks: &[CheckId]) -> String {
    let mut out = String::new();
    let width = verdicts
        .iter()
        .map(|v| v.target.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 48);
    let _ = writeln!(out, "Checks:");
    for (index, id) in checks.iter().enumerate() {
        let _ = writeln!(out, "  {:>2} {:<20} {}", index + 1, id.as_str(), id.info().title_en);
    }
    let _ = writeln!(out);
    let mut header = format!("  {:<width$}  ", "TARGET");
    for index in 0..checks.len() {
        let _ = write!(header, "{:>3}", index + 1);
    }
    let _ = writeln!(out, "{header}  RESULT");
    for verdict in verdicts {
        let mut row = format!(
            "{} {:<width$}  ",
            if verdict.passed { '✓' } else { '✗' },
            truncate(&verdict.target, width)
        );
        for id in checks {
            let symbol = verdict.status_of(*id).map(mark).unwrap_or(' ');
            let _ = write!(row, "{:>3}", symbol);
        }
        let result = if verdict.passed {
            "PASS".to_string()
        } else {
            format!("FAIL ({} required failing)", verdict.blocking().count())
        };
        let _ = writeln!(out, "{row}  {result}");
        for check in verdict.checks.iter().filter(|c| c.status != Status::Pass) {
            let required = if verdict.required.contains(&check.id) {
                ""
            } else {
                " (not required)"
            };
            let _ = writeln!(
                out,
                "      {} {:<18} {}{}",
                mark(check.status),
                check.id.as_str(),
                check.reason.en,
                required
            );
        }
    }
    let passed = verdicts.iter().filter(|v| v.passed).count();
    let _ = writeln!(
        out,
        "\n{passed}/{} target(s) pass every required check.",
        verdicts.len()
    );
    let _ = writeln!(
        out,
        "Legend: ✓ pass  ✗ fail  ! error (could not test)  ~ warn  - not applicable"
    );
    out
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}
