//! Availability per target and address family, from what the store keeps: when monitoring of
//! the family began and when it was last audited, its outages (start, end, first reason) and
//! the gaps when nothing audited it (the daemon stopped, the monitor could not test the family).
//! Time nobody audited is "not monitored", never up or down; availability is up time ÷
//! monitored time, and the monitored share is reported beside it. The resolution is the audit
//! interval: an audit vouches for its state until the next one is due.

use serde::{Deserialize, Serialize};

use crate::checks::{Reason, Status};
use crate::model::catalogue::CheckId;
use crate::probe::addr::IpFamily;

/// How a family did in one audit.
#[derive(Clone, Debug, PartialEq)]
pub enum FamilyState {
    /// Every usable address of the family served the site.
    Up,
    /// A user over this family does not get the site; the first reason.
    Down { reason: Reason },
    /// Could not be told (the monitor has no route to the family, a TLS dialect this auditor
    /// does not speak): not monitored, never up or down.
    Unknown,
}

/// One family's state in one audit, as the store receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilyObservation {
    pub family: IpFamily,
    pub state: FamilyState,
    /// The target's audit interval: how long this audit vouches for its state.
    pub interval: f64,
    /// The site's name stopped resolving, so no address of the family was probed: down for a
    /// family already monitored, nothing for one never seen (an IPv4-only site whose domain
    /// lapsed gets no IPv6 history).
    pub only_if_monitored: bool,
}

/// What the store knows of one target and family's monitoring as a whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Coverage {
    pub first_at: f64,
    pub last_at: f64,
    pub interval: f64,
    /// Since when the family has been unknown, if it is now.
    pub unknown_since: Option<f64>,
}

impl Coverage {
    /// Until when the latest audit vouches for the family's state.
    pub fn vouched_until(&self) -> f64 {
        self.last_at + self.interval
    }
}

/// An outage: from the first failing audit to the first passing one after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    pub family: IpFamily,
    pub start: f64,
    /// `None` while it lasts.
    pub end: Option<f64>,
    pub reason: Reason,
}

impl Outage {
    /// Its length, counting an open outage up to `now`.
    pub fn seconds(&self, now: f64) -> f64 {
        (self.end.unwrap_or(now) - self.start).max(0.0)
    }
}

/// A stretch when nothing audited the family.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub start: f64,
    pub end: f64,
}

/// A family's availability over a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// Up time ÷ monitored time; `None` when the family was not monitored at all.
    pub ratio: Option<f64>,
    /// Monitored time ÷ the period.
    pub monitored_ratio: f64,
    pub up_seconds: f64,
    pub monitored_seconds: f64,
}

/// Each family's state in a verdict: down when any probed address of it fails (the first
/// reason kept), unknown when none fails but one could not be tested, up when all serve. A
/// family without a probed address is left out (nothing to be available over), unless the
/// name itself failed to resolve: then every family already monitored is down.
pub fn observe(verdict: &crate::audit::verdict::TargetVerdict, interval: f64) -> Vec<FamilyObservation> {
    let nothing_probed = !verdict.addresses.iter().any(|address| address.probed);
    let unresolvable = verdict
        .checks
        .iter()
        .find(|check| check.id == CheckId::DnsResolves && check.status == Status::Fail);
    if let (true, Some(check)) = (nothing_probed, unresolvable) {
        return [IpFamily::Ipv4, IpFamily::Ipv6]
            .into_iter()
            .map(|family| FamilyObservation {
                family,
                state: FamilyState::Down {
                    reason: check.reason.clone(),
                },
                interval,
                only_if_monitored: true,
            })
            .collect();
    }
    [IpFamily::Ipv4, IpFamily::Ipv6]
        .into_iter()
        .filter_map(|family| {
            let probed: Vec<_> = verdict
                .addresses
                .iter()
                .filter(|address| address.family == family && address.probed)
                .collect();
            if probed.is_empty() {
                return None;
            }
            let state = if let Some(why) = probed.iter().find_map(|address| address.broken.as_deref()) {
                FamilyState::Down {
                    reason: Reason::new(why, format!("không truy cập được qua {}: {why}", family.label())),
                }
            } else if probed.iter().any(|address| address.untested || !address.works) {
                FamilyState::Unknown
            } else {
                FamilyState::Up
            };
            Some(FamilyObservation {
                family,
                state,
                interval,
                only_if_monitored: false,
            })
        })
        .collect()
}

