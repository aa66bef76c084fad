//! The levels that hang off the host's own name, in the order they depend on each other: the
//! host's addresses; on each address the fetch, the plain http:// request and the legacy hello
//! (side by side); and once the pages are here, the page's own level and the certificates it
//! was served with. The page level starts as soon as the fetches end, never waiting for a slow
//! legacy hello or plain request.

use super::address::{self, AddressLevel};
use super::certificate::{self, CertificateLevel};
use super::context::Context;
use super::host::{self, HostLevel};
use super::page::{self, PageLevel};

/// The host-bound levels of one audit.
pub struct SiteLevels {
    pub host: HostLevel,
    pub address: AddressLevel,
    pub page: PageLevel,
    pub certificates: CertificateLevel,
}

/// What a page brought back: the fetches and the levels that read them.
struct AfterFetch {
    fetches: Vec<super::http::AddressFetch>,
    pmtu: Vec<super::pmtu::AddressPmtu>,
    page: PageLevel,
    certificates: CertificateLevel,
}

pub async fn observe(cx: &Context<'_>) -> SiteLevels {
    let host = host::observe(cx).await;
    let after_fetch = async {
        let mut fetched = address::fetch(cx, &host).await;
        let pending = certificate::pending(&mut fetched.fetches);
        let (page, certificates) = tokio::join!(page::observe(cx, &mut fetched), certificate::observe(cx, pending));
        AfterFetch {
            fetches: fetched.fetches,
            pmtu: fetched.pmtu,
            page,
            certificates,
        }
    };
    let (after, plain_http, legacy_tls) = tokio::join!(
        after_fetch,
        address::plain_http(cx, &host),
        address::legacy_tls(cx, &host)
    );
    SiteLevels {
        host,
        address: AddressLevel {
            fetches: after.fetches,
            plain_http,
            legacy_tls,
            pmtu: after.pmtu,
        },
        page: after.page,
        certificates: after.certificates,
    }
}
