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
use crate::history::{CheckState, CheckStates, Transition, WatchedFacts};

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
}

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
        })
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

    /// Every target's latest audit: (target, audited_at, verdict JSON).
    pub fn latest_all(&self) -> Result<Vec<(String, f64, String)>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT target, audited_at, verdict FROM latest")
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.error(e))
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
        Ok(())
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
    transaction.execute(
        "INSERT INTO latest (target, audited_at, facts, verdict) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (target) DO UPDATE SET
           audited_at = excluded.audited_at, facts = excluded.facts, verdict = excluded.verdict",
        params![record.target, record.audited_at, facts, record.verdict_json],
    )?;
    Ok(())
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
