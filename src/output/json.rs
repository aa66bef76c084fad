//! Machine-readable output: `{"targets":[{"target", "host", "checks":[{"id","status","reason",..}],
//! "addresses":[..], ..}], "summary": {..}}`.

use std::io::Write;

use crate::audit::verdict::TargetVerdict;
use crate::checks::CheckId;
use crate::model::clock::{rfc3339, unix_seconds};

/// The whole document at once (for callers that already hold every verdict).
pub fn render(verdicts: &[TargetVerdict], checks: &[CheckId]) -> String {
    let written = JsonStream::begin(Vec::new(), checks).and_then(|mut stream| {
        for verdict in verdicts {
            stream.push(verdict)?;
        }
        stream.finish()
    });
    match written {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => serde_json::json!({ "error": err.to_string() }).to_string(),
    }
}

/// Writes the document one target at a time, so `check` over ten thousand sites holds one
/// verdict at a time rather than all of them and their JSON tree.
pub struct JsonStream<W: Write> {
    out: W,
    targets: usize,
    passed: usize,
}

impl<W: Write> JsonStream<W> {
    /// Writes the header and opens the `targets` array.
    pub fn begin(mut out: W, checks: &[CheckId]) -> std::io::Result<JsonStream<W>> {
        let checks = serde_json::to_string(checks).map_err(std::io::Error::other)?;
        write!(
            out,
            "{{\n  \"vnready_version\": \"{}\",\n  \"generated_at\": \"{}\",\n  \"checks\": {checks},\n  \"targets\": [",
            env!("CARGO_PKG_VERSION"),
            rfc3339(unix_seconds())
        )?;
        Ok(JsonStream {
            out,
            targets: 0,
            passed: 0,
        })
    }

    /// Appends one target.
    pub fn push(&mut self, verdict: &TargetVerdict) -> std::io::Result<()> {
        if self.targets > 0 {
            self.out.write_all(b",")?;
        }
        // One target per line, compact: `grep` finds a site's line and `jq` reads the whole;
        // pretty-printing doubled the bytes and cost a tenth of a full audit's CPU.
        self.out.write_all(b"\n    ")?;
        serde_json::to_writer(&mut self.out, verdict).map_err(std::io::Error::other)?;
        self.targets += 1;
        self.passed += usize::from(verdict.passed);
        Ok(())
    }

    /// Closes the array, writes the summary and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        write!(
            self.out,
            "\n  ],\n  \"summary\": {{ \"targets\": {}, \"passed\": {}, \"failed\": {} }}\n}}\n",
            self.targets,
            self.passed,
            self.targets - self.passed
        )?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::fixtures::verdict_with;
    use crate::checks::Status;

    #[test]
    fn streamed_document_is_one_valid_json_object() {
        let verdicts = [
            verdict_with(&[(CheckId::Ipv6Aaaa, Status::Pass)]),
            verdict_with(&[(CheckId::Ipv6Aaaa, Status::Fail)]),
        ];
        let text = render(&verdicts, &[CheckId::Ipv6Aaaa]);
        let document: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(document["targets"].as_array().map(Vec::len), Some(2));
        assert_eq!(document["summary"]["passed"], 1);
        assert_eq!(document["summary"]["failed"], 1);
        assert_eq!(document["checks"][0], "ipv6.aaaa");
        let target_lines: Vec<&str> = text.lines().filter(|line| line.contains("\"checks\":[{")).collect();
        assert_eq!(target_lines.len(), 2, "one line per target:\n{text}");
        let empty: serde_json::Value = serde_json::from_str(&render(&[], &[])).expect("valid JSON");
        assert_eq!(empty["summary"]["targets"], 0);
    }
}
