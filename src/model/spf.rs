//! SPF records (RFC 7208) parsed by the grammar of its §12: the version, then directives
//! (`[qualifier] mechanism`) and modifiers (`name=value`), with domain-specs checked for valid
//! macros. The probe reads a record to know which domains it includes; `mail.spf` judges it.
//! Pure: nothing here looks anything up.

use std::fmt;

use ipnet::{Ipv4Net, Ipv6Net};

/// What a matching mechanism makes of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    pub fn symbol(self) -> &'static str {
        match self {
            Qualifier::Pass => "+",
            Qualifier::Fail => "-",
            Qualifier::SoftFail => "~",
            Qualifier::Neutral => "?",
        }
    }
}

/// A mechanism with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(String),
    A(Option<String>),
    Mx(Option<String>),
    Ptr(Option<String>),
    Ip4(Ipv4Net),
    Ip6(Ipv6Net),
    Exists(String),
}

impl Mechanism {
    /// Whether evaluating it asks DNS (RFC 7208 §4.6.4: include, a, mx, ptr, exists).
    pub fn queries_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_) | Mechanism::A(_) | Mechanism::Mx(_) | Mechanism::Ptr(_) | Mechanism::Exists(_)
        )
    }
}

/// One term of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    Directive {
        qualifier: Qualifier,
        mechanism: Mechanism,
        text: String,
    },
    Redirect(String),
    Explanation(String),
    /// A modifier this version does not know: allowed and ignored (§6).
    Unknown {
        name: String,
        value: String,
    },
}

/// A parsed record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpfRecord {
    pub terms: Vec<Term>,
}

/// Why a record does not parse: the term and what is wrong with it (a permerror).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfSyntaxError {
    pub term: String,
    pub why: &'static str,
}

impl fmt::Display for SpfSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\": {}", self.term, self.why)
    }
}

/// Whether a TXT record is an SPF record (§4.5: "v=spf1" alone or followed by a space).
pub fn is_spf(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower == "v=spf1" || lower.starts_with("v=spf1 ")
}

impl SpfRecord {
    /// Terms that make DNS queries when evaluated (mechanisms and `redirect=`).
    pub fn dns_terms(&self) -> Vec<&str> {
        self.terms
            .iter()
            .filter_map(|term| match term {
                Term::Directive { mechanism, text, .. } if mechanism.queries_dns() => Some(text.as_str()),
                Term::Redirect(_) => Some("redirect"),
                _ => None,
            })
            .collect()
    }

    /// The qualifier of the `all` mechanism, if the record has one.
    pub fn all(&self) -> Option<Qualifier> {
        self.terms.iter().find_map(|term| match term {
            Term::Directive {
                qualifier,
                mechanism: Mechanism::All,
                ..
            } => Some(*qualifier),
            _ => None,
        })
    }

    /// Whether the record lets no server send for the domain: nothing but `-all` (the record a
    /// domain that sends no mail publishes).
    pub fn authorises_nobody(&self) -> bool {
        self.all() == Some(Qualifier::Fail)
            && self.terms.iter().all(|term| match term {
                Term::Directive { mechanism, .. } => *mechanism == Mechanism::All,
                Term::Explanation(_) | Term::Unknown { .. } => true,
                Term::Redirect(_) => false,
            })
    }

    pub fn redirect(&self) -> Option<&str> {
        self.terms.iter().find_map(|term| match term {
            Term::Redirect(domain) => Some(domain.as_str()),
            _ => None,
        })
    }

