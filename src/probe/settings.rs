//! What the prober is told by whoever starts it (the config file, the command line, a lab):
//! which resolvers to ask and what to trust. The probe layer never sees the whole config.

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;

/// Port DNS name servers are queried on; overridable only so labs can run unprivileged.
pub const DEFAULT_NS_PORT: u16 = 53;
/// Port mail exchanges are spoken to on (SMTP); overridable for labs as the DNS port is.
pub const DEFAULT_SMTP_PORT: u16 = 25;

/// Everything a [`crate::probe::Prober`] is built from.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Settings {
    pub resolver: ResolverSettings,
    pub trust: TrustSettings,
    /// Route origins and the RPKI validator (`routing.rpki`).
    pub routing: super::routing::RoutingSettings,
    /// Connection and query limits per server (`check`'s sweep politeness).
    pub politeness: super::politeness::PolitenessSettings,
}

/// Which DNS servers to ask, and on which port to query authoritative name servers.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ResolverSettings {
    /// Empty means the system's resolv.conf.
    pub servers: Vec<SocketAddr>,
    pub ns_port: u16,
    /// Port of the mail exchanges' SMTP service (25 outside labs).
    pub smtp_port: u16,
    /// DNSKEY records trusted for DNSSEC besides the root's (a lab, an internal root).
    pub trust_anchor: Option<PathBuf>,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        ResolverSettings {
            servers: Vec::new(),
            ns_port: DEFAULT_NS_PORT,
            smtp_port: DEFAULT_SMTP_PORT,
            trust_anchor: None,
        }
    }
}

/// What to trust beyond the public Web PKI and the IANA registries.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct TrustSettings {
    /// PEM files with extra roots, e.g. Vietnam's national root CA, which no browser ships.
    pub extra_roots: Vec<PathBuf>,
    /// Special-purpose ranges accepted as usable for every target.
    pub accept_ranges: Vec<IpNet>,
}
