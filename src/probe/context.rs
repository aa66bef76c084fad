//! What every probe level is given: the target, the probes asked for, the addresses it may
//! contact, the audit's one deadline, and the process-wide state it shares with other audits.
//! A level is a function of a `Context` (and the levels it builds on) to plain facts.

use std::net::IpAddr;

use tokio::time::Instant;

use super::addr;
use super::http::{HttpProber, USER_AGENT_VALUE};
use super::state::SharedState;
use crate::model::catalogue::ProbeSet;
use crate::model::target::Target;

/// One target's audit, as every probe level sees it.
pub struct Context<'a> {
    /// Resolvers, TLS setup and the caches shared with every other audit of the process.
    pub shared: &'a SharedState,
    pub target: &'a Target,
    pub probes: ProbeSet,
    /// Special-purpose ranges accepted as usable for this target (global plus its own).
    pub accept: Vec<ipnet::IpNet>,
    /// Every probe of the target finishes by this instant, whatever the servers do.
    pub deadline: Instant,
    /// The host's A and AAAA, when a sweep's admission has just looked them up.
    pub prefetched: Option<super::dns::HostRecords>,
}

impl<'a> Context<'a> {
    pub fn new(shared: &'a SharedState, target: &'a Target, probes: ProbeSet, deadline: Instant) -> Context<'a> {
        let mut accept = shared.accept_ranges.clone();
        accept.extend(target.settings.accept_ranges.iter().copied());
        Context {
            shared,
            target,
            probes,
            accept,
            deadline,
            prefetched: None,
        }
    }

    /// The target's host name (punycode).
    pub fn host(&self) -> &str {
        self.target.host()
    }

    /// Whether an address may be connected to for this target.
    pub fn usable(&self, ip: IpAddr) -> bool {
        addr::is_usable(ip, &self.accept)
    }

    /// An HTTP client pinned to this target's accepted ranges, sending vnready's User-Agent.
    pub fn http(&self) -> HttpProber<'_> {
        self.http_as(USER_AGENT_VALUE)
    }

    /// The same client sending another User-Agent (a search crawler's, for `content.clean`).
    pub fn http_as<'b>(&'b self, user_agent: &'b str) -> HttpProber<'b> {
        HttpProber {
            tls: &self.shared.tls,
            dns: &self.shared.dns,
            accept_ranges: &self.accept,
            user_agent,
            hop_addresses: super::http::MAX_HOP_ADDRESSES,
            mss: None,
            progress: None,
        }
    }
}
