//! History: what changed between two audits of a target — check status transitions ("failing
//! since") and changes of the facts a SOC watches (certificate, addresses, name servers) — as
//! pure functions here; [`store`] persists their output in SQLite and [`snapshots`] keeps the
//! latest verdict of every target in memory.

pub mod snapshots;
pub mod store;
pub mod uptime;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::audit::verdict::TargetVerdict;
use crate::checks::{CheckId, Reason, Status};
use crate::probe::dns::LookupOutcome;

/// A check's current status and the Unix time it took that status.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckState {
    pub status: Status,
    pub since: f64,
}

/// Every check's state for one target.
pub type CheckStates = BTreeMap<CheckId, CheckState>;

/// One check changing status (or being seen for the first time, `from == None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub check: CheckId,
    pub from: Option<Status>,
    pub to: Status,
    pub at: f64,
    pub reason: Reason,
}

/// Applies a verdict to the previous states: unchanged statuses keep their `since`, changed
/// or new ones start now. Checks that did not run this time keep their old state.
pub fn advance(previous: &CheckStates, verdict: &TargetVerdict, at: f64) -> (CheckStates, Vec<Transition>) {
    let mut states = previous.clone();
    let mut transitions = Vec::new();
    for result in &verdict.checks {
        let old = previous.get(&result.id);
        if old.map(|s| s.status) == Some(result.status) {
            continue;
        }
        states.insert(
            result.id,
            CheckState {
                status: result.status,
                since: at,
            },
        );
        transitions.push(Transition {
            check: result.id,
            from: old.map(|s| s.status),
            to: result.status,
            at,
            reason: result.reason.clone(),
        });
    }
    (states, transitions)
}

/// The facts whose change a SOC wants to hear about. `None` means "not known this time"
/// (lookup timed out, no TLS handshake): an unknown value never counts as a change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedFacts {
    /// The leaf fingerprint when every address serves the same certificate, else the sorted
    /// `address=fingerprint` pairs: round-robin order never looks like a change, a different
    /// certificate on any one address does. Unknown when any address showed no certificate.
    pub cert_sha256: Option<String>,
    pub addresses: Option<Vec<String>>,
    pub name_servers: Option<Vec<String>>,
    /// Third-party hosts serving the page's scripts and frames (absent in older stores).
    #[serde(default)]
    pub script_hosts: Option<Vec<String>>,
    /// Where the page ends up after redirects (absent in older stores).
    #[serde(default)]
    pub final_url: Option<String>,
}

impl WatchedFacts {
    /// Reads the watched facts out of a verdict.
    pub fn of(verdict: &TargetVerdict) -> WatchedFacts {
        let observations = &verdict.observations;
        let cert_sha256 = certificate_fingerprints(observations);
        let records = &observations.dns.records;
        let addresses = (records.a.is_authoritative_answer() && records.aaaa.is_authoritative_answer()).then(|| {
            let mut list: Vec<String> = observations.dns.addresses.iter().map(|a| a.ip.to_string()).collect();
            list.sort();
            list
        });
        let name_servers = observations.zone.facts.as_ref().and_then(|zone| match &zone.ns {
            LookupOutcome::Records { values } => {
                let mut list: Vec<String> = values.iter().map(|v| v.trim_end_matches('.').to_lowercase()).collect();
                list.sort();
                Some(list)
            }
            _ => None,
        });
        let final_url = observations
            .address
            .fetches
            .iter()
            .find(|fetch| fetch.error.is_none())
            .and_then(|fetch| fetch.final_url.clone());
        WatchedFacts {
            cert_sha256,
            addresses,
            name_servers,
            script_hosts: observations.page.script_hosts.clone(),
            final_url,
        }
    }

    /// Known values from `self`, the previous value where `self` knows nothing.
    pub fn or_previous(self, previous: &WatchedFacts) -> WatchedFacts {
        WatchedFacts {
            cert_sha256: self.cert_sha256.or_else(|| previous.cert_sha256.clone()),
            addresses: self.addresses.or_else(|| previous.addresses.clone()),
            name_servers: self.name_servers.or_else(|| previous.name_servers.clone()),
            script_hosts: self.script_hosts.or_else(|| previous.script_hosts.clone()),
            final_url: self.final_url.or_else(|| previous.final_url.clone()),
        }
    }
}

