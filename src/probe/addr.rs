//! Classifies addresses against the IANA special-purpose registries, so that a documentation,
//! tunnel or IPv4-mapped AAAA is never mistaken for native IPv6.

use std::net::IpAddr;
use std::sync::OnceLock;

use ipnet::IpNet;
use serde::Serialize;

/// The registries as shipped with vnready (data/special-purpose-addresses.csv).
const REGISTRY_CSV: &str = include_str!("../../data/special-purpose-addresses.csv");

/// One registry block that a public site must not use.
#[derive(Clone, Debug)]
struct SpecialBlock {
    net: IpNet,
    name: String,
}

fn special_blocks() -> &'static [SpecialBlock] {
    static BLOCKS: OnceLock<Vec<SpecialBlock>> = OnceLock::new();
    BLOCKS.get_or_init(|| parse_registry(REGISTRY_CSV))
}

/// Reads `prefix,name,rfc,globally_reachable,usable_for_a_public_site` rows; the name may be
/// quoted. Rows marked usable are skipped: only blocks a public site must not use matter here.
fn parse_registry(csv: &str) -> Vec<SpecialBlock> {
    let mut blocks = Vec::new();
    for line in csv.lines().skip(1) {
        let fields = split_csv_line(line);
        if fields.len() < 5 {
            continue;
        }
        let Ok(net) = fields[0].parse::<IpNet>() else {
            continue;
        };
        if fields[4].trim() == "yes" {
            continue;
        }
        blocks.push(SpecialBlock {
            net,
            name: fields[1].clone(),
        });
    }
    // Most specific first, so "Teredo" wins over "IETF Protocol Assignments".
    blocks.sort_by_key(|block| std::cmp::Reverse(block.net.prefix_len()));
    blocks
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    fields.push(current);
    fields
}

/// Address family, as the `ip_family` label spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    Ipv4,
    Ipv6,
}

impl IpFamily {
    pub fn of(ip: &IpAddr) -> IpFamily {
        match ip {
            IpAddr::V4(_) => IpFamily::Ipv4,
            IpAddr::V6(_) => IpFamily::Ipv6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IpFamily::Ipv4 => "ipv4",
            IpFamily::Ipv6 => "ipv6",
        }
    }

    /// The inverse of [`IpFamily::as_str`].
    pub fn parse(text: &str) -> Option<IpFamily> {
        match text {
            "ipv4" => Some(IpFamily::Ipv4),
            "ipv6" => Some(IpFamily::Ipv6),
            _ => None,
        }
    }

    /// "IPv4" / "IPv6", as people write it.
    pub fn label(self) -> &'static str {
        match self {
            IpFamily::Ipv4 => "IPv4",
            IpFamily::Ipv6 => "IPv6",
        }
    }
}

/// Where an address stands for a public government site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AddressClass {
    /// Globally routable unicast.
    Global,
    /// Special-purpose, but inside a range the operator explicitly accepted.
    Accepted { range: String },
    /// Special-purpose (or outside 2000::/3): not usable by the public.
    Special { block: String },
}

impl AddressClass {
    /// Whether vnready will probe this address and count it.
    pub fn is_usable(&self) -> bool {
        !matches!(self, AddressClass::Special { .. })
    }
}

/// An address with its family and classification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClassifiedAddress {
    pub ip: IpAddr,
    pub family: IpFamily,
    pub class: AddressClass,
}

/// Where an address falls, decided once for [`classify`] and [`is_usable`] alike, without
/// building any label.
enum Verdict<'a> {
    Accepted(&'a IpNet),
    Special(&'static SpecialBlock),
    /// IPv6 outside 2000::/3, reserved by IANA.
    OutsideGlobalUnicast,
    Global,
}

/// Accept ranges override the registries entirely.
fn decide(ip: IpAddr, accept_ranges: &[IpNet]) -> Verdict<'_> {
    if let Some(range) = accept_ranges.iter().find(|range| range.contains(&ip)) {
        Verdict::Accepted(range)
    } else if let Some(block) = special_blocks().iter().find(|block| block.net.contains(&ip)) {
        Verdict::Special(block)
    } else if let IpAddr::V6(v6) = ip {
        // Global unicast is 2000::/3; everything else is reserved by IANA.
        if v6.segments()[0] & 0xe000 == 0x2000 {
            Verdict::Global
        } else {
            Verdict::OutsideGlobalUnicast
        }
    } else {
        Verdict::Global
    }
}

