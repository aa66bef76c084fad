//! mail.ipv6 and mail.starttls: the domain's mail works over IPv6, as internet.nl judges it —
//! every MX host has a usable AAAA and, over IPv6, greets with 220 and answers EHLO — and its
//! exchanges offer STARTTLS.

use serde_json::{json, Value};

use super::input::CheckFn;
use super::result::{error, fail, not_tested, pass, reason, warn, CheckResult, Status};
use crate::model::catalogue::CheckId;
use crate::probe::dns::LookupOutcome;
use crate::probe::mail::{MailFacts, SmtpOutcome, MAX_EXCHANGES};
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[
    (CheckId::MailIpv6, |input| ipv6(input.observations)),
    (CheckId::MailStarttls, |input| starttls(input.observations)),
];

/// Whether the MX answer leaves anything to judge: `Err` is the skip or error result.
fn exchanges_to_judge(id: CheckId, obs: &Observations) -> Result<&MailFacts, Box<CheckResult>> {
    let Some(mail) = &obs.mail else {
        let result = not_tested(
            id,
            "mail was not probed",
            "chưa kiểm tra thư điện tử",
            &[] as &[&str],
            Value::Null,
        );
        return Err(Box::new(result));
    };
    let observed = json!(mail);
    let domain = &mail.domain;
    let verdict = |status, en: String, vi: String| {
        Err(Box::new(CheckResult::new(
            id,
            status,
            reason!(en, vi),
            observed.clone(),
        )))
    };
    match &mail.mx {
        LookupOutcome::NoData | LookupOutcome::NxDomain => verdict(
            Status::Skip,
            format!("{domain} has no MX record: it receives no mail"),
            format!("{domain} không có bản ghi MX: không nhận thư"),
        ),
        LookupOutcome::Records { .. } if mail.null_mx => verdict(
            Status::Skip,
            format!("{domain} publishes a null MX (RFC 7505): it takes no mail"),
            format!("{domain} khai báo null MX (RFC 7505): không nhận thư"),
        ),
        LookupOutcome::Records { .. } => Ok(mail),
        failed => verdict(
            Status::Error,
            format!(
                "could not be tested: the MX lookup for {domain} gave {}",
                failed.label()
            ),
            format!(
                "không kiểm tra được: truy vấn MX của {domain} trả về {}",
                failed.label()
            ),
        ),
    }
}

/// `judge` over the mail domain's exchanges, or the skip or error result when there is
/// nothing to judge.
pub(super) fn judged(id: CheckId, obs: &Observations, judge: fn(CheckId, &MailFacts) -> CheckResult) -> CheckResult {
    match exchanges_to_judge(id, obs) {
        Ok(mail) => judge(id, mail),
        Err(result) => *result,
    }
}

/// Every MX host has a usable AAAA, and every usable IPv6 address of it greets (220) and
/// answers EHLO (250).
pub fn ipv6(obs: &Observations) -> CheckResult {
    judged(CheckId::MailIpv6, obs, ipv6_of)
}

