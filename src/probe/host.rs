//! The host level: the target's own A and AAAA records, each address classified against the
//! special-purpose registries. Every per-address probe starts from its usable addresses.

use std::net::IpAddr;

use serde::Serialize;

use super::addr::{classify, ClassifiedAddress};
use super::context::Context;
use super::dns::{addresses_of, HostRecords};

/// What the host's name resolves to.
#[derive(Clone, Debug, Serialize)]
pub struct HostLevel {
    pub records: HostRecords,
    /// Every A and AAAA, classified against the special-purpose registries.
    pub addresses: Vec<ClassifiedAddress>,
    /// The CAA set that applies to the host (when dns.caa runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caa: Option<super::caa::CaaFacts>,
}

impl HostLevel {
    /// The addresses a probe may connect to, A records first.
    pub fn usable(&self) -> Vec<IpAddr> {
        self.addresses
            .iter()
            .filter(|a| a.class.is_usable())
            .map(|a| a.ip)
            .collect()
    }
}

/// Resolves the target's host and classifies every address.
pub async fn observe(cx: &Context<'_>) -> HostLevel {
    let records = async {
        match &cx.prefetched {
            Some(records) => records.clone(),
            None => cx.shared.dns.host_records(cx.host(), cx.deadline).await,
        }
    };
    let (records, caa) = tokio::join!(records, super::caa::observe(cx));
    let addresses = addresses_of(&records.a)
        .into_iter()
        .chain(addresses_of(&records.aaaa))
        .map(|ip| classify(ip, &cx.accept))
        .collect();
    HostLevel {
        records,
        addresses,
        caa,
    }
}
