//! content.clean: injected gambling spam, hidden off-site links and cloaking (spam served only
//! to search crawlers) — the most common incident on Vietnamese government sites. Judged the
//! way injected spam looks, not the way news looks: a police report on a betting ring or a
//! lottery story is prose (warn at most), a brand name or a promotion beside a gambling term,
//! a term in hidden elements, in an off-site link's text or only in the crawler's copy is spam.

use std::collections::BTreeSet;

use serde_json::json;
use url::Url;

use super::input::CheckFn;
use super::keywords::{Term, Words, BRANDS, GAMBLING_TERMS, PROMOTION, PROMOTION_WINDOW};
use super::page_text::{self, PageText};
use super::result::{error, fail, not_tested, noting_gaps, pass, reason, warn, CheckResult};
use crate::model::catalogue::CheckId;
use crate::model::target::{off_site, site_domain, Target};
use crate::probe::http::AddressFetch;
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::ContentClean, |input| {
    let gaps = super::http::monitor_gaps(input.observations);
    noting_gaps(clean(input.target, input.observations), &gaps)
})];

/// Where a term was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Title,
    Meta,
    Text,
    Hidden,
    Link,
    CrawlerOnly,
}

impl Place {
    fn en(self) -> &'static str {
        match self {
            Place::Title => "title",
            Place::Meta => "meta",
            Place::Text => "text",
            Place::Hidden => "hidden",
            Place::Link => "link",
            Place::CrawlerOnly => "crawler-only",
        }
    }

    fn vi(self) -> &'static str {
        match self {
            Place::Title => "tiêu đề",
            Place::Meta => "thẻ meta",
            Place::Text => "nội dung",
            Place::Hidden => "phần ẩn",
            Place::Link => "liên kết",
            Place::CrawlerOnly => "chỉ hiện cho máy tìm kiếm",
        }
    }
}

/// One matched term.
#[derive(Clone, Debug)]
struct Finding {
    term: String,
    place: Place,
    promoted: bool,
    excerpt: String,
    /// The addresses whose page shows it ("[ip], [ip]"), named when the addresses served
    /// different pages.
    on: Option<String>,
}

/// The shipped keyword lists, prepared once: preparing them for every page cost 2 % of a full
/// audit's CPU.
struct ShippedTerms {
    gambling: Vec<Term>,
    brands: Vec<Term>,
    promotion: Vec<Term>,
}

static SHIPPED: std::sync::LazyLock<ShippedTerms> = std::sync::LazyLock::new(|| ShippedTerms {
    gambling: GAMBLING_TERMS.iter().map(|t| Term::new(t)).collect(),
    brands: BRANDS.iter().map(|b| Term::new(b)).collect(),
    promotion: PROMOTION.iter().map(|p| Term::new(p)).collect(),
});

/// The terms one target is judged on.
struct Terms<'a> {
    gambling: Vec<&'a Term>,
    brands: Vec<&'a Term>,
    promotion: &'a [Term],
}

/// The file's own terms, prepared per target: (extra keywords, allowed terms).
fn own_terms(target: &Target) -> (Vec<Term>, Vec<Term>) {
    let prepare = |list: &[String]| list.iter().map(|t| Term::new(t)).collect();
    (
        prepare(&target.settings.content.keywords),
        prepare(&target.settings.content.allow),
    )
}

/// The shipped list plus the file's keywords, minus its allowed ones.
fn terms_for<'a>(keywords: &'a [Term], allowed: &[Term]) -> Terms<'a> {
    let keep = |term: &&Term| !allowed.contains(term);
    Terms {
        gambling: SHIPPED.gambling.iter().chain(keywords).filter(keep).collect(),
        brands: SHIPPED.brands.iter().filter(keep).collect(),
        promotion: &SHIPPED.promotion,
    }
}

