//! Checks are pure functions of a [`CheckInput`] (target, observations, the audit's start) to a
//! [`CheckResult`]. They never do I/O or read the clock, so every verdict can be unit-tested
//! from plain data. Each file lists the checks it implements in its `CHECKS` table.

pub mod caa;
pub mod content;
pub mod csp;
pub mod dane;
pub mod dns;
pub mod domain;
mod findings;
pub mod http;
pub mod https;
pub mod input;
pub mod ipv6;
pub mod ipv6_only;
pub mod keywords;
pub mod mail;
pub mod mail_auth;
pub mod mail_dane;
pub mod mail_mta_sts;
pub mod mail_tls;
pub mod ocsp;
pub mod page_response;
pub mod page_text;
pub mod pmtu;
pub mod result;
pub mod routing;
pub mod security_headers;
pub mod security_txt;
pub mod similarity;
pub mod tls;
pub mod tls_scan;
pub mod untested;

pub use crate::model::catalogue::CheckId;
pub use input::{CheckFn, CheckInput};
use result::{error, reason};
pub use result::{CheckResult, Reason, ReasonPool, Status};

use crate::model::target::Target;
use crate::probe::Observations;

/// Every file's checks; a new check is a catalogue entry plus a line in its file's `CHECKS`.
const IMPLEMENTED: [&[(CheckId, CheckFn)]; 22] = [
    caa::CHECKS,
    content::CHECKS,
    csp::CHECKS,
    dane::CHECKS,
    dns::CHECKS,
    domain::CHECKS,
    http::CHECKS,
    https::CHECKS,
    ipv6::CHECKS,
    ipv6_only::CHECKS,
    mail::CHECKS,
    mail_auth::CHECKS,
    mail_dane::CHECKS,
    mail_mta_sts::CHECKS,
    mail_tls::CHECKS,
    ocsp::CHECKS,
    pmtu::CHECKS,
    routing::CHECKS,
    security_headers::CHECKS,
    security_txt::CHECKS,
    tls::CHECKS,
    tls_scan::CHECKS,
];

fn implementation(id: CheckId) -> Option<CheckFn> {
    IMPLEMENTED
        .iter()
        .flat_map(|checks| checks.iter())
        .find(|(implemented, _)| *implemented == id)
        .map(|(_, check)| *check)
}

/// Runs the given checks over one target's observations, judged as of the audit's start.
pub fn evaluate(target: &Target, observations: &Observations, ids: &[CheckId]) -> Vec<CheckResult> {
    let input = CheckInput {
        target,
        observations,
        now: observations.started_at as i64,
    };
    ids.iter()
        .map(|id| match implementation(*id) {
            Some(check) => check(&input),
            None => error(
                *id,
                reason!(
                    "this build has no implementation of the check",
                    "bản này chưa có phần kiểm tra này"
                ),
                serde_json::Value::Null,
            ),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_check_has_exactly_one_implementation() {
        for id in CheckId::all() {
            let count = IMPLEMENTED
                .iter()
                .flat_map(|c| c.iter())
                .filter(|(i, _)| *i == id)
                .count();
            assert_eq!(count, 1, "{id} is implemented {count} times");
        }
    }
}
