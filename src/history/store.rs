//! The persistent history: every check's status transitions, its current state with "since", the watched
//! facts, and the latest full verdict per target. The daemon talks to a [`HistoryStore`]
//! through a [`StoreWriter`] thread, so a slow or full disk never stalls probing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OptionalExtension};

use crate::checks::{CheckId, Reason, Status};
use crate::history::uptime::{self, Coverage, FamilyObservation, Gap, Outage};
use crate::history::{CheckState, CheckStates, Transition, WatchedFacts};
use crate::probe::addr::IpFamily;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The disk (or the database's size limit) is full; nothing of this write was kept.
    #[error("history store is full: {0}")]
    Full(String),
    /// Any other SQLite failure: permissions, corruption, a locked file.
    #[error("history store {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    /// A row that does not decode (written by a newer version, or edited by hand).
    #[error("history store {path}: unreadable row: {message}")]
    BadRow { path: String, message: String },
}

impl StoreError {
    /// A bounded label for the `reason` of the store error metric.
    pub fn as_metrics_label(&self) -> &'static str {
        match self {
            StoreError::Full(_) => "full",
            StoreError::Sqlite { .. } => "sqlite",
            StoreError::BadRow { .. } => "bad_row",
        }
    }
}

/// Everything the daemon needs back after a restart.
#[derive(Clone, Debug, Default)]
pub struct StoredHistory {
    pub checks: HashMap<String, CheckStates>,
    pub facts: HashMap<String, WatchedFacts>,
}

/// One check's state row with the reason that goes with it.
#[derive(Clone, Debug)]
pub struct StateRow {
    pub check: CheckId,
    pub state: CheckState,
    pub reason: Reason,
}

/// What one audit adds to the history; written atomically.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub target: String,
    pub audited_at: f64,
    pub states: Vec<StateRow>,
    pub transitions: Vec<Transition>,
    pub facts: WatchedFacts,
    /// The whole verdict as JSON, for reports and per-site pages.
    pub verdict_json: String,
    /// Each family's state in this audit, for availability and outages.
    pub availability: Vec<FamilyObservation>,
}

/// A transition as stored: ids and statuses as text, so rows from newer versions still read.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTransition {
    pub check: String,
    pub from: Option<String>,
    pub to: String,
    pub at: f64,
    pub reason: Reason,
}

/// Where history lives. The daemon only needs these two operations; reports add readers.
pub trait HistoryStore: Send {
    /// Reads every target's check states and facts.
    fn load(&mut self) -> Result<StoredHistory, StoreError>;
    /// Writes one audit, all or nothing.
    fn record(&mut self, record: &AuditRecord) -> Result<(), StoreError>;
}

/// A store that keeps nothing, for `--storage.path ""` and one-shot runs.
#[derive(Debug, Default)]
pub struct NullStore;

impl HistoryStore for NullStore {
    fn load(&mut self) -> Result<StoredHistory, StoreError> {
        Ok(StoredHistory::default())
    }

    fn record(&mut self, _record: &AuditRecord) -> Result<(), StoreError> {
        Ok(())
    }
}

/// SQLite in WAL mode with synchronous=FULL: a `kill -9` or power cut at any moment leaves
/// either the whole audit or none of it.
pub struct SqliteStore {
    connection: Connection,
    path: PathBuf,
    /// Crash-test fault point ([`ABORT_BEFORE_COMMIT_ENV`]): the record number at which the
    /// process aborts inside the open transaction, after the rows are written.
    abort_before_commit: Option<u64>,
    records: u64,
    /// Outages, gaps and old transitions older than this are pruned (`--storage.retention`).
    retention: Option<std::time::Duration>,
    /// When the last prune ran (Unix seconds).
    pruned_at: f64,
}

/// How often the retention prune runs while the daemon writes.
const PRUNE_EVERY_SECONDS: f64 = 3600.0;

/// Environment variable for the crash tests: `N` makes the process abort inside the N-th
/// write transaction, after its rows are written and before the commit — the worst moment a
/// power cut or `kill -9` can choose. Never set it in production.
pub const ABORT_BEFORE_COMMIT_ENV: &str = "VNREADY_FAULT_ABORT_BEFORE_COMMIT";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS check_state (
    target TEXT NOT NULL,
    check_id TEXT NOT NULL,
    status TEXT NOT NULL,
    since REAL NOT NULL,
    reason_en TEXT NOT NULL,
    reason_vi TEXT NOT NULL,
    PRIMARY KEY (target, check_id)
);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    check_id TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    at REAL NOT NULL,
    reason_en TEXT NOT NULL,
    reason_vi TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_by_target ON transitions (target, check_id, at);
