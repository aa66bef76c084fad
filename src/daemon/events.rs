//! Structured event lines for a SOC's SIEM: one line per check transition and per change of
//! certificate, address set or name-server set. With `--log.format json` each is one JSON
//! object with `event` and `target` fields at the top level.

use crate::history::{FactChange, Transition};

/// Tracing target of event lines, so they can be filtered apart from operational logs.
pub const EVENT_TARGET: &str = "vnready::event";

/// Logs a check status change.
pub fn check_changed(target: &str, transition: &Transition) {
    let from = transition.from.map(|s| s.as_str()).unwrap_or("none");
    tracing::info!(
        target: EVENT_TARGET,
        event = "check_changed",
        target = target,
        check = transition.check.as_str(),
        from = from,
        to = transition.to.as_str(),
        at = transition.at,
        reason = &*transition.reason.en,
        reason_vi = &*transition.reason.vi,
        "{target}: {} {from} -> {}",
        transition.check.as_str(),
        transition.to.as_str()
    );
}

/// Logs a change of a watched fact.
pub fn fact_changed(target: &str, change: &FactChange) {
    match change {
        FactChange::Certificate { from, to } => tracing::info!(
            target: EVENT_TARGET,
            event = change.event(),
            target = target,
            from_sha256 = from.as_str(),
            to_sha256 = to.as_str(),
            "{target}: certificate changed"
        ),
        FactChange::ScriptHosts { added, removed, page } => {
            // One line per host: a SIEM rule can match `script_host_added` alone.
            let changes = [
                ("script_host_added", added, "new third-party script host"),
                ("script_host_removed", removed, "third-party script host gone"),
            ];
            for (event, hosts, what) in changes {
                for host in hosts {
                    tracing::info!(
                        target: EVENT_TARGET,
                        event,
                        target = target,
                        host = host.as_str(),
                        page = page.as_str(),
                        "{target}: {what}: {host} on {page}"
                    );
                }
            }
        }
        FactChange::FinalUrl { from, to } => tracing::info!(
            target: EVENT_TARGET,
            event = "final_url_changed",
            target = target,
            from = from.as_str(),
            to = to.as_str(),
            "{target}: the page now ends at {to} (was {from})"
        ),
        FactChange::Addresses { added, removed } | FactChange::NameServers { added, removed } => tracing::info!(
            target: EVENT_TARGET,
            event = change.event(),
            target = target,
            added = added.join(" ").as_str(),
            removed = removed.join(" ").as_str(),
            "{target}: {} (added: [{}], removed: [{}])",
            change.event().replace('_', " "),
            added.join(" "),
            removed.join(" ")
        ),
    }
}
