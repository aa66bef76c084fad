//! What a browser loads before a page works, read from the page with a real HTML parser
//! (html5ever through `scraper`), never with regular expressions: scripts, stylesheets,
//! preloads and icons, images, frames, form targets and media sources, resolved against the
//! page's URL and its `<base>`. Pure functions of the page text.

use scraper::{ElementRef, Html, Selector};
use serde::Serialize;
use url::Url;

/// One resource the page asks the browser to load (or to send a form to).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// `script`, `stylesheet`, `preload`, `icon`, `img`, `iframe`, `form`, `source`, `video`, `audio`.
    pub kind: &'static str,
    pub url: String,
}

/// Beyond this estimated nesting depth the rest of a page is not parsed: an HTML5 parser spends
/// time proportional to the depth on every element, so a page of 100,000 nested tags (a hostile
/// server's, or a broken one's) would take minutes. Real pages nest a few dozen deep.
pub const MAX_NESTING: usize = 512;

/// Tags that are never closed, or that the parser closes by itself: they do not nest.
const NOT_NESTING: [&str; 24] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "p", "li",
    "td", "th", "tr", "option", "dt", "dd", "tbody", "thead", "!doctype",
];

/// The part of `html` that keeps the estimated nesting depth within [`MAX_NESTING`]: the whole
/// page for any real one, a prefix for a hostile one. Linear time.
pub fn bounded(html: &str) -> &str {
    let bytes = html.as_bytes();
    let lower = html.to_ascii_lowercase();
    let mut depth: usize = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        // Comments and raw-text elements hold no tags, whatever they contain.
        if lower[i..].starts_with("<!--") {
            i = lower[i + 4..].find("-->").map_or(bytes.len(), |n| i + 4 + n + 3);
            continue;
        }
        let closing = bytes[i + 1] == b'/';
        let start = if closing { i + 2 } else { i + 1 };
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |n| start + n);
        let name = &lower[start..end];
        if name.is_empty() || NOT_NESTING.contains(&name) {
            i = end.max(i + 1);
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            i = end;
            continue;
        }
        if RAW_TEXT.contains(&name) {
            let close = format!("</{name}");
            i = lower[end..].find(&close).map_or(bytes.len(), |n| end + n + close.len());
            continue;
        }
        let tag_end = bytes[end..].iter().position(|b| *b == b'>').map(|n| end + n);
        let self_closing = tag_end.is_some_and(|e| e > end && bytes[e - 1] == b'/');
        if !self_closing {
            depth += 1;
            if depth > MAX_NESTING {
                return &html[..i];
            }
        }
        i = end;
    }
    html
}

/// Elements whose content is text up to their closing tag.
const RAW_TEXT: [&str; 5] = ["script", "style", "textarea", "title", "xmp"];

/// Elements and the attribute that names what they load.
const LOADED: [(&str, &str, &str); 8] = [
    ("script[src]", "src", "script"),
    ("img[src]", "src", "img"),
    ("iframe[src]", "src", "iframe"),
    ("form[action]", "action", "form"),
    ("source[src]", "src", "source"),
    ("video[src]", "src", "video"),
    ("audio[src]", "src", "audio"),
    ("link[href][rel]", "href", "link"),
];

/// `link rel` values whose target the page needs: styles, preloads, icons.
fn link_kind(rel: &str) -> Option<&'static str> {
    let tokens: Vec<String> = rel.split_ascii_whitespace().map(|t| t.to_ascii_lowercase()).collect();
    if tokens.iter().any(|t| t == "stylesheet") {
        Some("stylesheet")
    } else if tokens.iter().any(|t| t == "preload" || t == "modulepreload") {
        Some("preload")
    } else if tokens.iter().any(|t| t == "icon" || t == "apple-touch-icon") {
        Some("icon")
    } else {
        None
    }
}

/// Every http(s) resource of the page, in document order, resolved against `<base href>` (when
/// it is a valid URL) or the page's own URL. `data:`, `javascript:`, `mailto:` and anything that
/// does not parse are left out.
pub fn page_resources(html: &str, page_url: &Url) -> Vec<Resource> {
    let document = Html::parse_document(bounded(html));
    let base = Selector::parse("base[href]")
        .ok()
        .and_then(|selector| document.select(&selector).next())
        .and_then(|element| element.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone());
    let selectors: Vec<(Selector, &str, &'static str)> = LOADED
        .iter()
        .filter_map(|(css, attribute, kind)| Selector::parse(css).ok().map(|s| (s, *attribute, *kind)))
        .collect();
    let mut resources = Vec::new();
    // One walk in document order; each element is matched against the few selectors.
    for element in document.root_element().descendants().filter_map(ElementRef::wrap) {
        for (selector, attribute, kind) in &selectors {
            if !selector.matches(&element) {
                continue;
            }
            let kind: &'static str = if *kind == "link" {
                match element.value().attr("rel").and_then(link_kind) {
                    Some(kind) => kind,
                    None => continue,
                }
            } else {
                kind
            };
            let Some(value) = element.value().attr(attribute) else {
                continue;
            };
            let Ok(url) = base.join(value.trim()) else { continue };
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                continue;
            }
            resources.push(Resource {
                kind,
                url: url.to_string(),
            });
        }
    }
    resources
}

