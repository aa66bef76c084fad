//! Route origins and RPKI origin validation (RFC 6811), as plain data and pure functions: the
//! origin of the BGP route covering an address (Team Cymru's DNS format, or a local table), the
//! validated ROA payloads (VRPs) an RPKI validator hands out (RTR, or rpki-client's and
//! Routinator's JSON), and the validity of each (prefix, origin AS).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Serialize;

/// Where route origins come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum RouteOrigins {
    /// TXT records in Team Cymru's IP-to-ASN format under these zones (the default:
    /// `origin.asn.cymru.com` and `origin6.asn.cymru.com`), asked through the resolver.
    Dns { ipv4_zone: String, ipv6_zone: String },
    /// A local CSV table of `prefix,origin AS` (air-gapped networks).
    Table { path: PathBuf },
}

impl Default for RouteOrigins {
    fn default() -> Self {
        RouteOrigins::Dns {
            ipv4_zone: "origin.asn.cymru.com".into(),
            ipv6_zone: "origin6.asn.cymru.com".into(),
        }
    }
}

/// Where validated ROA payloads come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Validator {
    /// An RTR server (RFC 8210): Routinator, StayRTR, rpki-client with its RTR daemon.
    Rtr { address: String },
    /// A JSON file of VRPs in rpki-client's or Routinator's (`jsonext`) format.
    File { path: PathBuf },
}

impl std::fmt::Display for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validator::Rtr { address } => write!(f, "RTR {address}"),
            Validator::File { path } => write!(f, "VRP file {}", path.display()),
        }
    }
}

/// What `routing:` in targets.yaml (or `check`'s flags) configures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RoutingSettings {
    pub origins: RouteOrigins,
    /// `None`: `routing.rpki` is skipped ("no RPKI validator configured").
    pub validator: Option<Validator>,
}

/// One validated ROA payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Vrp {
    pub prefix: IpNet,
    pub max_length: u8,
    pub asn: u32,
}

/// Every VRP, indexed by prefix for covering lookups.
#[derive(Debug, Default)]
pub struct VrpSet {
    by_prefix: HashMap<IpNet, Vec<(u8, u32)>>,
    count: usize,
}

impl VrpSet {
    pub fn new(vrps: impl IntoIterator<Item = Vrp>) -> VrpSet {
        let mut set = VrpSet::default();
        for vrp in vrps {
            set.by_prefix
                .entry(vrp.prefix.trunc())
                .or_default()
                .push((vrp.max_length, vrp.asn));
            set.count += 1;
        }
        set
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The VRPs whose prefix covers `route` (equal or shorter, containing it).
    pub fn covering(&self, route: IpNet) -> Vec<Vrp> {
        let mut found = Vec::new();
        for length in 0..=route.prefix_len() {
            let Ok(candidate) = IpNet::new(route.addr(), length) else {
                continue;
            };
            if let Some(entries) = self.by_prefix.get(&candidate.trunc()) {
                found.extend(entries.iter().map(|(max_length, asn)| Vrp {
                    prefix: candidate.trunc(),
                    max_length: *max_length,
                    asn: *asn,
                }));
            }
        }
        found
    }
}

/// RFC 6811 route origin validation state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Validity {
    /// A covering VRP names this origin and allows this length.
    Valid { vrp: Vrp },
    /// Covered, but no VRP matches: the origin AS is wrong, or the route is more specific
    /// than the matching VRP allows.
    Invalid { reason: InvalidReason, covering: Vec<Vrp> },
    /// No VRP covers the prefix: no ROA was published for it.
    NotFound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidReason {
    /// No covering VRP names the origin AS.
    WrongOrigin,
    /// A covering VRP names the origin, but its max length is shorter than the route.
    TooSpecific,
}

/// Validates a route (`prefix` announced by `origin`) against `vrps` (RFC 6811 §2). AS 0 never
/// matches.
pub fn validate(vrps: &VrpSet, prefix: IpNet, origin: u32) -> Validity {
    let covering = vrps.covering(prefix);
    if covering.is_empty() {
        return Validity::NotFound;
    }
    if let Some(vrp) = covering
        .iter()
        .find(|vrp| vrp.asn == origin && origin != 0 && prefix.prefix_len() <= vrp.max_length)
    {
        return Validity::Valid { vrp: *vrp };
    }
    let reason = if covering.iter().any(|vrp| vrp.asn == origin && origin != 0) {
        InvalidReason::TooSpecific
    } else {
        InvalidReason::WrongOrigin
    };
    Validity::Invalid { reason, covering }
}

/// One announced route covering an address: its prefix and origin AS(es).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteOrigin {
    pub prefix: IpNet,
    pub origins: Vec<u32>,
}

