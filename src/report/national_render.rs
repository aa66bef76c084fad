//! The national report in every format, written as it goes: the views (counts) first, then
//! one row per site read from the spool in URL order, each written and dropped. XLSX uses the
//! writer's constant-memory sheets, which go to temporary files a row at a time.

use std::io::Write;

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::csv::{neutralise, quote, CsvTable};
use super::markdown::cell as md_cell;
use super::national::{NationalReport, NationalSiteRow};
use super::sweep_input::{Spool, SweepInputError};
use super::{html, Lang, TextTable};

/// Why the national report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("building the workbook: {0}")]
    Xlsx(#[from] XlsxError),
    #[error(transparent)]
    Input(#[from] SweepInputError),
    #[error("with --from, --table is compliance (a row per site) or views (the national views)")]
    Table,
}

/// Visits each site's row in URL order, stopping at the first write error.
fn each_row(
    spool: &Spool,
    lang: Lang,
    mut write: impl FnMut(&NationalSiteRow) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    let mut failed = None;
    spool.each(|site| {
        if failed.is_some() {
            return;
        }
        if let Some(row) = NationalSiteRow::of(site, lang) {
            if let Err(err) = write(&row) {
                failed = Some(err);
            }
        }
    })?;
    failed.map_or(Ok(()), Err)
}

fn title(lang: Lang) -> &'static str {
    lang.pick(
        "Báo cáo toàn quốc: IPv6, tên miền .vn và bảo mật các trang thông tin điện tử",
        "National report: IPv6, .vn and security of websites",
    )
}

fn sites_title(lang: Lang) -> &'static str {
    lang.pick("Từng trang", "Every site")
}

/// CSV: `compliance` is a row per site, `views` every view one after the other.
pub fn csv(report: &NationalReport, spool: &Spool, table: CsvTable, out: &mut dyn Write) -> Result<(), RenderError> {
    out.write_all("\u{feff}".as_bytes())?;
    match table {
        CsvTable::Compliance => {
            csv_row(out, &NationalSiteRow::header(report.lang))?;
            each_row(spool, report.lang, |row| csv_row(out, &row.cells(report.lang)))
        }
        CsvTable::Views => {
            for (index, table) in report.tables().iter().enumerate() {
                if index > 0 {
                    out.write_all(b"\r\n")?;
                }
                csv_row(out, std::slice::from_ref(&table.title))?;
                csv_row(out, &table.header)?;
                for row in &table.rows {
                    csv_row(out, row)?;
                }
            }
            Ok(())
        }
        _ => Err(RenderError::Table),
    }
}

fn csv_row(out: &mut dyn Write, cells: &[String]) -> Result<(), RenderError> {
    let cells: Vec<String> = cells.iter().map(|cell| quote(&neutralise(cell))).collect();
    out.write_all(cells.join(",").as_bytes())?;
    out.write_all(b"\r\n")?;
    Ok(())
}

fn md_row(out: &mut dyn Write, cells: &[String]) -> Result<(), RenderError> {
    let cells: Vec<String> = cells.iter().map(|c| md_cell(c)).collect();
    writeln!(out, "| {} |", cells.join(" | "))?;
    Ok(())
}

/// Markdown: the views as tables, then the sites.
pub fn markdown(report: &NationalReport, spool: &Spool, out: &mut dyn Write) -> Result<(), RenderError> {
    let lang = report.lang;
    write!(
        out,
        "# {}\n\n{}: {}\n",
        title(lang),
        lang.generated(),
        lang.datetime(report.generated_at)
    )?;
    let header = NationalSiteRow::header(lang);
    for table in report.tables() {
        md_table_head(out, &table.title, &table.header)?;
        for row in &table.rows {
            md_row(out, row)?;
        }
    }
    md_table_head(out, sites_title(lang), &header)?;
    each_row(spool, lang, |row| md_row(out, &row.cells(lang)))
}

fn md_table_head(out: &mut dyn Write, title: &str, header: &[String]) -> Result<(), RenderError> {
    write!(out, "\n## {}\n\n", md_cell(title))?;
    md_row(out, header)?;
    writeln!(out, "|{}", "---|".repeat(header.len()))?;
    Ok(())
}

