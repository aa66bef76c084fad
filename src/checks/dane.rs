//! tls.dane (RFC 6698, 7671): the site's `_PORT._tcp.HOST` TLSA records are DNSSEC-secure and
//! the chain every usable address presents matches one of them. The matching rule is shared
//! with mail.dane.

use serde_json::json;

use super::input::CheckFn;
use super::result::{error, fail, not_tested, pass, reason, skip, warn, CheckResult};
use crate::model::catalogue::CheckId;
use crate::model::tlsa::Tlsa;
use crate::probe::addr::IpFamily;
use crate::probe::dns::{DnssecState, LookupOutcome};
use crate::probe::smtp::{digest_hex, ChainDigests};
use crate::probe::Observations;

pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::TlsDane, |input| tls_dane(input.observations))];

/// Whether `record` names a certificate of `chain` (leaf first): end-entity usages (1, 3) the
/// leaf, trust-anchor usages (0, 2) a certificate above it. An exact-match record is compared
/// through its SHA-256.
pub(super) fn matches(record: &Tlsa, chain: &[ChainDigests]) -> bool {
    let candidates: &[ChainDigests] = match record.usage {
        1 | 3 => chain.get(..1).unwrap_or_default(),
        _ => chain.get(1..).unwrap_or_default(),
    };
    let exact_digest = || {
        let bytes: Option<Vec<u8>> = (0..record.data.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(record.data.get(at..at + 2)?, 16).ok())
            .collect();
        bytes.map(|bytes| digest_hex(&ring::digest::SHA256, &bytes))
    };
    candidates.iter().any(|cert| {
        let (sha256, sha512) = match record.selector {
            0 => (&cert.cert_sha256, &cert.cert_sha512),
            _ => (&cert.spki_sha256, &cert.spki_sha512),
        };
        match record.matching {
            1 => *sha256 == record.data,
            2 => *sha512 == record.data,
            _ => exact_digest().is_some_and(|digest| digest == *sha256),
        }
    })
}

fn tls_dane(obs: &Observations) -> CheckResult {
    let id = CheckId::TlsDane;
    let observed = json!(obs.address.dane);
    let Some(dane) = &obs.address.dane else {
        return not_tested(id, "TLSA was not asked", "chưa truy vấn TLSA", &[] as &[&str], observed);
    };
    let name = &dane.tlsa.name;
    let values = match &dane.tlsa.records {
        LookupOutcome::NoData | LookupOutcome::NxDomain => {
            return skip(
                id,
                reason!("no TLSA record at {name}", "không có bản ghi TLSA tại {name}"),
                observed,
            )
        }
        LookupOutcome::Records { values } => values,
        failed => {
            let label = failed.label();
            return error(
                id,
                reason!(
                    "could not be tested: the TLSA lookup of {name} gave {label}",
                    "không kiểm tra được: truy vấn TLSA {name} trả về {label}"
                ),
                observed,
            );
        }
    };
    let secure = match &dane.tlsa.dnssec {
        Some(DnssecState::Secure) => true,
        Some(DnssecState::Insecure) => false,
        Some(DnssecState::Bogus) => {
            return fail(
                id,
                reason!(
                    "the TLSA answer at {name} is bogus (DNSSEC validation fails): DANE clients refuse the site",
                    "bản ghi TLSA tại {name} không hợp lệ DNSSEC (bogus): máy khách DANE từ chối trang"
                ),
                observed,
            )
        }
        Some(DnssecState::Indeterminate { message }) => {
            return not_tested(
                id,
                "DNSSEC of the TLSA answer not determined",
                "không xác định được DNSSEC của TLSA",
                &[message],
                observed,
            )
        }
        None => {
            return not_tested(
                id,
                "DNSSEC of the TLSA answer not checked",
                "chưa kiểm tra DNSSEC của TLSA",
                &[name],
                observed,
            )
        }
    };
    let records: Vec<Tlsa> = values.iter().filter_map(|value| Tlsa::parse(value)).collect();
    let mut problems = Vec::new();
    let mut untested = Vec::new();
    let mut matched = 0;
    for address in obs.usable(IpFamily::Ipv6).chain(obs.usable(IpFamily::Ipv4)) {
        let ip = address.ip;
        match dane.chains.iter().find(|(at, _)| *at == ip) {
            None => untested.push(format!("[{ip}] showed no certificate to match")),
            Some((_, chain)) if records.iter().any(|record| matches(record, chain)) => matched += 1,
            Some(_) => problems.push(format!("[{ip}] the chain matches no TLSA record at {name}")),
        }
    }
    if !problems.is_empty() && secure {
        let list = problems.join("; ");
        return fail(id, reason!(list.clone(), list), observed);
    }
    if !untested.is_empty() {
        return not_tested(
            id,
            "DANE could not be checked",
            "không kiểm tra được DANE",
            &untested,
            observed,
        );
    }
    if !secure {
        let mut list = format!("TLSA at {name} is in an unsigned zone, which clients ignore");
        if !problems.is_empty() {
            list = format!("{list}; {}", problems.join("; "));
        }
        return warn(id, reason!(list.clone(), list), observed);
    }
    pass(
        id,
        reason!(
            "secure TLSA at {name} matches the chain on all {matched} address(es)",
            "TLSA an toàn tại {name} khớp chứng thư trên cả {matched} địa chỉ"
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_match_record_is_compared_through_its_digest() {
        let data = [0x30u8, 0x82, 0x01, 0x0a];
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        let leaf = ChainDigests {
            cert_sha256: String::new(),
            cert_sha512: String::new(),
            spki_sha256: digest_hex(&ring::digest::SHA256, &data),
            spki_sha512: String::new(),
        };
        let record = Tlsa::parse(&format!("3 1 0 {hex}")).expect("parses");
        assert!(matches(&record, std::slice::from_ref(&leaf)));
        let record = Tlsa::parse("3 1 0 00ff").expect("parses");
        assert!(!matches(&record, &[leaf]));
    }
}