/// A watched fact that changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FactChange {
    Certificate {
        from: String,
        to: String,
    },
    Addresses {
        added: Vec<String>,
        removed: Vec<String>,
    },
    NameServers {
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// Third-party script or frame hosts appeared or went; `page` is where.
    ScriptHosts {
        added: Vec<String>,
        removed: Vec<String>,
        page: String,
    },
    FinalUrl {
        from: String,
        to: String,
    },
}

impl FactChange {
    /// The event name in logs.
    pub fn event(&self) -> &'static str {
        match self {
            FactChange::Certificate { .. } => "certificate_changed",
            FactChange::Addresses { .. } => "addresses_changed",
            FactChange::NameServers { .. } => "name_servers_changed",
            FactChange::ScriptHosts { .. } => "script_hosts_changed",
            FactChange::FinalUrl { .. } => "final_url_changed",
        }
    }
}

/// The watched certificate value of [`WatchedFacts::cert_sha256`].
fn certificate_fingerprints(observations: &crate::probe::Observations) -> Option<String> {
    let mut pairs = Vec::new();
    for fetch in &observations.address.fetches {
        let leaf = fetch.tls.as_ref()?.chain.first()?;
        pairs.push((fetch.ip.to_string(), leaf.sha256.clone()));
    }
    pairs.sort();
    pairs.dedup();
    let first = pairs.first()?.1.clone();
    if pairs.iter().all(|(_, sha)| *sha == first) {
        return Some(first);
    }
    Some(
        pairs
            .iter()
            .map(|(ip, sha)| format!("{ip}={sha}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// Changes from `previous` to `current`, comparing only values known on both sides.
pub fn fact_changes(previous: &WatchedFacts, current: &WatchedFacts) -> Vec<FactChange> {
    let mut changes = Vec::new();
    if let (Some(from), Some(to)) = (&previous.cert_sha256, &current.cert_sha256) {
        if from != to {
            changes.push(FactChange::Certificate {
                from: from.clone(),
                to: to.clone(),
            });
        }
    }
    if let (Some(from), Some(to)) = (&previous.addresses, &current.addresses) {
        let (added, removed) = set_difference(from, to);
        if !added.is_empty() || !removed.is_empty() {
            changes.push(FactChange::Addresses { added, removed });
        }
    }
    if let (Some(from), Some(to)) = (&previous.name_servers, &current.name_servers) {
        let (added, removed) = set_difference(from, to);
        if !added.is_empty() || !removed.is_empty() {
            changes.push(FactChange::NameServers { added, removed });
        }
    }
    if let (Some(from), Some(to)) = (&previous.script_hosts, &current.script_hosts) {
        let (added, removed) = set_difference(from, to);
        if !added.is_empty() || !removed.is_empty() {
            let page = current.final_url.clone().unwrap_or_default();
            changes.push(FactChange::ScriptHosts { added, removed, page });
        }
    }
    if let (Some(from), Some(to)) = (&previous.final_url, &current.final_url) {
        if from != to {
            changes.push(FactChange::FinalUrl {
                from: from.clone(),
                to: to.clone(),
            });
        }
    }
    changes
}

fn set_difference(from: &[String], to: &[String]) -> (Vec<String>, Vec<String>) {
    let added = to.iter().filter(|v| !from.contains(v)).cloned().collect();
    let removed = from.iter().filter(|v| !to.contains(v)).cloned().collect();
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::fixtures;

    #[test]
    fn unchanged_status_keeps_its_since() {
        let verdict = fixtures::verdict_with(&[(CheckId::Ipv6Aaaa, Status::Fail), (CheckId::TlsValid, Status::Pass)]);
        let (first, transitions) = advance(&CheckStates::new(), &verdict, 100.0);
        assert_eq!(transitions.len(), 2);
        assert!(transitions.iter().all(|t| t.from.is_none()));

        let (second, transitions) = advance(&first, &verdict, 200.0);
        assert!(transitions.is_empty());
        assert_eq!(second[&CheckId::Ipv6Aaaa].since, 100.0);

        let fixed = fixtures::verdict_with(&[(CheckId::Ipv6Aaaa, Status::Pass), (CheckId::TlsValid, Status::Pass)]);
        let (third, transitions) = advance(&second, &fixed, 300.0);
        assert_eq!(transitions.len(), 1);
        assert_eq!(transitions[0].from, Some(Status::Fail));
        assert_eq!(transitions[0].to, Status::Pass);
        assert_eq!(third[&CheckId::Ipv6Aaaa].since, 300.0);
        assert_eq!(third[&CheckId::TlsValid].since, 100.0);
    }

    #[test]
    fn certificates_are_watched_on_every_address_whatever_the_order() {
        let mut verdict = fixtures::verdict_with(&[]);
        let same = WatchedFacts::of(&verdict).cert_sha256;
        assert_eq!(
            same.as_deref(),
            Some("00"),
            "one certificate everywhere: its fingerprint"
        );
        verdict.observations.address.fetches[1].tls.as_mut().unwrap().chain[0].sha256 = "ff".into();
        let mixed = WatchedFacts::of(&verdict).cert_sha256;
        assert_eq!(mixed.as_deref(), Some("203.162.4.190=00, 2402:800::1=ff"));
        verdict.observations.address.fetches.reverse();
        assert_eq!(
            WatchedFacts::of(&verdict).cert_sha256,
            mixed,
            "round-robin order is no change"
        );
        verdict.observations.address.fetches[0].tls = None;
        assert_eq!(
            WatchedFacts::of(&verdict).cert_sha256,
            None,
            "an address without a handshake is unknown"
        );
    }

    #[test]
    fn unknown_facts_are_not_changes() {
        let known = WatchedFacts {
            cert_sha256: Some("aa".into()),
            addresses: Some(vec!["192.0.2.1".into()]),
            name_servers: Some(vec!["ns1.example.vn".into()]),
            script_hosts: Some(vec!["cdn.example.com".into()]),
            final_url: Some("https://example.gov.vn/".into()),
        };
        let unknown = WatchedFacts::default();
        assert!(fact_changes(&known, &unknown).is_empty());
        let merged = unknown.or_previous(&known);
        assert_eq!(merged, known);
    }

    #[test]
    fn reports_added_and_removed_addresses_and_new_certificates() {
        let before = WatchedFacts {
            cert_sha256: Some("aa".into()),
            addresses: Some(vec!["192.0.2.1".into(), "2001:db8::1".into()]),
            name_servers: Some(vec!["ns1.vn".into()]),
            ..WatchedFacts::default()
        };
        let after = WatchedFacts {
            cert_sha256: Some("bb".into()),
            addresses: Some(vec!["192.0.2.1".into(), "192.0.2.2".into()]),
            name_servers: Some(vec!["ns1.vn".into()]),
            ..WatchedFacts::default()
        };
        let changes = fact_changes(&before, &after);
        assert_eq!(
            changes,
            vec![
                FactChange::Certificate {
                    from: "aa".into(),
                    to: "bb".into()
                },
                FactChange::Addresses {
                    added: vec!["192.0.2.2".into()],
                    removed: vec!["2001:db8::1".into()]
                },
            ]
        );
    }

    #[test]
    fn new_script_hosts_and_a_moved_page_are_changes() {
        let before = WatchedFacts {
            script_hosts: Some(vec!["cdn.example.com".into()]),
            final_url: Some("https://a.gov.vn/".into()),
            ..WatchedFacts::default()
        };
        let after = WatchedFacts {
            script_hosts: Some(vec!["cdn.example.com".into(), "evil.example".into()]),
            final_url: Some("https://a.gov.vn/home".into()),
            ..WatchedFacts::default()
        };
        assert_eq!(
            fact_changes(&before, &after),
            vec![
                FactChange::ScriptHosts {
                    added: vec!["evil.example".into()],
                    removed: Vec::new(),
                    page: "https://a.gov.vn/home".into(),
                },
                FactChange::FinalUrl {
                    from: "https://a.gov.vn/".into(),
                    to: "https://a.gov.vn/home".into(),
                },
            ]
        );
    }
}
