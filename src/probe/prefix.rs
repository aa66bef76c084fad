//! The prefix level: for every usable address of the site, of its zone's name servers and of
//! its mail domain's MX hosts, the BGP route covering it (prefix and origin AS) and that
//! route's RPKI origin validity (RFC 6811). Each address's route origin is asked once per round
//! and shared by every site on it (a province's sites share a handful of hosting addresses);
//! the validator's VRP set is fetched once per round for the whole process.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::proto::rr::RecordType;
use serde::Serialize;

use super::context::Context;
use super::dns::{addresses_of, LookupOutcome};
use super::host::HostLevel;
use super::mail::MailFacts;
use super::routing::{self, OriginTable, RouteOrigin, RouteOrigins, Validator, Validity, VrpSet};
use super::zone::ZoneLevel;

/// Routes and their RPKI validity, per address.
#[derive(Clone, Debug, Serialize)]
pub struct RoutingLevel {
    pub addresses: Vec<AddressRouting>,
    pub validator: ValidatorState,
}

/// One address and what covers it.
#[derive(Clone, Debug, Serialize)]
pub struct AddressRouting {
    pub ip: IpAddr,
    /// What the address is to the site: "site", "name server ns1.x.vn", "mail exchange mx.x.vn".
    pub roles: Vec<String>,
    /// Inside a range the configuration accepts (a lab, an internal network).
    pub accepted_range: bool,
    #[serde(flatten)]
    pub origin: OriginOutcome,
}

/// The route origin lookup of one address.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum OriginOutcome {
    /// Routes covering the address, each with its validity (`None` without a validator).
    Routes { routes: Vec<RouteValidity> },
    /// The source knows no route covering the address.
    NoRoute { source: String },
    /// The source could not be asked.
    Failed { message: String },
}

/// One (prefix, origin AS) and its validity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteValidity {
    pub prefix: ipnet::IpNet,
    pub origin: u32,
    pub validity: Option<Validity>,
}

/// Whether VRPs were had.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ValidatorState {
    NotConfigured,
    Loaded { source: String, vrps: usize },
    Failed { source: String, message: String },
}

/// How long a validator's VRP set is reused, at most (RTR caches refresh about hourly).
const VRPS_FRESH_FOR: Duration = Duration::from_secs(600);
/// A validator that could not be asked is asked again after this long, not at every audit.
const VRPS_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Looks up and validates the route of every address the site depends on.
pub async fn observe(
    cx: &Context<'_>,
    host: &HostLevel,
    zone: &ZoneLevel,
    mail: Option<&MailFacts>,
) -> Option<RoutingLevel> {
    if !cx.probes.routing {
        return None;
    }
    let addresses = addresses_of_site(cx, host, zone, mail);
    let (vrps, origins) = tokio::join!(
        vrps(cx),
        futures::future::join_all(addresses.iter().map(|(ip, _)| origin_of(cx, *ip)))
    );
    let validator = match (&cx.shared.routing.validator, &vrps) {
        (None, _) => ValidatorState::NotConfigured,
        (Some(source), Ok(set)) => ValidatorState::Loaded {
            source: source.to_string(),
            vrps: set.len(),
        },
        (Some(source), Err(message)) => ValidatorState::Failed {
            source: source.to_string(),
            message: message.clone(),
        },
    };
    let addresses = addresses
        .into_iter()
        .zip(origins)
        .map(|((ip, roles), origin)| {
            let origin = match origin {
                Ok(Some(route)) => OriginOutcome::Routes {
                    routes: route
                        .origins
                        .iter()
                        .map(|asn| RouteValidity {
                            prefix: route.prefix,
                            origin: *asn,
                            validity: vrps.as_ref().ok().map(|set| routing::validate(set, route.prefix, *asn)),
                        })
                        .collect(),
                },
                Ok(None) => OriginOutcome::NoRoute {
                    source: origin_source_name(&cx.shared.routing.origins),
                },
                Err(message) => OriginOutcome::Failed { message },
            };
            AddressRouting {
                ip,
                roles,
                accepted_range: cx.accept.iter().any(|range| range.contains(&ip)),
                origin,
            }
        })
        .collect();
    Some(RoutingLevel { addresses, validator })
}

fn origin_source_name(origins: &RouteOrigins) -> String {
    match origins {
        RouteOrigins::Dns { ipv4_zone, ipv6_zone } => format!("DNS ({ipv4_zone}, {ipv6_zone})"),
        RouteOrigins::Table { path } => format!("table {}", path.display()),
    }
}

