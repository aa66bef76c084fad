//! The levels that hang off the host's own name, in the order they depend on each other: the
//! host's addresses; on each address the fetch, the plain http:// request and the legacy hello
//! (side by side); and once the pages are here, the page's own level and the certificates it
//! was served with. The page level starts as soon as the fetches end, never waiting for a slow
//! legacy hello or plain request. security.txt is asked on each page's connection first, and
//! hands the connections back for the crawler.

use super::address::{self, AddressLevel};
use super::certificate::{self, CertificateLevel};
use super::context::Context;
use super::host::{self, HostLevel};
use super::page::{self, PageLevel};
use super::security_txt::{self, AddressSecurityTxt};

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
    security_txt: Vec<AddressSecurityTxt>,
    page: PageLevel,
    certificates: CertificateLevel,
    dane: Option<super::address::DaneFacts>,
    tls_scans: Vec<super::tls_scan::TlsScan>,
}

pub async fn observe(cx: &Context<'_>) -> SiteLevels {
    let host = host::observe(cx).await;
    let after_fetch = async {
        let (mut fetched, tlsa) = tokio::join!(address::fetch(cx, &host), address::tlsa(cx));
        let dane = address::dane(tlsa, &fetched.fetches);
        let leaves = address::leaves(&fetched.fetches);
        let pending = certificate::pending(&mut fetched.fetches);
        let pages = async {
            let security_txt = security_txt::observe(cx, &fetched.fetches, &mut fetched.kept).await;
            let page = page::observe(cx, &mut fetched).await;
            (security_txt, page, fetched)
        };
        let ((security_txt, page, fetched), certificates, tls_scans) = tokio::join!(
            pages,
            certificate::observe(cx, pending),
            address::tls_scans(cx, &host, &leaves)
        );
        AfterFetch {
            fetches: fetched.fetches,
            pmtu: fetched.pmtu,
            security_txt,
            page,
            certificates,
            dane,
            tls_scans,
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
            security_txt: after.security_txt,
            tls_scans: after.tls_scans,
            dane: after.dane,
        },
        page: after.page,
        certificates: after.certificates,
    }
}
