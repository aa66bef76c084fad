//! Sweep outputs (`check --format jsonl`) as a report's input: the files are read once, line
//! by line, into a spool on disk (SQLite, one row per normalised URL, the latest audit kept),
//! and the report reads the spool in URL order. Memory stays flat however many targets the
//! files hold, and three shard files give the same report as one unsharded run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::{CheckId, CheckResult};
use crate::model::target::Category;

/// What a report needs of one sweep record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepSite {
    pub target: String,
    pub url: String,
    pub host: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub agency: Option<String>,
    #[serde(default)]
    pub district: Option<String>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub category: Category,
    pub checks: Vec<CheckResult>,
    #[serde(default)]
    pub required: Vec<CheckId>,
    #[serde(default)]
    pub passed: bool,
    #[serde(default)]
    pub compliance_ratio: f64,
    #[serde(default)]
    pub audited_at: f64,
    /// The origin AS of the site's first routed address (`routing.rpki` data), if known.
    #[serde(default)]
    pub origin_asn: Option<u32>,
}

/// A sweep line as read: the record and the part of its observations reports use.
#[derive(Deserialize)]
struct SweepLine {
    #[serde(flatten)]
    site: SweepSite,
    #[serde(default)]
    observations: Option<ObservedRouting>,
}

#[derive(Deserialize)]
struct ObservedRouting {
    #[serde(default)]
    routing: Option<RoutingPart>,
}

#[derive(Deserialize)]
struct RoutingPart {
    #[serde(default)]
    addresses: Vec<AddressPart>,
}

#[derive(Deserialize)]
struct AddressPart {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    routes: Vec<RoutePart>,
}

#[derive(Deserialize)]
struct RoutePart {
    origin: u32,
}

/// Why sweep files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SweepInputError {
    #[error("{pattern}: no file matches")]
    NoMatch { pattern: String },
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the report's spool: {0}")]
    Spool(#[from] rusqlite::Error),
}