/// Whether an address is usable for a public site (what [`classify`] decides), without
/// building the classification: /metrics asks this for every name server of every site.
pub fn is_usable(ip: IpAddr, accept_ranges: &[IpNet]) -> bool {
    matches!(decide(ip, accept_ranges), Verdict::Accepted(_) | Verdict::Global)
}

/// Classifies one address. Accept ranges override the registries entirely.
pub fn classify(ip: IpAddr, accept_ranges: &[IpNet]) -> ClassifiedAddress {
    let class = match decide(ip, accept_ranges) {
        Verdict::Accepted(range) => AddressClass::Accepted {
            range: range.to_string(),
        },
        Verdict::Special(block) => AddressClass::Special {
            block: format!("{} ({})", block.name, block.net),
        },
        Verdict::OutsideGlobalUnicast => AddressClass::Special {
            block: "outside global unicast 2000::/3".into(),
        },
        Verdict::Global => AddressClass::Global,
    };
    ClassifiedAddress {
        ip,
        family: IpFamily::of(&ip),
        class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(text: &str) -> AddressClass {
        let ip = text.parse().unwrap();
        let class = classify(ip, &[]).class;
        assert_eq!(is_usable(ip, &[]), class.is_usable(), "{text}");
        class
    }

    #[test]
    fn native_ipv6_and_ipv4_are_global() {
        assert_eq!(class_of("2402:800:6200::1"), AddressClass::Global);
        assert_eq!(class_of("203.162.0.1"), AddressClass::Global);
    }

    #[test]
    fn special_ipv6_blocks_are_rejected_with_their_name() {
        for (ip, words) in [
            ("2001:db8::1", "Documentation"),
            ("3fff::1", "Documentation"),
            ("::ffff:203.162.0.1", "IPv4-mapped"),
            ("::1", "Loopback"),
            ("fe80::1", "Link-Local"),
            ("fd00::1", "Unique-Local"),
            ("2002:cb00:1::1", "6to4"),
            ("2001:0:1::1", "TEREDO"),
            ("64:ff9b::1.2.3.4", "NAT64"),
            ("100::1", "Discard"),
            ("ff02::1", "Multicast"),
            ("::", "Unspecified"),
            ("4000::1", "2000::/3"),
        ] {
            match class_of(ip) {
                AddressClass::Special { block } => assert!(block.contains(words), "{ip}: {block}"),
                other => panic!("{ip} classified {other:?}"),
            }
        }
    }

    #[test]
    fn special_ipv4_blocks_are_rejected() {
        for ip in [
            "10.1.2.3",
            "192.168.1.1",
            "100.64.0.1",
            "127.0.0.1",
            "192.0.2.1",
            "169.254.1.1",
        ] {
            assert!(!class_of(ip).is_usable(), "{ip}");
        }
    }

    #[test]
    fn accept_ranges_override_the_registry() {
        let ranges = vec!["::1/128".parse().unwrap()];
        let classified = classify("::1".parse().unwrap(), &ranges);
        assert_eq!(
            classified.class,
            AddressClass::Accepted {
                range: "::1/128".into()
            }
        );
        assert!(classified.class.is_usable());
    }

    #[test]
    fn is_usable_agrees_with_classify() {
        let accept: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
        for text in [
            "203.162.0.1",
            "10.0.0.1",
            "127.0.0.1",
            "192.0.2.1",
            "100.64.0.1",
            "169.254.1.1",
            "2402:800:6200::1",
            "2001:db8::1",
            "fd00::1",
            "fe80::1",
            "::1",
            "64:ff9b::1",
            "3fff::1",
            "4000::1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            for ranges in [&accept[..], &[]] {
                assert_eq!(
                    is_usable(ip, ranges),
                    classify(ip, ranges).class.is_usable(),
                    "{text} {ranges:?}"
                );
            }
        }
    }
}