CREATE TABLE IF NOT EXISTS latest (
    target TEXT PRIMARY KEY,
    audited_at REAL NOT NULL,
    facts TEXT NOT NULL,
    verdict TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS coverage (
    target TEXT NOT NULL,
    family TEXT NOT NULL,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL,
    interval REAL NOT NULL,
    unknown_since REAL,
    PRIMARY KEY (target, family)
);
CREATE TABLE IF NOT EXISTS outages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    family TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL,
    reason_en TEXT NOT NULL,
    reason_vi TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outages_by_target ON outages (target, family, start, end);
CREATE TABLE IF NOT EXISTS gaps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    family TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS gaps_by_target ON gaps (target, family, start, end);
";

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let sqlite = |source| StoreError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // A missing state directory is created; any real problem surfaces in open().
            let _ = std::fs::create_dir_all(parent);
        }
        let connection = Connection::open(path).map_err(sqlite)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite)?;
        connection.pragma_update(None, "journal_mode", "WAL").map_err(sqlite)?;
        connection.pragma_update(None, "synchronous", "FULL").map_err(sqlite)?;
        connection.execute_batch(SCHEMA).map_err(sqlite)?;
        Ok(SqliteStore {
            connection,
            path: path.to_path_buf(),
            abort_before_commit: std::env::var(ABORT_BEFORE_COMMIT_ENV).ok().and_then(|n| n.parse().ok()),
            records: 0,
            retention: None,
            pruned_at: 0.0,
        })
    }

    /// Keeps outages, gaps and transitions for `retention` only: pruned at the first write and
    /// hourly after it.
    pub fn with_retention(mut self, retention: std::time::Duration) -> SqliteStore {
        self.retention = Some(retention);
        self
    }

    /// Prunes what the retention no longer keeps, when an hour has passed since the last time.
    fn prune_when_due(&mut self, now: f64) -> Result<(), StoreError> {
        let Some(retention) = self.retention else {
            return Ok(());
        };
        if now - self.pruned_at < PRUNE_EVERY_SECONDS {
            return Ok(());
        }
        self.pruned_at = now;
        let removed = self.prune(now - retention.as_secs_f64())?;
        if removed > 0 {
            tracing::info!(
                event = "store_pruned",
                rows = removed,
                "history older than the retention removed"
            );
        }
        Ok(())
    }

    fn error(&self, source: rusqlite::Error) -> StoreError {
        if let rusqlite::Error::SqliteFailure(failure, _) = &source {
            if failure.code == rusqlite::ErrorCode::DiskFull {
                return StoreError::Full(source.to_string());
            }
        }
        StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn bad_row(&self, message: String) -> StoreError {
        StoreError::BadRow {
            path: self.path.display().to_string(),
            message,
        }
    }

    /// `PRAGMA integrity_check` plus the store's own invariant: every state row is the
    /// destination of that check's last transition. Returns the problems found.
    pub fn consistency_problems(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let integrity: String = self
            .connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .map_err(|e| self.error(e))?;
        if integrity != "ok" {
            problems.push(format!("integrity_check: {integrity}"));
        }
        let mut statement = self
            .connection
            .prepare(
                "SELECT s.target, s.check_id, s.status, s.since, t.to_status, t.at
                 FROM check_state s LEFT JOIN transitions t ON t.id = (
                     SELECT MAX(id) FROM transitions WHERE target = s.target AND check_id = s.check_id)",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, f64>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, Option<f64>>(5)?,
                ))
            })
            .map_err(|e| self.error(e))?;
        for row in rows {
            let (target, check, status, since, last_to, last_at) = row.map_err(|e| self.error(e))?;
            if last_to.as_deref() != Some(status.as_str()) || last_at != Some(since) {
                problems.push(format!(
                    "{target} {check}: state {status} since {since} but last transition is {last_to:?} at {last_at:?}"
                ));
            }
        }
        Ok(problems)
    }

    /// Every transition of one target, oldest first.
    pub fn transitions_of(&self, target: &str) -> Result<Vec<StoredTransition>, StoreError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT check_id, from_status, to_status, at, reason_en, reason_vi
                 FROM transitions WHERE target = ?1 ORDER BY id",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([target], |row| {
                Ok(StoredTransition {
                    check: row.get(0)?,
                    from: row.get(1)?,
                    to: row.get(2)?,
                    at: row.get(3)?,
                    reason: Reason::new(row.get::<_, String>(4)?, row.get::<_, String>(5)?),
                })
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.error(e))
    }

    /// Hands over every target's latest verdict JSON in turn (target, audited at, JSON), so a
    /// report over 10,000 stored verdicts holds one at a time.
    pub fn each_latest(&self, mut each: impl FnMut(String, f64, &str)) -> Result<(), StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT target, audited_at, verdict FROM latest")
            .map_err(|e| self.error(e))?;
        let mut rows = statement.query([]).map_err(|e| self.error(e))?;
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let target: String = row.get(0).map_err(|e| self.error(e))?;
            let audited_at: f64 = row.get(1).map_err(|e| self.error(e))?;
            let json = row.get_ref(2).map_err(|e| self.error(e))?;
            each(target, audited_at, json.as_str().unwrap_or_default());
        }
        Ok(())
    }

    /// Opens an existing store for reading only (reports); a missing file is an error, not
    /// a new empty store.
    pub fn open_existing(path: &Path) -> Result<SqliteStore, StoreError> {
        if !path.exists() {
            return Err(StoreError::Sqlite {
                path: path.display().to_string(),
                source: rusqlite::Error::InvalidPath(path.to_path_buf()),
            });
        }
        SqliteStore::open(path)
    }

    /// The latest stored verdict JSON of one target.
    pub fn latest_verdict(&self, target: &str) -> Result<Option<String>, StoreError> {
        self.connection
            .query_row("SELECT verdict FROM latest WHERE target = ?1", [target], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|e| self.error(e))
    }

    /// Every target and family's coverage, with the gaps and outages overlapping `[from, to]`.
    pub fn uptime_between(&self, from: f64, to: f64) -> Result<Vec<FamilyHistory>, StoreError> {
        let mut histories = Vec::new();
        self.each_uptime(None, from, to, Reasons::Read, |history| histories.push(history))?;
        Ok(histories)
    }

    /// One target's families, as [`Self::uptime_between`] (the site page, a badge).
    pub fn uptime_of(&self, target: &str, from: f64, to: f64) -> Result<Vec<FamilyHistory>, StoreError> {
        let mut histories = Vec::new();
        self.each_uptime(Some(target), from, to, Reasons::Read, |history| histories.push(history))?;
        Ok(histories)
    }

    /// Hands over each target and family's history in turn (ordered by target, then family),
    /// merging three ordered scans, so that memory holds one family's rows however large the
    /// store: a year of 10,000 sites is read this way for the status page.
    pub fn each_uptime(
        &self,
        target: Option<&str>,
        from: f64,
        to: f64,
        reasons: Reasons,
        mut each: impl FnMut(FamilyHistory),
    ) -> Result<(), StoreError> {
        let only = |table: &str| match target {
            Some(_) => format!("{table}.target = ?3"),
            None => "?3 IS NULL".to_string(),
        };
        let prepare = |sql: String| self.connection.prepare(&sql).map_err(|e| self.error(e));
        let mut coverage_rows = prepare(format!(
            "SELECT target, family, first_at, last_at, interval, unknown_since FROM coverage
             WHERE ?1 <= ?2 AND {} ORDER BY target, family",
            only("coverage")
        ))?;
        let mut gap_rows = prepare(format!(
            "SELECT target, family, start, end FROM gaps WHERE end >= ?1 AND start <= ?2 AND {}
             ORDER BY target, family, start",
            only("gaps")
        ))?;
        let mut outage_rows = prepare(format!(
            "SELECT target, family, start, end, {} FROM outages
             WHERE (end IS NULL OR end >= ?1) AND start <= ?2 AND {} ORDER BY target, family, start",
            match reasons {
                Reasons::Read => "reason_en, reason_vi",
                // Answered from the index alone, without a row lookup per outage.
                Reasons::Skip => "'', ''",
            },
            only("outages")
        ))?;
        let key = |row: &rusqlite::Row<'_>| -> rusqlite::Result<(String, String)> { Ok((row.get(0)?, row.get(1)?)) };
        let coverages = coverage_rows
            .query_map(params![from, to, target], |row| {
                Ok((
                    key(row)?,
                    Coverage {
                        first_at: row.get(2)?,
                        last_at: row.get(3)?,
                        interval: row.get(4)?,
                        unknown_since: row.get(5)?,
                    },
                ))
            })
            .map_err(|e| self.error(e))?;
        let mut gaps = gap_rows
            .query_map(params![from, to, target], |row| {
                Ok((
                    key(row)?,
                    Gap {
                        start: row.get(2)?,
                        end: row.get(3)?,
                    },
                ))
            })
            .map_err(|e| self.error(e))?
            .peekable();
        let mut outages = outage_rows
            .query_map(params![from, to, target], |row| {
                Ok((
                    key(row)?,
                    (
                        row.get::<_, f64>(2)?,
                        row.get::<_, Option<f64>>(3)?,
                        Reason::new(row.get::<_, String>(4)?, row.get::<_, String>(5)?),
                    ),
                ))
            })
            .map_err(|e| self.error(e))?
            .peekable();
        for row in coverages {
            let (wanted, coverage) = row.map_err(|e| self.error(e))?;
            let Some(family) = IpFamily::parse(&wanted.1) else {
                continue;
            };
            let family_gaps = take_rows_of(&mut gaps, &wanted).map_err(|e| self.error(e))?;
            let family_outages = take_rows_of(&mut outages, &wanted)
                .map_err(|e| self.error(e))?
                .into_iter()
                .map(|(start, end, reason)| Outage {
                    family,
                    start,
                    end,
                    reason,
                })
                .collect();
            each(FamilyHistory {
                target: wanted.0,
                family,
                coverage,
                gaps: family_gaps,
                outages: family_outages,
            });
        }
        Ok(())
    }

    /// Drops outages, gaps and transitions that ended before `before` (the retention), keeping
    /// every check's last transition (its current state's origin) and every open outage.
    /// Returns the rows removed.
    pub fn prune(&mut self, before: f64) -> Result<usize, StoreError> {
        let transaction = self.connection.transaction().map_err(|source| StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        })?;
        let removed = (|| -> rusqlite::Result<usize> {
            let mut removed =
                transaction.execute("DELETE FROM outages WHERE end IS NOT NULL AND end < ?1", [before])?;
            removed += transaction.execute("DELETE FROM gaps WHERE end < ?1", [before])?;
            removed += transaction.execute(
                "DELETE FROM transitions WHERE at < ?1 AND id NOT IN (SELECT MAX(id) FROM transitions GROUP BY target, check_id)",
                [before],
            )?;
            transaction.commit()?;
            Ok(removed)
        })();
        removed.map_err(|e| self.error(e))
    }

    #[cfg(test)]
    fn limit_pages(&self, pages: u32) {
        let _ = self.connection.pragma_update(None, "max_page_count", pages);
    }
}

