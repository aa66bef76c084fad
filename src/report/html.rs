//! Self-contained HTML: inline styles, no scripts, no external assets, readable on paper.
//! Every string that came from the config or a remote server goes through [`escape`].

use super::{Comparison, GroupBy, Lang, Report, SiteRow};
use crate::checks::Status;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,'Segoe UI',Roboto,'Noto Sans',sans-serif;margin:1.5rem auto;max-width:80rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}h3{font-size:1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f3f7}td.num{text-align:right;white-space:nowrap}
.bar{background:#e6e6e6;height:.8rem;width:10rem;display:inline-block;vertical-align:middle;position:relative}
.bar span{background:#2e7d32;height:100%;display:block}.bar i{position:absolute;top:-.2rem;height:1.2rem;border-left:2px solid #000}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}.warn{color:#e65100;font-weight:600}.muted{color:#666}
.pass{background:#e8f5e9}.fail,.error{background:#ffebee}.warnrow{background:#fff3e0}
nav a{margin-right:1rem}form.filters label{margin-right:1rem}
.avail{white-space:nowrap;font-size:.85rem;margin-bottom:.2rem}svg.history{vertical-align:middle}
@media print{nav,form.filters{display:none}body{margin:0;max-width:none}a{color:inherit;text-decoration:none}h2{break-after:avoid}tr{break-inside:avoid}}
";

/// A whole page around `body`.
pub fn document(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        lang.code(),
        escape(title)
    )
}

/// A ratio as a bar with the goal's mark.
fn bar(achieved: f64, target: f64) -> String {
    format!(
        "<span class=\"bar\" role=\"img\" aria-label=\"{:.0}%\"><span style=\"width:{:.1}%\"></span><i style=\"left:{:.1}%\"></i></span>",
        achieved * 100.0,
        (achieved * 100.0).clamp(0.0, 100.0),
        (target * 100.0).clamp(0.0, 100.0)
    )
}

/// The goals table with progress bars.
pub fn goals_section(report: &Report) -> String {
    let lang = report.lang;
    if report.goals.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h2>{}</h2><table id=\"goals\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.goals(),
        lang.goal(),
        lang.target_ratio(),
        lang.achieved(),
        lang.sites_meeting(),
        lang.deadline()
    );
    for goal in &report.goals {
        let standing = goal.standing(report.generated_at);
        let (class, state) = (standing.class(), standing.word(lang));
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{} {} <span class=\"{class}\">{}</span></td><td class=\"num\">{}/{}</td><td>{}</td></tr>",
            escape(&goal.title),
            lang.percent(goal.target_ratio),
            bar(goal.achieved_ratio, goal.target_ratio),
            lang.percent(goal.achieved_ratio),
            state,
            goal.met,
            goal.targets,
            lang.date(goal.deadline_unix as f64)
        ));
    }
    out.push_str("</tbody></table>");
    out
}

/// The per-group summary with the province total.
pub fn groups_section(report: &Report, group_by: GroupBy) -> String {
    let lang = report.lang;
    let heading = match group_by {
        GroupBy::Agency => lang.agency(),
        GroupBy::District => lang.district(),
        GroupBy::Category => lang.category(),
    };
    let mut out = format!(
        "<h2>{} {}</h2><table id=\"groups\"><thead><tr><th>{heading}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.by(),
        heading.to_lowercase(),
        lang.site_count(),
        lang.compliant(),
        lang.compliance()
    );
    let mut groups = report.groups(group_by);
    groups.push(report.total(lang));
    let last = groups.len() - 1;
    for (index, group) in groups.iter().enumerate() {
        let name = if group.name.is_empty() {
            "—".to_string()
        } else {
            escape(&group.name)
        };
        let name = if index == last {
            format!("<strong>{name}</strong>")
        } else {
            name
        };
        out.push_str(&format!(
            "<tr><td>{name}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            group.sites,
            group.compliant,
            lang.percent(group.mean_ratio)
        ));
    }
    out.push_str("</tbody></table>");
    out
}

