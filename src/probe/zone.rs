//! The zone level: what is true of the zone the host lives in (its apex, SOA, name servers,
//! how each name server answers over IPv6, DNSSEC), computed once per zone and round and
//! shared by every site of the zone.

use std::net::SocketAddr;

use serde::Serialize;
use tokio::time::Instant;

use super::addr::classify;
use super::context::Context;
use super::dns::{self, addresses_of, DnssecState, LookupOutcome, NsAddressQuery, ZoneFacts, ZoneRound};
use super::nameserver;

/// The zone's facts, as far as the audit asked for them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ZoneLevel {
    /// Apex, SOA, NS set and the name servers' addresses (when name servers were probed).
    #[serde(rename = "zone")]
    pub facts: Option<ZoneFacts>,
    /// Queries over IPv6 to every usable AAAA of every name server.
    pub ns_queries: Vec<NsAddressQuery>,
    pub dnssec: Option<DnssecState>,
}

/// Finds the host's zone and probes it, or reads what another site of the zone found this
/// round.
pub async fn observe(cx: &Context<'_>) -> ZoneLevel {
    let probes = cx.probes;
    if !(probes.zone || probes.dnssec) {
        return ZoneLevel::default();
    }
    let (apex, ns) = cx.shared.dns.find_apex(cx.host(), cx.deadline).await;
    let Some(apex) = apex else {
        let facts = ZoneFacts::without_apex(cx.host(), ns);
        return ZoneLevel {
            facts: Some(facts).filter(|_| probes.zone),
            ns_queries: Vec::new(),
            dnssec: probes
                .dnssec
                .then(|| indeterminate("the zone's name servers could not be found")),
        };
    };
    // The zone's servers are asked once per round (the target's interval), not once per site.
    let key = format!("{apex}|{}|{}|{:?}", probes.zone, probes.dnssec, cx.accept);
    let compute = move || async move { (probe_zone(cx, apex, ns).await, cx.target.settings.interval) };
    match cx.shared.zones.get_or_compute(&key, cx.deadline, compute).await {
        Some(shared) => ZoneLevel {
            facts: Some(shared.facts).filter(|_| probes.zone),
            ns_queries: shared.ns_queries,
            dnssec: shared.dnssec,
        },
        None => ZoneLevel {
            facts: None,
            ns_queries: Vec::new(),
            dnssec: probes
                .dnssec
                .then(|| indeterminate("timeout waiting for the zone's shared facts")),
        },
    }
}

fn indeterminate(message: &str) -> DnssecState {
    DnssecState::Indeterminate {
        message: message.into(),
    }
}

/// SOA, name-server addresses, SOA queries to every name server over IPv6, and DNSSEC.
async fn probe_zone(cx: &Context<'_>, apex: String, ns: LookupOutcome) -> ZoneRound {
    let facts = cx.shared.dns.zone_details(apex, ns, cx.deadline).await;
    let (ns_queries, dnssec) = tokio::join!(
        async {
            if cx.probes.zone {
                query_name_servers(cx, &facts).await
            } else {
                Vec::new()
            }
        },
        async {
            if cx.probes.dnssec {
                Some(cx.shared.dns.dnssec_state(&facts.apex, cx.deadline).await)
            } else {
                None
            }
        }
    );
    ZoneRound {
        facts,
        ns_queries,
        dnssec,
    }
}

/// An authoritative SOA query to every usable AAAA of every name server.
async fn query_name_servers(cx: &Context<'_>, zone: &dns::ZoneFacts) -> Vec<NsAddressQuery> {
    let mut jobs = Vec::new();
    for server in &zone.name_servers {
        for ip in addresses_of(&server.aaaa) {
            if classify(ip, &cx.accept).class.is_usable() {
                let address = SocketAddr::new(ip, cx.shared.ns_port);
                let name = server.name.clone();
                let apex = zone.apex.clone();
                let server_deadline = cx.deadline.min(Instant::now() + nameserver::PER_SERVER_BUDGET);
                jobs.push(async move {
                    let outcome = nameserver::query_soa(address, &apex, server_deadline).await;
                    NsAddressQuery { name, address, outcome }
                });
            }
        }
    }
    futures::future::join_all(jobs).await
}