impl HistoryStore for SqliteStore {
    fn load(&mut self) -> Result<StoredHistory, StoreError> {
        let mut history = StoredHistory::default();
        let mut statement = self
            .connection
            .prepare("SELECT target, check_id, status, since FROM check_state")
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, f64>(3)?,
                ))
            })
            .map_err(|e| self.error(e))?;
        for row in rows {
            let (target, check, status, since) = row.map_err(|e| self.error(e))?;
            // A check id or status this version does not know is skipped, not fatal: the
            // database may come from a newer vnready.
            let (Some(check), Some(status)) = (CheckId::parse(&check), Status::parse(&status)) else {
                continue;
            };
            history
                .checks
                .entry(target)
                .or_default()
                .insert(check, CheckState { status, since });
        }
        drop(statement);
        let mut statement = self
            .connection
            .prepare("SELECT target, facts FROM latest")
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
            .map_err(|e| self.error(e))?;
        for row in rows {
            let (target, facts) = row.map_err(|e| self.error(e))?;
            let facts: WatchedFacts =
                serde_json::from_str(&facts).map_err(|err| self.bad_row(format!("facts of {target}: {err}")))?;
            history.facts.insert(target, facts);
        }
        Ok(history)
    }

    fn record(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        let facts = serde_json::to_string(&record.facts).map_err(|err| self.bad_row(err.to_string()))?;
        let transaction = self.connection.transaction().map_err(|source| StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        })?;
        self.records += 1;
        let abort_now = self.abort_before_commit == Some(self.records);
        let result = write_record(&transaction, record, &facts).and_then(|()| {
            if abort_now {
                tracing::warn!(event = "fault_abort_before_commit", target = %record.target, "crash test: aborting inside a write transaction");
                std::process::abort();
            }
            transaction.commit()
        });
        result.map_err(|e| self.error(e))?;
        log_committed(record);
        self.prune_when_due(crate::model::clock::unix_now())
    }
}