/// The DNS name to ask in Team Cymru's format: reversed octets under `ipv4_zone`, reversed
/// nibbles under `ipv6_zone`.
pub fn origin_query_name(ip: IpAddr, ipv4_zone: &str, ipv6_zone: &str) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{ipv4_zone}")
        }
        IpAddr::V6(v6) => {
            let mut labels: Vec<String> = Vec::with_capacity(33);
            for byte in v6.octets().iter().rev() {
                labels.push(format!("{:x}", byte & 0x0f));
                labels.push(format!("{:x}", byte >> 4));
            }
            labels.push(ipv6_zone.to_string());
            labels.join(".")
        }
    }
}

/// Parses one TXT answer, `"23028 64500 | 216.90.108.0/24 | US | arin | 1998-09-25"`.
pub fn parse_origin_txt(text: &str) -> Option<RouteOrigin> {
    let text = text.trim().trim_matches('"');
    let mut fields = text.split('|').map(str::trim);
    let origins: Vec<u32> = fields
        .next()?
        .split_whitespace()
        .map(|asn| asn.trim_start_matches("AS").parse().ok())
        .collect::<Option<_>>()?;
    let prefix: IpNet = fields.next()?.parse().ok()?;
    (!origins.is_empty()).then(|| RouteOrigin {
        prefix: prefix.trunc(),
        origins,
    })
}

/// A local table of route origins, longest prefix first.
#[derive(Debug, Default)]
pub struct OriginTable {
    routes: Vec<RouteOrigin>,
}

impl OriginTable {
    /// Reads `prefix,asn` lines (`#` comments, an optional header, `AS` before the number
    /// allowed). Errors name the line.
    pub fn parse(text: &str) -> Result<OriginTable, String> {
        let mut routes: Vec<RouteOrigin> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let mut fields = line.split(',').map(str::trim);
            let (prefix, asn) = (fields.next().unwrap_or_default(), fields.next().unwrap_or_default());
            if number == 0 && prefix.parse::<IpNet>().is_err() {
                continue; // a header
            }
            let prefix: IpNet = prefix
                .parse()
                .map_err(|_| format!("line {}: {prefix:?} is not a prefix like 203.162.0.0/16", number + 1))?;
            let asn: u32 = asn
                .trim_start_matches("AS")
                .parse()
                .map_err(|_| format!("line {}: {asn:?} is not an AS number", number + 1))?;
            match routes.iter_mut().find(|route| route.prefix == prefix.trunc()) {
                Some(route) => route.origins.push(asn),
                None => routes.push(RouteOrigin {
                    prefix: prefix.trunc(),
                    origins: vec![asn],
                }),
            }
        }
        routes.sort_by_key(|route| std::cmp::Reverse(route.prefix.prefix_len()));
        Ok(OriginTable { routes })
    }

    /// The most specific route covering `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<RouteOrigin> {
        self.routes.iter().find(|route| route.prefix.contains(&ip)).cloned()
    }
}

