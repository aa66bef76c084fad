//! MTA-STS and TLS-RPT of a mail domain: the `_mta-sts` and `_smtp._tls` TXT records and, when
//! an STSv1 record is published, the policy at `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`
//! from every usable address of the policy host, both families, as a sending MTA would fetch
//! it: no redirect followed, the certificate verified for the policy host, 64 KiB at most.

use std::net::IpAddr;

use hickory_resolver::proto::rr::RecordType;
use serde::Serialize;
use tokio::time::Instant;

use super::dns::{addresses_of, DnsProber, LookupOutcome};
use super::http::{FetchError, HttpProber};
use super::tls::VerifyFailure;
use crate::model::mta_sts::is_sts_record;

/// RFC 8461 §3.3: senders may stop reading a policy beyond 64 KiB.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// What was found for one mail domain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MtaStsFacts {
    /// `_mta-sts.DOMAIN` TXT.
    pub record: LookupOutcome,
    /// `_smtp._tls.DOMAIN` TXT.
    pub tlsrpt: LookupOutcome,
    /// `mta-sts.DOMAIN`.
    pub policy_host: String,
    /// The policy host's A and AAAA answers, when the policy was fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_addresses: Option<(LookupOutcome, LookupOutcome)>,
    /// One fetch per usable address of the policy host.
    pub fetches: Vec<PolicyFetch>,
}

/// The policy as one address served it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyFetch {
    pub ip: IpAddr,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    /// The Location of a redirect (which senders do not follow).
    pub redirect: Option<String>,
    /// Why the certificate does not verify for the policy host, when it does not.
    pub verify_failure: Option<VerifyFailure>,
    pub body: String,
    pub truncated: bool,
    pub error: Option<FetchError>,
}

/// Asks the records and, when an STSv1 record exists, fetches the policy.
pub async fn probe(
    dns: &DnsProber,
    http: &HttpProber<'_>,
    domain: &str,
    usable: impl Fn(IpAddr) -> bool,
    deadline: Instant,
) -> MtaStsFacts {
    let (record_name, tlsrpt_name) = (format!("_mta-sts.{domain}"), format!("_smtp._tls.{domain}"));
    let (record, tlsrpt) = tokio::join!(
        dns.lookup(&record_name, RecordType::TXT, deadline),
        dns.lookup(&tlsrpt_name, RecordType::TXT, deadline)
    );
    let policy_host = format!("mta-sts.{domain}");
    let mut facts = MtaStsFacts {
        record,
        tlsrpt,
        policy_host: policy_host.clone(),
        policy_addresses: None,
        fetches: Vec::new(),
    };
    if !facts.record.values().iter().any(|value| is_sts_record(value)) {
        return facts;
    }
    let (a, aaaa) = tokio::join!(
        dns.lookup(&policy_host, RecordType::A, deadline),
        dns.lookup(&policy_host, RecordType::AAAA, deadline)
    );
    let mut addresses: Vec<IpAddr> = addresses_of(&aaaa).into_iter().chain(addresses_of(&a)).collect();
    addresses.retain(|ip| usable(*ip));
    addresses.dedup();
    let url = match url::Url::parse(&format!("https://{policy_host}/.well-known/mta-sts.txt")) {
        Ok(url) => url,
        Err(_) => {
            facts.policy_addresses = Some((a, aaaa));
            return facts;
        }
    };
    facts.fetches = futures::future::join_all(addresses.into_iter().map(|ip| fetch(http, &url, ip, deadline))).await;
    facts.policy_addresses = Some((a, aaaa));
    facts
}

async fn fetch(http: &HttpProber<'_>, url: &url::Url, ip: IpAddr, deadline: Instant) -> PolicyFetch {
    let (response, tls) = http.get_verified(url, ip, deadline, MAX_POLICY_BYTES).await;
    let mut fetch = PolicyFetch {
        ip,
        status: None,
        content_type: None,
        redirect: None,
        verify_failure: tls.and_then(|tls| tls.verify_failure),
        body: String::new(),
        truncated: false,
        error: None,
    };
    match response {
        Ok(response) => {
            fetch.status = Some(response.status);
            fetch.content_type = response.header("content-type").map(str::to_string);
            fetch.redirect = super::http::is_redirect(response.status)
                .then(|| response.location.clone())
                .flatten();
            fetch.truncated = response.truncated;
            fetch.body = String::from_utf8_lossy(&response.body).into_owned();
        }
        Err(err) => fetch.error = Some(err),
    }
    fetch
}