/// After the commit: what is now durable, so a crash test can tell committed transitions from
/// announced ones (a `check_changed` line is logged before its record reaches the disk).
fn log_committed(record: &AuditRecord) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let transitions: Vec<(&str, &str, f64)> = record
        .transitions
        .iter()
        .map(|t| (t.check.as_str(), t.to.as_str(), t.at))
        .collect();
    tracing::debug!(
        event = "store_committed",
        target = %record.target,
        transitions = %serde_json::to_string(&transitions).unwrap_or_default(),
        "history record committed"
    );
}

fn write_record(transaction: &rusqlite::Transaction<'_>, record: &AuditRecord, facts: &str) -> rusqlite::Result<()> {
    for transition in &record.transitions {
        transaction.execute(
            "INSERT INTO transitions (target, check_id, from_status, to_status, at, reason_en, reason_vi)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                record.target,
                transition.check.as_str(),
                transition.from.map(Status::as_str),
                transition.to.as_str(),
                transition.at,
                transition.reason.en,
                transition.reason.vi
            ],
        )?;
    }
    for row in &record.states {
        transaction.execute(
            "INSERT INTO check_state (target, check_id, status, since, reason_en, reason_vi)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (target, check_id) DO UPDATE SET
               status = excluded.status, since = excluded.since,
               reason_en = excluded.reason_en, reason_vi = excluded.reason_vi",
            params![
                record.target,
                row.check.as_str(),
                row.state.status.as_str(),
                row.state.since,
                row.reason.en,
                row.reason.vi
            ],
        )?;
    }
    for observation in &record.availability {
        write_availability(transaction, &record.target, observation, record.audited_at)?;
    }
    transaction.execute(
        "INSERT INTO latest (target, audited_at, facts, verdict) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (target) DO UPDATE SET
           audited_at = excluded.audited_at, facts = excluded.facts, verdict = excluded.verdict",
        params![record.target, record.audited_at, facts, record.verdict_json],
    )?;
    Ok(())
}

