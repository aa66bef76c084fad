//! domain.vn and domain.gov_vn (after IDN normalisation: hosts are punycode already).

use serde_json::json;

use super::input::CheckFn;
use super::result::{fail, pass, reason, CheckResult};
use crate::model::catalogue::CheckId;
use crate::model::target::{host_for_display, host_is_under};
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[
    (CheckId::DomainVn, |input| vn(input.observations)),
    (CheckId::DomainGovVn, |input| gov_vn(input.observations)),
];

/// The host and every host a redirect sends users to (fetched or not) are under .vn.
pub fn vn(obs: &Observations) -> CheckResult {
    let id = CheckId::DomainVn;
    let hop_hosts: Vec<String> = obs
        .address
        .fetches
        .iter()
        .flat_map(|fetch| fetch.hop_urls())
        .filter_map(|url| {
            url.host_str()
                .map(|host| host.trim_end_matches('.').to_ascii_lowercase())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let final_hosts = &hop_hosts;
    let observed = json!({ "host": obs.host, "host_display": host_for_display(&obs.host), "hop_hosts": hop_hosts, "cname_chain": obs.dns.records.cname_chain });
    if !host_is_under(&obs.host, "vn") {
        return fail(
            id,
            reason!(
                format!("{} is not under .vn", host_for_display(&obs.host)),
                format!("Chưa dùng tên miền .vn: {}", host_for_display(&obs.host))
            ),
            observed,
        );
    }
    if let Some(off) = final_hosts.iter().find(|host| !host_is_under(host, "vn")) {
        let from: Vec<String> = obs
            .address
            .fetches
            .iter()
            .filter(|fetch| {
                fetch.hop_urls().iter().any(|url| {
                    url.host_str()
                        .is_some_and(|h| h.trim_end_matches('.').eq_ignore_ascii_case(off))
                })
            })
            .map(|fetch| format!("[{}]", fetch.ip))
            .collect();
        let from = from.join(", ");
        return fail(
            id,
            reason!(
                "{from} redirects off .vn to {off}",
                "{from} chuyển hướng ra ngoài tên miền .vn tới {off}"
            ),
            observed,
        );
    }
    pass(
        id,
        reason!(
            "host and landing page are under .vn",
            "tên miền và trang đích đều thuộc .vn"
        ),
        observed,
    )
}

/// The host is under .gov.vn, the space reserved for state bodies.
pub fn gov_vn(obs: &Observations) -> CheckResult {
    let id = CheckId::DomainGovVn;
    let display = host_for_display(&obs.host);
    let observed = json!({ "host": obs.host, "host_display": display });
    if host_is_under(&obs.host, "gov.vn") {
        pass(id, reason!("host is under .gov.vn", "tên miền thuộc .gov.vn"), observed)
    } else {
        fail(
            id,
            reason!(
                "{display} is not under .gov.vn",
                "Chưa dùng tên miền .gov.vn: {display}"
            ),
            observed,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    #[test]
    fn vn_host_passes_and_foreign_host_fails() {
        let mut obs = observations();
        assert_eq!(vn(&obs).status, Status::Pass);
        obs.host = "haiduong-portal.com".into();
        assert_eq!(vn(&obs).status, Status::Fail);
        assert!(vn(&obs).reason.vi.contains(".vn"));
    }

    #[test]
    fn redirect_off_vn_fails() {
        let mut obs = observations();
        obs.address.fetches[0].responses[0].status = 302;
        obs.address.fetches[0].responses[0].location = Some("https://portal.example.com/home".into());
        let result = vn(&obs);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("portal.example.com"));
    }

    #[test]
    fn gov_vn_is_label_wise() {
        let mut obs = observations();
        obs.host = "soyte.haiduong.gov.vn".into();
        assert_eq!(gov_vn(&obs).status, Status::Pass);
        obs.host = "fakegov.vn".into();
        assert_eq!(gov_vn(&obs).status, Status::Fail);
    }
}