/// HTML: one self-contained page, written in pieces.
pub fn html(report: &NationalReport, spool: &Spool, out: &mut dyn Write) -> Result<(), RenderError> {
    let lang = report.lang;
    let page = html::document(lang, title(lang), "\u{0}");
    let (head, foot) = page.split_once('\u{0}').unwrap_or((&page, ""));
    out.write_all(head.as_bytes())?;
    write!(
        out,
        "<h1>{}</h1><p class=\"muted\">{}: {}</p>",
        html::escape(title(lang)),
        lang.generated(),
        lang.datetime(report.generated_at)
    )?;
    for table in report.tables() {
        html_table_head(out, &table)?;
        for row in &table.rows {
            html_row(out, row)?;
        }
        out.write_all(b"</tbody></table>")?;
    }
    let sites = TextTable {
        title: sites_title(lang).to_string(),
        header: NationalSiteRow::header(lang),
        rows: Vec::new(),
    };
    html_table_head(out, &sites)?;
    each_row(spool, lang, |row| html_row(out, &row.cells(lang)))?;
    out.write_all(b"</tbody></table>")?;
    out.write_all(foot.as_bytes())?;
    Ok(())
}

fn html_table_head(out: &mut dyn Write, table: &TextTable) -> Result<(), RenderError> {
    write!(out, "<h2>{}</h2><table><thead><tr>", html::escape(&table.title))?;
    for cell in &table.header {
        write!(out, "<th>{}</th>", html::escape(cell))?;
    }
    out.write_all(b"</tr></thead><tbody>")?;
    Ok(())
}

fn html_row(out: &mut dyn Write, cells: &[String]) -> Result<(), RenderError> {
    out.write_all(b"<tr>")?;
    for cell in cells {
        write!(out, "<td>{}</td>", html::escape(cell))?;
    }
    out.write_all(b"</tr>\n")?;
    Ok(())
}

/// JSON: the model, then `sites` as an array written one site at a time.
pub fn json(report: &NationalReport, spool: &Spool, out: &mut dyn Write) -> Result<(), RenderError> {
    let model = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    let body = model.trim_end().strip_suffix('}').unwrap_or(&model).trim_end();
    write!(out, "{body},\n  \"sites\": [")?;
    let mut first = true;
    each_row(spool, report.lang, |row| {
        out.write_all(if first { b"\n    " } else { b",\n    " })?;
        first = false;
        serde_json::to_writer(&mut *out, row).map_err(std::io::Error::other)?;
        Ok(())
    })?;
    out.write_all(b"\n  ]\n}\n")?;
    Ok(())
}

/// XLSX: a sheet per view, and the sites on a constant-memory sheet; saved to `path`, or
/// returned as bytes for standard output.
pub fn xlsx(
    report: &NationalReport,
    spool: &Spool,
    path: Option<&std::path::Path>,
) -> Result<Option<Vec<u8>>, RenderError> {
    let lang = report.lang;
    let bold = Format::new().set_bold();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet_with_constant_memory();
    sheet.set_name(lang.pick("Từng trang", "Sites"))?;
    for (column, title) in NationalSiteRow::header(lang).iter().enumerate() {
        sheet.write_string_with_format(0, column as u16, title, &bold)?;
    }
    let mut row_index = 1u32;
    each_row(spool, lang, |row| {
        if row_index >= MAX_SHEET_ROWS {
            return Ok(());
        }
        for (column, cell) in row.cells(lang).iter().enumerate() {
            sheet.write_string(row_index, column as u16, cell)?;
        }
        row_index += 1;
        Ok(())
    })?;
    for (index, table) in report.tables().iter().enumerate() {
        let sheet = workbook.add_worksheet();
        // Sheet names are at most 31 characters and unique.
        let name: String = format!("{} {}", index + 1, table.title).chars().take(31).collect();
        sheet.set_name(name.replace(['[', ']', ':', '*', '?', '/', '\\'], " "))?;
        for (column, title) in table.header.iter().enumerate() {
            sheet.write_string_with_format(0, column as u16, title, &bold)?;
        }
        for (row, cells) in table.rows.iter().enumerate() {
            for (column, cell) in cells.iter().enumerate() {
                sheet.write_string(row as u32 + 1, column as u16, cell)?;
            }
        }
    }
    match path {
        Some(path) => {
            workbook.save(path)?;
            Ok(None)
        }
        None => Ok(Some(workbook.save_to_buffer()?)),
    }
}

/// Rows in a worksheet (Excel's limit).
const MAX_SHEET_ROWS: u32 = 1_048_576;
