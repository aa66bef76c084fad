//! The page level: what the page that came back shows, once it is here. Its resource hosts
//! over IPv6 (`ipv6.only`), the page once more as a search crawler sees it, and the
//! third-party hosts it loads scripts from (`content.clean`).

use std::net::IpAddr;

use serde::Serialize;

use super::address::Fetched;
use super::context::Context;
use super::html;
use super::http::{AddressFetch, KeptConnection};
use super::resources::{self, ResourceFacts};

/// What the page shows beyond its own response.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PageLevel {
    /// The resource hosts of the page reached over IPv6 (when probed and a page came back).
    pub resources: Option<ResourceFacts>,
    /// The page fetched once more with a search crawler's User-Agent (`content.clean`).
    /// Boxed: most audits have none kept, and inline it doubled every kept snapshot's size.
    pub crawler: Option<Box<AddressFetch>>,
    /// Third-party hosts the page loads scripts or frames from, sorted (when a page came
    /// back and `content.clean` ran): a new one on a government portal is the classic sign of
    /// injection.
    pub script_hosts: Option<Vec<String>>,
}

/// Reads the fetched pages; consumes the kept connections (the crawler asks on one).
pub async fn observe(cx: &Context<'_>, fetched: &mut Fetched) -> PageLevel {
    let fetches = &fetched.fetches;
    let resources_future = async {
        if !cx.probes.resources {
            return None;
        }
        let settings = &cx.target.settings;
        let cache = &cx.shared.resource_hosts;
        let http = cx.http().first_hop_address_only();
        resources::probe(
            &http,
            fetches,
            settings.max_resource_hosts,
            cache,
            settings.interval,
            cx.deadline,
        )
        .await
    };
    // The crawler asks after the page came back, from the address that served it: a dead site
    // costs no second request, and the two never compete for the same server. It asks on the
    // connection the page came back on: one more request, not one more TCP and TLS handshake.
    let served = fetches.iter().position(|f| f.error.is_none() && !f.body.is_empty());
    let served = served.map(|index| (fetches[index].ip, fetched.kept[index].take()));
    fetched.kept.clear();
    let crawler_future = async {
        let (ip, connection) = served?;
        if !cx.probes.crawler {
            return None;
        }
        Some(Box::new(as_crawler(cx, ip, connection).await))
    };
    let (resources, crawler) = tokio::join!(resources_future, crawler_future);
    // Gathered with `content.clean` (the crawler's probe): it is the same question, what the
    // page loads that its owner did not write, and an HTML parse is not free.
    let script_hosts = cx
        .probes
        .crawler
        .then(|| third_party_script_hosts(fetches, cx.host()))
        .flatten();
    PageLevel {
        resources,
        crawler,
        script_hosts,
    }
}

/// The page once more, as a search crawler sees it: injected spam is often shown only to
/// crawlers, so the agency never sees it.
async fn as_crawler(cx: &Context<'_>, ip: IpAddr, connection: Option<KeptConnection>) -> AddressFetch {
    let settings = &cx.target.settings;
    let crawler = cx
        .http_as(&settings.content.crawler_user_agent)
        .first_hop_address_only();
    crawler
        .fetch_reusing(&cx.target.url, ip, cx.deadline, settings.max_body_bytes, connection)
        .await
}

/// The third-party hosts of the first page that came back (scripts and frames only).
fn third_party_script_hosts(fetches: &[AddressFetch], site_host: &str) -> Option<Vec<String>> {
    let fetch = fetches.iter().find(|f| f.error.is_none() && !f.body.is_empty())?;
    let page = url::Url::parse(fetch.final_url.as_deref()?).ok()?;
    let domain = crate::model::target::site_domain(site_host);
    let text = String::from_utf8_lossy(&fetch.body);
    let mut hosts: Vec<String> = html::page_resources(&text, &page)
        .into_iter()
        .filter(|resource| matches!(resource.kind, "script" | "iframe"))
        .filter_map(|resource| {
            url::Url::parse(&resource.url)
                .ok()?
                .host_str()
                .map(str::to_ascii_lowercase)
        })
        .filter(|host| crate::model::target::off_site(host, &domain))
        .collect();
    hosts.sort();
    hosts.dedup();
    Some(hosts)
}