fn ipv6_of(id: CheckId, mail: &MailFacts) -> CheckResult {
    let observed = json!(mail);
    let mut problems = Vec::new();
    let mut untested = Vec::new();
    for exchange in &mail.exchanges {
        let host = &exchange.host;
        match &exchange.aaaa {
            LookupOutcome::Records { .. } if exchange.smtp.is_empty() => {
                let unusable: Vec<String> = exchange.unusable.iter().map(ToString::to_string).collect();
                problems.push(format!("{host}: no usable IPv6 address ({})", unusable.join(", ")));
            }
            LookupOutcome::Records { .. } if !exchange.unusable.is_empty() => {
                // A sending server may pick the non-public address: mail to it is lost.
                let unusable: Vec<String> = exchange.unusable.iter().map(ToString::to_string).collect();
                problems.push(format!(
                    "{host}: non-public IPv6 address published ({})",
                    unusable.join(", ")
                ));
            }
            LookupOutcome::Records { .. } => {}
            LookupOutcome::NoData | LookupOutcome::NxDomain => problems.push(format!("{host}: no AAAA")),
            failed => untested.push(format!("{host}: AAAA lookup {}", failed.label())),
        }
        for smtp in &exchange.smtp {
            if let SmtpOutcome::NoRoute { message } = &smtp.outcome {
                untested.push(format!("{host} [{}]: {message}", smtp.ip));
            }
            if let SmtpOutcome::Failed { phase, message } = &smtp.outcome {
                let what = if message == "timeout" {
                    format!("IPv6 {} timeout", phase.as_str())
                } else {
                    format!("{} over IPv6: {message}", phase.as_str())
                };
                problems.push(format!("{host} [{}]: {what}", smtp.ip));
            }
        }
    }
    if !problems.is_empty() {
        let (domain, list) = (&mail.domain, problems.join("; "));
        let why = reason!(
            "mail for {domain} does not work over IPv6: {list}",
            "thư điện tử của {domain} chưa hoạt động qua IPv6: {list}"
        );
        return fail(id, why, observed);
    }
    if !untested.is_empty() {
        return not_tested(id, "could not be tested", "không kiểm tra được", &untested, observed);
    }
    let hosts: Vec<&str> = mail.exchanges.iter().map(|e| e.host.as_str()).collect();
    if mail.unprobed > 0 {
        return warn(
            id,
            reason!(
                format!(
                    "the first {MAX_EXCHANGES} MX hosts answer SMTP over IPv6; {} more were not probed",
                    mail.unprobed
                ),
                format!(
                    "{MAX_EXCHANGES} máy chủ MX đầu tiên trả lời SMTP qua IPv6; {} máy chủ khác chưa kiểm tra",
                    mail.unprobed
                )
            ),
            observed,
        );
    }
    pass(
        id,
        reason!(
            format!("every MX host answers SMTP over IPv6: {}", hosts.join(", ")),
            format!("mọi máy chủ MX trả lời SMTP qua IPv6: {}", hosts.join(", "))
        ),
        observed,
    )
}

/// Every exchange that answered over IPv6 offers STARTTLS.
pub fn starttls(obs: &Observations) -> CheckResult {
    judged(CheckId::MailStarttls, obs, starttls_of)
}

