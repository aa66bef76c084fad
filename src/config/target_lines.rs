//! The sweep's targets file: one URL or host name per line, optionally followed by
//! `key=value` fields (`province="Hải Phòng" category=education`), `#` comments and blank
//! lines ignored. Read a line at a time, so a national list of 650,000 names is never held.

use std::io::BufRead;

use super::error::ConfigError;
use crate::model::target::{Category, Target, TargetSettings, TargetUrl};

/// Fields a line may carry after its target.
const KEYS: &str = "province, category, agency, name, district";

/// Parses one line; `Ok(None)` for a blank or comment line. `line` is 1-based.
pub fn parse_line(file: &str, line: u64, text: &str) -> Result<Option<Target>, ConfigError> {
    let fail = |column: usize, message: String| ConfigError::Invalid {
        file: file.to_string(),
        line,
        column: column as u64 + 1,
        message,
    };
    let fields = split_fields(text).map_err(|(column, message)| fail(column, message))?;
    let Some((start, first)) = fields.first() else {
        return Ok(None);
    };
    let url = TargetUrl::parse(first).map_err(|message| fail(*start, message))?;
    let mut target = Target::from_url(url, TargetSettings::default());
    for (column, field) in &fields[1..] {
        let Some((key, value)) = field.split_once('=') else {
            return Err(fail(
                *column,
                format!("unexpected {field:?}: expected key=value with a key among {KEYS}"),
            ));
        };
        let value = Some(value.to_string()).filter(|v| !v.is_empty());
        match key {
            "province" => target.province = value,
            "agency" => target.agency = value,
            "name" => target.name = value,
            "district" => target.district = value,
            "category" => {
                let text = value.unwrap_or_default();
                let category = Category::parse(&text).ok_or_else(|| {
                    fail(
                        *column,
                        format!("unknown category {text:?}: expected state_portal, e_newspaper, general_info, education, health, e_commerce or other"),
                    )
                })?;
                target.set_category(category);
            }
            other => {
                return Err(fail(
                    *column,
                    format!("unknown field {other:?}: expected one of {KEYS}"),
                ))
            }
        }
    }
    Ok(Some(target))
}

/// The line's whitespace-separated fields with their starting columns (0-based, in
/// characters); a double-quoted span keeps its spaces; `#` outside quotes starts a comment.
fn split_fields(text: &str) -> Result<Vec<(usize, String)>, (usize, String)> {
    let mut fields = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut quoted_from: Option<usize> = None;
    for (column, ch) in text.chars().enumerate() {
        match ch {
            '"' => {
                quoted_from = match quoted_from {
                    Some(_) => None,
                    None => Some(column),
                };
                current.get_or_insert_with(|| (column, String::new()));
            }
            '#' if quoted_from.is_none() => break,
            c if c.is_whitespace() && quoted_from.is_none() => fields.extend(current.take()),
            c => current.get_or_insert_with(|| (column, String::new())).1.push(c),
        }
    }
    if let Some(column) = quoted_from {
        return Err((column, "unclosed quote: expected a closing \"".to_string()));
    }
    fields.extend(current);
    Ok(fields)
}

/// A targets file read lazily: each item is a target or the error of its line.
pub struct TargetLines<R> {
    reader: R,
    file: String,
    line: u64,
    buffer: String,
}

impl<R: BufRead> TargetLines<R> {
    /// `file` names the source in errors ("-" reads as "standard input").
    pub fn new(reader: R, file: &str) -> TargetLines<R> {
        TargetLines {
            reader,
            file: if file == "-" {
                "standard input".into()
            } else {
                file.to_string()
            },
            line: 0,
            buffer: String::new(),
        }
    }
}

impl<R: BufRead> Iterator for TargetLines<R> {
    type Item = Result<Target, ConfigError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buffer.clear();
            self.line += 1;
            match self.reader.read_line(&mut self.buffer) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(err) => {
                    return Some(Err(ConfigError::Io {
                        file: self.file.clone(),
                        source: err,
                    }))
                }
            }
            let text = self.buffer.trim_start_matches('\u{feff}');
            match parse_line(&self.file, self.line, text) {
                Ok(None) => continue,
                Ok(Some(target)) => return Some(Ok(target)),
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_fields_comments_and_blanks() {
        let text = "# national list\n\nhaiduong.gov.vn\nhttps://sgd.haiphong.edu.vn/ province=\"Hải Phòng\" category=education # school\n";
        let targets: Vec<Target> = TargetLines::new(text.as_bytes(), "list.txt")
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].url.as_str(), "https://haiduong.gov.vn/");
        assert_eq!(targets[1].province.as_deref(), Some("Hải Phòng"));
        assert_eq!(targets[1].category, Category::Education);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let text = "ok.gov.vn\nbad.gov.vn colour=blue\n";
        let errors: Vec<String> = TargetLines::new(text.as_bytes(), "list.txt")
            .filter_map(|item| item.err().map(|e| e.to_string()))
            .collect();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("list.txt:2:12: unknown field \"colour\""),
            "{}",
            errors[0]
        );
        let unclosed = parse_line("-", 7, "a.vn province=\"Hà Nội").unwrap_err().to_string();
        assert!(unclosed.starts_with("-:7:15: unclosed quote"), "{unclosed}");
        let bad_url = parse_line("f", 1, "  http://").unwrap_err().to_string();
        assert!(bad_url.starts_with("f:1:3: "), "{bad_url}");
    }
}
