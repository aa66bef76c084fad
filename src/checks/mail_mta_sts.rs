//! mail.mta_sts: the domain tells sending MTAs to insist on TLS (RFC 8461) and where to report
//! failures (TLS-RPT, RFC 8460). The policy must be served alike by every address of the
//! policy host, with a certificate senders accept, and must cover every MX host.

use serde_json::json;

use super::findings::Gaps;
use super::input::CheckFn;
use super::mail::judged;
use super::result::{error, not_tested, pass, reason, CheckResult};
use crate::model::catalogue::CheckId;
use crate::model::mta_sts::{
    is_sts_record, is_tlsrpt_record, mx_matches, parse_policy, parse_sts_record, parse_tlsrpt, StsMode, StsPolicy,
};
use crate::probe::dns::LookupOutcome;
use crate::probe::mail::MailFacts;
use crate::probe::mta_sts::{MtaStsFacts, PolicyFetch};

pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::MailMtaSts, |input| {
    judged(CheckId::MailMtaSts, input.observations, mail_mta_sts)
})];

/// A policy is cached by senders for `max_age`; below a day it lapses between their visits.
const MIN_MAX_AGE: u64 = 86_400;

#[derive(Default)]
struct Findings {
    gaps: Gaps,
}

fn mail_mta_sts(id: CheckId, mail: &MailFacts) -> CheckResult {
    let observed = json!(mail);
    let Some(facts) = &mail.mta_sts else {
        return not_tested(
            id,
            "MTA-STS was not probed",
            "chưa kiểm tra MTA-STS",
            &[] as &[&str],
            observed,
        );
    };
    let domain = &mail.domain;
    let mut found = Findings::default();
    let tlsrpt = judge_tlsrpt(&facts.tlsrpt, &mut found);
    let records: Vec<&String> = facts.record.values().iter().filter(|v| is_sts_record(v)).collect();
    match &facts.record {
        LookupOutcome::Records { .. } | LookupOutcome::NoData | LookupOutcome::NxDomain => {}
        failed => {
            let label = failed.label();
            return error(
                id,
                reason!(
                    "could not be tested: _mta-sts.{domain} TXT lookup gave {label}",
                    "không kiểm tra được: truy vấn TXT _mta-sts.{domain} trả về {label}"
                ),
                observed,
            );
        }
    }
    if records.is_empty() {
        found.gaps.warnings.insert(
            0,
            format!("no MTA-STS record at _mta-sts.{domain}: senders may deliver without TLS"),
        );
    } else if records.len() > 1 {
        found.gaps.problems.push(format!(
            "{} v=STSv1 records at _mta-sts.{domain}: senders ignore them all",
            records.len()
        ));
    } else if let Err(why) = parse_sts_record(records[0]) {
        found
            .gaps
            .problems
            .push(format!("_mta-sts.{domain} record {:?}: {why}", records[0]));
    } else {
        judge_policies(mail, facts, &mut found);
    }
    finish(id, domain, found, tlsrpt, observed)
}

fn judge_policies(mail: &MailFacts, facts: &MtaStsFacts, found: &mut Findings) {
    let host = &facts.policy_host;
    if facts.fetches.is_empty() {
        found
            .gaps
            .problems
            .push(format!("{host} has no usable address, so the policy cannot be fetched"));
        return;
    }
    // Every address's policy is judged (a sender may fetch any of them); identical policies
    // once, so a policy served alike by every address reads as one finding.
    let mut policies: Vec<StsPolicy> = Vec::new();
    for fetch in &facts.fetches {
        if let Some(policy) = policy_of(host, fetch, found) {
            if !policies.contains(&policy) {
                policies.push(policy);
            }
        }
    }
    for policy in &policies {
        match policy.mode {
            StsMode::Enforce => {}
            StsMode::Testing => found
                .gaps
                .warnings
                .push("policy mode: testing (failures are reported, mail is still delivered without TLS)".into()),
            StsMode::None => found.gaps.warnings.push("policy mode: none (MTA-STS withdrawn)".into()),
        }
        if policy.max_age < MIN_MAX_AGE {
            found
                .gaps
                .warnings
                .push(format!("policy max_age {} s is below one day", policy.max_age));
        }
        if policy.mode != StsMode::None {
            for exchange in &mail.exchanges {
                if !policy.mx.iter().any(|pattern| mx_matches(pattern, &exchange.host)) {
                    found.gaps.problems.push(format!(
                        "MX host {} is not covered by the policy's mx: {}: senders refuse to deliver to it",
                        exchange.host,
                        policy.mx.join(", ")
                    ));
                }
            }
        }
    }
}

