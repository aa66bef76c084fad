//! CSV for Excel: UTF-8 with a BOM (so Excel shows Vietnamese letters), one row per failing
//! check (or one row for a site with none), and every cell that a spreadsheet would read as a
//! formula neutralised.

use super::{GroupBy, Lang, Report, SiteRow};

const BOM: &str = "\u{feff}";

/// Renders the report.
pub fn render(report: &Report, group_by: GroupBy) -> String {
    let lang = report.lang;
    let mut out = String::from(BOM);
    push_row(&mut out, super::site_columns(lang).iter().map(|s| s.to_string()));
    let mut sites: Vec<&SiteRow> = report.sites.iter().collect();
    sites.sort_by_key(|s| (s.group_key(group_by), s.display_name().to_string()));
    for site in sites {
        let base = [
            site.agency.clone(),
            site.district.clone(),
            site.category_name.clone(),
            site.display_name().to_string(),
            site.url.clone(),
            site.compliance_ratio.map(|r| lang.percent(r)).unwrap_or_default(),
            verdict_word(site, lang),
        ];
        let problems = site.problems();
        if problems.is_empty() {
            push_row(
                &mut out,
                base.iter().cloned().chain(std::iter::repeat_n(String::new(), 4)),
            );
        }
        for problem in problems {
            let extra = [
                problem.problem.clone(),
                lang.requirement_word(problem.requirement).to_string(),
                problem.since.map(|t| lang.datetime(t)).unwrap_or_default(),
                problem.reason.clone(),
            ];
            push_row(&mut out, base.iter().cloned().chain(extra));
        }
    }
    out
}

fn verdict_word(site: &SiteRow, lang: Lang) -> String {
    match site.compliant {
        Some(true) => lang.compliant().to_string(),
        Some(false) => lang.not_compliant().to_string(),
        None => lang.not_audited().to_string(),
    }
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells.map(|cell| quote(&neutralise(&cell))).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// A cell starting with = + - @ (or a tab or carriage return) is a formula to a spreadsheet;
/// a leading apostrophe makes it text (OWASP's CSV injection advice).
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

fn quote(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn bom_vietnamese_header_and_neutralised_cells() {
        let csv = render(&sample_report(Lang::Vi), GroupBy::Agency);
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("Cơ quan,Địa bàn,Lĩnh vực"));
        assert!(csv.contains("Chưa hỗ trợ IPv6,Bắt buộc,31/12/2025 23:59"));
        assert!(csv.contains(",'=Cổng <b>A</b>,"), "{csv}");
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)"] {
            assert!(neutralise(cell).starts_with('\''));
        }
        assert_eq!(neutralise("Sở Y tế"), "Sở Y tế");
    }
}
