//! Compares two HTML bodies the way a person would: after removing what changes on every
//! request (nonces, CSRF and VIEWSTATE tokens, dates, times, long random strings), by
//! similarity of word shingles rather than byte equality.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

/// Bodies at least this similar count as the same page.
pub const SAME_CONTENT_THRESHOLD: f64 = 0.85;

fn volatile_patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let rules: [(&str, &str); 9] = [
            // <input type=hidden name="__VIEWSTATE" value="..."> and friends, either order
            (r#"(?is)<input[^>]*(?:__viewstate|__eventvalidation|__requestverificationtoken|csrf|_token|authenticity_token|nonce)[^>]*>"#, " "),
            (r#"(?is)<meta[^>]*(?:csrf|nonce)[^>]*>"#, " "),
            (r#"(?i)\bnonce\s*=\s*["'][^"']*["']"#, " "),
            (r#"(?i)(?:csrf|xsrf)[_-]?token["']?\s*[:=]\s*["'][^"']*["']"#, " "),
            (r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b", " DATE "),
            (r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?\b", " TIME "),
            (r"\b\d{10,13}\b", " STAMP "),
            (r"[A-Za-z0-9+/=_-]{24,}", " TOKEN "),
            (r"\s+", " "),
        ];
        rules
            .iter()
            .filter_map(|(pattern, replacement)| Regex::new(pattern).ok().map(|regex| (regex, *replacement)))
            .collect()
    })
}

/// Strips what legitimately differs between two fetches of the same page.
pub fn normalise(body: &str) -> String {
    let mut text = body.to_string();
    for (regex, replacement) in volatile_patterns() {
        text = regex.replace_all(&text, *replacement).into_owned();
    }
    text.trim().to_lowercase()
}

fn shingles(text: &str) -> HashSet<(String, String, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 3 {
        return std::iter::once((words.join(" "), String::new(), String::new())).collect();
    }
    words
        .windows(3)
        .map(|w| (w[0].to_string(), w[1].to_string(), w[2].to_string()))
        .collect()
}

/// Jaccard similarity of word 3-shingles of the normalised bodies, in 0..=1.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (normalise(a), normalise(b));
    if a == b {
        return 1.0;
    }
    let (sa, sb) = (shingles(&a), shingles(&b));
    let union = sa.union(&sb).count();
    if union == 0 {
        return 1.0;
    }
    sa.intersection(&sb).count() as f64 / union as f64
}

/// The page title, to tell a person what each side showed.
pub fn title(body: &str) -> Option<String> {
    static TITLE: OnceLock<Option<Regex>> = OnceLock::new();
    let regex = TITLE
        .get_or_init(|| Regex::new(r"(?is)<title[^>]*>(.*?)</title>").ok())
        .as_ref()?;
    let captured = regex.captures(body)?.get(1)?.as_str();
    let cleaned: String = captured.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(cleaned.chars().take(120).collect())
}

/// The first words where the normalised bodies part ways, for the reason line.
pub fn first_difference(a: &str, b: &str) -> Option<(String, String)> {
    let (a, b) = (normalise(a), normalise(b));
    let (wa, wb): (Vec<&str>, Vec<&str>) = (a.split_whitespace().collect(), b.split_whitespace().collect());
    let index = wa
        .iter()
        .zip(wb.iter())
        .position(|(x, y)| x != y)
        .unwrap_or(wa.len().min(wb.len()));
    if index >= wa.len() && index >= wb.len() {
        return None;
    }
    let excerpt = |words: &[&str]| words.iter().skip(index).take(8).cloned().collect::<Vec<_>>().join(" ");
    Some((excerpt(&wa), excerpt(&wb)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head><title>Cổng thông tin điện tử</title>
        <meta name="csrf-token" content="a8f7d6e5c4b3a2918f7e6d5c4b3a2918">
        <script nonce="r4nd0m">var x = 1;</script></head>
        <body><form><input type="hidden" name="__VIEWSTATE" value="/wEPDwUKMTY3NzE5MjIwOWRk1234567890abcdef">
        <p>Tin tức sự kiện của tỉnh, cập nhật 28/11/2026 10:15:02</p>
        <p>Thủ tục hành chính, dịch vụ công trực tuyến mức độ 4.</p></form></body></html>"#;

    #[test]
    fn tokens_nonces_and_dates_do_not_count() {
        let other = PAGE
            .replace("a8f7d6e5c4b3a2918f7e6d5c4b3a2918", "ffffffffffffffffffffffffeeeeeeee")
            .replace("r4nd0m", "other1")
            .replace(
                "/wEPDwUKMTY3NzE5MjIwOWRk1234567890abcdef",
                "/wEPDwUKLTk5OTk5OTk5OWRkZZZZZZZZZZZZZZZZ",
            )
            .replace("28/11/2026 10:15:02", "29/11/2026 08:00:59");
        assert_eq!(similarity(PAGE, &other), 1.0);
    }

    #[test]
    fn a_different_page_is_not_similar() {
        let parked =
            "<html><title>Domain parked</title><body>This domain is for sale. Contact the registrar.</body></html>";
        assert!(similarity(PAGE, parked) < 0.2);
        assert_eq!(title(parked).as_deref(), Some("Domain parked"));
        assert!(first_difference(PAGE, parked).is_some());
    }

    #[test]
    fn small_edits_stay_above_threshold() {
        let long: String = (0..200)
            .map(|i| format!("<p>đoạn văn số {i} nói về chính quyền số</p>\n"))
            .collect();
        let edited = long.replace("đoạn văn số 7 ", "đoạn văn thứ 7 ");
        assert!(similarity(&long, &edited) > SAME_CONTENT_THRESHOLD);
    }
}