    pub fn includes(&self) -> Vec<&str> {
        self.terms
            .iter()
            .filter_map(|term| match term {
                Term::Directive {
                    mechanism: Mechanism::Include(domain),
                    ..
                } => Some(domain.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The domains whose own records an `a:` or `mx:` term (or `exists:`) looks up, with the
    /// mechanism's name: a lookup that finds nothing is a void lookup (§4.6.4).
    pub fn target_lookups(&self) -> Vec<(&'static str, &str)> {
        self.terms
            .iter()
            .filter_map(|term| match term {
                Term::Directive { mechanism, .. } => match mechanism {
                    Mechanism::A(Some(domain)) => Some(("a", domain.as_str())),
                    Mechanism::Mx(Some(domain)) => Some(("mx", domain.as_str())),
                    Mechanism::Exists(domain) => Some(("exists", domain.as_str())),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }
}

/// Whether a domain-spec holds macros (`%{…}`): it cannot be followed without a message.
pub fn has_macros(domain: &str) -> bool {
    domain.contains('%')
}

/// Parses one record (which [`is_spf`] accepted).
pub fn parse(text: &str) -> Result<SpfRecord, SpfSyntaxError> {
    let mut words = text.split([' ']).filter(|word| !word.is_empty());
    let version = words.next().unwrap_or_default();
    if !version.eq_ignore_ascii_case("v=spf1") {
        return Err(SpfSyntaxError {
            term: version.to_string(),
            why: "the record must begin with v=spf1",
        });
    }
    let mut record = SpfRecord::default();
    for word in words {
        let term = parse_term(word)?;
        let repeated = match &term {
            Term::Redirect(_) => record.redirect().is_some(),
            Term::Explanation(_) => record.terms.iter().any(|t| matches!(t, Term::Explanation(_))),
            _ => false,
        };
        if repeated {
            return Err(SpfSyntaxError {
                term: word.to_string(),
                why: "redirect= and exp= may appear only once",
            });
        }
        record.terms.push(term);
    }
    Ok(record)
}

fn error(term: &str, why: &'static str) -> SpfSyntaxError {
    SpfSyntaxError {
        term: term.to_string(),
        why,
    }
}

fn parse_term(word: &str) -> Result<Term, SpfSyntaxError> {
    // A modifier is `name=value` where the name is not a mechanism's.
    if let Some((name, value)) = word.split_once('=') {
        let is_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if is_name && !name.contains(':') && !name.contains('/') {
            return match name.to_ascii_lowercase().as_str() {
                "redirect" => domain_spec(word, value).map(|d| Term::Redirect(d.to_string())),
                "exp" => domain_spec(word, value).map(|d| Term::Explanation(d.to_string())),
                _ => {
                    macro_string(word, value)?;
                    Ok(Term::Unknown {
                        name: name.to_string(),
                        value: value.to_string(),
                    })
                }
            };
        }
    }
    let (qualifier, rest) = match word.chars().next() {
        Some('+') => (Qualifier::Pass, &word[1..]),
        Some('-') => (Qualifier::Fail, &word[1..]),
        Some('~') => (Qualifier::SoftFail, &word[1..]),
        Some('?') => (Qualifier::Neutral, &word[1..]),
        _ => (Qualifier::Pass, word),
    };
    let split = rest.find([':', '/']).unwrap_or(rest.len());
    let (name, argument) = rest.split_at(split);
    let mechanism = match name.to_ascii_lowercase().as_str() {
        "all" if argument.is_empty() => Mechanism::All,
        "include" => Mechanism::Include(required_domain(word, argument)?.to_string()),
        "exists" => Mechanism::Exists(required_domain(word, argument)?.to_string()),
        "a" => Mechanism::A(domain_and_cidr(word, argument)?),
        "mx" => Mechanism::Mx(domain_and_cidr(word, argument)?),
        "ptr" => Mechanism::Ptr(match argument.strip_prefix(':') {
            Some(domain) => Some(domain_spec(word, domain)?.to_string()),
            None if argument.is_empty() => None,
            None => return Err(error(word, "ptr takes only :domain")),
        }),
        "ip4" => {
            let network = argument
                .strip_prefix(':')
                .ok_or_else(|| error(word, "ip4 needs :address"))?;
            Mechanism::Ip4(ip4_network(word, network)?)
        }
        "ip6" => {
            let network = argument
                .strip_prefix(':')
                .ok_or_else(|| error(word, "ip6 needs :address"))?;
            Mechanism::Ip6(ip6_network(word, network)?)
        }
        "all" => return Err(error(word, "all takes no argument")),
        _ => return Err(error(word, "unknown mechanism")),
    };
    Ok(Term::Directive {
        qualifier,
        mechanism,
        text: word.to_string(),
    })
}

fn required_domain<'a>(word: &str, argument: &'a str) -> Result<&'a str, SpfSyntaxError> {
    let domain = argument.strip_prefix(':').ok_or_else(|| error(word, "needs :domain"))?;
    domain_spec(word, domain)
}

/// `a` / `mx`: an optional `:domain`, then optional `/v4` and `//v6` CIDR lengths.
fn domain_and_cidr(word: &str, argument: &str) -> Result<Option<String>, SpfSyntaxError> {
    let (domain, cidr) = match argument.strip_prefix(':') {
        Some(rest) => match rest.find('/') {
            Some(at) => (Some(&rest[..at]), &rest[at..]),
            None => (Some(rest), ""),
        },
        None => (None, argument),
    };
    if !cidr.is_empty() {
        dual_cidr(word, cidr)?;
    }
    match domain {
        Some(domain) => Ok(Some(domain_spec(word, domain)?.to_string())),
        None => Ok(None),
    }
}

/// `/n`, `//m` or `/n//m`: an IPv4 length up to 32 and an IPv6 length up to 128.
fn dual_cidr(word: &str, text: &str) -> Result<(), SpfSyntaxError> {
    let bad = || error(word, "a CIDR length is /0–/32 for IPv4 and //0–//128 for IPv6");
    let (v4, v6) = match text.split_once("//") {
        Some((v4, v6)) => (v4, Some(v6)),
        None => (text, None),
    };
    if !v4.is_empty() {
        let length = v4.strip_prefix('/').ok_or_else(bad)?;
        cidr_length(length, 32).ok_or_else(bad)?;
    }
    if let Some(length) = v6 {
        cidr_length(length, 128).ok_or_else(bad)?;
    }
    Ok(())
}

/// A decimal length without a leading zero, at most `max`.
fn cidr_length(text: &str, max: u8) -> Option<u8> {
    if text.is_empty()
        || text.len() > 3
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse::<u8>().ok().filter(|n| *n <= max)
}

fn ip4_network(word: &str, text: &str) -> Result<Ipv4Net, SpfSyntaxError> {
    let bad = || error(word, "not an IPv4 address or network");
    let (address, length) = match text.split_once('/') {
        Some((address, length)) => (address, cidr_length(length, 32).ok_or_else(bad)?),
        None => (text, 32),
    };
    let address: std::net::Ipv4Addr = address.parse().map_err(|_| bad())?;
    Ipv4Net::new(address, length).map_err(|_| bad())
}

fn ip6_network(word: &str, text: &str) -> Result<Ipv6Net, SpfSyntaxError> {
    let bad = || error(word, "not an IPv6 address or network");
    let (address, length) = match text.split_once('/') {
        Some((address, length)) => (address, cidr_length(length, 128).ok_or_else(bad)?),
        None => (text, 128),
    };
    let address: std::net::Ipv6Addr = address.parse().map_err(|_| bad())?;
    Ipv6Net::new(address, length).map_err(|_| bad())
}

/// A domain-spec: a macro-string ending in a top label or a macro (§7.1).
fn domain_spec<'a>(word: &str, text: &'a str) -> Result<&'a str, SpfSyntaxError> {
    if text.is_empty() {
        return Err(error(word, "empty domain"));
    }
    macro_string(word, text)?;
    let trimmed = text.trim_end_matches('.');
    if trimmed.ends_with('}') {
        return Ok(text);
    }
    let top = trimmed.rsplit('.').next().unwrap_or_default();
    let valid_top = !top.is_empty()
        && top.len() <= 63
        && top.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !top.starts_with('-')
        && !top.ends_with('-')
        && top.chars().any(|c| c.is_ascii_alphabetic());
    if !trimmed.contains('.') || !valid_top {
        return Err(error(word, "not a domain name (it needs a top-level label)"));
    }
    Ok(text)
}

/// A macro-string: literals %x21-7E except `%`, and `%%`, `%_`, `%-` or `%{letter[digits][r][delims]}`.
fn macro_string(word: &str, text: &str) -> Result<(), SpfSyntaxError> {
    let bad = || error(word, "an invalid macro (expected %{s}, %{d}, %{i}… or %%, %_, %-)");
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match bytes.get(i + 1) {
                Some(b'%' | b'_' | b'-') => i += 2,
                Some(b'{') => {
                    let close = text[i..].find('}').ok_or_else(bad)? + i;
                    let inner = &text[i + 2..close];
                    let mut chars = inner.chars();
                    let letter = chars.next().ok_or_else(bad)?;
                    if !"slodiphcrtvSLODIPHCRTV".contains(letter) {
                        return Err(bad());
                    }
                    let rest: String = chars.collect();
                    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
                    let after = &rest[digits..];
                    let after = after.strip_prefix(['r', 'R']).unwrap_or(after);
                    if !after.chars().all(|c| ".-+,/_=".contains(c)) {
                        return Err(bad());
                    }
                    i = close + 1;
                }
                _ => return Err(bad()),
            },
            0x21..=0x7e => i += 1,
            _ => return Err(error(word, "a character SPF does not allow")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typical_record_parses() {
        let record = parse(
            "v=spf1 mx a:mail.haiduong.gov.vn/24 ip4:203.162.4.0/24 ip6:2402:800::/32 include:_spf.google.com ~all",
        )
        .unwrap();
        assert_eq!(record.all(), Some(Qualifier::SoftFail));
        assert_eq!(record.includes(), vec!["_spf.google.com"]);
        assert_eq!(
            record.dns_terms(),
            vec!["mx", "a:mail.haiduong.gov.vn/24", "include:_spf.google.com"]
        );
        assert_eq!(record.target_lookups(), vec![("a", "mail.haiduong.gov.vn")]);
    }

    #[test]
    fn modifiers_macros_and_cidrs() {
        let record =
            parse("v=spf1 exists:%{i}._spf.%{d} redirect=_spf.example.vn exp=explain.%{d2} x-custom=%{l}").unwrap();
        assert_eq!(record.redirect(), Some("_spf.example.vn"));
        assert!(has_macros(record.target_lookups()[0].1));
        assert!(parse("v=spf1 a/24//64 mx//128 -all").is_ok());
        assert!(parse("v=spf1 a/33").is_err());
        assert!(parse("v=spf1 a:x.vn/024").is_err());
    }

    #[test]
    fn errors_name_the_term() {
        let err = parse("v=spf1 ip4:300.1.1.1 -all").unwrap_err();
        assert_eq!(err.term, "ip4:300.1.1.1");
        assert_eq!(parse("v=spf1 includ:x.vn -all").unwrap_err().why, "unknown mechanism");
        assert!(
            parse("v=spf1 include:localhost -all").is_err(),
            "a domain needs a top label"
        );
        assert!(parse("v=spf1 redirect=a.vn redirect=b.vn").is_err());
        assert!(parse("v=spf1 exists:%{z}.x.vn").is_err());
        assert!(parse("v=spf1 all:x").is_err());
        assert!(parse("v=spf2 -all").is_err());
    }

    #[test]
    fn only_a_bare_fail_all_authorises_nobody() {
        assert!(parse("v=spf1 -all").unwrap().authorises_nobody());
        assert!(!parse("v=spf1 mx -all").unwrap().authorises_nobody());
        assert!(!parse("v=spf1 ~all").unwrap().authorises_nobody());
        assert!(!parse("v=spf1 redirect=x.vn").unwrap().authorises_nobody());
    }

    #[test]
    fn spf_records_are_told_from_other_txt() {
        assert!(
            is_spf("v=spf1 -all") && is_spf("V=SPF1") && !is_spf("v=spf10") && !is_spf("google-site-verification=x")
        );
    }
}
