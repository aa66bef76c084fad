//! security.txt (RFC 9116) on every usable address: one request per address per round for
//! `/.well-known/security.txt` on the connection the page came back on, and the legacy
//! `/security.txt` only where the first has none. Redirects are followed on the same origin
//! only; one to another host is recorded, never followed (the file must be the site's own).

use std::net::IpAddr;

use serde::Serialize;
use url::Url;

use super::context::Context;
use super::http::{AddressFetch, FetchError, KeptConnection};

/// The RFC 9116 location, and the legacy one a few sites still use.
pub const WELL_KNOWN_PATH: &str = "/.well-known/security.txt";
pub const LEGACY_PATH: &str = "/security.txt";
/// A security.txt is a few lines; a larger answer is cut here (a hostile server gets no more).
pub const MAX_SECURITY_TXT_BYTES: usize = 32 * 1024;
/// Same-origin redirects followed for one file (`/.well-known/security.txt/` and the like).
const MAX_SAME_ORIGIN_REDIRECTS: usize = 3;

/// What one location answered on one address.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SecurityTxtAnswer {
    /// The URL asked first.
    pub url: String,
    /// The URL that answered last (after same-origin redirects).
    pub final_url: String,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    /// The body as text (invalid UTF-8 replaced), at most [`MAX_SECURITY_TXT_BYTES`]. Not
    /// serialised: the check reports the fields it read.
    #[serde(skip)]
    pub body: String,
    pub bytes: usize,
    pub truncated: bool,
    /// A redirect to another origin, not followed.
    pub redirect_elsewhere: Option<String>,
    pub error: Option<FetchError>,
}

impl SecurityTxtAnswer {
    /// Whether a file was served here: a 200 that was not redirected away.
    pub fn served(&self) -> bool {
        self.status == Some(200) && self.redirect_elsewhere.is_none() && self.error.is_none()
    }
}

/// security.txt as one address serves it.
#[derive(Clone, Debug, Serialize)]
pub struct AddressSecurityTxt {
    pub ip: IpAddr,
    pub well_known: SecurityTxtAnswer,
    /// Asked only when the well-known location served no plain-text file.
    pub legacy: Option<SecurityTxtAnswer>,
}

/// Asks every address whose page came back, on its kept connection (`kept[i]` belongs to
/// `fetches[i]`, and is handed back afterwards for the crawler). An address whose fetch failed
/// is not asked: the check names it from the fetch's own error.
pub async fn observe(
    cx: &Context<'_>,
    fetches: &[AddressFetch],
    kept: &mut [Option<KeptConnection>],
) -> Vec<AddressSecurityTxt> {
    if !cx.probes.security_txt {
        return Vec::new();
    }
    let Some(base) = site_origin(&cx.target.url) else {
        return Vec::new();
    };
    let asks = fetches
        .iter()
        .zip(kept.iter_mut())
        .filter(|(fetch, _)| fetch.answered())
        .map(|(fetch, kept)| (fetch.ip, kept.take()))
        .collect::<Vec<_>>();
    let answers = futures::future::join_all(asks.into_iter().map(|(ip, kept)| {
        let base = &base;
        async move { (ip, on_address(cx, base, ip, kept).await) }
    }))
    .await;
    let mut found = Vec::new();
    for (ip, (facts, back)) in answers {
        if let Some(slot) = fetches
            .iter()
            .position(|fetch| fetch.ip == ip)
            .and_then(|i| kept.get_mut(i))
        {
            *slot = back;
        }
        found.push(facts);
    }
    found
}

/// The site's own origin (`https://host[:port]`), where its security.txt belongs.
fn site_origin(url: &Url) -> Option<Url> {
    let mut base = url.clone();
    base.set_path("/");
    base.set_query(None);
    base.set_fragment(None);
    (base.scheme() == "https").then_some(base)
}

async fn on_address(
    cx: &Context<'_>,
    base: &Url,
    ip: IpAddr,
    kept: Option<KeptConnection>,
) -> (AddressSecurityTxt, Option<KeptConnection>) {
    let (well_known, kept) = ask(cx, base, WELL_KNOWN_PATH, ip, kept).await;
    // A plain-text 200 is a file; anything else (a 404, a catch-all HTML page, a redirect
    // elsewhere) may leave the file at the legacy place.
    let plain_text = well_known
        .content_type
        .as_deref()
        .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("text/plain"));
    let (legacy, kept) = if (well_known.served() && plain_text) || well_known.error.is_some() {
        (None, kept)
    } else {
        let (legacy, kept) = ask(cx, base, LEGACY_PATH, ip, kept).await;
        (Some(legacy), kept)
    };
    (AddressSecurityTxt { ip, well_known, legacy }, kept)
}

/// One location, following redirects on the same origin only.
async fn ask(
    cx: &Context<'_>,
    base: &Url,
    path: &str,
    ip: IpAddr,
    mut kept: Option<KeptConnection>,
) -> (SecurityTxtAnswer, Option<KeptConnection>) {
    let http = cx.http();
    let mut url = base.clone();
    url.set_path(path);
    let mut answer = SecurityTxtAnswer {
        url: url.to_string(),
        ..SecurityTxtAnswer::default()
    };
    for _ in 0..=MAX_SAME_ORIGIN_REDIRECTS {
        answer.final_url = url.to_string();
        let (response, back) = http.get_once(&url, ip, cx.deadline, MAX_SECURITY_TXT_BYTES, kept).await;
        kept = back;
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                answer.error = Some(err);
                return (answer, kept);
            }
        };
        answer.status = Some(response.status);
        answer.content_type = response.header("content-type").map(str::to_string);
        let next = super::http::is_redirect(response.status)
            .then(|| response.location.as_deref().and_then(|to| url.join(to).ok()))
            .flatten();
        match next {
            Some(next) if same_origin(&next, &url) => url = next,
            Some(next) => {
                answer.redirect_elsewhere = Some(next.to_string());
                return (answer, kept);
            }
            None => {
                answer.bytes = response.body.len();
                answer.truncated = response.truncated;
                answer.body = String::from_utf8_lossy(&response.body).into_owned();
                return (answer, kept);
            }
        }
    }
    answer.error = Some(FetchError::new(
        super::http::Phase::Processing,
        "redirect",
        format!("more than {MAX_SAME_ORIGIN_REDIRECTS} redirects"),
    ));
    (answer, kept)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}
