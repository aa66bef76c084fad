//! tls.ocsp_stapling: a certificate that names an OCSP responder comes, on every usable
//! address, with a stapled response that verifies, is current and says good, so browsers need
//! not ask the CA (and the CA does not learn who visits the site).

use serde_json::json;

use super::findings::Gaps;
use super::input::CheckFn;
use super::result::{pass, reason, skip, CheckResult};
use crate::model::catalogue::CheckId;
use crate::model::clock::unix_now;
use crate::probe::Observations;

pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::TlsOcspStapling, |input| stapling(input.observations))];

fn stapling(obs: &Observations) -> CheckResult {
    let id = CheckId::TlsOcspStapling;
    let observed = json!({
        "addresses": obs.address.fetches.iter().map(|fetch| json!({
            "ip": fetch.ip,
            "ocsp_urls": fetch.tls.as_ref().and_then(|tls| tls.chain.first()).map(|leaf| &leaf.ocsp_urls),
            "staple": fetch.tls.as_ref().and_then(|tls| tls.staple.as_ref()),
        })).collect::<Vec<_>>()
    });
    let mut gaps = Gaps::default();
    let (mut with_url, mut good) = (0, 0);
    let now = unix_now() as i64;
    for fetch in &obs.address.fetches {
        let at = format!("[{}]", fetch.ip);
        let Some(tls) = fetch.tls.as_ref().filter(|tls| tls.handshake_completed) else {
            gaps.untested.push(format!("{at}: no handshake"));
            continue;
        };
        if tls.chain.first().is_none_or(|leaf| leaf.ocsp_urls.is_empty()) {
            continue;
        }
        with_url += 1;
        let Some(staple) = &tls.staple else {
            gaps.warnings.push(format!("{at} sends no OCSP staple"));
            continue;
        };
        if let Some(problem) = &staple.problem {
            gaps.problems.push(format!("{at} staples an {problem}"));
        } else if !staple.signature_valid {
            gaps.problems
                .push(format!("{at} staples an OCSP response whose signature does not verify"));
        } else if staple.next_update.is_some_and(|next| next < now) {
            gaps.problems.push(format!("{at} staples an expired OCSP response"));
        } else {
            match staple.status.as_deref() {
                Some("good") => good += 1,
                Some("revoked") => gaps.problems.push(format!(
                    "{at} staples an OCSP response saying the certificate is revoked"
                )),
                Some(other) => gaps
                    .problems
                    .push(format!("{at} staples an OCSP response with status {other}")),
                None => gaps
                    .problems
                    .push(format!("{at} staples an OCSP response for another certificate")),
            }
        }
    }
    if with_url == 0 && gaps.untested.is_empty() {
        return skip(
            id,
            reason!(
                "the certificate names no OCSP responder",
                "chứng thư không chỉ định máy chủ OCSP"
            ),
            observed,
        );
    }
    let observed = match gaps.conclude(
        id,
        observed,
        |list| reason!(list.to_string(), list.to_string()),
        (
            "OCSP stapling could not be checked",
            "không kiểm tra được OCSP stapling",
        ),
        |list| reason!(list.to_string(), list.to_string()),
    ) {
        Ok(result) => return result,
        Err(observed) => observed,
    };
    pass(
        id,
        reason!(
            "a valid, current, good OCSP staple on all {good} address(es)",
            "có phản hồi OCSP hợp lệ, còn hạn, trạng thái tốt trên cả {good} địa chỉ"
        ),
        observed,
    )
}