/// The availability section: by site, by group, the outage list.
pub fn availability_section(report: &Report, group_by: GroupBy) -> String {
    let mut out = String::new();
    for (index, table) in report.availability_tables(group_by).iter().enumerate() {
        let id = ["availability", "availability-groups", "outages"][index.min(2)];
        push_table(&mut out, table, id, report.lang.no_outage());
    }
    out
}

/// The security options of every site (headers, CSP, security.txt).
pub fn security_section(report: &Report) -> String {
    let mut out = String::new();
    push_table(&mut out, &report.security_table(), "security", report.lang.none());
    out
}

/// The mail of every site's mail domain (IPv6, STARTTLS, SPF, DMARC, DKIM, MTA-STS, TLS, DANE).
pub fn mail_section(report: &Report) -> String {
    let mut out = String::new();
    push_table(&mut out, &report.mail_table(), "mail", report.lang.none());
    out
}

/// A titled table, or `empty` under the title when it has no rows.
fn push_table(out: &mut String, table: &super::TextTable, id: &str, empty: &str) {
    out.push_str(&format!("<h2>{}</h2>", escape(&table.title)));
    if table.rows.is_empty() {
        out.push_str(&format!("<p id=\"{id}\" class=\"muted\">{empty}</p>"));
        return;
    }
    out.push_str(&format!("<table id=\"{id}\"><thead><tr>"));
    for cell in &table.header {
        out.push_str(&format!("<th>{}</th>", escape(cell)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&format!("<td>{}</td>", escape(cell)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The colour of a day or a period by its availability; grey when not monitored.
pub fn availability_colour(ratio: Option<f64>) -> &'static str {
    match ratio {
        None => "#bdbdbd",
        Some(r) if r >= 0.999 => "#2e7d32",
        Some(r) if r >= 0.99 => "#8bc34a",
        Some(r) if r >= 0.95 => "#ffb300",
        Some(_) => "#c62828",
    }
}

/// A history bar: one cell a day (oldest left), coloured by that day's availability, grey
/// where nothing monitored; hovering names the day and figure. Days in a row with the same
/// figure (most are 100 %) share one rectangle, so a page of 10,000 sites stays small. Inline
/// SVG, no script.
pub fn history_bar(label: &str, cells: &[Option<f64>], last_day: f64, lang: Lang) -> String {
    const CELL: usize = 4;
    let width = cells.len() * CELL;
    let mut out = format!(
        "<svg class=\"history\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"14\" viewBox=\"0 0 {width} 14\" role=\"img\" aria-label=\"{}\">",
        escape(label)
    );
    let count = cells.len();
    let day_of = |index: usize| last_day - (count - 1 - index) as f64 * 86_400.0;
    let mut first = 0;
    while first < count {
        let cell = cells[first];
        let last = (first..count).take_while(|&i| cells[i] == cell).last().unwrap_or(first);
        let figure = match cell {
            Some(ratio) => lang.percent_precise(ratio),
            None => lang.not_monitored().to_string(),
        };
        let days = if last == first {
            lang.date(day_of(first))
        } else {
            format!("{} – {}", lang.date(day_of(first)), lang.date(day_of(last)))
        };
        out.push_str(&format!(
            "<rect x=\"{}\" width=\"{}\" height=\"14\" fill=\"{}\"><title>{} {days}: {figure}</title></rect>",
            first * CELL,
            (last - first + 1) * CELL - 1,
            availability_colour(cell),
            escape(label),
        ));
        first = last + 1;
    }
    out.push_str("</svg>");
    out
}

/// Improvements and regressions since an earlier report.
pub fn comparison_section(lang: Lang, comparison: &Comparison) -> String {
    let mut out = format!("<h2>{}</h2>", lang.changes());
    for (title, changes, class) in [
        (lang.improved(), &comparison.improved, "ok"),
        (lang.regressed(), &comparison.regressed, "bad"),
    ] {
        out.push_str(&format!(
            "<h3 class=\"{class}\">{title} ({})</h3><ul id=\"{}\">",
            changes.len(),
            if class == "ok" { "improved" } else { "regressed" }
        ));
        for change in changes {
            out.push_str(&format!("<li>{}</li>", change.describe(lang, escape)));
        }
        out.push_str("</ul>");
    }
    for (title, sites) in [
        (lang.added_sites(), &comparison.added_sites),
        (lang.removed_sites(), &comparison.removed_sites),
    ] {
        if !sites.is_empty() {
            let items: Vec<String> = sites.iter().map(|s| format!("<li>{}</li>", escape(s))).collect();
            out.push_str(&format!("<h3>{title}</h3><ul>{}</ul>", items.join("")));
        }
    }
    out
}

/// The verdict word with its colour.
pub fn verdict_badge(site: &SiteRow, lang: Lang) -> String {
    match site.compliant {
        Some(true) => format!("<span class=\"ok\">{}</span>", lang.compliant()),
        Some(false) => format!("<span class=\"bad\">{}</span>", lang.not_compliant()),
        None => format!("<span class=\"muted\">{}</span>", lang.not_audited()),
    }
}

/// The class of a check row by status.
pub fn status_class(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Warn => "warnrow",
        Status::Fail => "fail",
        Status::Error => "error",
        Status::Skip => "skip",
    }
}

/// The printable report.
pub fn render(report: &Report, group_by: GroupBy, comparison: Option<&Comparison>) -> String {
    let lang = report.lang;
    let mut body = format!(
        "<h1>{}</h1><p class=\"muted\">{}: {}</p>",
        lang.title(),
        lang.generated(),
        lang.datetime(report.generated_at)
    );
    body.push_str(&goals_section(report));
    body.push_str(&groups_section(report, group_by));
    body.push_str(&availability_section(report, group_by));
    body.push_str(&security_section(report));
    body.push_str(&mail_section(report));
    if let Some(comparison) = comparison {
        body.push_str(&comparison_section(lang, comparison));
    }
    body.push_str(&format!(
        "<h2>{}</h2><table id=\"problems\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.problems(),
        lang.site(),
        lang.agency(),
        lang.problem(),
        lang.requirement(),
        lang.since(),
        lang.reason()
    ));
    let mut sites: Vec<&SiteRow> = report.sites.iter().collect();
    sites.sort_by_key(|s| (s.group_key(group_by), s.display_name().to_string()));
    for site in sites {
        let problems = site.problems();
        let site_cell = format!(
            "<strong>{}</strong><br><span class=\"muted\">{}</span><br>{}{}",
            escape(site.display_name()),
            escape(&site.url),
            verdict_badge(site, lang),
            site.compliance_ratio
                .map(|r| format!(" · {}", lang.percent(r)))
                .unwrap_or_default()
        );
        if problems.is_empty() {
            body.push_str(&format!(
                "<tr><td>{site_cell}</td><td>{}</td><td colspan=\"4\" class=\"muted\">{}</td></tr>",
                escape(&site.agency),
                lang.none()
            ));
            continue;
        }
        for (index, problem) in problems.iter().enumerate() {
            let lead = if index == 0 {
                format!(
                    "<td rowspan=\"{n}\">{site_cell}</td><td rowspan=\"{n}\">{}</td>",
                    escape(&site.agency),
                    n = problems.len()
                )
            } else {
                String::new()
            };
            body.push_str(&format!(
                "<tr class=\"{}\">{lead}<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                status_class(problem.status),
                escape(&problem.problem),
                lang.requirement_word(problem.requirement),
                problem.since.map(|t| lang.datetime(t)).unwrap_or_default(),
                escape(&problem.reason)
            ));
        }
    }
    body.push_str("</tbody></table>");
    document(lang, lang.title(), &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn self_contained_escaped_and_in_vietnamese() {
        let html = render(&sample_report(Lang::Vi), GroupBy::Agency, None);
        assert!(html.contains("<html lang=\"vi\">"));
        assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"));
        assert!(html.contains("=Cổng &lt;b&gt;A&lt;/b&gt;"));
        assert!(!html.contains("<b>A</b>"));
        assert!(html.contains("Chưa hỗ trợ IPv6"));
        assert!(html.contains("@media print"));
        assert!(
            html.contains("<table id=\"outages\">") && html.contains("[::1] mã trạng thái 503"),
            "{html}"
        );
        assert!(html.contains("Tỷ lệ sẵn sàng IPv6"));
    }
}