fn starttls_of(id: CheckId, mail: &MailFacts) -> CheckResult {
    let observed = json!(mail);
    let answered: Vec<(&str, std::net::IpAddr, bool)> = mail
        .exchanges
        .iter()
        .flat_map(|exchange| {
            exchange.smtp.iter().filter_map(move |smtp| match &smtp.outcome {
                SmtpOutcome::Answered { starttls, .. } => Some((exchange.host.as_str(), smtp.ip, *starttls)),
                SmtpOutcome::Failed { .. } | SmtpOutcome::NoRoute { .. } => None,
            })
        })
        .collect();
    if answered.is_empty() {
        return error(
            id,
            reason!(
                "could not be tested: no MX host answered SMTP over IPv6 (see mail.ipv6)",
                "không kiểm tra được: không máy chủ MX nào trả lời SMTP qua IPv6 (xem mail.ipv6)"
            ),
            observed,
        );
    }
    let without: Vec<String> = answered
        .iter()
        .filter(|(_, _, starttls)| !starttls)
        .map(|(host, ip, _)| format!("{host} [{ip}]"))
        .collect();
    if !without.is_empty() {
        let list = without.join(", ");
        return fail(
            id,
            reason!(
                "no STARTTLS offered, mail travels in clear: {list}",
                "không hỗ trợ STARTTLS, thư được gửi không mã hoá: {list}"
            ),
            observed,
        );
    }
    pass(
        id,
        reason!(
            format!("STARTTLS offered by every MX host that answered ({})", answered.len()),
            format!("mọi máy chủ MX đã trả lời đều hỗ trợ STARTTLS ({})", answered.len())
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{assert_verdict, observations};
    use crate::probe::mail::{ExchangeFacts, SmtpFacts, SmtpPhase};

    fn exchange(host: &str, aaaa: LookupOutcome, smtp: Vec<SmtpOutcome>) -> ExchangeFacts {
        ExchangeFacts {
            host: host.into(),
            preference: 10,
            a: LookupOutcome::NoData,
            aaaa,
            unusable: Vec::new(),
            smtp: smtp
                .into_iter()
                .enumerate()
                .map(|(i, outcome)| SmtpFacts {
                    ip: format!("2001:db8::{}", i + 1).parse().expect("ip"),
                    outcome,
                })
                .collect(),
            smtp_v4: Vec::new(),
            tlsa: None,
        }
    }

    fn with_mail(mx: LookupOutcome, null_mx: bool, exchanges: Vec<ExchangeFacts>) -> Observations {
        let mut obs = observations();
        obs.mail = Some(MailFacts {
            domain: "haiduong.gov.vn".into(),
            mx,
            null_mx,
            exchanges,
            unprobed: 0,
            auth: None,
            mta_sts: None,
        });
        obs
    }

    fn records() -> LookupOutcome {
        LookupOutcome::Records {
            values: vec!["10 mx.haiduong.gov.vn".into()],
        }
    }

    fn answered(starttls: bool) -> SmtpOutcome {
        SmtpOutcome::Answered {
            banner: "mx ESMTP".into(),
            starttls,
            tls: None,
        }
    }

    #[test]
    fn no_mx_and_null_mx_skip_and_a_broken_lookup_is_an_error() {
        let none = with_mail(LookupOutcome::NoData, false, Vec::new());
        assert_eq!(ipv6(&none).status, Status::Skip);
        assert!(ipv6(&none).reason.en.contains("no MX record"));
        let null = with_mail(records(), true, Vec::new());
        assert_eq!(ipv6(&null).status, Status::Skip);
        assert!(starttls(&null).reason.en.contains("null MX"));
        let broken = with_mail(LookupOutcome::ServFail, false, Vec::new());
        assert_eq!(ipv6(&broken).status, Status::Error);
    }

    #[test]
    fn each_blocking_exchange_is_named() {
        let obs = with_mail(
            records(),
            false,
            vec![
                exchange("mx1.haiduong.gov.vn", records(), vec![answered(true)]),
                exchange("mx2.haiduong.gov.vn", LookupOutcome::NoData, Vec::new()),
                exchange(
                    "mx3.haiduong.gov.vn",
                    records(),
                    vec![SmtpOutcome::Failed {
                        phase: SmtpPhase::Connect,
                        message: "connection refused".into(),
                    }],
                ),
            ],
        );
        let result = ipv6(&obs);
        assert_verdict(&result, Status::Fail, "mx2.haiduong.gov.vn: no AAAA");
        assert!(
            result
                .reason
                .en
                .contains("mx3.haiduong.gov.vn [2001:db8::1]: connect over IPv6: connection refused"),
            "{}",
            result.reason.en
        );
        assert!(!result.reason.en.contains("mx1"));
        assert_eq!(starttls(&obs).status, Status::Pass, "mx1 answered with STARTTLS");
    }

    #[test]
    fn a_non_public_aaaa_beside_a_working_one_fails() {
        let mut mixed = exchange("mx.haiduong.gov.vn", records(), vec![answered(true)]);
        mixed.unusable = vec!["2001:db8::25".parse().expect("ip")];
        let obs = with_mail(records(), false, vec![mixed]);
        let result = ipv6(&obs);
        assert_eq!(result.status, Status::Fail);
        assert!(result
            .reason
            .en
            .contains("non-public IPv6 address published (2001:db8::25)"));
    }

    #[test]
    fn a_working_exchange_passes_and_starttls_is_judged_apart() {
        let obs = with_mail(
            records(),
            false,
            vec![exchange("mx.haiduong.gov.vn", records(), vec![answered(false)])],
        );
        assert_eq!(ipv6(&obs).status, Status::Pass);
        let tls = starttls(&obs);
        assert_eq!(tls.status, Status::Fail);
        assert!(tls.reason.en.contains("mx.haiduong.gov.vn [2001:db8::1]"));
    }
}