/// One family's availability bookkeeping for one audit: a row only when an outage or a gap
/// opens or closes; the coverage row is updated in place.
fn write_availability(
    transaction: &rusqlite::Transaction<'_>,
    target: &str,
    observation: &FamilyObservation,
    at: f64,
) -> rusqlite::Result<()> {
    let family = observation.family.as_str();
    let previous = transaction
        .query_row(
            "SELECT first_at, last_at, interval, unknown_since FROM coverage WHERE target = ?1 AND family = ?2",
            params![target, family],
            |row| {
                Ok(Coverage {
                    first_at: row.get(0)?,
                    last_at: row.get(1)?,
                    interval: row.get(2)?,
                    unknown_since: row.get(3)?,
                })
            },
        )
        .optional()?;
    if observation.only_if_monitored && previous.is_none() {
        return Ok(());
    }
    let open_outage: Option<i64> = transaction
        .query_row(
            "SELECT id FROM outages WHERE target = ?1 AND family = ?2 AND end IS NULL ORDER BY id DESC LIMIT 1",
            params![target, family],
            |row| row.get(0),
        )
        .optional()?;
    let changes = uptime::advance(previous.as_ref(), open_outage.is_some(), observation, at);
    if let Some(gap) = changes.gap {
        transaction.execute(
            "INSERT INTO gaps (target, family, start, end) VALUES (?1, ?2, ?3, ?4)",
            params![target, family, gap.start, gap.end],
        )?;
    }
    if let Some(reason) = &changes.open_outage {
        transaction.execute(
            "INSERT INTO outages (target, family, start, end, reason_en, reason_vi) VALUES (?1, ?2, ?3, NULL, ?4, ?5)",
            params![target, family, at, reason.en, reason.vi],
        )?;
    }
    if let (true, Some(id)) = (changes.close_outage, open_outage) {
        transaction.execute("UPDATE outages SET end = ?1 WHERE id = ?2", params![at, id])?;
    }
    let coverage = &changes.coverage;
    transaction.execute(
        "INSERT INTO coverage (target, family, first_at, last_at, interval, unknown_since) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (target, family) DO UPDATE SET
           last_at = excluded.last_at, interval = excluded.interval, unknown_since = excluded.unknown_since",
        params![
            target,
            family,
            coverage.first_at,
            coverage.last_at,
            coverage.interval,
            coverage.unknown_since
        ],
    )?;
    Ok(())
}

