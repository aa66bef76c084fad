//! XLSX with four sheets: by site (one row per failing check), by agency, by check, and goals.
//! Cells are written as strings and numbers, never formulas.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::{GroupBy, Report, SiteRow};

/// Renders the workbook to bytes.
pub fn render(report: &Report) -> Result<Vec<u8>, XlsxError> {
    let lang = report.lang;
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let mut workbook = Workbook::new();

    let sheet = workbook.add_worksheet();
    sheet.set_name(lang.sheet_sites())?;
    header(sheet, &bold, &super::site_columns(lang))?;
    let mut row = 1;
    let mut sites: Vec<&SiteRow> = report.sites.iter().collect();
    sites.sort_by_key(|s| (s.agency.clone(), s.display_name().to_string()));
    for site in sites {
        let problems = site.problems();
        let count = problems.len().max(1);
        for index in 0..count {
            sheet.write_string(row, 0, &site.agency)?;
            sheet.write_string(row, 1, &site.district)?;
            sheet.write_string(row, 2, &site.category_name)?;
            sheet.write_string(row, 3, site.display_name())?;
            sheet.write_string(row, 4, &site.url)?;
            if let Some(ratio) = site.compliance_ratio {
                sheet.write_number_with_format(row, 5, ratio, &percent)?;
            }
            let verdict = match site.compliant {
                Some(true) => lang.compliant(),
                Some(false) => lang.not_compliant(),
                None => lang.not_audited(),
            };
            sheet.write_string(row, 6, verdict)?;
            if let Some(problem) = problems.get(index) {
                sheet.write_string(row, 7, &problem.problem)?;
                sheet.write_string(row, 8, lang.requirement_word(problem.requirement))?;
                if let Some(since) = problem.since {
                    sheet.write_string(row, 9, lang.datetime(since))?;
                }
                sheet.write_string(row, 10, &problem.reason)?;
            }
            row += 1;
        }
    }
    widths(sheet, &[28, 18, 22, 36, 36, 12, 14, 30, 12, 18, 60])?;

    let sheet = workbook.add_worksheet();
    sheet.set_name(lang.sheet_agencies())?;
    header(
        sheet,
        &bold,
        &[lang.agency(), lang.site_count(), lang.compliant(), lang.compliance()],
    )?;
    let mut groups = report.groups(GroupBy::Agency);
    groups.push(report.total(lang));
    for (index, group) in groups.iter().enumerate() {
        let row = index as u32 + 1;
        sheet.write_string(row, 0, &group.name)?;
        sheet.write_number(row, 1, group.sites as f64)?;
        sheet.write_number(row, 2, group.compliant as f64)?;
        sheet.write_number_with_format(row, 3, group.mean_ratio, &percent)?;
    }
    widths(sheet, &[36, 10, 12, 14])?;

    let sheet = workbook.add_worksheet();
    sheet.set_name(lang.sheet_checks())?;
    header(
        sheet,
        &bold,
        &[lang.check(), lang.problem(), lang.passing_sites(), lang.failing_sites()],
    )?;
    for (index, (id, pass, fail)) in report.by_check().iter().enumerate() {
        let row = index as u32 + 1;
        sheet.write_string(row, 0, lang.check_title(*id))?;
        sheet.write_string(row, 1, lang.problem_word(*id, crate::checks::Status::Fail))?;
        sheet.write_number(row, 2, *pass as f64)?;
        sheet.write_number(row, 3, *fail as f64)?;
    }
    widths(sheet, &[40, 36, 14, 14])?;

    let sheet = workbook.add_worksheet();
    sheet.set_name(lang.sheet_goals())?;
    header(
        sheet,
        &bold,
        &[
            lang.goal(),
            lang.target_ratio(),
            lang.achieved(),
            lang.sites_meeting(),
            lang.deadline(),
        ],
    )?;
    for (index, goal) in report.goals.iter().enumerate() {
        let row = index as u32 + 1;
        sheet.write_string(row, 0, &goal.title)?;
        sheet.write_number_with_format(row, 1, goal.target_ratio, &percent)?;
        sheet.write_number_with_format(row, 2, goal.achieved_ratio, &percent)?;
        sheet.write_string(row, 3, format!("{}/{}", goal.met, goal.targets))?;
        sheet.write_string(row, 4, lang.date(goal.deadline_unix as f64))?;
    }
    widths(sheet, &[60, 10, 10, 14, 12])?;

    workbook.save_to_buffer()
}

fn header(sheet: &mut Worksheet, bold: &Format, titles: &[&str]) -> Result<(), XlsxError> {
    for (column, title) in titles.iter().enumerate() {
        sheet.write_string_with_format(0, column as u16, *title, bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn widths(sheet: &mut Worksheet, widths: &[u16]) -> Result<(), XlsxError> {
    for (column, width) in widths.iter().enumerate() {
        sheet.set_column_width(column as u16, f64::from(*width))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;
    use crate::report::Lang;
    use calamine::{Reader, Xlsx};

    #[test]
    fn four_sheets_read_back_with_vietnamese_labels() {
        let bytes = render(&sample_report(Lang::Vi)).expect("xlsx");
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("open");
        assert_eq!(
            book.sheet_names(),
            ["Theo trang", "Theo cơ quan", "Theo tiêu chí", "Mục tiêu"]
        );
        let sites = book.worksheet_range("Theo trang").expect("sheet");
        let rows: Vec<Vec<String>> = sites
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(rows[0][0], "Cơ quan");
        assert!(
            rows.iter()
                .any(|r| r[7] == "Chưa hỗ trợ IPv6" && r[9] == "31/12/2025 23:59"),
            "{rows:?}"
        );
    }
}