/// Terms found in one piece of text, each marked promoted when a brand or a promotional word
/// stands within [`PROMOTION_WINDOW`] words of it.
fn scan(text: &str, place: Place, terms: &Terms) -> Vec<Finding> {
    let words = Words::of(text);
    let promo_positions: Vec<usize> = terms.promotion.iter().flat_map(|p| words.find(p)).collect();
    let mut findings = Vec::new();
    for term in &terms.gambling {
        for at in words.find(term) {
            let promoted = promo_positions.iter().any(|p| p.abs_diff(at) <= PROMOTION_WINDOW);
            findings.push(Finding {
                term: term.text.clone(),
                place,
                promoted,
                excerpt: words.excerpt(at),
                on: None,
            });
        }
    }
    for brand in &terms.brands {
        for at in words.find(brand) {
            findings.push(Finding {
                term: brand.text.clone(),
                place,
                promoted: true,
                excerpt: words.excerpt(at),
                on: None,
            });
        }
    }
    findings
}

fn findings_of(page: &PageText, domain: &str, terms: &Terms) -> Vec<Finding> {
    let mut findings = scan(&page.title, Place::Title, terms);
    findings.extend(scan(&page.meta, Place::Meta, terms));
    findings.extend(scan(&page.visible.join("\n"), Place::Text, terms));
    findings.extend(scan(&page.hidden.join("\n"), Place::Hidden, terms));
    for link in &page.links {
        if link.host.as_deref().is_some_and(|host| off_site(host, domain)) {
            findings.extend(scan(&link.text, Place::Link, terms));
        }
    }
    findings
}

/// The body of a fetch that brought the page back.
fn page_of(fetch: &AddressFetch) -> Option<(String, Url)> {
    if fetch.error.is_some() || fetch.body.is_empty() {
        return None;
    }
    let url = Url::parse(fetch.final_url.as_deref()?).ok()?;
    Some((String::from_utf8_lossy(&fetch.body).into_owned(), url))
}

/// One distinct page and the addresses that served it: injected code is often on one server
/// of several, so every address's page is read (identical pages once).
struct ServedPage<'a> {
    fetch: &'a AddressFetch,
    addresses: Vec<std::net::IpAddr>,
}

fn distinct_pages(obs: &Observations) -> Vec<ServedPage<'_>> {
    let mut pages: Vec<ServedPage<'_>> = Vec::new();
    for fetch in obs
        .address
        .fetches
        .iter()
        .filter(|f| f.error.is_none() && !f.body.is_empty())
    {
        match pages.iter_mut().find(|page| page.fetch.body == fetch.body) {
            Some(page) => page.addresses.push(fetch.ip),
            None => pages.push(ServedPage {
                fetch,
                addresses: vec![fetch.ip],
            }),
        }
    }
    pages
}

