//! What every audit of the process shares: the resolver, the TLS client, the ports labs
//! override, the globally accepted ranges, and the caches through which one zone, mail domain,
//! resource host or CRL is asked once per round however many sites share it.

use super::dns::{DnsProber, ZoneRound};
use super::mail::MailFacts;
use super::resources::HostOutcome;
use super::revocation::CrlCache;
use super::routing::{OriginTable, RouteOrigin, RoutingSettings, VrpSet};
use super::shared::SharedCache;
use super::tls::TlsSetup;

/// Process-wide probing state, read by every level through its context.
pub struct SharedState {
    pub dns: DnsProber,
    pub tls: TlsSetup,
    pub ns_port: u16,
    pub smtp_port: u16,
    pub accept_ranges: Vec<ipnet::IpNet>,
    pub crls: CrlCache,
    pub zones: SharedCache<ZoneRound>,
    pub mails: SharedCache<MailFacts>,
    /// Deep TLS scans by host and address, kept for the target's `deep_interval`.
    pub tls_scans: SharedCache<super::tls_scan::TlsScan>,
    pub resource_hosts: SharedCache<HostOutcome>,
    /// Where route origins and VRPs come from (`routing:`).
    pub routing: RoutingSettings,
    /// The route covering each address, per round.
    pub route_origins: SharedCache<Result<Option<RouteOrigin>, String>>,
    /// Route-origin tables read from files, per round.
    pub origin_tables: SharedCache<Result<std::sync::Arc<OriginTable>, String>>,
    /// The validator's VRP set, per round.
    pub vrps: SharedCache<Result<std::sync::Arc<VrpSet>, String>>,
}