/// From a scan ordered by (target, family), skips the rows before `wanted` (families without
/// coverage) and takes those of `wanted`.
fn take_rows_of<T>(
    rows: &mut std::iter::Peekable<impl Iterator<Item = rusqlite::Result<((String, String), T)>>>,
    wanted: &(String, String),
) -> rusqlite::Result<Vec<T>> {
    let mut taken = Vec::new();
    loop {
        let order = match rows.peek() {
            None => return Ok(taken),
            Some(Err(_)) => match rows.next() {
                Some(Err(err)) => return Err(err),
                _ => return Ok(taken),
            },
            Some(Ok((key, _))) => key.cmp(wanted),
        };
        match order {
            std::cmp::Ordering::Greater => return Ok(taken),
            std::cmp::Ordering::Less => {
                rows.next();
            }
            std::cmp::Ordering::Equal => {
                if let Some(Ok((_, row))) = rows.next() {
                    taken.push(row);
                }
            }
        }
    }
}

/// Whether a read of outages needs their reasons (a list does; a figure does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reasons {
    Read,
    Skip,
}

/// One target and family's availability history within a period.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilyHistory {
    pub target: String,
    pub family: IpFamily,
    pub coverage: Coverage,
    pub gaps: Vec<Gap>,
    /// Outages that overlap the period, oldest first.
    pub outages: Vec<Outage>,
}

/// Whether the store is keeping up; read by the metrics.
#[derive(Debug)]
pub struct StoreHealth {
    healthy: AtomicBool,
    write_errors: AtomicU64,
    dropped: AtomicU64,
}

impl Default for StoreHealth {
    fn default() -> Self {
        StoreHealth {
            healthy: AtomicBool::new(true),
            write_errors: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }
}

impl StoreHealth {
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn write_errors(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }

    /// Records dropped because the writer fell too far behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Marks the store failed before any write, e.g. when it cannot be opened at start-up.
    pub fn mark_failed(&self, err: &StoreError) {
        self.note(Err(err));
    }

    /// Notes one write's outcome; logs only when health flips, so a full disk is one line,
    /// not one per audit.
    fn note(&self, outcome: Result<(), &StoreError>) {
        match outcome {
            Ok(()) => {
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!(event = "store_recovered", "history store is writable again");
                }
            }
            Err(err) => {
                self.write_errors.fetch_add(1, Ordering::Relaxed);
                if self.healthy.swap(false, Ordering::Relaxed) {
                    tracing::error!(
                        event = "store_failed",
                        reason = err.as_metrics_label(),
                        error = %err,
                        "history store write failed; probing and metrics continue, history is not being kept"
                    );
                }
            }
        }
    }
}

/// Records queued before new ones are dropped (and counted); far more than one round needs.
const WRITER_QUEUE: usize = 16 * 1024;

/// Owns the store on its own thread. Dropping the last sender and joining is the flush.
pub struct StoreWriter {
    sender: Option<SyncSender<AuditRecord>>,
    thread: Option<JoinHandle<()>>,
    health: Arc<StoreHealth>,
}

impl StoreWriter {
    pub fn spawn(store: Box<dyn HistoryStore>, health: Arc<StoreHealth>) -> std::io::Result<StoreWriter> {
        let (sender, receiver) = mpsc::sync_channel(WRITER_QUEUE);
        let thread_health = health.clone();
        let thread = std::thread::Builder::new()
            .name("vnready-store".into())
            .spawn(move || write_loop(store, receiver, &thread_health))?;
        Ok(StoreWriter {
            sender: Some(sender),
            thread: Some(thread),
            health,
        })
    }

