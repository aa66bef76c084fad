//! Keyword matching for `content.clean`, made for Vietnamese: text is NFC-normalised and
//! lower-cased, split into words (so "alphabet" never contains "bet"), and compared
//! accent-aware — a span written with diacritics must carry the keyword's own marks ("cả cuộc"
//! is not "cá cược", "lộ đề" is not "lô đề"), while a span written without any matches the
//! keyword with its marks stripped ("ca cuoc", "CA CUOC" match "cá cược").

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Gambling and betting terms seen in spam injected into Vietnamese government sites.
pub const GAMBLING_TERMS: [&str; 16] = [
    "nhà cái",
    "cá cược",
    "cá độ",
    "nổ hũ",
    "tài xỉu",
    "game bài",
    "xóc đĩa",
    "lô đề",
    "soi cầu",
    "casino",
    "slot game",
    "đá gà",
    "xổ số",
    "baccarat",
    "đánh bài",
    "đặt cược",
];

/// Betting brands: naming one is promotion wherever it appears.
pub const BRANDS: [&str; 26] = [
    "fb88", "w88", "188bet", "m88", "fun88", "12bet", "kubet", "789bet", "new88", "jun88", "hi88", "shbet", "8xbet",
    "f8bet", "sv388", "bk8", "v9bet", "dafabet", "vn88", "oxbet", "mu88", "sunwin", "go88", "hitclub", "rikvip",
    "five88",
];

/// Words that turn a gambling term beside them into an advertisement.
pub const PROMOTION: [&str; 10] = [
    "uy tín",
    "đổi thưởng",
    "link vào",
    "nạp",
    "rút tiền",
    "khuyến mãi",
    "đăng ký nhận",
    "nhận thưởng",
    "hoàn trả",
    "tải app",
];

/// How close (in words) a promotional word must be to a gambling term to count as beside it.
pub const PROMOTION_WINDOW: usize = 6;

/// Lower-case NFC words of a text, each with its byte range in the normalised text and
/// whether it carries marks (computed once: a page can be a megabyte).
pub struct Words {
    pub text: String,
    pub words: Vec<(String, std::ops::Range<usize>)>,
    marked: Vec<bool>,
}

impl Words {
    pub fn of(text: &str) -> Words {
        let text: String = text.nfc().collect::<String>().to_lowercase();
        let mut words = Vec::new();
        let mut start = None;
        for (index, ch) in text.char_indices() {
            let part_of_word = ch.is_alphanumeric() || is_combining_mark(ch);
            match (part_of_word, start) {
                (true, None) => start = Some(index),
                (false, Some(begin)) => {
                    words.push((text[begin..index].to_string(), begin..index));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(begin) = start {
            words.push((text[begin..].to_string(), begin..text.len()));
        }
        let marked = words.iter().map(|(word, _)| has_marks(word)).collect();
        Words { text, words, marked }
    }

    /// Word positions where `term` (already split into words) occurs, accent-aware.
    pub fn find(&self, term: &Term) -> Vec<usize> {
        let n = term.words.len();
        if n == 0 || self.words.len() < n {
            return Vec::new();
        }
        (0..=self.words.len() - n)
            .filter(|&i| {
                let span = &self.words[i..i + n];
                if self.marked[i..i + n].iter().any(|m| *m) {
                    span.iter()
                        .zip(&term.words)
                        .all(|((word, _), expected)| word == expected)
                } else {
                    span.iter()
                        .zip(&term.plain)
                        .all(|((word, _), expected)| word == expected)
                }
            })
            .collect()
    }

    /// About 60 characters of the text around word `index`.
    pub fn excerpt(&self, index: usize) -> String {
        let Some((_, range)) = self.words.get(index) else {
            return String::new();
        };
        let start = self.text[..range.start]
            .char_indices()
            .rev()
            .nth(30)
            .map(|(i, _)| i)
            .unwrap_or(0);
        let end = self.text[range.end..]
            .char_indices()
            .nth(30)
            .map(|(i, _)| range.end + i)
            .unwrap_or(self.text.len());
        self.text[start..end].split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A keyword prepared for matching: its words as written and with marks stripped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    words: Vec<String>,
    plain: Vec<String>,
}

impl Term {
    pub fn new(text: &str) -> Term {
        let words: Vec<String> = Words::of(text).words.into_iter().map(|(word, _)| word).collect();
        let plain = words.iter().map(|word| strip_marks(word)).collect();
        Term {
            text: words.join(" "),
            words,
            plain,
        }
    }
}

/// Whether a word carries a mark or đ (cheap: no allocation for plain ASCII).
fn has_marks(word: &str) -> bool {
    !word.is_ascii() && strip_marks(word) != word
}

/// Removes Vietnamese tone and vowel marks (and any combining mark), and đ → d.
pub fn strip_marks(word: &str) -> String {
    word.nfd()
        .filter(|ch| !is_combining_mark(*ch))
        .map(|ch| match ch {
            'đ' => 'd',
            'Đ' => 'D',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(text: &str, term: &str) -> bool {
        !Words::of(text).find(&Term::new(term)).is_empty()
    }

    #[test]
    fn accents_must_agree_or_be_absent() {
        assert!(matches("Trang CÁ CƯỢC bóng đá", "cá cược"));
        assert!(matches("vao nha cai ca cuoc uy tin", "cá cược"));
        assert!(matches("CA CUOC", "cá cược"));
        assert!(!matches("Thầy cô dành cả cuộc đời cho học trò", "cá cược"));
        assert!(!matches("Tránh để lộ đề thi trước kỳ thi", "lô đề"));
        assert!(matches("soi cầu lô đề miễn phí", "lô đề"));
        assert!(matches("lo de", "lô đề"));
    }

    #[test]
    fn words_are_whole_and_forms_normalised() {
        assert!(!matches("the alphabet book", "bet"));
        assert!(matches("Nhận code FB88 hôm nay", "fb88"));
        // Decomposed (NFD) input, as some editors save Vietnamese text.
        let decomposed: String = "cá cược".nfd().collect();
        assert!(matches(&decomposed, "cá cược"));
        assert!(!matches("Hội nghề cá tỉnh", "cá cược"));
    }

    #[test]
    fn excerpts_are_short_and_around_the_match() {
        let words = Words::of("Một đoạn văn rất dài trước đó. Nhà cái uy tín nhất. Và một đoạn rất dài phía sau nữa.");
        let at = words.find(&Term::new("nhà cái"))[0];
        let excerpt = words.excerpt(at);
        assert!(excerpt.contains("nhà cái uy tín"), "{excerpt}");
        assert!(excerpt.chars().count() <= 70);
    }
}