/// Every usable address with its roles, each address once.
fn addresses_of_site(
    cx: &Context<'_>,
    host: &HostLevel,
    zone: &ZoneLevel,
    mail: Option<&MailFacts>,
) -> Vec<(IpAddr, Vec<String>)> {
    let mut all: Vec<(IpAddr, Vec<String>)> = Vec::new();
    let mut add = |ip: IpAddr, role: String| {
        if !cx.usable(ip) {
            return;
        }
        match all.iter_mut().find(|(known, _)| *known == ip) {
            Some((_, roles)) if !roles.contains(&role) => roles.push(role),
            Some(_) => {}
            None => all.push((ip, vec![role])),
        }
    };
    for ip in host.usable() {
        add(ip, "site".into());
    }
    for server in zone.facts.iter().flat_map(|facts| &facts.name_servers) {
        for ip in addresses_of(&server.a).into_iter().chain(addresses_of(&server.aaaa)) {
            add(ip, format!("name server {}", server.name));
        }
    }
    for exchange in mail.iter().flat_map(|mail| &mail.exchanges) {
        for ip in addresses_of(&exchange.a)
            .into_iter()
            .chain(addresses_of(&exchange.aaaa))
        {
            add(ip, format!("mail exchange {}", exchange.host));
        }
    }
    all
}

/// The route covering `ip`, asked once per round for the whole process.
async fn origin_of(cx: &Context<'_>, ip: IpAddr) -> Result<Option<RouteOrigin>, String> {
    let origins = &cx.shared.routing.origins;
    let key = format!("{ip}|{origins:?}");
    let compute = || async {
        let found = match origins {
            RouteOrigins::Dns { ipv4_zone, ipv6_zone } => origin_over_dns(cx, ip, ipv4_zone, ipv6_zone).await,
            RouteOrigins::Table { path } => table(cx, path).await.map(|table| table.lookup(ip)),
        };
        let fresh_for = if found.is_ok() {
            cx.target.settings.interval
        } else {
            VRPS_RETRY_AFTER
        };
        (found, fresh_for)
    };
    cx.shared
        .route_origins
        .get_or_compute(&key, cx.deadline, compute)
        .await
        .unwrap_or_else(|| Err("timeout waiting for another audit's route lookup".into()))
}

async fn origin_over_dns(
    cx: &Context<'_>,
    ip: IpAddr,
    ipv4_zone: &str,
    ipv6_zone: &str,
) -> Result<Option<RouteOrigin>, String> {
    let name = routing::origin_query_name(ip, ipv4_zone, ipv6_zone);
    match cx.shared.dns.lookup(&name, RecordType::TXT, cx.deadline).await {
        LookupOutcome::Records { values } => {
            // The most specific route when the answer lists several.
            let mut routes: Vec<RouteOrigin> = values
                .iter()
                .filter_map(|text| routing::parse_origin_txt(text))
                .collect();
            routes.sort_by_key(|route| std::cmp::Reverse(route.prefix.prefix_len()));
            match routes.into_iter().next() {
                Some(route) => Ok(Some(route)),
                None => Err(format!("{name}: unreadable answer {values:?}")),
            }
        }
        LookupOutcome::NxDomain | LookupOutcome::NoData => Ok(None),
        other => Err(format!("{name}: {}", other.label())),
    }
}

/// The route-origin table, read once per round.
async fn table(cx: &Context<'_>, path: &std::path::Path) -> Result<Arc<OriginTable>, String> {
    let key = path.display().to_string();
    let compute = || async {
        let read = tokio::fs::read_to_string(path)
            .await
            .map_err(|err| format!("route origin table {}: {err}", path.display()))
            .and_then(|text| {
                OriginTable::parse(&text).map_err(|err| format!("route origin table {}: {err}", path.display()))
            })
            .map(Arc::new);
        (read, cx.target.settings.interval.min(VRPS_FRESH_FOR))
    };
    cx.shared
        .origin_tables
        .get_or_compute(&key, cx.deadline, compute)
        .await
        .unwrap_or_else(|| Err("timeout waiting for the route origin table".into()))
}

/// The validator's VRPs, fetched once per round for the process.
async fn vrps(cx: &Context<'_>) -> Result<Arc<VrpSet>, String> {
    let Some(validator) = &cx.shared.routing.validator else {
        return Err("no RPKI validator configured".into());
    };
    let key = validator.to_string();
    let compute = || async {
        let fetched = match validator {
            Validator::Rtr { address } => super::rtr::fetch_vrps(address, cx.deadline)
                .await
                .map_err(|err| err.to_string()),
            Validator::File { path } => tokio::fs::read_to_string(path)
                .await
                .map_err(|err| format!("VRP file {}: {err}", path.display()))
                .and_then(|text| {
                    routing::parse_vrp_json(&text).map_err(|err| format!("VRP file {}: {err}", path.display()))
                }),
        };
        match fetched {
            Ok(vrps) => (
                Ok(Arc::new(VrpSet::new(vrps))),
                cx.target.settings.interval.min(VRPS_FRESH_FOR),
            ),
            Err(message) => (Err(message), VRPS_RETRY_AFTER),
        }
    };
    cx.shared
        .vrps
        .get_or_compute(&key, cx.deadline, compute)
        .await
        .unwrap_or_else(|| Err("timeout waiting for the RPKI validator".into()))
}
