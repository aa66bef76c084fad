//! The human table: one row per target with a mark per check, reasons underneath. Check columns
//! are grouped by area (DNS, IPv6, TLS, HTTP, mail, content, routing) under a line naming each
//! group, and the groups are folded into blocks so that no line of the table is wider than
//! [`MAX_WIDTH`] however many checks ran: a target's row takes one line per block.

use std::fmt::Write;

use crate::audit::verdict::TargetVerdict;
use crate::checks::{CheckId, Status};
use crate::model::catalogue::Area;

/// No line of the table is wider than this (a terminal, a CI log).
pub const MAX_WIDTH: usize = 120;
/// Each check's column: its number or mark, right-aligned.
const CELL: usize = 3;
/// Between two groups of a block.
const GROUP_GAP: usize = 2;
/// The target column is at least and at most this wide.
const TARGET_WIDTH: (usize, usize) = (6, 48);

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

/// One check column of the table.
#[derive(Clone, Debug)]
pub struct Column<'a> {
    pub area: Area,
    pub key: &'a str,
    pub title: &'a str,
}

/// One row: the target's name, its result, and a mark (or blank) per column.
pub struct Row {
    pub passed: bool,
    pub target: String,
    pub result: String,
    pub marks: Vec<char>,
    /// Lines printed under the row (the reasons).
    pub notes: Vec<String>,
}