/// The policy one address served, or `None` with the problem recorded.
fn policy_of(host: &str, fetch: &PolicyFetch, found: &mut Findings) -> Option<StsPolicy> {
    let at = format!("https://{host}/.well-known/mta-sts.txt [{}]", fetch.ip);
    if let Some(err) = &fetch.error {
        if err.kind == "no_route" {
            found.gaps.untested.push(format!("{at}: {}", err.message));
        } else {
            found.gaps.problems.push(format!("{at}: {err}"));
        }
        return None;
    }
    if let Some(failure) = &fetch.verify_failure {
        found.gaps.problems.push(format!(
            "{at}: certificate not valid ({}): senders reject the policy",
            failure.message
        ));
        return None;
    }
    if let Some(location) = &fetch.redirect {
        found
            .gaps
            .problems
            .push(format!("{at}: redirects to {location}, which senders do not follow"));
        return None;
    }
    let status = fetch.status.unwrap_or_default();
    if status != 200 {
        found.gaps.problems.push(format!("{at}: status {status}"));
        return None;
    }
    let media = fetch
        .content_type
        .as_deref()
        .and_then(|value| value.split(';').next())
        .map(|media| media.trim().to_ascii_lowercase());
    if media.as_deref() != Some("text/plain") {
        found.gaps.problems.push(format!(
            "{at}: served as {}, not text/plain",
            fetch.content_type.as_deref().unwrap_or("no Content-Type")
        ));
        return None;
    }
    if fetch.truncated {
        found.gaps.problems.push(format!("{at}: policy larger than 64 KiB"));
        return None;
    }
    match parse_policy(&fetch.body) {
        Ok(policy) => Some(policy),
        Err(why) => {
            found.gaps.problems.push(format!("{at}: policy does not parse: {why}"));
            None
        }
    }
}

/// The TLS-RPT record's state, for the reason; a missing or broken record is a warning.
fn judge_tlsrpt(lookup: &LookupOutcome, found: &mut Findings) -> String {
    let records: Vec<&String> = lookup.values().iter().filter(|v| is_tlsrpt_record(v)).collect();
    match (lookup, records.as_slice()) {
        (LookupOutcome::Records { .. } | LookupOutcome::NoData | LookupOutcome::NxDomain, []) => {
            found
                .gaps
                .warnings
                .push("no TLS-RPT record at _smtp._tls (nobody hears of delivery failures)".into());
            "no TLS-RPT".into()
        }
        (LookupOutcome::Records { .. }, [record]) => match parse_tlsrpt(record) {
            Ok(rua) => format!("TLS-RPT to {}", rua.join(", ")),
            Err(why) => {
                found.gaps.warnings.push(format!("TLS-RPT record {record:?}: {why}"));
                "TLS-RPT invalid".into()
            }
        },
        (LookupOutcome::Records { .. }, many) => {
            found
                .gaps
                .warnings
                .push(format!("{} TLS-RPT records at _smtp._tls, one expected", many.len()));
            "TLS-RPT ambiguous".into()
        }
        (failed, _) => {
            found
                .gaps
                .untested
                .push(format!("_smtp._tls TXT lookup {}", failed.label()));
            "TLS-RPT not read".into()
        }
    }
}

