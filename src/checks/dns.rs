//! dns.resolves and dns.dnssec.

use serde_json::json;

use super::input::CheckFn;
use super::result::{error, fail, pass, reason, CheckResult};
use crate::model::catalogue::CheckId;
use crate::probe::dns::{DnssecState, LookupOutcome};
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[
    (CheckId::DnsResolves, |input| resolves(input.observations)),
    (CheckId::DnsDnssec, |input| dnssec(input.observations)),
];

/// The host resolves to at least one A or AAAA with NOERROR.
pub fn resolves(obs: &Observations) -> CheckResult {
    let (a, aaaa) = (&obs.dns.records.a, &obs.dns.records.aaaa);
    let observed = json!({ "a": a, "aaaa": aaaa, "cname_chain": obs.dns.records.cname_chain });
    let id = CheckId::DnsResolves;
    if !a.values().is_empty() || !aaaa.values().is_empty() {
        let count = a.values().len() + aaaa.values().len();
        return pass(
            id,
            reason!("resolves to {count} address(es)", "phân giải được {count} địa chỉ"),
            observed,
        );
    }
    let outcomes = [a, aaaa];
    if outcomes.iter().any(|o| matches!(o, LookupOutcome::NxDomain)) {
        return fail(
            id,
            reason!("NXDOMAIN: the name does not exist", "NXDOMAIN: tên miền không tồn tại"),
            observed,
        );
    }
    if let Some(broken) = outcomes
        .iter()
        .find(|o| matches!(o, LookupOutcome::ServFail | LookupOutcome::Refused))
    {
        let label = broken.label();
        return fail(
            id,
            reason!(
                "{label}: the zone's name servers are broken or unreachable",
                "{label}: máy chủ tên miền lỗi hoặc không truy cập được"
            ),
            observed,
        );
    }
    if outcomes.iter().all(|o| matches!(o, LookupOutcome::NoData)) {
        return fail(
            id,
            reason!(
                "the name exists but has no A or AAAA record",
                "tên miền tồn tại nhưng không có bản ghi A hay AAAA"
            ),
            observed,
        );
    }
    let label = outcomes
        .iter()
        .find(|o| !matches!(o, LookupOutcome::NoData))
        .map(|o| o.label())
        .unwrap_or_default();
    error(
        id,
        reason!("could not resolve: {label}", "không kiểm tra được phân giải: {label}"),
        observed,
    )
}

/// The zone validates as secure.
pub fn dnssec(obs: &Observations) -> CheckResult {
    let id = CheckId::DnsDnssec;
    let apex = obs.zone.facts.as_ref().map(|zone| zone.apex.clone());
    let observed = json!({ "zone": apex, "state": obs.zone.dnssec });
    match &obs.zone.dnssec {
        None => error(id, reason!("DNSSEC was not probed", "chưa kiểm tra DNSSEC"), observed),
        Some(DnssecState::Secure) => pass(
            id,
            reason!("zone is signed and validates", "tên miền được ký và xác thực DNSSEC"),
            observed,
        ),
        Some(DnssecState::Insecure) => fail(
            id,
            reason!("zone is not signed (insecure)", "tên miền chưa ký DNSSEC"),
            observed,
        ),
        Some(DnssecState::Bogus) => fail(
            id,
            reason!("DNSSEC validation fails (bogus)", "chữ ký DNSSEC không hợp lệ"),
            observed,
        ),
        Some(DnssecState::Indeterminate { message }) => error(
            id,
            reason!(
                "DNSSEC state could not be determined: {message}",
                "không xác định được trạng thái DNSSEC: {message}"
            ),
            observed,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    #[test]
    fn nxdomain_servfail_nodata_and_timeout_differ() {
        let mut obs = observations();
        obs.dns.records.a = LookupOutcome::NxDomain;
        obs.dns.records.aaaa = LookupOutcome::NxDomain;
        assert_eq!(resolves(&obs).status, Status::Fail);
        assert!(resolves(&obs).reason.en.contains("NXDOMAIN"));
        obs.dns.records.a = LookupOutcome::ServFail;
        obs.dns.records.aaaa = LookupOutcome::ServFail;
        assert!(resolves(&obs).reason.en.contains("SERVFAIL"));
        obs.dns.records.a = LookupOutcome::NoData;
        obs.dns.records.aaaa = LookupOutcome::NoData;
        assert!(resolves(&obs).reason.en.contains("no A or AAAA"));
        obs.dns.records.a = LookupOutcome::Timeout;
        obs.dns.records.aaaa = LookupOutcome::Timeout;
        assert_eq!(resolves(&obs).status, Status::Error);
    }

    #[test]
    fn resolving_host_passes() {
        assert_eq!(resolves(&observations()).status, Status::Pass);
    }

    #[test]
    fn dnssec_states_map_to_statuses() {
        let mut obs = observations();
        for (state, status) in [
            (DnssecState::Secure, Status::Pass),
            (DnssecState::Insecure, Status::Fail),
            (DnssecState::Bogus, Status::Fail),
            (
                DnssecState::Indeterminate {
                    message: "timeout".into(),
                },
                Status::Error,
            ),
        ] {
            obs.zone.dnssec = Some(state);
            assert_eq!(dnssec(&obs).status, status);
        }
    }
}
