//! The exposition text of the per-target families, written by hand: a scrape of 10,000 targets
//! is half a million lines, and building a label vector per sample (as a generic encoder must)
//! made it take seconds. Sample lines are the same in the text format and OpenMetrics; only the
//! family headers differ.

use std::fmt::Write;

use super::exposition::Exposition;

/// How a family is typed in the exposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    /// Value always 1; OpenMetrics types the family `info` and drops the `_info` suffix.
    Info,
}

/// One metric family: the sample name (with its `_seconds` or `_info` suffix), help and type.
#[derive(Debug)]
pub struct FamilyDef {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// OpenMetrics `# UNIT`; the name already ends with it.
    pub unit: Option<&'static str>,
}

impl FamilyDef {
    pub const fn gauge(name: &'static str, help: &'static str) -> FamilyDef {
        FamilyDef {
            name,
            help,
            kind: Kind::Gauge,
            unit: None,
        }
    }

    pub const fn seconds(name: &'static str, help: &'static str) -> FamilyDef {
        FamilyDef {
            name,
            help,
            kind: Kind::Gauge,
            unit: Some("seconds"),
        }
    }

    pub const fn info(name: &'static str, help: &'static str) -> FamilyDef {
        FamilyDef {
            name,
            help,
            kind: Kind::Info,
            unit: None,
        }
    }

    /// `# HELP` and `# TYPE` (and OpenMetrics' `# UNIT`) lines of the family.
    pub fn write_header(&self, out: &mut String, format: Exposition) {
        let (family, type_name) = match (format, self.kind) {
            (Exposition::OpenMetrics, Kind::Info) => (self.name.strip_suffix("_info").unwrap_or(self.name), "info"),
            _ => (self.name, "gauge"),
        };
        out.push_str("# HELP ");
        out.push_str(family);
        out.push(' ');
        escape(out, self.help);
        out.push_str("\n# TYPE ");
        out.push_str(family);
        out.push(' ');
        out.push_str(type_name);
        out.push('\n');
        if let (Exposition::OpenMetrics, Some(unit)) = (format, self.unit) {
            let _ = writeln!(out, "# UNIT {family} {unit}");
        }
    }
}

/// Appends one sample line: `name{target="…",label="value",...} value`. The target label,
/// first on every per-target line, comes escaped already ([`escaped`]): a scrape escapes each
/// target once instead of once per line.
pub fn write_sample(out: &mut String, name: &str, target_escaped: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    out.push_str("{target=\"");
    write_rest(out, target_escaped, labels, value, true);
}

/// The opening `name{target="` of every per-target line of one family, built once a scrape.
pub fn line_prefix(name: &str) -> String {
    format!("{name}{{target=\"")
}

/// [`write_sample`] after a [`line_prefix`]. `escape_values` is false only for labels whose
/// values are the program's own words (check ids, families, phases): most lines carry only such
/// labels, and scanning them for escapes was a twentieth of a scrape.
pub fn write_prefixed(
    out: &mut String,
    prefix: &str,
    target_escaped: &str,
    labels: &[(&str, &str)],
    value: f64,
    escape_values: bool,
) {
    debug_assert!(
        escape_values || labels.iter().all(|(_, v)| escaped(v) == *v),
        "{labels:?}"
    );
    out.push_str(prefix);
    write_rest(out, target_escaped, labels, value, escape_values);
}