    /// Queues a record without waiting; if the writer is far behind the record is dropped
    /// and counted rather than holding up the probes.
    pub fn submit(&self, record: AuditRecord) {
        let Some(sender) = &self.sender else { return };
        match sender.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.health.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Writes everything queued, then stops the thread.
    pub fn flush_and_close(mut self) {
        self.close();
    }

    fn close(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!(event = "store_thread_panicked", "history store thread panicked");
            }
        }
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_loop(mut store: Box<dyn HistoryStore>, receiver: Receiver<AuditRecord>, health: &StoreHealth) {
    while let Ok(record) = receiver.recv() {
        let outcome = store.record(&record);
        health.note(outcome.as_ref().map(|_| ()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(target: &str, status: Status, at: f64, transition: bool) -> AuditRecord {
        let reason = Reason::new("why", "vì sao");
        AuditRecord {
            target: target.into(),
            audited_at: at,
            states: vec![StateRow {
                check: CheckId::Ipv6Aaaa,
                state: CheckState { status, since: at },
                reason: reason.clone(),
            }],
            transitions: if transition {
                vec![Transition {
                    check: CheckId::Ipv6Aaaa,
                    from: None,
                    to: status,
                    at,
                    reason,
                }]
            } else {
                Vec::new()
            },
            facts: WatchedFacts {
                cert_sha256: Some("ab".repeat(32)),
                addresses: Some(vec!["192.0.2.1".into()]),
                name_servers: None,
                ..WatchedFacts::default()
            },
            verdict_json: "{}".into(),
            availability: Vec::new(),
        }
    }

    #[test]
    fn reloads_states_and_facts_after_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state/history.db");
        let mut store = SqliteStore::open(&path).expect("open");
        store
            .record(&record("a.gov.vn", Status::Fail, 100.0, true))
            .expect("write");
        drop(store);
        let mut store = SqliteStore::open(&path).expect("reopen");
        let history = store.load().expect("load");
        let state = history.checks["a.gov.vn"][&CheckId::Ipv6Aaaa];
        assert_eq!(state.status, Status::Fail);
        assert_eq!(state.since, 100.0);
        assert_eq!(
            history.facts["a.gov.vn"].addresses.as_deref(),
            Some(&["192.0.2.1".to_string()][..])
        );
        assert!(store.consistency_problems().expect("check").is_empty());
    }

    fn observed(family: IpFamily, state: uptime::FamilyState) -> FamilyObservation {
        FamilyObservation {
            family,
            state,
            interval: 60.0,
            only_if_monitored: false,
        }
    }

    fn count(store: &SqliteStore, table: &str) -> i64 {
        store
            .connection
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0))
            .expect("count")
    }

    #[test]
    fn availability_grows_by_outages_and_gaps_not_by_audits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("h.db")).expect("open");
        let down = || uptime::FamilyState::Down {
            reason: Reason::new("[::1] status 503", "[::1] mã 503"),
        };
        // A thousand audits a minute apart, IPv6 down for ten of them, then a two-hour stop.
        for i in 0..1000 {
            let at = i as f64 * 60.0 + if i >= 900 { 7200.0 } else { 0.0 };
            let mut audit = record("a.gov.vn", Status::Pass, at, false);
            let v6 = if (500..510).contains(&i) {
                down()
            } else {
                uptime::FamilyState::Up
            };
            audit.availability = vec![
                observed(IpFamily::Ipv4, uptime::FamilyState::Up),
                observed(IpFamily::Ipv6, v6),
            ];
            store.record(&audit).expect("write");
        }
        assert_eq!(count(&store, "coverage"), 2, "one row per family, updated in place");
        assert_eq!(count(&store, "outages"), 1);
        assert_eq!(count(&store, "gaps"), 2, "the stop, once per family");
        let histories = store.uptime_between(0.0, 70_000.0).expect("read");
        let v6 = histories.iter().find(|h| h.family == IpFamily::Ipv6).expect("ipv6");
        assert_eq!((v6.outages[0].start, v6.outages[0].end), (30_000.0, Some(30_600.0)));
        assert_eq!(
            v6.gaps,
            vec![Gap {
                start: 54_000.0,
                end: 61_200.0
            }]
        );
        let a = uptime::availability((0.0, 67_200.0), Some(&v6.coverage), &v6.gaps, &v6.outages, 67_200.0);
        assert_eq!(a.monitored_seconds, 67_200.0 - 7_200.0);
        assert_eq!(a.monitored_seconds - a.up_seconds, 600.0);
    }

    #[test]
    fn the_merged_scan_keeps_each_familys_rows_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("h.db")).expect("open");
        let down = |why: &str| uptime::FamilyState::Down {
            reason: Reason::new(why, why),
        };
        for (i, at) in [0.0, 60.0, 120.0, 180.0].into_iter().enumerate() {
            for target in ["b.gov.vn", "a.gov.vn", "c.gov.vn"] {
                let mut audit = record(target, Status::Pass, at, false);
                let v6 = if i == 1 && target != "c.gov.vn" {
                    down(&format!("{target} v6"))
                } else {
                    uptime::FamilyState::Up
                };
                audit.availability = vec![observed(IpFamily::Ipv6, v6)];
                if target == "b.gov.vn" {
                    let v4 = if i == 2 { down("b v4") } else { uptime::FamilyState::Up };
                    audit.availability.push(observed(IpFamily::Ipv4, v4));
                }
                store.record(&audit).expect("write");
            }
        }
        let all = store.uptime_between(0.0, 200.0).expect("read");
        let keys: Vec<(String, IpFamily, usize)> = all
            .iter()
            .map(|h| (h.target.clone(), h.family, h.outages.len()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("a.gov.vn".into(), IpFamily::Ipv6, 1),
                ("b.gov.vn".into(), IpFamily::Ipv4, 1),
                ("b.gov.vn".into(), IpFamily::Ipv6, 1),
                ("c.gov.vn".into(), IpFamily::Ipv6, 0),
            ]
        );
        assert_eq!(&*all[2].outages[0].reason.en, "b.gov.vn v6");
        let b = store.uptime_of("b.gov.vn", 0.0, 200.0).expect("read");
        assert_eq!(b, all[1..3].to_vec());
        assert!(store.uptime_of("b.gov.vn", 150.0, 200.0).expect("read")[1]
            .outages
            .is_empty());
    }

    #[test]
    fn a_name_that_stops_resolving_is_down_only_for_the_families_already_monitored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("h.db")).expect("open");
        let mut up = record("a.gov.vn", Status::Pass, 0.0, false);
        up.availability = vec![observed(IpFamily::Ipv4, uptime::FamilyState::Up)];
        store.record(&up).expect("write");
        let mut lapsed = record("a.gov.vn", Status::Fail, 60.0, true);
        lapsed.availability = [IpFamily::Ipv4, IpFamily::Ipv6]
            .into_iter()
            .map(|family| FamilyObservation {
                only_if_monitored: true,
                ..observed(
                    family,
                    uptime::FamilyState::Down {
                        reason: Reason::new("NXDOMAIN", "NXDOMAIN"),
                    },
                )
            })
            .collect();
        store.record(&lapsed).expect("write");
        let histories = store.uptime_between(0.0, 120.0).expect("read");
        assert_eq!(
            histories.len(),
            1,
            "no IPv6 history for an IPv4-only site: {histories:?}"
        );
        assert_eq!(histories[0].outages.len(), 1, "IPv4 went down with its name");
        assert_eq!(histories[0].outages[0].start, 60.0);
    }

    #[test]
    fn retention_prunes_old_rows_but_keeps_current_state_and_open_outages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("h.db")).expect("open");
        let down = uptime::FamilyState::Down {
            reason: Reason::new("down", "lỗi"),
        };
        let mut audit = |at: f64, status: Status, transition: bool, state: uptime::FamilyState| {
            let mut record = record("a.gov.vn", status, at, transition);
            record.availability = vec![observed(IpFamily::Ipv6, state)];
            store.record(&record).expect("write");
        };
        audit(0.0, Status::Pass, true, uptime::FamilyState::Up);
        audit(60.0, Status::Fail, true, down.clone());
        audit(120.0, Status::Pass, true, uptime::FamilyState::Up);
        audit(10_000.0, Status::Pass, false, uptime::FamilyState::Up);
        audit(10_060.0, Status::Pass, false, down);
        let removed = store.prune(20_000.0).expect("prune");
        assert_eq!(count(&store, "outages"), 1, "the open outage stays");
        assert_eq!(count(&store, "gaps"), 0, "the old gap went");
        assert_eq!(
            count(&store, "transitions"),
            1,
            "only the current state's transition stays"
        );
        assert_eq!(removed, 1 + 1 + 2);
        let kept = store.transitions_of("a.gov.vn").expect("transitions");
        assert_eq!(
            (kept[0].to.as_str(), kept[0].at),
            ("pass", 120.0),
            "the current state's origin"
        );
        assert_eq!(
            store.load().expect("load").checks["a.gov.vn"][&CheckId::Ipv6Aaaa].status,
            Status::Pass
        );
    }

    #[test]
    fn a_full_store_fails_writes_with_full_and_the_writer_reports_unhealthy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.db");
        let store = SqliteStore::open(&path).expect("open");
        store.limit_pages(8);
        let mut store = store;
        let mut big = record("a.gov.vn", Status::Fail, 1.0, true);
        big.verdict_json = "x".repeat(256 * 1024);
        let err = store.record(&big).expect_err("a full store must refuse");
        assert!(matches!(err, StoreError::Full(_)), "{err:?}");

        let health = Arc::new(StoreHealth::default());
        let writer = StoreWriter::spawn(Box::new(store), health.clone()).expect("spawn");
        writer.submit(big);
        writer.flush_and_close();
        assert!(!health.healthy());
        assert_eq!(health.write_errors(), 1);
    }
}
