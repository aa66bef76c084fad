//! Mail for a domain over IPv6, as internet.nl tests it: the domain's MX set, each exchange's
//! AAAA records, and on every usable IPv6 address an SMTP greeting (220), EHLO (250) and
//! whether STARTTLS is offered. Facts only; `checks::mail` judges them. One domain is probed
//! once per round and shared by every site that sends mail through it.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use tokio::time::Instant;

use super::addr::{classify, IpFamily};
use super::dns::{addresses_of, DnsProber, DnssecState, LookupOutcome};
use super::smtp::{converse, TlsProbe};
pub use super::smtp::{SmtpFacts, SmtpOutcome, SmtpPhase};
use super::tls::TlsSetup;

/// More exchanges than this are not probed (the reason says so).
pub const MAX_EXCHANGES: usize = 10;

/// What is known about the mail of one domain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MailFacts {
    pub domain: String,
    /// The MX answer as the resolver gave it.
    pub mx: LookupOutcome,
    /// RFC 7505: one MX of preference 0 for "." — the domain says it takes no mail.
    pub null_mx: bool,
    pub exchanges: Vec<ExchangeFacts>,
    /// Exchanges left unprobed beyond [`MAX_EXCHANGES`].
    pub unprobed: usize,
    /// SPF, DMARC and DKIM records (when probed).
    pub auth: Option<super::mail_auth::MailAuthFacts>,
    /// MTA-STS record and policy, TLS-RPT record (when probed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mta_sts: Option<super::mta_sts::MtaStsFacts>,
}

/// One mail exchange.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExchangeFacts {
    pub host: String,
    pub preference: u16,
    pub a: LookupOutcome,
    pub aaaa: LookupOutcome,
    /// AAAA records that are not usable public addresses (documentation, ULA, …).
    pub unusable: Vec<IpAddr>,
    /// One SMTP conversation per usable IPv6 address.
    pub smtp: Vec<SmtpFacts>,
    /// AAAA/A records of this exchange that are usable IPv4 addresses, and the SMTP
    /// conversation with each when the TLS of the mail is probed (`mail.tls` judges every
    /// address of both families).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub smtp_v4: Vec<SmtpFacts>,
    /// `_25._tcp.HOST` TLSA and how DNSSEC judges it (when DANE is probed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tlsa: Option<TlsaLookup>,
}

/// An exchange's TLSA answer: the records, and the DNSSEC state when there are any.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TlsaLookup {
    pub name: String,
    pub records: LookupOutcome,
    pub dnssec: Option<DnssecState>,
}

/// What to ask beyond the MX set and its addresses.
#[derive(Clone, Copy, Default)]
pub struct MailOptions<'a> {
    /// SMTP over IPv6 on this port.
    pub smtp_port: Option<u16>,
    /// STARTTLS and its TLS on every usable address of both families.
    pub tls: Option<&'a TlsSetup>,
    /// Each exchange's TLSA records, validated.
    pub dane: bool,
}

/// Probes the mail of `domain`: MX, then every exchange's A and AAAA, and what `options` ask
/// (SMTP, STARTTLS, TLSA). All by `deadline`.
pub async fn probe_mail(
    dns: &DnsProber,
    domain: &str,
    options: MailOptions<'_>,
    accept: &[ipnet::IpNet],
    deadline: Instant,
) -> MailFacts {
    let MailOptions { smtp_port, tls, dane } = options;
    let mx = dns
        .lookup(domain, hickory_resolver::proto::rr::RecordType::MX, deadline)
        .await;
    let mut records: Vec<(u16, String)> = mx.values().iter().filter_map(|value| parse_mx(value)).collect();
    records.sort();
    records.dedup_by(|a, b| a.1 == b.1);
    let null_mx = records.len() == 1 && records[0].1.is_empty();
    let unprobed = records.len().saturating_sub(MAX_EXCHANGES);
    let exchanges = if null_mx {
        Vec::new()
    } else {
        let probed = records
            .into_iter()
            .filter(|(_, host)| !host.is_empty())
            .take(MAX_EXCHANGES);
        futures::future::join_all(probed.map(|(preference, host)| async move {
            let (a, aaaa) = tokio::join!(
                dns.lookup(&host, hickory_resolver::proto::rr::RecordType::A, deadline),
                dns.lookup(&host, hickory_resolver::proto::rr::RecordType::AAAA, deadline)
            );
            let (usable, unusable): (Vec<IpAddr>, Vec<IpAddr>) = addresses_of(&aaaa)
                .into_iter()
                .filter(|ip| IpFamily::of(ip) == IpFamily::Ipv6)
                .partition(|ip| classify(*ip, accept).class.is_usable());
            let usable_v4: Vec<IpAddr> = match tls {
                Some(_) => addresses_of(&a)
                    .into_iter()
                    .filter(|ip| IpFamily::of(ip) == IpFamily::Ipv4 && classify(*ip, accept).class.is_usable())
                    .collect(),
                None => Vec::new(),
            };
            let host_ref = host.as_str();
            let talk = |ips: Vec<IpAddr>| async move {
                let Some(port) = smtp_port else {
                    return Vec::new();
                };
                futures::future::join_all(ips.into_iter().map(|ip| async move {
                    let probe = tls.map(|setup| TlsProbe { setup, host: host_ref });
                    SmtpFacts {
                        ip,
                        outcome: converse(SocketAddr::new(ip, port), probe, deadline).await,
                    }
                }))
                .await
            };
            let tlsa = async {
                if !dane {
                    return None;
                }
                let name = format!("_25._tcp.{host_ref}");
                let (records, dnssec) = dns
                    .lookup_validated(&name, hickory_resolver::proto::rr::RecordType::TLSA, deadline)
                    .await;
                Some(TlsaLookup { name, records, dnssec })
            };
            let (smtp, smtp_v4, tlsa) = tokio::join!(talk(usable), talk(usable_v4), tlsa);
            ExchangeFacts {
                host,
                preference,
                a,
                aaaa,
                unusable,
                smtp,
                smtp_v4,
                tlsa,
            }
        }))
        .await
    };
    MailFacts {
        domain: domain.to_string(),
        mx,
        null_mx,
        exchanges,
        unprobed,
        auth: None,
        mta_sts: None,
    }
}

/// "10 mx.example.vn" → (10, "mx.example.vn"); a null MX's exchange is "".
fn parse_mx(value: &str) -> Option<(u16, String)> {
    let (preference, host) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let preference = preference.parse().ok()?;
    Some((preference, host.trim().trim_end_matches('.').to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mx_values_parse_and_a_null_mx_has_no_exchange() {
        assert_eq!(parse_mx("10 MX1.Example.vn."), Some((10, "mx1.example.vn".into())));
        assert_eq!(parse_mx("0 ."), Some((0, String::new())));
        assert_eq!(parse_mx("0 "), Some((0, String::new())));
        assert_eq!(parse_mx("x y"), None);
    }
}