/// "[ip], [ip]"
fn list_addresses(addresses: &[std::net::IpAddr]) -> String {
    addresses
        .iter()
        .map(|ip| format!("[{ip}]"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds `found` to `findings`, one entry per term, place and excerpt, naming every address.
fn merge(findings: &mut Vec<Finding>, found: Vec<Finding>, on: &str) {
    for finding in found {
        match findings
            .iter_mut()
            .find(|f| f.term == finding.term && f.place == finding.place && f.excerpt == finding.excerpt)
        {
            Some(known) => {
                if let Some(known_on) = &mut known.on {
                    if !known_on.contains(on) {
                        known_on.push_str(", ");
                        known_on.push_str(on);
                    }
                }
            }
            None => findings.push(Finding {
                on: Some(on.to_string()),
                ..finding
            }),
        }
    }
}

pub fn clean(target: &Target, obs: &Observations) -> CheckResult {
    let id = CheckId::ContentClean;
    let pages = distinct_pages(obs);
    let Some(first) = pages.first() else {
        return error(
            id,
            reason!(
                "could not be tested: no page was fetched",
                "không kiểm tra được: không tải được trang"
            ),
            json!({}),
        );
    };
    let (keywords, allowed) = own_terms(target);
    let terms = terms_for(&keywords, &allowed);
    let first_url = first.fetch.final_url.as_deref().and_then(|url| Url::parse(url).ok());
    let domain = site_domain(first_url.as_ref().and_then(Url::host_str).unwrap_or_default());
    let mut findings = Vec::new();
    let mut hidden_off_site: BTreeSet<String> = BTreeSet::new();
    for served in &pages {
        let Some((html, url)) = page_of(served.fetch) else {
            continue;
        };
        let page = page_text::read(&html, &url);
        merge(
            &mut findings,
            findings_of(&page, &domain, &terms),
            &list_addresses(&served.addresses),
        );
        hidden_off_site.extend(
            page.links
                .iter()
                .filter(|link| link.hidden)
                .filter_map(|link| link.host.clone())
                .filter(|host| off_site(host, &domain)),
        );
    }
    if pages.len() == 1 {
        for finding in &mut findings {
            finding.on = None;
        }
    }

    // Cloaking: what the crawler was shown beyond what any visitor sees.
    let crawler_page = obs.page.crawler.as_deref().and_then(page_of);
    if let Some((crawler_html, crawler_url)) = &crawler_page {
        let crawler = page_text::read(crawler_html, crawler_url);
        let seen: BTreeSet<String> = findings.iter().map(|f| f.term.clone()).collect();
        let on = obs.page.crawler.as_deref().map(|c| format!("[{}]", c.ip));
        for finding in findings_of(&crawler, &domain, &terms) {
            if !seen.contains(&finding.term) {
                findings.push(Finding {
                    place: Place::CrawlerOnly,
                    on: on.clone().filter(|_| pages.len() > 1),
                    ..finding
                });
            }
        }
    }
    let untested = super::http::untested_here(
        obs,
        |fetch| fetch.error.is_some() || fetch.body.is_empty(),
        "an empty page",
    );
    let spam = |f: &&Finding| f.promoted || matches!(f.place, Place::Hidden | Place::Link | Place::CrawlerOnly);
    let observed = json!({
        "findings": findings.iter().map(|f| json!({
            "term": f.term, "place": f.place.en(), "promoted": f.promoted, "excerpt": f.excerpt, "on": f.on,
        })).collect::<Vec<_>>(),
        "hidden_off_site_links": hidden_off_site,
        "crawler_fetched": crawler_page.is_some(),
        "pages": pages.iter().map(|page| json!({ "addresses": page.addresses, "bytes": page.fetch.body_bytes })).collect::<Vec<_>>(),
        "not_read": untested,
    });
    let describe = |chosen: &[&Finding], vi: bool| -> String {
        let mut parts: Vec<String> = Vec::new();
        for f in chosen.iter().take(5) {
            let place = if vi { f.place.vi() } else { f.place.en() };
            let on = match (&f.on, vi) {
                (Some(on), false) => format!(" on {on}"),
                (Some(on), true) => format!(" tại {on}"),
                (None, _) => String::new(),
            };
            parts.push(format!("\"{}\" ({place}: …{}…){on}", f.term, f.excerpt));
        }
        parts.join("; ")
    };
    let spam_findings: Vec<&Finding> = findings.iter().filter(spam).collect();
    if !spam_findings.is_empty() {
        let crawler_only = spam_findings.iter().any(|f| f.place == Place::CrawlerOnly);
        let (lead_en, lead_vi) = if crawler_only {
            (
                "gambling spam served only to search engines",
                "nội dung cờ bạc chỉ hiển thị cho máy tìm kiếm",
            )
        } else {
            ("injected gambling content", "có dấu hiệu bị chèn nội dung cờ bạc")
        };
        return fail(
            id,
            reason!(
                format!("{lead_en}: {}", describe(&spam_findings, false)),
                format!("{lead_vi}: {}", describe(&spam_findings, true))
            ),
            observed,
        );
    }
    // Asked as a crawler but shown nothing: cloaking was not tested, so no pass.
    if let (Some(crawler), None) = (&obs.page.crawler, &crawler_page) {
        let why = crawler
            .error
            .as_ref()
            .map(|err| err.message.clone())
            .unwrap_or_else(|| "an empty page".into());
        let ip = crawler.ip;
        let why = reason!(
            "could not be tested as a search crawler ([{ip}]: {why})",
            "không kiểm tra được với vai trò máy tìm kiếm ([{ip}]: {why})"
        );
        return error(id, why, observed);
    }
    if !findings.is_empty() {
        let all: Vec<&Finding> = findings.iter().collect();
        return warn(
            id,
            reason!(
                format!(
                    "gambling terms in the page's prose, without promotion: {}",
                    describe(&all, false)
                ),
                format!(
                    "có từ ngữ về cờ bạc trong nội dung, không kèm quảng cáo: {}",
                    describe(&all, true)
                )
            ),
            observed,
        );
    }
    if !hidden_off_site.is_empty() {
        let hosts: Vec<&str> = hidden_off_site.iter().map(String::as_str).collect();
        return warn(
            id,
            reason!(
                format!("hidden links to other sites: {}", hosts.join(", ")),
                format!("có liên kết ẩn tới trang khác: {}", hosts.join(", "))
            ),
            observed,
        );
    }
    if !untested.is_empty() {
        return not_tested(
            id,
            "no gambling content found, but not every address's page was read",
            "không phát hiện nội dung cờ bạc, nhưng chưa đọc được trang trên mọi địa chỉ",
            &untested,
            observed,
        );
    }
    let crawler_note = if crawler_page.is_some() {
        ("; the crawler saw the same", "; máy tìm kiếm thấy như nhau")
    } else {
        ("", "")
    };
    pass(
        id,
        reason!(
            format!("no gambling content, hidden links or cloaking found{}", crawler_note.0),
            format!(
                "không phát hiện nội dung cờ bạc, liên kết ẩn hay che giấu{}",
                crawler_note.1
            )
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{assert_verdict, observations, target};
    use crate::checks::Status;

    fn judge(html: &str, crawler_html: Option<&str>, allow: &[&str]) -> CheckResult {
        let mut obs = observations();
        for fetch in &mut obs.address.fetches {
            fetch.body = html.as_bytes().to_vec();
            fetch.final_url = Some("https://soyte.haiduong.gov.vn/".into());
        }
        obs.page.crawler = crawler_html.map(|body| {
            let mut fetch = obs.address.fetches[0].clone();
            fetch.body = body.as_bytes().to_vec();
            Box::new(fetch)
        });
        let mut target = target();
        target.settings.content.allow = allow.iter().map(|a| a.to_string()).collect();
        clean(&target, &obs)
    }

    fn page(body: &str) -> String {
        format!("<html><head><title>Sở Y tế</title></head><body>{body}</body></html>")
    }

    #[test]
    fn clean_pages_pass_even_with_lookalike_words() {
        for body in [
            "<p>Hội nghề cá tỉnh tổ chức tập huấn nuôi cá lồng.</p>",
            "<p>Thầy cô dành cả cuộc đời cho học trò.</p>",
            "<p>Tránh để lộ đề thi trước kỳ thi tốt nghiệp.</p>",
            "<p>The alphabet song.</p>",
        ] {
            let result = judge(&page(body), Some(&page(body)), &[]);
            assert_eq!(result.status, Status::Pass, "{body}: {}", result.reason.en);
        }
    }

    #[test]
    fn spam_on_one_address_only_fails_and_names_it() {
        let mut obs = observations();
        let clean_page = page("<p>Tin tức y tế</p>");
        let spammed = page("<p>Tin tức y tế</p><p>Nhà cái uy tín số 1, nạp tiền nhận thưởng ngay</p>");
        for (fetch, html) in obs.address.fetches.iter_mut().zip([&clean_page, &spammed]) {
            fetch.body = html.as_bytes().to_vec();
            fetch.final_url = Some("https://soyte.haiduong.gov.vn/".into());
        }
        let result = clean(&target(), &obs);
        assert_verdict(&result, Status::Fail, "\"nhà cái\" (text:");
        assert!(result.reason.en.contains("on [2402:800::1]"), "{}", result.reason.en);
        assert!(!result.reason.en.contains("203.162.4.190"), "{}", result.reason.en);
        // An address whose page could not be read keeps a clean page from passing.
        obs.address.fetches[1].body = clean_page.as_bytes().to_vec();
        obs.address.fetches[1].error = Some(crate::probe::http::FetchError {
            phase: crate::probe::http::Phase::Transfer,
            kind: "timeout".into(),
            message: "no answer within the timeout".into(),
        });
        assert_verdict(&clean(&target(), &obs), Status::Error, "[2402:800::1] timeout");
    }

    #[test]
    fn prose_warns_and_promotion_fails() {
        let report =
            page("<p>Công an tỉnh triệt phá đường dây cá độ bóng đá, bắt 12 đối tượng tổ chức cá cược qua mạng.</p>");
        assert_eq!(judge(&report, None, &[]).status, Status::Warn);
        let ad = page("<p>Nhà cái uy tín số 1, nạp tiền nhận thưởng ngay</p>");
        let result = judge(&ad, None, &[]);
        assert_verdict(&result, Status::Fail, "\"nhà cái\" (text:");
        let brand = page("<p>Đăng ký FB88 hôm nay</p>");
        assert_eq!(judge(&brand, None, &[]).status, Status::Fail);
    }

    #[test]
    fn hidden_links_and_crawler_only_spam_fail() {
        let hidden =
            page(r#"<p>Tin tức</p><div style="display:none"><a href="https://spam.example/">casino</a></div>"#);
        let result = judge(&hidden, None, &[]);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("hidden") || result.reason.en.contains("link"));
        let quiet = page(r#"<div style="display:none"><a href="https://other.example/">xem thêm</a></div>"#);
        assert_eq!(judge(&quiet, None, &[]).status, Status::Warn);
        let normal = page("<p>Tin tức y tế</p>");
        let cloaked = page("<p>Tin tức y tế</p><p>soi cầu lô đề</p>");
        let result = judge(&normal, Some(&cloaked), &[]);
        assert_verdict(&result, Status::Fail, "served only to search engines");
        assert!(result.reason.en.contains("crawler-only"));
    }

    #[test]
    fn a_failed_crawler_request_is_never_a_pass() {
        let mut obs = observations();
        let html = page("<p>Tin tức y tế</p>");
        obs.address.fetches[0].body = html.as_bytes().to_vec();
        obs.address.fetches[0].final_url = Some("https://soyte.haiduong.gov.vn/".into());
        let mut crawler = obs.address.fetches[0].clone();
        crawler.body = Vec::new();
        obs.page.crawler = Some(Box::new(crawler));
        let result = clean(&target(), &obs);
        assert_eq!(result.status, Status::Error, "{}", result.reason.en);
        assert!(result.reason.en.contains("as a search crawler"));
    }

    #[test]
    fn allowed_words_do_not_count() {
        let lottery = page("<p>Kết quả xổ số kiến thiết hôm nay</p>");
        assert_eq!(judge(&lottery, None, &[]).status, Status::Warn);
        assert_eq!(judge(&lottery, None, &["xổ số"]).status, Status::Pass);
    }

    #[test]
    fn site_domains_keep_the_province() {
        assert_eq!(site_domain("soyte.haiduong.gov.vn"), "haiduong.gov.vn");
        assert_eq!(site_domain("www.baohaiduong.vn"), "baohaiduong.vn");
        assert!(off_site("spam.example", "haiduong.gov.vn"));
        assert!(!off_site("dichvucong.haiduong.gov.vn", "haiduong.gov.vn"));
    }
}
