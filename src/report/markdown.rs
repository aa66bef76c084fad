//! Markdown: for pasting into a wiki, a ticket or an email.

use super::{Comparison, GroupBy, Report};

/// Text safe inside a Markdown table cell.
pub(super) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ").replace('<', "&lt;")
}

/// Renders the report.
pub fn render(report: &Report, group_by: GroupBy, comparison: Option<&Comparison>) -> String {
    let lang = report.lang;
    let mut out = format!(
        "# {}\n\n{}: {}\n\n",
        lang.title(),
        lang.generated(),
        lang.datetime(report.generated_at)
    );
    if !report.goals.is_empty() {
        out.push_str(&format!(
            "## {}\n\n| {} | {} | {} | {} | {} |\n|---|---|---|---|---|\n",
            lang.goals(),
            lang.goal(),
            lang.target_ratio(),
            lang.achieved(),
            lang.sites_meeting(),
            lang.deadline()
        ));
        for goal in &report.goals {
            let state = goal.standing(report.generated_at).word(lang);
            out.push_str(&format!(
                "| {} | {} | {} ({}) | {}/{} | {} |\n",
                cell(&goal.title),
                lang.percent(goal.target_ratio),
                lang.percent(goal.achieved_ratio),
                state,
                goal.met,
                goal.targets,
                lang.date(goal.deadline_unix as f64)
            ));
        }
        out.push('\n');
    }
    let heading = match group_by {
        GroupBy::Agency => lang.agency(),
        GroupBy::District => lang.district(),
        GroupBy::Category => lang.category(),
    };
    out.push_str(&format!(
        "## {} {}\n\n| {} | {} | {} | {} |\n|---|---|---|---|\n",
        lang.by(),
        heading.to_lowercase(),
        heading,
        lang.site_count(),
        lang.compliant(),
        lang.compliance()
    ));
    let mut groups = report.groups(group_by);
    groups.push(report.total(lang));
    for group in groups {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&group.name),
            group.sites,
            group.compliant,
            lang.percent(group.mean_ratio)
        ));
    }
    let tables = report
        .availability_tables(group_by)
        .into_iter()
        .map(|t| (t, lang.no_outage()));
    let grouped = [
        (report.security_table(), lang.none()),
        (report.mail_table(), lang.none()),
    ];
    for (table, empty) in tables.chain(grouped) {
        out.push_str(&format!("\n## {}\n\n", cell(&table.title)));
        if table.rows.is_empty() {
            out.push_str(&format!("{empty}\n"));
            continue;
        }
        let header: Vec<String> = table.header.iter().map(|h| cell(h)).collect();
        out.push_str(&format!(
            "| {} |\n|{}\n",
            header.join(" | "),
            "---|".repeat(header.len())
        ));
        for row in &table.rows {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    if let Some(comparison) = comparison {
        out.push_str(&format!("\n## {}\n\n", lang.changes()));
        for (title, changes) in [
            (lang.improved(), &comparison.improved),
            (lang.regressed(), &comparison.regressed),
        ] {
            out.push_str(&format!("### {title} ({})\n\n", changes.len()));
            for change in changes {
                out.push_str(&format!("- {}\n", change.describe(lang, cell)));
            }
            out.push('\n');
        }
    }
    out.push_str(&format!("\n## {}\n", lang.problems()));
    for site in &report.sites {
        let problems = site.problems();
        let verdict = match site.compliant {
            Some(true) => lang.compliant(),
            Some(false) => lang.not_compliant(),
            None => lang.not_audited(),
        };
        out.push_str(&format!(
            "\n### {} — {}\n\n{} · {} · {}{}\n\n",
            cell(site.display_name()),
            verdict,
            cell(&site.agency),
            cell(&site.category_name),
            cell(&site.url),
            site.compliance_ratio
                .map(|r| format!(" · {} {}", lang.compliance().to_lowercase(), lang.percent(r)))
                .unwrap_or_default()
        ));
        if problems.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n|---|---|---|---|\n",
            lang.problem(),
            lang.requirement(),
            lang.since(),
            lang.reason()
        ));
        for problem in problems {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                cell(&problem.problem),
                lang.requirement_word(problem.requirement),
                problem.since.map(|t| lang.datetime(t)).unwrap_or_default(),
                cell(&problem.reason)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;
    use crate::report::Lang;

    #[test]
    fn vietnamese_headings_goals_and_failures() {
        let md = render(&sample_report(Lang::Vi), GroupBy::Agency, None);
        assert!(md.starts_with("# Báo cáo tuân thủ"));
        assert!(
            md.contains("| 100% cổng hỗ trợ IPv6 | 100,0% | 50,0% (Quá hạn, chưa đạt) | 1/2 | 31/12/2025 |"),
            "{md}"
        );
        assert!(md.contains("| Chưa hỗ trợ IPv6 | Bắt buộc | 31/12/2025 23:59 | không có bản ghi AAAA |"));
        assert!(md.contains("&lt;b>A&lt;/b>"), "HTML in names is neutralised");
        assert!(md.contains("## Tỷ lệ sẵn sàng ("), "{md}");
        assert!(
            md.contains("| 100,0% (giám sát 38,6%) | 99,6% (giám sát 38,6%) | 1 |"),
            "{md}"
        );
        assert!(md.contains("## Gián đoạn ("), "{md}");
        assert!(
            md.contains("| IPv6 |") && md.contains("| 1 giờ |") && md.contains("[::1] mã trạng thái 503"),
            "{md}"
        );
    }
}
