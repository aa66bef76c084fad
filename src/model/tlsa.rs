//! TLSA records (RFC 6698) as the resolver prints them ("3 1 1 0a1b…"), and which of them
//! SMTP uses: RFC 7672 §3.1.3 makes PKIX-TA (0) and PKIX-EE (1) unusable for SMTP, so only
//! DANE-TA (2) and DANE-EE (3) can authenticate a mail server.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    /// Lower-case hex of the association data.
    pub data: String,
}

impl Tlsa {
    /// Parses "usage selector matching hex" (the hex may be split by spaces).
    pub fn parse(text: &str) -> Option<Tlsa> {
        let mut fields = text.split_whitespace();
        let usage = fields.next()?.parse().ok()?;
        let selector = fields.next()?.parse().ok()?;
        let matching = fields.next()?.parse().ok()?;
        let data: String = fields.collect::<String>().to_ascii_lowercase();
        if data.is_empty() || data.len() % 2 != 0 || !data.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Tlsa {
            usage,
            selector,
            matching,
            data,
        })
    }

    /// Whether SMTP DANE can use this record at all (RFC 7672 §3.1): DANE-TA or DANE-EE, a
    /// known selector and matching type, and a digest of the right length.
    pub fn usable_for_smtp(&self) -> bool {
        let length_ok = match self.matching {
            0 => true,
            1 => self.data.len() == 64,
            2 => self.data.len() == 128,
            _ => false,
        };
        matches!(self.usage, 2 | 3) && self.selector <= 1 && length_ok
    }

    /// "3 1 1 0a1b2c3d…" with the digest cut, for reasons.
    pub fn short(&self) -> String {
        let cut: String = self.data.chars().take(12).collect();
        format!("{} {} {} {cut}…", self.usage, self.selector, self.matching)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_as_resolvers_print_them() {
        let digest = "AB".repeat(32);
        let record = Tlsa::parse(&format!("3 1 1 {digest}")).expect("parses");
        assert_eq!((record.usage, record.selector, record.matching), (3, 1, 1));
        assert_eq!(record.data, "ab".repeat(32));
        assert!(record.usable_for_smtp());
        assert!(!Tlsa::parse(&format!("1 1 1 {digest}"))
            .expect("parses")
            .usable_for_smtp());
        assert!(
            !Tlsa::parse("3 1 1 abcd").expect("parses").usable_for_smtp(),
            "short digest"
        );
        assert_eq!(Tlsa::parse("3 1 1 xyz"), None);
        assert_eq!(Tlsa::parse("3 1"), None);
        assert_eq!(Tlsa::parse("300 1 1 ab"), None);
        let split = Tlsa::parse("2 0 1 abab abab").expect("split hex");
        assert_eq!(split.data, "abababab");
    }
}