fn finish(id: CheckId, domain: &str, found: Findings, tlsrpt: String, observed: serde_json::Value) -> CheckResult {
    let observed = match found.gaps.conclude(
        id,
        observed,
        |list| {
            reason!(
                "MTA-STS for {domain} is broken: {list}",
                "MTA-STS của {domain} bị lỗi: {list}"
            )
        },
        ("MTA-STS could not be fully tested", "không kiểm tra hết được MTA-STS"),
        |list| {
            reason!(
                "MTA-STS for {domain} is not enforced: {list}",
                "MTA-STS của {domain} chưa được áp dụng đầy đủ: {list}"
            )
        },
    ) {
        Ok(result) => return result,
        Err(observed) => observed,
    };
    pass(
        id,
        reason!(
            "MTA-STS enforce policy covers every MX host, served alike by every address; {tlsrpt}",
            "chính sách MTA-STS enforce bao gồm mọi máy chủ MX, mọi địa chỉ đều phục vụ; {tlsrpt}"
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::result::Status;
    use crate::probe::mail::ExchangeFacts;

    const POLICY: &str = "version: STSv1\nmode: enforce\nmx: mx.haiduong.gov.vn\nmax_age: 604800\n";

    fn fetch(body: &str) -> PolicyFetch {
        PolicyFetch {
            ip: "2001:db8::5".parse().expect("ip"),
            status: Some(200),
            content_type: Some("text/plain; charset=utf-8".into()),
            redirect: None,
            verify_failure: None,
            body: body.into(),
            truncated: false,
            error: None,
        }
    }

    fn txt(values: &[&str]) -> LookupOutcome {
        match values.is_empty() {
            true => LookupOutcome::NoData,
            false => LookupOutcome::Records {
                values: values.iter().map(|v| v.to_string()).collect(),
            },
        }
    }

    fn judge(record: &[&str], tlsrpt: &[&str], fetches: Vec<PolicyFetch>) -> CheckResult {
        let mail = MailFacts {
            domain: "haiduong.gov.vn".into(),
            mx: txt(&["10 mx.haiduong.gov.vn"]),
            null_mx: false,
            exchanges: vec![ExchangeFacts {
                host: "mx.haiduong.gov.vn".into(),
                preference: 10,
                a: LookupOutcome::NoData,
                aaaa: LookupOutcome::NoData,
                unusable: Vec::new(),
                smtp: Vec::new(),
                smtp_v4: Vec::new(),
                tlsa: None,
            }],
            unprobed: 0,
            auth: None,
            mta_sts: Some(MtaStsFacts {
                record: txt(record),
                tlsrpt: txt(tlsrpt),
                policy_host: "mta-sts.haiduong.gov.vn".into(),
                policy_addresses: None,
                fetches,
            }),
        };
        mail_mta_sts(CheckId::MailMtaSts, &mail)
    }

    #[test]
    fn each_status() {
        let sts = ["v=STSv1; id=2026120701"];
        let rpt = ["v=TLSRPTv1; rua=mailto:tlsrpt@haiduong.gov.vn"];
        let result = judge(&sts, &rpt, vec![fetch(POLICY)]);
        assert_eq!(result.status, Status::Pass, "{}", result.reason.en);
        assert!(result.reason.en.contains("mailto:tlsrpt@haiduong.gov.vn"));

        let result = judge(&[], &[], Vec::new());
        assert_eq!(result.status, Status::Warn);
        assert!(result.reason.en.contains("no MTA-STS record"), "{}", result.reason.en);

        let testing = POLICY.replace("enforce", "testing");
        let result = judge(&sts, &rpt, vec![fetch(&testing)]);
        assert_eq!(result.status, Status::Warn);
        assert!(result.reason.en.contains("mode: testing"));

        let result = judge(&sts, &[], vec![fetch(POLICY)]);
        assert_eq!(result.status, Status::Warn);
        assert!(result.reason.en.contains("no TLS-RPT"));

        let other = POLICY.replace("mx.haiduong.gov.vn", "*.other.vn");
        let result = judge(&sts, &rpt, vec![fetch(&other)]);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("MX host mx.haiduong.gov.vn is not covered"));

        let result = judge(&sts, &rpt, Vec::new());
        assert_eq!(result.status, Status::Fail, "a record without a policy host");

        let mut html = fetch("<html>");
        html.content_type = Some("text/html".into());
        let result = judge(&sts, &rpt, vec![fetch(POLICY), html]);
        assert_eq!(result.status, Status::Fail, "one address serving HTML fails");
        assert!(result.reason.en.contains("not text/plain"));

        let mut moved = fetch("");
        moved.status = Some(301);
        moved.redirect = Some("https://www.haiduong.gov.vn/".into());
        let result = judge(&sts, &rpt, vec![moved]);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("do not follow"));

        let result = judge(&["v=STSv1; id=bad-id"], &rpt, vec![fetch(POLICY)]);
        assert_eq!(result.status, Status::Fail);

        let mut untrusted = fetch(POLICY);
        untrusted.verify_failure = Some(crate::probe::tls::VerifyFailure {
            code: "unknown_issuer".into(),
            message: "issued by an unknown CA".into(),
        });
        let result = judge(&sts, &rpt, vec![untrusted]);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("certificate not valid"));
    }
}
