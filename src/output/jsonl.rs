//! JSON lines for sweeps: one compact object per target, written whole with one `write` as the
//! target finishes, so a file cut short by `kill -9` or a pre-empted node loses at most the
//! line in flight, and `--resume` can tell what is done by reading the file back.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Seek, Write};
use std::path::Path;

use serde::Serialize;

use crate::audit::verdict::TargetVerdict;

/// One line: when the target was audited, then the verdict as `--format json` writes it.
#[derive(Serialize)]
struct SweepRecord<'a> {
    audited_at: f64,
    #[serde(flatten)]
    verdict: &'a TargetVerdict,
}

/// The line for one verdict, newline included.
pub fn line_for(verdict: &TargetVerdict, audited_at: f64) -> std::io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(&SweepRecord { audited_at, verdict }).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Targets already written, by normalised URL. A 64-bit hash per target: 650,000 names take
/// about ten megabytes instead of their text.
#[derive(Default)]
pub struct DoneSet {
    hashes: HashSet<u64>,
}

impl DoneSet {
    /// Records `url`; `false` when it was already there.
    pub fn insert(&mut self, url: &str) -> bool {
        self.hashes.insert(url_hash(url))
    }

    pub fn contains(&self, url: &str) -> bool {
        self.hashes.contains(&url_hash(url))
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

fn url_hash(url: &str) -> u64 {
    // SipHash with fixed keys: the set lives in one process, so stability across versions is
    // not needed, only across calls.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    url.hash(&mut hasher);
    hasher.finish()
}

/// What an earlier run left in the output file.
pub struct Recovered {
    pub done: DoneSet,
    /// Complete lines that are not a sweep record (left in place, counted for a warning).
    pub unreadable: usize,
    /// Bytes of a last line cut short, removed from the file.
    pub truncated_bytes: u64,
}

/// The part of a line resume reads; the rest of the object is skipped.
#[derive(serde::Deserialize)]
struct RecordUrl {
    url: String,
}

/// Reads the targets already in `path` and cuts off a last line without its newline (the
/// write a `kill -9` interrupted), so appending continues on a line boundary. A missing file
/// is an empty one.
pub fn recover(path: &Path) -> std::io::Result<Recovered> {
    let mut recovered = Recovered {
        done: DoneSet::default(),
        unreadable: 0,
        truncated_bytes: 0,
    };
    let file = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(recovered),
        Err(err) => return Err(err),
    };
    let mut reader = std::io::BufReader::new(&file);
    let mut line = Vec::new();
    let mut complete_until = 0u64;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            recovered.truncated_bytes = read as u64;
            break;
        }
        complete_until += read as u64;
        match serde_json::from_slice::<RecordUrl>(&line) {
            Ok(record) => {
                recovered.done.insert(&record.url);
            }
            Err(_) => recovered.unreadable += 1,
        }
    }
    drop(reader);
    if recovered.truncated_bytes > 0 {
        file.set_len(complete_until)?;
    }
    let mut file = file;
    file.seek(std::io::SeekFrom::End(0))?;
    file.flush()?;
    Ok(recovered)
}

/// Where lines go: a file opened for appending (each line one `write`), or standard output.
pub enum LineSink {
    File(std::fs::File),
    Stdout(std::io::Stdout),
}

impl LineSink {
    /// Opens `path` for appending (created if missing), or standard output for `None`.
    pub fn open(path: Option<&Path>, truncate: bool) -> std::io::Result<LineSink> {
        Ok(match path {
            Some(path) => {
                // A Job writes under a directory named after its run; make it on first use.
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.create(true);
                if truncate {
                    options.write(true).truncate(true);
                } else {
                    options.append(true);
                }
                LineSink::File(options.open(path)?)
            }
            None => LineSink::Stdout(std::io::stdout()),
        })
    }

    /// Writes one whole line. A file gets it in a single `write_all` on an unbuffered,
    /// append-mode descriptor, so no other line is ever interleaved with it.
    pub fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        match self {
            LineSink::File(file) => file.write_all(line),
            LineSink::Stdout(stdout) => {
                let mut out = stdout.lock();
                out.write_all(line)?;
                out.flush()
            }
        }
    }
}

impl Write for LineSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            LineSink::File(file) => file.write(bytes),
            LineSink::Stdout(stdout) => stdout.lock().write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            LineSink::File(file) => file.flush(),
            LineSink::Stdout(stdout) => stdout.lock().flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recover_reads_done_urls_and_cuts_a_torn_last_line() {
        let dir = std::env::temp_dir().join(format!("vnready-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        let torn = "{\"url\":\"https://c.gov.vn/\",\"checks\":[";
        std::fs::write(
            &path,
            format!("{{\"url\":\"https://a.gov.vn/\"}}\nnot json\n{{\"url\":\"https://b.gov.vn/\"}}\n{torn}"),
        )
        .unwrap();
        let recovered = recover(&path).unwrap();
        assert!(recovered.done.contains("https://a.gov.vn/"));
        assert!(recovered.done.contains("https://b.gov.vn/"));
        assert!(!recovered.done.contains("https://c.gov.vn/"));
        assert_eq!(recovered.done.len(), 2);
        assert_eq!(recovered.unreadable, 1);
        assert_eq!(recovered.truncated_bytes, torn.len() as u64);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("\"https://b.gov.vn/\"}\n"), "{text}");
        assert_eq!(recover(&dir.join("missing.jsonl")).unwrap().done.len(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
