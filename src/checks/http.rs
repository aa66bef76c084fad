//! http.up: every family that has addresses answers with an expected status.

use serde_json::json;

use super::{CheckId, CheckResult, Reason, Status};
use crate::probe::addr::Family;
use crate::probe::dns::LookupOutcome;
use crate::probe::Observations;
use crate::target::StatusRange;

pub fn up(obs: &Observations, expect: &[StatusRange]) -> CheckResult {
    let id = CheckId::HttpUp;
    let summary: Vec<_> = obs
        .fetches
        .iter()
        .map(|f| json!({ "ip": f.ip, "family": f.family, "status": f.final_status(), "final_url": f.final_url, "error": f.error }))
        .collect();
    let observed = json!({ "fetches": summary, "expect_status": expect });
    let lookups = [&obs.records.a, &obs.records.aaaa];
    if obs.addresses.is_empty()
        && lookups
            .iter()
            .all(|o| matches!(o, LookupOutcome::Timeout | LookupOutcome::Failed { .. }))
    {
        let label = obs.records.a.label();
        return CheckResult::new(
            id,
            Status::Error,
            Reason::new(
                format!("could not resolve the host: {label}"),
                format!("không phân giải được tên miền: {label}"),
            ),
            observed,
        );
    }
    if obs.fetches.is_empty() {
        let reason = if obs.addresses.is_empty() {
            Reason::new("no address to fetch", "không có địa chỉ để truy cập")
        } else {
            Reason::new(
                "no usable address to fetch (all special-purpose)",
                "không có địa chỉ dùng được (toàn địa chỉ đặc biệt)",
            )
        };
        return CheckResult::new(id, Status::Fail, reason, observed);
    }
    let mut problems = Vec::new();
    for family in [Family::Ipv4, Family::Ipv6] {
        for fetch in obs.fetches_of(family) {
            match (fetch.final_status(), &fetch.error) {
                (_, Some(err)) => problems.push(format!("[{}] {err}", fetch.ip)),
                (Some(status), None) if !expect.iter().any(|range| range.contains(status)) => {
                    problems.push(format!("[{}] status {status}", fetch.ip))
                }
                (None, None) => problems.push(format!("[{}] no response", fetch.ip)),
                _ => {}
            }
        }
    }
    if problems.is_empty() {
        CheckResult::new(
            id,
            Status::Pass,
            Reason::new(
                format!("all {} address(es) answer", obs.fetches.len()),
                format!("cả {} địa chỉ đều hoạt động", obs.fetches.len()),
            ),
            observed,
        )
    } else {
        let list = problems.join("; ");
        CheckResult::new(
            id,
            Status::Fail,
            Reason::new(format!("down: {list}"), format!("Trang không hoạt động: {list}")),
            observed,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    #[test]
    fn all_up_passes_and_one_family_down_fails() {
        let mut obs = observations();
        assert_eq!(up(&obs, &[StatusRange::SUCCESS]).status, Status::Pass);
        break_fetch(&mut obs, Family::Ipv6, "timeout");
        let result = up(&obs, &[StatusRange::SUCCESS]);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("timeout"));
    }

    #[test]
    fn unexpected_status_fails() {
        let mut obs = observations();
        obs.fetches[0].responses[0].status = 503;
        assert!(up(&obs, &[StatusRange::SUCCESS]).reason.en.contains("503"));
    }
}