/// A gap opens when the next audit comes this many intervals after the last one.
pub const GAP_AFTER_INTERVALS: f64 = 2.0;

/// What one audit adds to the store for a family, given what it held.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    /// A stretch nobody audited, closed by this audit.
    pub gap: Option<Gap>,
    /// Open an outage at this audit with this reason.
    pub open_outage: Option<Reason>,
    /// Close the open outage at this audit.
    pub close_outage: bool,
    /// The family's coverage after this audit.
    pub coverage: Coverage,
}

/// Advances one family by one audit at `at`. `previous` is the stored coverage (none for a
/// family never audited) and `outage_open` whether an outage is open.
pub fn advance(previous: Option<&Coverage>, outage_open: bool, observation: &FamilyObservation, at: f64) -> Changes {
    let mut changes = Changes::default();
    let mut coverage = match previous {
        Some(previous) => previous.clone(),
        None => Coverage {
            first_at: at,
            last_at: at,
            interval: observation.interval,
            unknown_since: None,
        },
    };
    if let Some(previous) = previous {
        // Nothing audited the family between what the last audit vouched for and now.
        if at - previous.last_at > GAP_AFTER_INTERVALS * previous.interval {
            changes.gap = Some(Gap {
                start: previous.vouched_until(),
                end: at,
            });
        }
    }
    match &observation.state {
        FamilyState::Unknown => {
            coverage.unknown_since.get_or_insert(at);
        }
        known => {
            if let Some(since) = coverage.unknown_since.take() {
                let gap = Gap { start: since, end: at };
                // One row for both when the daemon also stopped meanwhile.
                changes.gap = Some(match changes.gap {
                    Some(other) => Gap {
                        start: other.start.min(gap.start),
                        end: at,
                    },
                    None => gap,
                });
            }
            match known {
                FamilyState::Down { reason } if !outage_open => changes.open_outage = Some(reason.clone()),
                FamilyState::Up if outage_open => changes.close_outage = true,
                _ => {}
            }
        }
    }
    coverage.last_at = at;
    coverage.interval = observation.interval;
    changes.coverage = coverage;
    changes
}

