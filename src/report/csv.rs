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

/// Which table a CSV file holds: a CSV file has one table, so each is its own file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CsvTable {
    /// One row per failing check (or per site without one).
    #[default]
    Compliance,
    /// Availability per site and family over the period.
    Availability,
    /// Availability per group and for the province.
    AvailabilityGroups,
    /// Every outage of the period.
    Outages,
    /// The security options of every site (headers, CSP, security.txt).
    Security,
    /// The mail checks of every site's mail domain.
    Mail,
    /// The summary views one after the other: per group and for the whole, and from sweep
    /// files (`--from`) also per second-level domain, province, hosting network and check.
    Views,
}

/// Renders one of the report's tables.
pub fn render_table(report: &Report, group_by: GroupBy, table: CsvTable) -> String {
    let index = match table {
        CsvTable::Compliance => return render(report, group_by),
        CsvTable::Views => return render_groups(report, group_by),
        CsvTable::Availability => 0,
        CsvTable::AvailabilityGroups => 1,
        CsvTable::Outages => 2,
        CsvTable::Security => 3,
        CsvTable::Mail => 4,
    };
    let mut out = String::from(BOM);
    let mut tables = report.availability_tables(group_by);
    tables.push(report.security_table());
    tables.push(report.mail_table());
    if let Some(table) = tables.get(index) {
        push_row(&mut out, table.header.iter().cloned());
        for row in &table.rows {
            push_row(&mut out, row.iter().cloned());
        }
    }
    out
}

/// Sites per group and for the whole province: counts, compliant, mean compliance.
fn render_groups(report: &Report, group_by: GroupBy) -> String {
    let lang = report.lang;
    let mut out = String::from(BOM);
    push_row(
        &mut out,
        [
            match group_by {
                GroupBy::Agency => lang.agency(),
                GroupBy::District => lang.district(),
                GroupBy::Category => lang.category(),
            },
            lang.site_count(),
            lang.compliant(),
            lang.compliance(),
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let mut groups = report.groups(group_by);
    groups.push(report.total(lang));
    for group in groups {
        push_row(
            &mut out,
            [
                group.name,
                group.sites.to_string(),
                group.compliant.to_string(),
                lang.percent(group.mean_ratio),
            ]
            .into_iter(),
        );
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

/// A cell in double quotes when it holds a comma, a quote or a line break (RFC 4180).
pub(super) fn quote(cell: &str) -> String {
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
    fn the_outage_table_is_a_file_of_its_own() {
        let csv = render_table(&sample_report(Lang::En), GroupBy::Agency, CsvTable::Outages);
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], "Site,Agency,Address family,Start,End,Duration,Reason");
        assert_eq!(lines.len(), 2, "{csv}");
        assert!(lines[1].contains("IPv6") && lines[1].contains("1 h") && lines[1].contains("[::1] status 503"));
        let groups = render_table(&sample_report(Lang::Vi), GroupBy::Agency, CsvTable::AvailabilityGroups);
        assert!(groups.contains("Toàn tỉnh,\"100,0% (giám sát 38,6%)\""), "{groups}");
    }

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