/// The files a `--from` argument names: the path itself, or the files of its directory whose
/// names match its last component's `*` and `?` (quoted globs, as a Job's command passes them).
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>, SweepInputError> {
    let path = Path::new(pattern);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return Ok(vec![path.to_path_buf()]);
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let entries = std::fs::read_dir(&dir).map_err(|source| SweepInputError::Io {
        file: dir.display().to_string(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| glob_match(&name, &entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SweepInputError::NoMatch {
            pattern: pattern.to_string(),
        });
    }
    Ok(files)
}

/// `*` any run of characters, `?` one character.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(at) = star {
            pi = at + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Sweep records by normalised URL, on disk.
pub struct Spool {
    db: rusqlite::Connection,
    /// Lines that were not sweep records (a torn last line, a foreign file).
    pub unreadable: usize,
    pub lines: usize,
}

/// Rows inserted per transaction.
const BATCH: usize = 5_000;

impl Spool {
    /// An empty spool: SQLite's private temporary database, on disk and deleted on close.
    pub fn new() -> Result<Spool, SweepInputError> {
        let db = rusqlite::Connection::open("")?;
        db.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -8000;
             CREATE TABLE sites (url TEXT PRIMARY KEY, audited_at REAL NOT NULL, record BLOB NOT NULL);",
        )?;
        Ok(Spool {
            db,
            unreadable: 0,
            lines: 0,
        })
    }

    /// Reads every line of `file`; a record for a URL already held replaces it only when
    /// audited later.
    pub fn read_file(&mut self, file: &Path) -> Result<(), SweepInputError> {
        use std::io::BufRead;
        let io = |source| SweepInputError::Io {
            file: file.display().to_string(),
            source,
        };
        let reader = std::io::BufReader::new(std::fs::File::open(file).map_err(io)?);
        let mut transaction = self.db.transaction()?;
        let mut in_batch = 0;
        for line in reader.split(b'\n') {
            let line = line.map_err(io)?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.lines += 1;
            let Some(site) = parse_line(&line) else {
                self.unreadable += 1;
                continue;
            };
            let record = serde_json::to_vec(&site).map_err(|err| io(std::io::Error::other(err)))?;
            transaction.execute(
                "INSERT INTO sites (url, audited_at, record) VALUES (?1, ?2, ?3)
                 ON CONFLICT (url) DO UPDATE SET audited_at = excluded.audited_at, record = excluded.record
                 WHERE excluded.audited_at > sites.audited_at",
                rusqlite::params![site.url, site.audited_at, record],
            )?;
            in_batch += 1;
            if in_batch == BATCH {
                transaction.commit()?;
                transaction = self.db.transaction()?;
                in_batch = 0;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Every site once, in URL order; `visit` sees each in turn.
    pub fn each(&self, mut visit: impl FnMut(SweepSite)) -> Result<(), SweepInputError> {
        let mut statement = self.db.prepare("SELECT record FROM sites ORDER BY url")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(0)?;
            if let Ok(site) = serde_json::from_slice::<SweepSite>(&bytes) {
                visit(site);
            }
        }
        Ok(())
    }

    /// The latest audit time among the sites (the report's "generated at").
    pub fn latest_audit(&self) -> Result<Option<f64>, SweepInputError> {
        Ok(self
            .db
            .query_row("SELECT MAX(audited_at) FROM sites", [], |row| row.get(0))?)
    }
}

fn parse_line(line: &[u8]) -> Option<SweepSite> {
    let parsed: SweepLine = serde_json::from_slice(line).ok()?;
    let mut site = parsed.site;
    site.checks.iter_mut().for_each(CheckResult::keep_exported_observations);
    if site.origin_asn.is_none() {
        site.origin_asn = parsed.observations.and_then(|o| o.routing).and_then(|routing| {
            routing
                .addresses
                .into_iter()
                .filter(|address| address.roles.iter().any(|role| role == "site"))
                .find_map(|address| address.routes.first().map(|route| route.origin))
        });
    }
    Some(site)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names() {
        assert!(glob_match("shard-*.jsonl", "shard-0.jsonl"));
        assert!(glob_match("shard-?.jsonl", "shard-7.jsonl"));
        assert!(!glob_match("shard-?.jsonl", "shard-10.jsonl"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("*.jsonl", "out.json"));
    }

    #[test]
    fn the_spool_keeps_one_row_per_url_the_latest_audit() {
        let dir = std::env::temp_dir().join(format!("vnready-spool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let line = |url: &str, at: f64, passed: bool| {
            format!(
                "{{\"target\":\"{url}\",\"url\":\"{url}\",\"host\":\"h\",\"category\":\"education\",\"checks\":[],\"passed\":{passed},\"audited_at\":{at},\
                 \"observations\":{{\"routing\":{{\"addresses\":[{{\"roles\":[\"name server ns1\"],\"origin\":\"routes\",\"routes\":[{{\"origin\":1}}]}},\
                 {{\"roles\":[\"site\"],\"origin\":\"routes\",\"routes\":[{{\"origin\":64500}}]}}]}}}}}}\n"
            )
        };
        std::fs::write(
            dir.join("a.jsonl"),
            line("https://b.vn/", 10.0, false) + &line("https://a.vn/", 10.0, true),
        )
        .unwrap();
        std::fs::write(
            dir.join("b.jsonl"),
            line("https://b.vn/", 20.0, true) + &line("https://a.vn/", 5.0, false) + "{\"torn",
        )
        .unwrap();
        let mut spool = Spool::new().unwrap();
        for file in expand(&format!("{}/*.jsonl", dir.display())).unwrap() {
            spool.read_file(&file).unwrap();
        }
        let mut seen = Vec::new();
        spool
            .each(|site| seen.push((site.url, site.passed, site.origin_asn)))
            .unwrap();
        assert_eq!(
            seen,
            vec![
                ("https://a.vn/".to_string(), true, Some(64500)),
                ("https://b.vn/".to_string(), true, Some(64500))
            ]
        );
        assert_eq!(spool.unreadable, 1);
        assert_eq!(spool.latest_audit().unwrap(), Some(20.0));
        assert!(matches!(expand("/nonexistent-dir/x.jsonl"), Ok(files) if files.len() == 1));
        assert!(expand(&format!("{}/*.csv", dir.display())).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
