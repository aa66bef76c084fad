//! XLSX with seven sheets: by site (one row per failing check), by agency, by check, goals,
//! availability (per site, per agency, the province), outages and security options.
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

    availability_sheet(workbook.add_worksheet(), report, &bold, &percent)?;
    // Constant memory: a year of outages is streamed to a temporary file row by row.
    outages_sheet(workbook.add_worksheet_with_constant_memory(), report, &bold)?;
    security_sheet(workbook.add_worksheet(), report, &bold)?;
    mail_sheet(workbook.add_worksheet(), report, &bold)?;
    workbook.save_to_buffer()
}

/// Availability per site as numbers (ratio and monitored share per family), then per agency
/// and for the province, time-weighted.
fn availability_sheet(
    sheet: &mut Worksheet,
    report: &Report,
    bold: &Format,
    percent: &Format,
) -> Result<(), XlsxError> {
    use crate::probe::addr::IpFamily;
    let lang = report.lang;
    sheet.set_name(lang.sheet_availability())?;
    let families = [IpFamily::Ipv4, IpFamily::Ipv6];
    let mut titles = vec![
        lang.agency().to_string(),
        lang.site().to_string(),
        lang.address().to_string(),
    ];
    for family in families {
        titles.push(format!("{} {}", lang.availability(), family.label()));
        titles.push(format!("{} {}", lang.monitored(), family.label()));
    }
    titles.push(lang.outages().to_string());
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    header(sheet, bold, &titles)?;
    let write_families = |sheet: &mut Worksheet,
                          row: u32,
                          by_family: &std::collections::BTreeMap<IpFamily, crate::history::uptime::Availability>|
     -> Result<(), XlsxError> {
        for (index, family) in families.iter().enumerate() {
            let column = 3 + 2 * index as u16;
            match by_family.get(family) {
                Some(availability) => {
                    if let Some(ratio) = availability.ratio {
                        sheet.write_number_with_format(row, column, ratio, percent)?;
                    }
                    sheet.write_number_with_format(row, column + 1, availability.monitored_ratio, percent)?;
                }
                None => {
                    sheet.write_string(row, column, lang.not_monitored())?;
                }
            }
        }
        Ok(())
    };
    let mut row = 1;
    for site in &report.sites {
        sheet.write_string(row, 0, &site.agency)?;
        sheet.write_string(row, 1, site.display_name())?;
        sheet.write_string(row, 2, &site.url)?;
        write_families(sheet, row, &site.availability)?;
        sheet.write_number(row, 7, site.outages.len() as f64)?;
        row += 1;
    }
    row += 1;
    let mut groups = report.availability_groups(GroupBy::Agency);
    groups.push(report.availability_total(lang));
    for group in &groups {
        sheet.write_string_with_format(row, 0, &group.name, bold)?;
        write_families(sheet, row, &group.families)?;
        sheet.write_number(row, 7, group.outages as f64)?;
        row += 1;
    }
    widths(sheet, &[28, 36, 36, 14, 14, 14, 14, 10])
}

/// The security options of every site: one column per check, then the reasons.
fn security_sheet(sheet: &mut Worksheet, report: &Report, bold: &Format) -> Result<(), XlsxError> {
    sheet.set_name(report.lang.sheet_security())?;
    grouped_sheet(sheet, &report.security_table(), bold)
}

/// The mail of every site's mail domain: one column per check, then the reasons.
fn mail_sheet(sheet: &mut Worksheet, report: &Report, bold: &Format) -> Result<(), XlsxError> {
    sheet.set_name(report.lang.sheet_mail())?;
    grouped_sheet(sheet, &report.mail_table(), bold)
}

/// A table of one column per check (agency, site, address first, reasons last).
fn grouped_sheet(sheet: &mut Worksheet, table: &super::TextTable, bold: &Format) -> Result<(), XlsxError> {
    let titles: Vec<&str> = table.header.iter().map(String::as_str).collect();
    header(sheet, bold, &titles)?;
    for (index, cells) in table.rows.iter().enumerate() {
        for (column, cell) in cells.iter().enumerate() {
            sheet.write_string(index as u32 + 1, column as u16, cell)?;
        }
    }
    let checks = table.header.len().saturating_sub(4);
    let mut columns = vec![28, 36, 36];
    columns.extend(std::iter::repeat_n(22, checks));
    columns.push(80);
    widths(sheet, &columns)
}

/// Rows in a worksheet (Excel's limit).
const MAX_SHEET_ROWS: u32 = 1_048_576;

/// Every outage of the period, newest first.
fn outages_sheet(sheet: &mut Worksheet, report: &Report, bold: &Format) -> Result<(), XlsxError> {
    let lang = report.lang;
    sheet.set_name(lang.sheet_outages())?;
    // Rows are written in order, as a constant-memory sheet requires: widths, header, data.
    widths(sheet, &[36, 28, 10, 18, 18, 14, 60])?;
    let mut titles = super::outage_header(lang);
    titles[5] = format!("{} (min)", lang.duration());
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    header(sheet, bold, &titles)?;
    let outages = report.outages();
    for (index, (site, outage)) in outages.iter().enumerate() {
        let row = index as u32 + 1;
        if row == MAX_SHEET_ROWS - 1 && outages.len() > index + 1 {
            // A sheet holds 1,048,576 rows; the last one says what did not fit.
            sheet.write_string(row, 0, lang.more_outages(outages.len() - index))?;
            break;
        }
        sheet.write_string(row, 0, site.display_name())?;
        sheet.write_string(row, 1, &site.agency)?;
        sheet.write_string(row, 2, outage.family.label())?;
        sheet.write_string(row, 3, lang.datetime(outage.start))?;
        match outage.end {
            Some(end) => sheet.write_string(row, 4, lang.datetime(end))?,
            None => sheet.write_string(row, 4, lang.ongoing())?,
        };
        sheet.write_number(row, 5, (outage.seconds / 60.0).round())?;
        sheet.write_string(row, 6, &outage.reason)?;
    }
    Ok(())
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
        let outages = book.worksheet_range("Gián đoạn").expect("sheet");
        let rows: Vec<Vec<String>> = outages
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(rows[0][5], "Thời lượng (min)", "{rows:?}");
        assert_eq!(rows[1][2], "IPv6");
        assert_eq!(rows[1][5], "60");
        let availability = book.worksheet_range("Sẵn sàng").expect("sheet");
        let rows: Vec<Vec<String>> = availability
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(rows[2][3], "1", "site B is up all the time over IPv4: {rows:?}");
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
