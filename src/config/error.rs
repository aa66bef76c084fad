//! Config errors that name the file, line and column, in the `file:line:col:` form editors
//! understand, pointing at the key or value the user has to fix.

/// Why a config could not be used. Every variant names the file so a reload error in a log is
/// actionable on its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed or does not match the schema.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// The YAML is malformed and the parser could not say where.
    #[error("{file}: {message}")]
    Unlocated { file: String, message: String },
}

/// A YAML or schema error from serde-saphyr as a [`ConfigError`] at the key or value to fix;
/// shared by every YAML file vnready reads (targets.yaml, the web config).
pub fn yaml_error(file: &str, text: &str, err: &serde_saphyr::Error) -> ConfigError {
    let message = clean_message(&err.to_string());
    match err.location() {
        Some(location) => {
            let (line, column) = refine_unknown_field(text, &message, location.line(), location.column());
            ConfigError::Invalid {
                file: file.to_string(),
                line,
                column,
                message,
            }
        }
        None => ConfigError::Unlocated {
            file: file.to_string(),
            message,
        },
    }
}

/// serde-saphyr's display can carry its own "at line X column Y" and a source snippet; we
/// print the position ourselves in the `file:line:col:` form editors understand.
fn clean_message(display: &str) -> String {
    let first_line = display.lines().next().unwrap_or(display).trim();
    let without_position = match first_line.find(" at line ") {
        Some(index) => &first_line[..index],
        None => first_line,
    };
    let without_prefix = without_position.strip_prefix("error: ").unwrap_or(without_position);
    let without_prefix = match without_prefix.find(", expected invalid ") {
        Some(index) => &without_prefix[index + ", expected ".len()..],
        None => without_prefix,
    };
    // "line 2 column 5: unknown field" → "unknown field"
    let without_leading_position = match without_prefix.strip_prefix("line ") {
        Some(rest) => rest
            .split_once(": ")
            .map(|(_, message)| message)
            .unwrap_or(without_prefix),
        None => without_prefix,
    };
    without_leading_position.trim().to_string()
}

/// The parser reports an unknown field at the start of its mapping; point at the key itself,
/// which is what the user has to fix.
fn refine_unknown_field(text: &str, message: &str, line: u64, column: u64) -> (u64, u64) {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return refine_bad_value(text, message, line, column);
    };
    let Some(field) = rest.split('`').next() else {
        return (line, column);
    };
    let indent = column.saturating_sub(1) as usize;
    for (index, text_line) in text.lines().enumerate().skip(line.saturating_sub(1) as usize) {
        let leading = text_line.len() - text_line.trim_start_matches([' ', '-']).len();
        let key = text_line.trim_start_matches([' ', '-']);
        if index + 1 > line as usize && leading < indent && !key.is_empty() && !key.starts_with('#') {
            break;
        }
        if leading == indent && (key.starts_with(&format!("{field}:")) || key.starts_with(&format!("\"{field}\":"))) {
            return (index as u64 + 1, leading as u64 + 1);
        }
    }
    (line, column)
}

/// Our own value errors quote the offending text (`invalid duration "soon": ..`), but the
/// parser can only place them at the enclosing mapping; find the value itself from there.
fn refine_bad_value(text: &str, message: &str, line: u64, column: u64) -> (u64, u64) {
    let Some(quoted) = message.split('"').nth(1).filter(|value| !value.is_empty()) else {
        return (line, column);
    };
    for (index, text_line) in text.lines().enumerate().skip(line.saturating_sub(1) as usize) {
        if let Some(position) = text_line.find(quoted) {
            return (index as u64 + 1, position as u64 + 1);
        }
    }
    (line, column)
}

/// A YAML file being read: its name for messages and its folder for relative paths. Shared
/// by every YAML file vnready reads, so all of them report errors the same way.
pub struct SourceFile<'a> {
    pub file: &'a str,
    pub base_dir: &'a std::path::Path,
}

impl SourceFile<'_> {
    /// An error at the position of a `Spanned` value.
    pub fn at(&self, location: serde_saphyr::Location, message: String) -> ConfigError {
        located(self.file, location, message)
    }

    /// An error about the file as a whole (a rule between two keys).
    pub fn unlocated(&self, message: &str) -> ConfigError {
        ConfigError::Unlocated {
            file: self.file.to_string(),
            message: message.to_string(),
        }
    }

    /// A path from the file, relative to the file's folder unless absolute.
    pub fn absolute(&self, path: &std::path::Path) -> std::path::PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// An error at a position the parser recorded (a `Spanned` value).
pub fn located(file: &str, location: serde_saphyr::Location, message: String) -> ConfigError {
    ConfigError::Invalid {
        file: file.to_string(),
        line: location.line(),
        column: location.column(),
        message,
    }
}