/// Reads VRPs from rpki-client's JSON (`{"roas": [{"prefix", "maxLength", "asn": 13335}]}`) or
/// Routinator's (`"asn": "AS13335"`, `jsonext` too).
pub fn parse_vrp_json(text: &str) -> Result<Vec<Vrp>, String> {
    let document: serde_json::Value = serde_json::from_str(text).map_err(|err| format!("not JSON: {err}"))?;
    let roas = document
        .get("roas")
        .and_then(serde_json::Value::as_array)
        .ok_or("no \"roas\" array: expected rpki-client's or Routinator's JSON")?;
    roas.iter()
        .enumerate()
        .map(|(index, roa)| {
            let fail = |what: &str| format!("roas[{index}]: {what}");
            let prefix: IpNet = roa
                .get("prefix")
                .and_then(serde_json::Value::as_str)
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| fail("no valid \"prefix\""))?;
            let asn = match roa.get("asn") {
                Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                Some(serde_json::Value::String(s)) => s.trim_start_matches("AS").parse().ok(),
                _ => None,
            }
            .ok_or_else(|| fail("no valid \"asn\""))?;
            let max_length = match roa.get("maxLength").or_else(|| roa.get("max_length")) {
                Some(value) => value
                    .as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| fail("\"maxLength\" is not a length"))?,
                None => prefix.prefix_len(),
            };
            Ok(Vrp {
                prefix: prefix.trunc(),
                max_length,
                asn,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vrp(prefix: &str, max_length: u8, asn: u32) -> Vrp {
        Vrp {
            prefix: prefix.parse().unwrap(),
            max_length,
            asn,
        }
    }

    #[test]
    fn rfc6811_states() {
        let set = VrpSet::new([
            vrp("203.162.0.0/16", 24, 45899),
            vrp("2402:800::/32", 48, 7552),
            vrp("198.51.100.0/24", 24, 0),
        ]);
        let valid = validate(&set, "203.162.4.0/24".parse().unwrap(), 45899);
        assert!(matches!(valid, Validity::Valid { .. }), "{valid:?}");
        let wrong = validate(&set, "203.162.4.0/24".parse().unwrap(), 64500);
        assert!(matches!(
            wrong,
            Validity::Invalid {
                reason: InvalidReason::WrongOrigin,
                ..
            }
        ));
        let long = validate(&set, "203.162.4.128/25".parse().unwrap(), 45899);
        assert!(matches!(
            long,
            Validity::Invalid {
                reason: InvalidReason::TooSpecific,
                ..
            }
        ));
        assert_eq!(
            validate(&set, "192.0.2.0/24".parse().unwrap(), 45899),
            Validity::NotFound
        );
        let as0 = validate(&set, "198.51.100.0/24".parse().unwrap(), 0);
        assert!(matches!(as0, Validity::Invalid { .. }), "AS 0 never validates");
        assert!(matches!(
            validate(&set, "2402:800:100::/48".parse().unwrap(), 7552),
            Validity::Valid { .. }
        ));
    }

    #[test]
    fn cymru_names_and_answers() {
        assert_eq!(
            origin_query_name("203.162.4.190".parse().unwrap(), "origin.asn.cymru.com", "o6"),
            "190.4.162.203.origin.asn.cymru.com"
        );
        let v6 = origin_query_name("2402:800::1".parse().unwrap(), "o4", "origin6.asn.cymru.com");
        assert!(
            v6.starts_with("1.0.0.0.0.0.0.0") && v6.ends_with("0.0.8.0.2.0.4.2.origin6.asn.cymru.com"),
            "{v6}"
        );
        let route = parse_origin_txt("\"45899 64500 | 203.162.0.0/16 | VN | apnic | 1998-01-01\"").unwrap();
        assert_eq!(route.origins, vec![45899, 64500]);
        assert_eq!(route.prefix, "203.162.0.0/16".parse::<IpNet>().unwrap());
        assert_eq!(parse_origin_txt("garbage"), None);
    }

    #[test]
    fn tables_and_vrp_files_parse_or_name_the_line() {
        let table = OriginTable::parse("prefix,asn\n203.162.0.0/16,45899\n203.162.4.0/24,AS64500\n").unwrap();
        assert_eq!(
            table.lookup("203.162.4.1".parse().unwrap()).unwrap().origins,
            vec![64500]
        );
        assert_eq!(
            table.lookup("203.162.5.1".parse().unwrap()).unwrap().origins,
            vec![45899]
        );
        assert!(table.lookup("192.0.2.1".parse().unwrap()).is_none());
        let err = OriginTable::parse("203.162.0.0/16,45899\nnonsense,1\n").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
        let vrps = parse_vrp_json(r#"{"roas":[{"prefix":"203.162.0.0/16","maxLength":24,"asn":45899},{"asn":"AS7552","prefix":"2402:800::/32","maxLength":48,"source":[]}]}"#).unwrap();
        assert_eq!(vrps.len(), 2);
        assert_eq!(vrps[1].asn, 7552);
        assert!(parse_vrp_json(r#"{"roas":[{"prefix":"x"}]}"#)
            .unwrap_err()
            .contains("roas[0]"));
    }
}
