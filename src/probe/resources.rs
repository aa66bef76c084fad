//! Would the page work for a user with IPv6 and nothing else? The hosts the page loads
//! resources from ([`super::html`]) are each looked up (AAAA) and asked once over IPv6. A host
//! shared by many sites (a CDN, a font service, the national login portal) is asked once per
//! round and the answer is shared.

use std::net::IpAddr;

use serde::Serialize;
use tokio::time::Instant;
use url::Url;

use super::addr::{classify, IpFamily};
use super::dns::{addresses_of, LookupOutcome};
use super::html;
use super::http::{AddressFetch, HttpProber};
use super::shared::SharedCache;

/// Default cap on distinct resource hosts probed per site (`max_resource_hosts`).
pub const DEFAULT_MAX_RESOURCE_HOSTS: usize = 20;
/// A resource host's answer needs no more than its first bytes.
const RESOURCE_BODY_BYTES: usize = 16 * 1024;

/// The resources of the page a user reaches over IPv6, by host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceFacts {
    /// The page they were read from (the final URL of an IPv6 fetch).
    pub page: String,
    pub hosts: Vec<ResourceHost>,
    /// Hosts beyond the cap, not probed.
    pub unprobed: Vec<String>,
}

/// One host the page loads from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceHost {
    pub host: String,
    /// The first resource of the page on this host (the one asked for).
    pub url: String,
    pub kinds: Vec<&'static str>,
    pub outcome: HostOutcome,
}

/// How the host did over IPv6.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HostOutcome {
    /// The page's own host: the page fetch over IPv6 already answers for it.
    PageHost,
    /// Answered HTTP over IPv6.
    Works { ip: IpAddr, status: u16 },
    /// No AAAA record (the name may still have A records).
    NoAaaa { lookup: String },
    /// AAAA records, none of them a usable public address.
    NoUsableAaaa { addresses: Vec<IpAddr> },
    /// An IPv4 address written in the page: unreachable without IPv4.
    Ipv4Literal,
    /// The lookup itself failed (timeout, SERVFAIL): not tested.
    LookupFailed { lookup: String },
    /// The request over IPv6 failed.
    Failed { ip: IpAddr, message: String },
}

/// Reads the page from the first IPv6 fetch that has one and probes its resource hosts.
/// `None` when no IPv6 fetch brought a page back.
pub async fn probe(
    http: &HttpProber<'_>,
    fetches: &[AddressFetch],
    max_hosts: usize,
    cache: &SharedCache<HostOutcome>,
    fresh_for: std::time::Duration,
    deadline: Instant,
) -> Option<ResourceFacts> {
    let fetch = fetches
        .iter()
        .find(|f| f.family == IpFamily::Ipv6 && f.error.is_none() && !f.body.is_empty())?;
    let page = Url::parse(fetch.final_url.as_deref()?).ok()?;
    let text = String::from_utf8_lossy(&fetch.body);
    let resources = html::page_resources(&text, &page);
    let mut hosts = html::hosts_of(&resources);
    let page_host = page.host_str().unwrap_or_default().to_ascii_lowercase();
    let unprobed: Vec<String> = if hosts.len() > max_hosts {
        hosts
            .split_off(max_hosts)
            .into_iter()
            .map(|(host, _, _)| host)
            .collect()
    } else {
        Vec::new()
    };
    let probed = futures::future::join_all(hosts.into_iter().map(|(host, url, kinds)| {
        let page_host = page_host.clone();
        async move {
            let outcome = if host == page_host {
                HostOutcome::PageHost
            } else {
                let key = format!("{host}|{:?}", http.accept_ranges);
                let compute = || async { (host_outcome(http, &host, &url, deadline).await, fresh_for) };
                cache
                    .get_or_compute(&key, deadline, compute)
                    .await
                    .unwrap_or_else(|| HostOutcome::LookupFailed {
                        lookup: "timeout waiting for another audit of this host".into(),
                    })
            };
            ResourceHost {
                host,
                url,
                kinds,
                outcome,
            }
        }
    }))
    .await;
    Some(ResourceFacts {
        page: page.to_string(),
        hosts: probed,
        unprobed,
    })
}

async fn host_outcome(http: &HttpProber<'_>, host: &str, url: &str, deadline: Instant) -> HostOutcome {
    let Ok(url) = Url::parse(url) else {
        return HostOutcome::LookupFailed {
            lookup: "unparsable URL".into(),
        };
    };
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    let addresses = match literal {
        Some(IpAddr::V4(_)) => return HostOutcome::Ipv4Literal,
        Some(ip) => vec![ip],
        None => {
            let lookup = http
                .dns
                .lookup(host, hickory_resolver::proto::rr::RecordType::AAAA, deadline)
                .await;
            match &lookup {
                LookupOutcome::Records { .. } => addresses_of(&lookup),
                LookupOutcome::NoData | LookupOutcome::NxDomain => {
                    return HostOutcome::NoAaaa { lookup: lookup.label() }
                }
                failed => return HostOutcome::LookupFailed { lookup: failed.label() },
            }
        }
    };
    let Some(ip) = addresses
        .iter()
        .copied()
        .find(|ip| classify(*ip, http.accept_ranges).class.is_usable())
    else {
        return HostOutcome::NoUsableAaaa { addresses };
    };
    let fetch = http.fetch(&url, ip, deadline, RESOURCE_BODY_BYTES, 0.0).await;
    match (&fetch.error, fetch.final_status()) {
        (None, Some(status)) => HostOutcome::Works { ip, status },
        (Some(err), _) => HostOutcome::Failed {
            ip,
            message: if err.kind == "timeout" {
                "IPv6 timeout".into()
            } else {
                err.message.clone()
            },
        },
        (None, None) => HostOutcome::Failed {
            ip,
            message: "no answer".into(),
        },
    }
}
