//! dns.caa (RFC 8659): the CAA set that applies to the host says which CAs may issue for it,
//! every record parses, and reports go to a `mailto:` or `https:` address.

use serde_json::json;

use super::input::CheckFn;
use super::result::{error, fail, not_tested, pass, reason, warn, CheckResult};
use crate::model::caa::parse;
use crate::model::catalogue::CheckId;
use crate::probe::dns::LookupOutcome;
use crate::probe::Observations;

pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::DnsCaa, |input| dns_caa(input.observations))];

fn dns_caa(obs: &Observations) -> CheckResult {
    let id = CheckId::DnsCaa;
    let observed = json!(obs.dns.caa);
    let Some(caa) = &obs.dns.caa else {
        return not_tested(id, "CAA was not asked", "chưa truy vấn CAA", &[] as &[&str], observed);
    };
    let asked = caa.asked.join(", ");
    let (Some(name), LookupOutcome::Records { values }) = (&caa.found_at, &caa.records) else {
        if let LookupOutcome::NoData | LookupOutcome::NxDomain = caa.records {
            return warn(
                id,
                reason!(
                    "no CAA record at any level ({asked}): any CA may issue for the site",
                    "không có bản ghi CAA ở cấp nào ({asked}): CA nào cũng cấp được chứng thư cho trang"
                ),
                observed,
            );
        }
        let label = caa.records.label();
        return error(
            id,
            reason!(
                "could not be tested: the CAA lookup gave {label} (asked {asked})",
                "không kiểm tra được: truy vấn CAA trả về {label} (đã hỏi {asked})"
            ),
            observed,
        );
    };
    let mut problems = Vec::new();
    let mut issuers = Vec::new();
    for value in values {
        match parse(value) {
            Ok(record) if record.tag == "issue" || record.tag == "issuewild" => {
                issuers.push(format!("{} {}", record.tag, record.value))
            }
            Ok(_) => {}
            Err(why) => problems.push(format!("{value}: {why}")),
        }
    }
    if issuers.is_empty() {
        problems.push("no issue or issuewild record: the set names no CA".to_string());
    }
    if !problems.is_empty() {
        let list = problems.join("; ");
        return fail(id, reason!("CAA at {name}: {list}", "CAA tại {name}: {list}"), observed);
    }
    let list = issuers.join(", ");
    pass(
        id,
        reason!("CAA at {name} allows only {list}", "CAA tại {name} chỉ cho phép {list}"),
        observed,
    )
}
