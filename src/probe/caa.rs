//! The CAA record set that governs the site's certificates (RFC 8659 §3): asked at the host,
//! then at each parent up to the top-level domain, and the first non-empty set wins.

use hickory_resolver::proto::rr::RecordType;
use serde::Serialize;

use super::context::Context;
use super::dns::LookupOutcome;

/// Where the relevant CAA set was found, or why none was.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaaFacts {
    /// The name whose CAA set applies (`None`: no level has one).
    pub found_at: Option<String>,
    /// That name's answer, or the last failed one.
    pub records: LookupOutcome,
    /// Every name asked, in order.
    pub asked: Vec<String>,
}

/// Climbs from the host to its top-level domain (the root is not asked).
pub async fn observe(cx: &Context<'_>) -> Option<CaaFacts> {
    if !cx.probes.caa {
        return None;
    }
    let host = cx.host().trim_end_matches('.').to_ascii_lowercase();
    let mut asked = Vec::new();
    let mut name = host.as_str();
    loop {
        asked.push(name.to_string());
        let answer = cx.shared.dns.lookup(name, RecordType::CAA, cx.deadline).await;
        match answer {
            LookupOutcome::Records { .. } => {
                return Some(CaaFacts {
                    found_at: Some(name.to_string()),
                    records: answer,
                    asked,
                })
            }
            LookupOutcome::NoData | LookupOutcome::NxDomain => {}
            failed => {
                return Some(CaaFacts {
                    found_at: None,
                    records: failed,
                    asked,
                })
            }
        }
        match name.split_once('.') {
            Some((_, parent)) if !parent.is_empty() => name = parent,
            _ => {
                return Some(CaaFacts {
                    found_at: None,
                    records: LookupOutcome::NoData,
                    asked,
                })
            }
        }
    }
}