/// The distinct hosts of `resources` (lower-case ASCII), each with the first URL and the
/// kinds that load from it, in order of first appearance.
pub fn hosts_of(resources: &[Resource]) -> Vec<(String, String, Vec<&'static str>)> {
    let mut hosts: Vec<(String, String, Vec<&'static str>)> = Vec::new();
    for resource in resources {
        let Some(host) = Url::parse(&resource.url)
            .ok()
            .and_then(|url| url.host_str().map(|h| h.trim_end_matches('.').to_ascii_lowercase()))
        else {
            continue;
        };
        match hosts.iter_mut().find(|(known, _, _)| *known == host) {
            Some((_, _, kinds)) => {
                if !kinds.contains(&resource.kind) {
                    kinds.push(resource.kind);
                }
            }
            None => hosts.push((host, resource.url.clone(), vec![resource.kind])),
        }
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://portal.haiduong.gov.vn/tin-tuc/index.html").expect("url")
    }

    #[test]
    fn loaded_resources_are_found_and_resolved() {
        let html = r#"<!doctype html><html><head>
            <link rel="stylesheet" href="//static.cdn.example/site.css">
            <link rel="Shortcut Icon" href="/favicon.ico">
            <link rel="canonical" href="https://elsewhere.example/">
            <script src="js/app.js"></script>
            <script>var inline = "<img src='https://not.a.tag/'>";</script>
            </head><body>
            <img src="data:image/png;base64,AAAA">
            <img src="https://img.example.vn/a.png">
            <a href="https://linked.example/">not loaded</a>
            <form action="https://dichvucong.gov.vn/login"></form>
            <iframe src="https://maps.example.com/embed"></iframe>
            <video src="mailto:x@y"></video><audio><source src="https://media.example.vn/a.mp3"></audio>
            </body></html>"#;
        let resources = page_resources(html, &page());
        let urls: Vec<(&str, &str)> = resources.iter().map(|r| (r.kind, r.url.as_str())).collect();
        assert_eq!(
            urls,
            vec![
                ("stylesheet", "https://static.cdn.example/site.css"),
                ("icon", "https://portal.haiduong.gov.vn/favicon.ico"),
                ("script", "https://portal.haiduong.gov.vn/tin-tuc/js/app.js"),
                ("img", "https://img.example.vn/a.png"),
                ("form", "https://dichvucong.gov.vn/login"),
                ("iframe", "https://maps.example.com/embed"),
                ("source", "https://media.example.vn/a.mp3"),
            ]
        );
    }

    #[test]
    fn base_href_changes_where_relative_urls_point() {
        let html = r#"<html><head><base href="https://cdn.haiduong.gov.vn/assets/"></head>
            <body><script src="app.js"></script></body></html>"#;
        let resources = page_resources(html, &page());
        assert_eq!(resources[0].url, "https://cdn.haiduong.gov.vn/assets/app.js");
    }

    #[test]
    fn deep_nesting_is_cut_and_real_pages_are_whole() {
        let depth = 100_000;
        let hostile = format!(
            "<script src=\"https://a.example/x.js\"></script>{}x{}",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        let kept = bounded(&hostile);
        assert!(kept.len() < 6 * (MAX_NESTING + 10) + 60, "{} bytes kept", kept.len());
        assert_eq!(
            page_resources(&hostile, &page()).len(),
            1,
            "what came before the cut is read"
        );
        let real = format!(
            "<!DOCTYPE html><html><head><meta charset=utf-8><link rel=icon href=/f.ico></head><body>{}</body></html>",
            "<div><!-- <div> --><p>Tin<br>tức<img src=a.png><ul><li>một<li>hai</ul>\
             <script>if (a<b && c<d) {}</script><style>a<b{}</style></div>"
                .repeat(5_000)
        );
        assert_eq!(bounded(&real).len(), real.len());
    }

    #[test]
    fn hosts_are_distinct_with_their_kinds() {
        let html = r#"<script src="https://A.example/x.js"></script><img src="https://a.example/y.png">
            <link rel=stylesheet href="https://b.example/s.css">"#;
        let hosts = hosts_of(&page_resources(html, &page()));
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[0].0, "a.example");
        assert_eq!(hosts[0].2, vec!["script", "img"]);
    }
}