/// Sorted, disjoint union of intervals.
fn union(mut intervals: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    intervals.retain(|(start, end)| end > start);
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(intervals.len());
    for (start, end) in intervals {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

fn overlap(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.1.min(b.1) - a.0.max(b.0)).max(0.0)
}

/// Length of `span` covered by the disjoint `set`.
fn covered(span: (f64, f64), set: &[(f64, f64)]) -> f64 {
    set.iter().map(|interval| overlap(span, *interval)).sum()
}

/// Availability of one family over `[from, to]` (`to` ≤ `now`).
pub fn availability(
    period: (f64, f64),
    coverage: Option<&Coverage>,
    gaps: &[Gap],
    outages: &[Outage],
    now: f64,
) -> Availability {
    let length = (period.1 - period.0).max(0.0);
    let Some(coverage) = coverage else {
        return Availability {
            ratio: None,
            monitored_ratio: 0.0,
            up_seconds: 0.0,
            monitored_seconds: 0.0,
        };
    };
    // From the first audit to what the last one vouches for, minus the gaps.
    let watched = (
        period.0.max(coverage.first_at),
        period.1.min(coverage.vouched_until()).min(now),
    );
    let mut unmonitored: Vec<(f64, f64)> = gaps.iter().map(|gap| (gap.start, gap.end)).collect();
    if let Some(since) = coverage.unknown_since {
        unmonitored.push((since, now));
    }
    let unmonitored = union(unmonitored);
    let span = (watched.1 - watched.0).max(0.0);
    let monitored = (span - covered(watched, &unmonitored)).max(0.0);
    let down: f64 = union(
        outages
            .iter()
            .map(|outage| (outage.start, outage.end.unwrap_or(now)))
            .collect(),
    )
    .iter()
    .map(|outage| {
        let within = (outage.0.max(watched.0), outage.1.min(watched.1));
        (within.1 - within.0).max(0.0) - covered(within, &unmonitored)
    })
    .sum::<f64>()
    .clamp(0.0, monitored);
    Availability {
        ratio: (monitored > 0.0).then(|| (monitored - down) / monitored),
        monitored_ratio: if length > 0.0 { monitored / length } else { 0.0 },
        up_seconds: monitored - down,
        monitored_seconds: monitored,
    }
}

/// Availability per day over the `days` days ending at `now` (oldest first, days of Vietnam
/// time, as the page shows dates): the status page's history bar. `None` for a day nothing
/// monitored.
pub fn daily(coverage: Option<&Coverage>, gaps: &[Gap], outages: &[Outage], days: usize, now: f64) -> Vec<Option<f64>> {
    const VIETNAM_OFFSET: f64 = 7.0 * 3600.0;
    let today = ((now + VIETNAM_OFFSET) / 86_400.0).floor() * 86_400.0 - VIETNAM_OFFSET;
    (0..days)
        .rev()
        .map(|back| {
            let start = today - back as f64 * 86_400.0;
            let end = (start + 86_400.0).min(now);
            availability((start, end), coverage, gaps, outages, now).ratio
        })
        .collect()
}

/// Parses a `--since` value: a duration back from `now` ("30d", "12h") or a date or RFC 3339
/// time. A bare date is midnight in Vietnam (UTC+7), where the reports are read: "November"
/// starts at 2026-11-01 00:00 local time. Errors say what was expected.
pub fn parse_moment(text: &str, now: f64) -> Result<f64, String> {
    const VIETNAM_OFFSET: f64 = 7.0 * 3600.0;
    if let Some(when) = crate::model::calendar::parse_rfc3339(text) {
        let bare_date = text.trim().len() == 10;
        return Ok(when as f64 - if bare_date { VIETNAM_OFFSET } else { 0.0 });
    }
    match text.parse::<crate::model::duration::HumanDuration>() {
        Ok(duration) => Ok(now - duration.0.as_secs_f64()),
        Err(_) => Err(format!(
            "invalid time {text:?}: expected a duration back from now (30d, 12h) or a date (2026-11-01, 2026-11-01T08:00:00+07:00)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observe(state: FamilyState) -> FamilyObservation {
        FamilyObservation {
            family: IpFamily::Ipv6,
            state,
            interval: 60.0,
            only_if_monitored: false,
        }
    }

    fn down() -> FamilyState {
        FamilyState::Down {
            reason: Reason::new("[::1] status 503", "[::1] mã 503"),
        }
    }

    /// Replays audits every `step` seconds from `start`, returning what the store would hold.
    fn replay(states: &[(f64, FamilyState)]) -> (Option<Coverage>, Vec<Gap>, Vec<Outage>) {
        let (mut coverage, mut gaps, mut outages): (Option<Coverage>, Vec<Gap>, Vec<Outage>) =
            (None, Vec::new(), Vec::new());
        for (at, state) in states {
            let open = outages.last().is_some_and(|o| o.end.is_none());
            let changes = advance(coverage.as_ref(), open, &observe(state.clone()), *at);
            gaps.extend(changes.gap);
            if let Some(reason) = changes.open_outage {
                outages.push(Outage {
                    family: IpFamily::Ipv6,
                    start: *at,
                    end: None,
                    reason,
                });
            }
            if changes.close_outage {
                if let Some(last) = outages.last_mut() {
                    last.end = Some(*at);
                }
            }
            coverage = Some(changes.coverage);
        }
        (coverage, gaps, outages)
    }

    #[test]
    fn an_outage_runs_from_the_first_failing_audit_to_the_first_passing_one() {
        let audits: Vec<(f64, FamilyState)> = (0..=10)
            .map(|i| {
                (
                    i as f64 * 60.0,
                    if (3..6).contains(&i) { down() } else { FamilyState::Up },
                )
            })
            .collect();
        let (coverage, gaps, outages) = replay(&audits);
        assert!(gaps.is_empty());
        assert_eq!(outages.len(), 1);
        assert_eq!((outages[0].start, outages[0].end), (180.0, Some(360.0)));
        let a = availability((0.0, 660.0), coverage.as_ref(), &gaps, &outages, 660.0);
        assert_eq!(a.monitored_seconds, 660.0);
        assert_eq!(a.up_seconds, 480.0);
        assert!((a.ratio.unwrap() - 480.0 / 660.0).abs() < 1e-9);
        assert_eq!(a.monitored_ratio, 1.0);
    }

    #[test]
    fn a_stop_is_not_monitored_and_never_down() {
        // Audits every minute, then nothing for an hour, then every minute again.
        let mut audits: Vec<(f64, FamilyState)> = (0..10).map(|i| (i as f64 * 60.0, FamilyState::Up)).collect();
        audits.extend((0..10).map(|i| (4200.0 + i as f64 * 60.0, FamilyState::Up)));
        let (coverage, gaps, outages) = replay(&audits);
        assert_eq!(
            gaps,
            vec![Gap {
                start: 600.0,
                end: 4200.0
            }]
        );
        assert!(outages.is_empty());
        let a = availability((0.0, 4800.0), coverage.as_ref(), &gaps, &outages, 4800.0);
        assert_eq!(a.ratio, Some(1.0), "a stop is never down");
        assert_eq!(a.monitored_seconds, 4800.0 - 3600.0);
        assert!((a.monitored_ratio - 0.25).abs() < 1e-9);
        // Down when the daemon stopped: the unmonitored part of the outage is not counted.
        let mut audits: Vec<(f64, FamilyState)> = (0..10).map(|i| (i as f64 * 60.0, down())).collect();
        audits.push((4200.0, FamilyState::Up));
        let (coverage, gaps, outages) = replay(&audits);
        assert_eq!((outages[0].start, outages[0].end), (0.0, Some(4200.0)));
        let a = availability((0.0, 4260.0), coverage.as_ref(), &gaps, &outages, 4260.0);
        assert_eq!(a.monitored_seconds, 600.0 + 60.0);
        assert_eq!(a.up_seconds, 60.0);
    }

    #[test]
    fn an_unknown_family_is_not_monitored() {
        let audits = vec![
            (0.0, FamilyState::Up),
            (60.0, FamilyState::Unknown),
            (120.0, FamilyState::Unknown),
            (180.0, FamilyState::Up),
        ];
        let (coverage, gaps, outages) = replay(&audits);
        assert_eq!(
            gaps,
            vec![Gap {
                start: 60.0,
                end: 180.0
            }]
        );
        let a = availability((0.0, 240.0), coverage.as_ref(), &gaps, &outages, 240.0);
        assert_eq!(a.monitored_seconds, 120.0);
        assert_eq!(a.ratio, Some(1.0));
        // Before the first audit, and for a family never audited, nothing is monitored.
        let a = availability((-1000.0, 240.0), coverage.as_ref(), &gaps, &outages, 240.0);
        assert!((a.monitored_ratio - 120.0 / 1240.0).abs() < 1e-9);
        assert_eq!(availability((0.0, 10.0), None, &[], &[], 10.0).ratio, None);
    }

    #[test]
    fn days_and_moments() {
        // Days of Vietnam time: midnight there is 17:00 UTC the day before.
        let midnight = |day: f64| 86_400.0 * day - 7.0 * 3600.0;
        let coverage = Coverage {
            first_at: midnight(2.0),
            last_at: midnight(3.5),
            interval: 60.0,
            unknown_since: None,
        };
        let outage = Outage {
            family: IpFamily::Ipv4,
            start: midnight(3.0),
            end: Some(midnight(3.25)),
            reason: Reason::new("", ""),
        };
        let cells = daily(Some(&coverage), &[], &[outage], 4, midnight(3.5) + 30.0);
        assert_eq!(cells[0], None, "not monitored yet");
        assert_eq!(cells[2], Some(1.0));
        assert!((cells[3].unwrap() - 0.5).abs() < 0.01, "{cells:?}");
        assert_eq!(parse_moment("30d", 100.0 * 86_400.0), Ok(70.0 * 86_400.0));
        assert_eq!(
            parse_moment("1970-01-02", 0.0),
            Ok(86_400.0 - 7.0 * 3600.0),
            "midnight in Vietnam"
        );
        assert_eq!(parse_moment("1970-01-02T00:00:00Z", 0.0), Ok(86_400.0));
        assert!(parse_moment("last month", 0.0)
            .unwrap_err()
            .contains("expected a duration"));
    }
}
