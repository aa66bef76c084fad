//! The availability the status page and the badges show, read from the store on a connection
//! of their own (SQLite's WAL lets it read while the writer writes). The sites table needs a
//! 30-day figure and a 90-day bar per family, not the outages behind them: those are summarised in one
//! streaming pass over the store and the summary is kept for a minute, so a year of outages
//! for 10,000 sites never sits in memory. A site's page and a badge read that one site's rows.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::history::store::{FamilyHistory, Reasons, SqliteStore, StoreError};
use crate::history::uptime::{self, Availability};
use crate::probe::addr::IpFamily;

/// How far back a site's page and a badge may look: the 90-day bar.
pub const DAYS_READ: f64 = 90.0;
/// Days of the history bar, one cell a day.
pub const BAR_DAYS: usize = 90;
/// The window of the figure beside the bar.
pub const FIGURE_DAYS: f64 = 30.0;
/// How long a summary is reused.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// One family's summary for the sites table.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilySummary {
    pub family: IpFamily,
    /// Over the last [`FIGURE_DAYS`] days.
    pub recent: Availability,
    /// One entry a day, oldest first, in ten-thousandths (rounded down, so a bar never shows
    /// more than was measured); [`NOT_MONITORED`] for a day without audits.
    daily: Box<[u16]>,
}

/// A day in [`FamilySummary::daily`] that nothing monitored.
const NOT_MONITORED: u16 = u16::MAX;

impl FamilySummary {
    /// Summarises one family's history as of `now`.
    pub fn of(history: &FamilyHistory, now: f64) -> FamilySummary {
        let from = now - FIGURE_DAYS * 86_400.0;
        let recent = uptime::availability(
            (from, now),
            Some(&history.coverage),
            &history.gaps,
            &history.outages,
            now,
        );
        let daily = uptime::daily(Some(&history.coverage), &history.gaps, &history.outages, BAR_DAYS, now)
            .into_iter()
            .map(|day| match day {
                Some(ratio) => (ratio.clamp(0.0, 1.0) * 10_000.0).floor() as u16,
                None => NOT_MONITORED,
            })
            .collect();
        FamilySummary {
            family: history.family,
            recent,
            daily,
        }
    }

    /// The bar's days, oldest first.
    pub fn daily(&self) -> Vec<Option<f64>> {
        self.daily
            .iter()
            .map(|&day| (day != NOT_MONITORED).then(|| f64::from(day) / 10_000.0))
            .collect()
    }
}

/// Summaries by target id.
pub type Summaries = HashMap<String, Vec<FamilySummary>>;

/// Reads the store's availability for the web pages.
#[derive(Debug)]
pub struct UptimeView {
    path: Option<PathBuf>,
    cached: Mutex<Option<(Instant, Arc<Summaries>)>>,
}

impl UptimeView {
    /// A view of the store at `path`; none keeps no history (and shows none).
    pub fn new(path: Option<PathBuf>) -> UptimeView {
        UptimeView {
            path,
            cached: Mutex::new(None),
        }
    }

    /// Every target's summary. A store that cannot be read gives none, logged: the page
    /// still shows everything else.
    pub async fn summaries(&self, now: f64) -> Arc<Summaries> {
        if let Some((at, summaries)) = self.cached.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if at.elapsed() < FRESH_FOR {
                return summaries.clone();
            }
        }
        let read = self
            .read(move |store| {
                let mut summaries = Summaries::new();
                let from = now - DAYS_READ * 86_400.0;
                store.each_uptime(None, from, now, Reasons::Skip, |history| {
                    let summary = FamilySummary::of(&history, now);
                    summaries.entry(history.target).or_default().push(summary);
                })?;
                Ok(summaries)
            })
            .await;
        let summaries = Arc::new(read.unwrap_or_default());
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), summaries.clone()));
        summaries
    }

    /// One target's history over the last [`DAYS_READ`] days, read now (an indexed lookup).
    pub async fn site(&self, target: &str, now: f64) -> Vec<FamilyHistory> {
        let target = target.to_string();
        self.read(move |store| store.uptime_of(&target, now - DAYS_READ * 86_400.0, now))
            .await
            .unwrap_or_default()
    }

    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&SqliteStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Option<T> {
        let path = self.path.clone()?;
        let read = tokio::task::spawn_blocking(move || {
            let store = SqliteStore::open_existing(&path)?;
            query(&store)
        })
        .await;
        match read {
            Ok(Ok(value)) => Some(value),
            Ok(Err(err)) => {
                tracing::warn!(event = "uptime_read_failed", error = %err, "availability history could not be read");
                None
            }
            Err(err) => {
                tracing::warn!(event = "uptime_read_failed", error = %err, "availability history could not be read");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Reason;
    use crate::history::uptime::{Coverage, Outage};

    #[test]
    fn a_summary_keeps_the_figure_and_the_days_but_not_the_outages() {
        let now = 40.0 * 86_400.0;
        let history = FamilyHistory {
            target: "a.gov.vn".into(),
            family: IpFamily::Ipv6,
            coverage: Coverage {
                first_at: now - 10.0 * 86_400.0,
                last_at: now,
                interval: 60.0,
                unknown_since: None,
            },
            gaps: Vec::new(),
            outages: vec![Outage {
                family: IpFamily::Ipv6,
                start: now - 8_640.0,
                end: Some(now - 4_320.0),
                reason: Reason::new("503", "503"),
            }],
        };
        let summary = FamilySummary::of(&history, now);
        assert_eq!(summary.recent.monitored_seconds, 10.0 * 86_400.0);
        assert!((summary.recent.ratio.expect("monitored") - (1.0 - 4_320.0 / 864_000.0)).abs() < 1e-9);
        let days = summary.daily();
        assert_eq!(days.len(), BAR_DAYS);
        assert_eq!(days[0], None, "before monitoring began");
        assert!(days.iter().flatten().all(|&d| d <= 1.0));
        assert!(days.iter().flatten().any(|&d| d < 1.0), "the outage's day: {days:?}");
    }
}
