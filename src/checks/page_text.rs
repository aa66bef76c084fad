//! What a visitor (or a crawler) reads on a page, from an HTML5 parse: the title, the meta
//! description and keywords, visible text, text hidden by inline style or attribute, and links
//! with their anchor text, target host and whether they are hidden. Entities are decoded by the
//! parser; script, style and template contents are not text.

use scraper::{ElementRef, Html, Node};
use url::Url;

/// A link on the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub text: String,
    /// Lower-case host of the absolute target; `None` for relative or non-http links.
    pub host: Option<String>,
    pub hidden: bool,
}

/// The readable parts of a page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageText {
    pub title: String,
    pub meta: String,
    /// Visible text, one entry per text node.
    pub visible: Vec<String>,
    /// Text inside hidden elements.
    pub hidden: Vec<String>,
    pub links: Vec<Link>,
}

/// Reads `html` as a browser would (`page_url` resolves relative links).
pub fn read(html: &str, page_url: &Url) -> PageText {
    let document = Html::parse_document(crate::probe::html::bounded(html));
    let mut page = PageText::default();
    // An explicit stack, not recursion: a hostile page nests elements a hundred thousand deep.
    let mut stack: Vec<Item<'_>> = vec![Item::Element(document.root_element(), false)];
    while let Some(item) = stack.pop() {
        let (element, hidden_above) = match item {
            Item::Text(text, true) => {
                page.hidden.push(text);
                continue;
            }
            Item::Text(text, false) => {
                page.visible.push(text);
                continue;
            }
            Item::Element(element, hidden_above) => (element, hidden_above),
        };
        let name = element.value().name();
        if matches!(name, "script" | "style" | "noscript" | "template") {
            continue;
        }
        let hidden = hidden_above || is_hidden(element);
        record_element(element, hidden, page_url, &mut page);
        if name == "title" {
            continue;
        }
        // Pushed in reverse so that they pop in document order.
        let children: Vec<Item<'_>> = element
            .children()
            .filter_map(|child| match child.value() {
                Node::Text(text) => {
                    let text = text.trim();
                    (!text.is_empty()).then(|| Item::Text(text.to_string(), hidden))
                }
                Node::Element(_) => ElementRef::wrap(child).map(|child| Item::Element(child, hidden)),
                _ => None,
            })
            .collect();
        stack.extend(children.into_iter().rev());
    }
    page
}

/// Work left on the walk: an element (with whether an ancestor hides it) or a text node.
enum Item<'a> {
    Element(ElementRef<'a>, bool),
    Text(String, bool),
}

/// What one element adds by itself: the title, meta description and keywords, a link.
fn record_element(element: ElementRef<'_>, hidden: bool, page_url: &Url, page: &mut PageText) {
    match element.value().name() {
        "title" => page.title.push_str(&text_of(element)),
        "meta" => {
            let kind = element.value().attr("name").unwrap_or_default().to_ascii_lowercase();
            if matches!(kind.as_str(), "description" | "keywords") {
                if let Some(content) = element.value().attr("content") {
                    page.meta.push_str(content);
                    page.meta.push('\n');
                }
            }
        }
        "a" => {
            let host = element
                .value()
                .attr("href")
                .and_then(|href| page_url.join(href.trim()).ok())
                .filter(|url| matches!(url.scheme(), "http" | "https"))
                .and_then(|url| url.host_str().map(|h| h.trim_end_matches('.').to_ascii_lowercase()));
            page.links.push(Link {
                text: text_of(element),
                host,
                hidden,
            });
        }
        _ => {}
    }
}

fn text_of(element: ElementRef<'_>) -> String {
    element
        .text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hidden by attribute or inline style: `hidden`, `display:none`, `visibility:hidden`,
/// `font-size:0`, `opacity:0`, zero size with overflow hidden, or pushed far off-screen.
fn is_hidden(element: ElementRef<'_>) -> bool {
    let value = element.value();
    if value.attr("hidden").is_some() {
        return true;
    }
    let Some(style) = value.attr("style") else {
        return false;
    };
    let declarations: Vec<(String, String)> = style
        .split(';')
        .filter_map(|declaration| declaration.split_once(':'))
        .map(|(property, value)| {
            let value = value.to_ascii_lowercase().replace("!important", "");
            (property.trim().to_ascii_lowercase(), value.trim().to_string())
        })
        .collect();
    let get = |name: &str| declarations.iter().find(|(p, _)| p == name).map(|(_, v)| v.as_str());
    let zero = |value: Option<&str>| {
        value.is_some_and(|v| {
            let number = v.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
            number.parse::<f64>().is_ok_and(|n| n == 0.0)
        })
    };
    let far_off = |value: Option<&str>| {
        value.is_some_and(|v| {
            let number = v.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
            number.parse::<f64>().is_ok_and(|n| n <= -500.0)
        })
    };
    get("display") == Some("none")
        || get("visibility") == Some("hidden")
        || zero(get("font-size"))
        || zero(get("opacity"))
        || ((zero(get("height")) || zero(get("width"))) && get("overflow") == Some("hidden"))
        || far_off(get("left"))
        || far_off(get("top"))
        || far_off(get("text-indent"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://soyte.haiduong.gov.vn/").expect("url")
    }

    #[test]
    fn visible_hidden_and_links_are_told_apart() {
        let html = r#"<html><head><title>Sở Y tế &amp; Dân số</title>
            <meta name="description" content="Tin tức y tế"><script>var s = "nhà cái";</script></head>
            <body><p>Tiêm chủng mở rộng</p>
            <div style="DISPLAY: none !important"><a href="https://spam.example/">nhà cái uy tín</a></div>
            <div style="position:absolute; left:-9999px">ẩn</div>
            <span hidden>cũng ẩn</span>
            <a href="/lien-he">Liên hệ</a></body></html>"#;
        let text = read(html, &page());
        assert_eq!(text.title, "Sở Y tế & Dân số");
        assert!(text.meta.contains("Tin tức y tế"));
        assert_eq!(text.visible, vec!["Tiêm chủng mở rộng", "Liên hệ"]);
        assert_eq!(text.hidden, vec!["nhà cái uy tín", "ẩn", "cũng ẩn"]);
        assert_eq!(text.links.len(), 2);
        assert_eq!(text.links[0].host.as_deref(), Some("spam.example"));
        assert!(text.links[0].hidden);
        assert_eq!(text.links[1].host.as_deref(), Some("soyte.haiduong.gov.vn"));
        assert!(!text.links[1].hidden);
    }

    #[test]
    fn a_hundred_thousand_nested_elements_do_not_overflow_the_stack() {
        let depth = 100_000;
        let html = format!("<p>tin tức</p>{}spam{}", "<div>".repeat(depth), "</div>".repeat(depth));
        let text = read(&html, &page());
        assert_eq!(text.visible, vec!["tin tức"], "the page is read up to the cut, quickly");
    }

    #[test]
    fn zero_sizes_need_overflow_hidden_and_font_size_zero_hides() {
        let html = r#"<div style="height:0;overflow:hidden">a</div><div style="height:0">b</div>
            <p style="font-size:0px">c</p><p style="opacity:0.5">d</p>"#;
        let text = read(html, &page());
        assert_eq!(text.hidden, vec!["a", "c"]);
        assert_eq!(text.visible, vec!["b", "d"]);
    }
}