/// The fixed text after the target of a line whose other labels never change:
/// `",label="value"} `, built once and written with [`write_with_tail`].
pub fn label_tail(labels: &[(&str, &'static str)]) -> String {
    let mut tail = String::from("\"");
    for (label, value) in labels {
        debug_assert!(escaped(value) == *value, "{value}");
        tail.push_str(&format!(",{label}=\"{value}\""));
    }
    tail.push_str("} ");
    tail
}

/// A line from its [`line_prefix`], the target and a [`label_tail`]: half of a scrape's lines
/// (one per check and site) are written this way.
pub fn write_with_tail(out: &mut String, prefix: &str, target_escaped: &str, tail: &str, value: f64) {
    out.push_str(prefix);
    out.push_str(target_escaped);
    out.push_str(tail);
    write_value(out, value);
    out.push('\n');
}

fn write_rest(out: &mut String, target_escaped: &str, labels: &[(&str, &str)], value: f64, escape_values: bool) {
    out.push_str(target_escaped);
    out.push('"');
    for (label, label_value) in labels {
        out.push(',');
        out.push_str(label);
        out.push_str("=\"");
        if escape_values {
            escape(out, label_value);
        } else {
            out.push_str(label_value);
        }
        out.push('"');
    }
    out.push_str("} ");
    write_value(out, value);
    out.push('\n');
}

/// A label value as the exposition writes it, borrowed when nothing needs escaping.
pub fn escaped(value: &str) -> std::borrow::Cow<'_, str> {
    if value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        let mut out = String::with_capacity(value.len() + 8);
        escape(&mut out, value);
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// Numbers as both formats read them (`+Inf`, `NaN`; integers without a fraction).
fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        // Counts, codes, flags and whole seconds: written digit by digit, several times faster
        // than the formatter (most samples of a scrape are a check status, 0 to 3).
        write_integer(out, value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

fn write_integer(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    let mut rest = value.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        out.push(char::from(digit));
    }
}

/// Label values come from targets files and servers (certificate subjects): escape `\`, `"`
/// and newlines so no value can end the line or forge a label. Help texts get the same.
fn escape(out: &mut String, value: &str) {
    let mut rest = value;
    // The three bytes are ASCII, so every split below falls on a character boundary.
    while let Some(at) = rest.bytes().position(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_cannot_break_the_line_or_forge_labels() {
        let mut out = String::new();
        write_sample(
            &mut out,
            "vnready_tls_cert_info",
            &escaped("a\"b"),
            &[("subject", "CN=x\",evil=\"1\nvnready_fake 1\\")],
            1.0,
        );
        assert_eq!(
            out,
            "vnready_tls_cert_info{target=\"a\\\"b\",subject=\"CN=x\\\",evil=\\\"1\\nvnready_fake 1\\\\\"} 1\n"
        );
        assert_eq!(out.lines().count(), 1);
    }

    #[test]
    fn values_are_written_as_prometheus_reads_them() {
        let mut out = String::new();
        for value in [1_700_000_000.0, 0.25, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.5] {
            write_sample(&mut out, "x", "a", &[], value);
        }
        assert_eq!(
            out,
            "x{target=\"a\"} 1700000000\nx{target=\"a\"} 0.25\nx{target=\"a\"} NaN\nx{target=\"a\"} +Inf\nx{target=\"a\"} -Inf\nx{target=\"a\"} -0.5\n"
        );
        for value in [0.0, 3.0, 10.0, 404.0, -7.0, -0.0, 999_999_999_999_999.0] {
            let mut digits = String::new();
            write_value(&mut digits, value);
            assert_eq!(digits, format!("{}", value as i64), "{value}");
        }
    }

    #[test]
    fn headers_follow_each_format() {
        let info = FamilyDef::info("vnready_target_info", "Who owns it");
        let seconds = FamilyDef::seconds("vnready_http_duration_seconds", "Per phase");
        let mut text = String::new();
        info.write_header(&mut text, Exposition::Text);
        seconds.write_header(&mut text, Exposition::Text);
        assert_eq!(
            text,
            "# HELP vnready_target_info Who owns it\n# TYPE vnready_target_info gauge\n\
             # HELP vnready_http_duration_seconds Per phase\n# TYPE vnready_http_duration_seconds gauge\n"
        );
        let mut open = String::new();
        info.write_header(&mut open, Exposition::OpenMetrics);
        seconds.write_header(&mut open, Exposition::OpenMetrics);
        assert_eq!(
            open,
            "# HELP vnready_target Who owns it\n# TYPE vnready_target info\n\
             # HELP vnready_http_duration_seconds Per phase\n# TYPE vnready_http_duration_seconds gauge\n\
             # UNIT vnready_http_duration_seconds seconds\n"
        );
    }

    #[test]
    fn prefixed_and_tailed_lines_are_the_lines_write_sample_writes() {
        let labels = [("check", "dns.resolves"), ("requirement", "required")];
        let mut plain = String::new();
        write_sample(&mut plain, "m", "https://a.gov.vn/", &labels, 2.0);
        let prefix = line_prefix("m");
        let mut prefixed = String::new();
        write_prefixed(&mut prefixed, &prefix, "https://a.gov.vn/", &labels, 2.0, false);
        let mut tailed = String::new();
        write_with_tail(&mut tailed, &prefix, "https://a.gov.vn/", &label_tail(&labels), 2.0);
        assert_eq!(
            plain,
            "m{target=\"https://a.gov.vn/\",check=\"dns.resolves\",requirement=\"required\"} 2\n"
        );
        assert_eq!(prefixed, plain);
        assert_eq!(tailed, plain);
    }
}