/// Renders the table of `verdicts` over `checks`.
pub fn render(verdicts: &[TargetVerdict], checks: &[CheckId]) -> String {
    let columns: Vec<Column<'_>> = checks
        .iter()
        .map(|id| Column {
            area: id.area(),
            key: id.as_str(),
            title: id.info().title_en,
        })
        .collect();
    let order = grouped_order(&columns);
    let rows: Vec<Row> = verdicts
        .iter()
        .map(|verdict| row(verdict, &order.iter().map(|index| checks[*index]).collect::<Vec<_>>()))
        .collect();
    let columns: Vec<Column<'_>> = order.iter().map(|index| columns[*index].clone()).collect();
    let mut out = table(&columns, &rows);
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

/// Column indexes sorted by area, keeping the given order within an area.
fn grouped_order(columns: &[Column<'_>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|index| columns[*index].area);
    order
}

fn row(verdict: &TargetVerdict, checks: &[CheckId]) -> Row {
    let result = if verdict.passed {
        "PASS".to_string()
    } else {
        format!("FAIL ({} required failing)", verdict.blocking().count())
    };
    let notes = verdict
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .map(|check| {
            let required = if verdict.required.contains(&check.id) {
                ""
            } else {
                " (not required)"
            };
            format!(
                "      {} {:<18} {}{}",
                mark(check.status),
                check.id.as_str(),
                check.reason.en,
                required
            )
        })
        .collect();
    Row {
        passed: verdict.passed,
        target: verdict.target.clone(),
        result,
        marks: checks
            .iter()
            .map(|id| verdict.status_of(*id).map(mark).unwrap_or(' '))
            .collect(),
        notes,
    }
}

/// A run of consecutive columns of one area inside a block.
struct Group {
    area: Area,
    /// Indexes into the table's columns.
    columns: std::ops::Range<usize>,
}

impl Group {
    /// Wide enough for its cells and for its label.
    fn width(&self) -> usize {
        (self.columns.len() * CELL).max(self.area.label().len())
    }
}

/// Lays out `columns` (already grouped by area) and writes the legend, the header and the rows.
pub fn table(columns: &[Column<'_>], rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Checks:");
    let mut last_area = None;
    for (index, column) in columns.iter().enumerate() {
        let area = if last_area == Some(column.area) {
            ""
        } else {
            column.area.label()
        };
        last_area = Some(column.area);
        let _ = writeln!(out, "  {area:<8} {:>2} {:<22} {}", index + 1, column.key, column.title);
    }
    let _ = writeln!(out);
    let target_width = rows
        .iter()
        .map(|row| row.target.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(TARGET_WIDTH.0, TARGET_WIDTH.1);
    let result_width = rows.iter().map(|row| row.result.chars().count()).max().unwrap_or(4);
    let prefix = 2 + target_width + 2;
    // The first line of a row also carries the result after two spaces.
    let room = MAX_WIDTH.saturating_sub(prefix + 2 + result_width).max(CELL);
    let blocks = fold(columns, room);
    let blank = " ".repeat(prefix);
    for (number, block) in blocks.iter().enumerate() {
        let mut labels = blank.clone();
        let mut numbers = if number == 0 {
            format!("  {:<target_width$}  ", "TARGET")
        } else {
            blank.clone()
        };
        for (position, group) in block.iter().enumerate() {
            if position > 0 {
                labels.push_str(&" ".repeat(GROUP_GAP));
                numbers.push_str(&" ".repeat(GROUP_GAP));
            }
            let width = group.width();
            let _ = write!(labels, "{:<width$}", group.area.label());
            let cells: String = group
                .columns
                .clone()
                .map(|index| format!("{:>CELL$}", index + 1))
                .collect();
            let _ = write!(numbers, "{cells:<width$}");
        }
        if number == 0 {
            numbers.push_str("  RESULT");
        }
        let _ = writeln!(out, "{}", labels.trim_end());
        let _ = writeln!(out, "{}", numbers.trim_end());
    }
    for row in rows {
        for (number, block) in blocks.iter().enumerate() {
            let mut line = if number == 0 {
                format!(
                    "{} {:<target_width$}  ",
                    if row.passed { '✓' } else { '✗' },
                    truncate(&row.target, target_width)
                )
            } else {
                blank.clone()
            };
            for (position, group) in block.iter().enumerate() {
                if position > 0 {
                    line.push_str(&" ".repeat(GROUP_GAP));
                }
                let cells: String = group
                    .columns
                    .clone()
                    .map(|index| format!("{:>CELL$}", row.marks.get(index).copied().unwrap_or(' ')))
                    .collect();
                let width = group.width();
                let _ = write!(line, "{cells:<width$}");
            }
            if number == 0 {
                let _ = write!(line, "  {}", row.result);
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        for note in &row.notes {
            let _ = writeln!(out, "{note}");
        }
    }
    out
}

/// Splits the columns into blocks no wider than `room`: whole groups while they fit, a group
/// wider than a block split across blocks.
fn fold(columns: &[Column<'_>], room: usize) -> Vec<Vec<Group>> {
    let per_block = (room / CELL).max(1);
    let mut blocks: Vec<Vec<Group>> = Vec::new();
    let mut current: Vec<Group> = Vec::new();
    let mut used = 0;
    let mut start = 0;
    while start < columns.len() {
        let area = columns[start].area;
        let end = (start..columns.len())
            .find(|index| columns[*index].area != area)
            .unwrap_or(columns.len());
        let gap = if current.is_empty() { 0 } else { GROUP_GAP };
        let left = room.saturating_sub(used + gap);
        let whole = Group {
            area,
            columns: start..end,
        };
        if whole.width() <= left {
            used += gap + whole.width();
            current.push(whole);
            start = end;
            continue;
        }
        // The rest of the group does not fit here: start a new block, or, in an empty block,
        // take as many of its columns as fit.
        if !current.is_empty() {
            blocks.push(std::mem::take(&mut current));
            used = 0;
            continue;
        }
        let take = per_block.min(end - start);
        current.push(Group {
            area,
            columns: start..start + take,
        });
        blocks.push(std::mem::take(&mut current));
        start += take;
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 36 checks over every area, as the catalogue will have them.
    fn synthetic_columns() -> Vec<(Area, String)> {
        let per_area = [
            (Area::Dns, 5),
            (Area::Ipv6, 7),
            (Area::Tls, 10),
            (Area::Http, 3),
            (Area::Security, 3),
            (Area::Mail, 6),
            (Area::Content, 1),
            (Area::Routing, 1),
        ];
        per_area
            .iter()
            .flat_map(|(area, count)| (1..=*count).map(move |n| (*area, format!("{}.check{n}", area.label()))))
            .collect()
    }

    fn render_synthetic(target: &str) -> (String, usize) {
        let specs = synthetic_columns();
        let columns: Vec<Column<'_>> = specs
            .iter()
            .map(|(area, key)| Column {
                area: *area,
                key,
                title: "A synthetic check",
            })
            .collect();
        let marks = ['✓', '✗', '!', '~', '-'];
        let rows = vec![Row {
            passed: false,
            target: target.into(),
            result: "FAIL (12 required failing)".into(),
            marks: (0..columns.len()).map(|index| marks[index % marks.len()]).collect(),
            notes: vec!["      ✗ tls.check3          expired 3 day(s) ago".into()],
        }];
        (table(&columns, &rows), columns.len())
    }

    #[test]
    fn thirty_six_checks_fold_into_lines_of_at_most_120_columns() {
        let long_target = "https://cổng-thông-tin-điện-tử.sở-khoa-học-và-công-nghệ.haiduong.gov.vn/dich-vu-cong/";
        for target in ["a.gov.vn", long_target] {
            let (out, count) = render_synthetic(target);
            assert_eq!(count, 36);
            for line in out.lines().filter(|line| !line.starts_with("      ")) {
                assert!(
                    line.chars().count() <= MAX_WIDTH,
                    "{} columns: {line}",
                    line.chars().count()
                );
            }
            // Every area is named in a header line, every check number and every mark shows.
            for area in Area::ALL {
                assert!(out.contains(area.label()), "{} missing:\n{out}", area.label());
            }
            for number in 1..=36 {
                assert!(out.contains(&format!("{number:>3}")), "{number} missing:\n{out}");
            }
            let marks: usize = out
                .lines()
                .skip_while(|line| !line.starts_with('✗'))
                .take_while(|line| !line.starts_with("      ✗ tls"))
                .enumerate()
                .map(|(index, line)| {
                    let cells = if index == 0 {
                        &line[line.find("  ").unwrap_or(0)..]
                    } else {
                        line
                    };
                    cells.chars().filter(|c| "✓✗!~-".contains(*c)).count()
                })
                .sum();
            assert_eq!(marks, 36, "one mark per check:\n{out}");
            assert!(
                out.contains("expired 3 day(s) ago"),
                "the reason stays under the target"
            );
            assert!(out.lines().filter(|line| line.contains("RESULT")).count() == 1);
        }
        let (out, _) = render_synthetic("a.gov.vn");
        let table: Vec<&str> = out.lines().skip_while(|line| !line.is_empty()).collect();
        let header_blocks = table.iter().filter(|line| line.trim_start().starts_with("DNS")).count();
        assert_eq!(header_blocks, 1, "DNS heads one block:\n{out}");
        let row_lines = table
            .iter()
            .skip_while(|line| !line.starts_with('✗'))
            .take_while(|line| !line.starts_with("      ✗ tls"))
            .count();
        assert!(row_lines >= 2, "the row folds over several lines:\n{out}");
    }

    #[test]
    fn columns_are_grouped_by_area_in_the_given_order() {
        let columns = [
            Column {
                area: Area::Tls,
                key: "tls.valid",
                title: "",
            },
            Column {
                area: Area::Dns,
                key: "dns.resolves",
                title: "",
            },
            Column {
                area: Area::Tls,
                key: "tls.expiry",
                title: "",
            },
        ];
        assert_eq!(grouped_order(&columns), vec![1, 0, 2]);
    }

    #[test]
    fn a_group_wider_than_a_block_is_split() {
        let columns: Vec<Column<'_>> = (0..50)
            .map(|_| Column {
                area: Area::Tls,
                key: "tls.x",
                title: "",
            })
            .collect();
        let blocks = fold(&columns, 30);
        assert!(blocks.len() >= 5);
        let covered: usize = blocks.iter().flatten().map(|group| group.columns.len()).sum();
        assert_eq!(covered, 50);
        assert!(blocks
            .iter()
            .all(|block| block.iter().map(Group::width).sum::<usize>() <= 30));
    }
}
