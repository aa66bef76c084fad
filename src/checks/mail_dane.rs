//! mail.dane (RFC 7672): every MX host publishes DNSSEC-secure `_25._tcp` TLSA records that
//! SMTP can use (DANE-TA or DANE-EE), the certificate every address of it offers over STARTTLS
//! matches one of them, and a key rollover is possible without an outage.

use serde_json::json;

use super::dane::matches;
use super::findings::Gaps;
use super::input::CheckFn;
use super::mail::judged;
use super::result::{pass, reason, skip, CheckResult};
use crate::model::catalogue::CheckId;
use crate::model::tlsa::Tlsa;
use crate::probe::dns::{DnssecState, LookupOutcome};
use crate::probe::mail::{ExchangeFacts, MailFacts, SmtpOutcome};
use crate::probe::smtp::StarttlsHandshake;

pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::MailDane, |input| {
    judged(CheckId::MailDane, input.observations, mail_dane)
})];

#[derive(Default)]
struct Findings {
    gaps: Gaps,
    /// MX hosts without any TLSA record.
    without: Vec<String>,
    /// MX hosts with TLSA records.
    with: usize,
    /// Addresses whose certificate matched.
    matched: usize,
}

fn mail_dane(id: CheckId, mail: &MailFacts) -> CheckResult {
    let observed = json!(mail);
    let mut found = Findings::default();
    for exchange in &mail.exchanges {
        judge_exchange(exchange, &mut found);
    }
    let domain = &mail.domain;
    if found.with == 0 && found.gaps.untested.is_empty() {
        return skip(
            id,
            reason!(
                "no MX host of {domain} publishes TLSA records (DANE not deployed)",
                "chưa máy chủ MX nào của {domain} công bố bản ghi TLSA (chưa triển khai DANE)"
            ),
            observed,
        );
    }
    if found.with > 0 {
        for host in &found.without {
            found
                .gaps
                .problems
                .push(format!("{host}: no TLSA record while other MX hosts have one"));
        }
    }
    let observed = match found.gaps.conclude(
        id,
        observed,
        |list| reason!("DANE for {domain} fails: {list}", "DANE của {domain} không đạt: {list}"),
        ("DANE could not be checked", "không kiểm tra được DANE"),
        |list| reason!("DANE for {domain} is weak: {list}", "DANE của {domain} còn yếu: {list}"),
    ) {
        Ok(result) => return result,
        Err(observed) => observed,
    };
    let (hosts, addresses) = (found.with, found.matched);
    pass(
        id,
        reason!(
            "secure TLSA on all {hosts} MX host(s); the certificate on all {addresses} address(es) matches, and a rollover record is published",
            "có TLSA an toàn trên cả {hosts} máy chủ MX; chứng thư trên cả {addresses} địa chỉ đều khớp, có bản ghi dự phòng để thay khoá"
        ),
        observed,
    )
}

fn judge_exchange(exchange: &ExchangeFacts, found: &mut Findings) {
    let host = &exchange.host;
    let Some(lookup) = &exchange.tlsa else {
        found.gaps.untested.push(format!("{host}: TLSA not asked"));
        return;
    };
    let values = match &lookup.records {
        LookupOutcome::NoData | LookupOutcome::NxDomain => {
            found.without.push(host.clone());
            return;
        }
        LookupOutcome::Records { values } => values,
        failed => {
            found
                .gaps
                .untested
                .push(format!("{}: TLSA lookup {}", lookup.name, failed.label()));
            return;
        }
    };
    found.with += 1;
    let secure = match &lookup.dnssec {
        Some(DnssecState::Secure) => true,
        Some(DnssecState::Insecure) => {
            found.gaps.warnings.push(format!(
                "{}: TLSA in an unsigned zone, which senders ignore",
                lookup.name
            ));
            false
        }
        Some(DnssecState::Bogus) => {
            found.gaps.problems.push(format!(
                "{}: the TLSA answer is bogus (DNSSEC validation fails): DANE senders defer mail",
                lookup.name
            ));
            return;
        }
        Some(DnssecState::Indeterminate { message }) => {
            found
                .gaps
                .untested
                .push(format!("{}: DNSSEC not determined ({message})", lookup.name));
            return;
        }
        None => {
            found.gaps.untested.push(format!("{}: DNSSEC not checked", lookup.name));
            return;
        }
    };
    let usable: Vec<Tlsa> = values
        .iter()
        .filter_map(|value| Tlsa::parse(value))
        .filter(Tlsa::usable_for_smtp)
        .collect();
    if usable.is_empty() {
        found.gaps.problems.push(format!(
            "{}: no record SMTP can use (DANE-TA 2 or DANE-EE 3, RFC 7672): {}",
            lookup.name,
            values.join(", ")
        ));
        return;
    }
    let end_entity = usable.iter().filter(|r| r.usage == 3).count();
    let trust_anchor = usable.iter().filter(|r| r.usage == 2).count();
    if !(end_entity >= 2 || trust_anchor >= 2 || (end_entity >= 1 && trust_anchor >= 1)) {
        found.gaps.warnings.push(format!(
            "{}: only one usable record ({}), so a new key cannot be published before it is used (no rollover)",
            lookup.name,
            usable.iter().map(Tlsa::short).collect::<Vec<_>>().join(", ")
        ));
    }
    for smtp in exchange.smtp.iter().chain(&exchange.smtp_v4) {
        let at = format!("{host} [{}]", smtp.ip);
        match &smtp.outcome {
            SmtpOutcome::Answered { starttls: false, .. } => {
                let problem = format!("{at}: no STARTTLS, so DANE senders cannot deliver");
                found.gaps.problems.push(problem);
            }
            SmtpOutcome::Answered { tls: Some(tls), .. } => match &tls.handshake {
                StarttlsHandshake::Completed { chain, .. } => {
                    if usable.iter().any(|record| matches(record, chain)) {
                        found.matched += 1;
                    } else {
                        let problem = format!("{at}: the certificate matches no TLSA record");
                        match secure {
                            true => found.gaps.problems.push(problem),
                            false => found.gaps.warnings.push(problem),
                        }
                    }
                }
                StarttlsHandshake::Failed { message } => found
                    .gaps
                    .untested
                    .push(format!("{at}: no certificate to match ({message})")),
            },
            SmtpOutcome::Answered { tls: None, .. } => found.gaps.untested.push(format!("{at}: TLS not probed")),
            SmtpOutcome::Failed { phase, message } => found
                .gaps
                .untested
                .push(format!("{at}: SMTP {}: {message}", phase.as_str())),
            SmtpOutcome::NoRoute { message } => found.gaps.untested.push(format!("{at}: {message}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::result::Status;
    use crate::probe::legacy_tls::LegacyTlsOutcome;
    use crate::probe::mail::{SmtpFacts, TlsaLookup};
    use crate::probe::smtp::{ChainDigests, StarttlsFacts};

    /// Distinct hex digests of the right lengths for a certificate tagged `tag`.
    fn digests(tag: &str) -> ChainDigests {
        let fill = |kind: &str, len: usize| format!("{tag}{kind}").repeat(len / 4 + 1)[..len].to_string();
        ChainDigests {
            cert_sha256: fill("c1", 64),
            cert_sha512: fill("c2", 128),
            spki_sha256: fill("d1", 64),
            spki_sha512: fill("d2", 128),
        }
    }

    fn exchange(records: &[String], dnssec: DnssecState, chain: Vec<ChainDigests>) -> ExchangeFacts {
        let refused = LegacyTlsOutcome::Refused { how: "alert".into() };
        ExchangeFacts {
            host: "mx.haiduong.gov.vn".into(),
            preference: 10,
            a: LookupOutcome::NoData,
            aaaa: LookupOutcome::NoData,
            unusable: Vec::new(),
            smtp: vec![SmtpFacts {
                ip: "2001:db8::1".parse().expect("ip"),
                outcome: SmtpOutcome::Answered {
                    banner: "mx".into(),
                    starttls: true,
                    tls: Some(StarttlsFacts {
                        handshake: StarttlsHandshake::Completed {
                            version: "TLS 1.3".into(),
                            cipher: "TLS13_AES_256_GCM_SHA384".into(),
                            verify_failure: None,
                            chain,
                        },
                        legacy: refused.clone(),
                        insufficient: refused,
                    }),
                },
            }],
            smtp_v4: Vec::new(),
            tlsa: Some(TlsaLookup {
                name: "_25._tcp.mx.haiduong.gov.vn".into(),
                records: match records.is_empty() {
                    true => LookupOutcome::NoData,
                    false => LookupOutcome::Records {
                        values: records.to_vec(),
                    },
                },
                dnssec: (!records.is_empty()).then_some(dnssec),
            }),
        }
    }

    fn judge(exchanges: Vec<ExchangeFacts>) -> CheckResult {
        let mail = MailFacts {
            domain: "haiduong.gov.vn".into(),
            mx: LookupOutcome::Records {
                values: vec!["10 mx.haiduong.gov.vn".into()],
            },
            null_mx: false,
            exchanges,
            unprobed: 0,
            auth: None,
            mta_sts: None,
        };
        mail_dane(CheckId::MailDane, &mail)
    }

    #[test]
    fn each_status() {
        let chain = || vec![digests("a1"), digests("b2")];
        let ee = format!("3 1 1 {}", digests("a1").spki_sha256);
        let ee_next = format!("3 1 1 {}", "ff".repeat(32));
        let ta = format!("2 0 2 {}", digests("b2").cert_sha512);
        let other = format!("3 0 1 {}", "ee".repeat(32));

        let result = judge(vec![exchange(
            &[ee.clone(), ee_next.clone()],
            DnssecState::Secure,
            chain(),
        )]);
        assert_eq!(result.status, Status::Pass, "{}", result.reason.en);
        let result = judge(vec![exchange(
            &[ta.clone(), ee_next.clone()],
            DnssecState::Secure,
            chain(),
        )]);
        assert_eq!(
            result.status,
            Status::Pass,
            "DANE-TA matches the issuer: {}",
            result.reason.en
        );
        let result = judge(vec![exchange(std::slice::from_ref(&ee), DnssecState::Secure, chain())]);
        assert_eq!(result.status, Status::Warn);
        assert!(result.reason.en.contains("no rollover"), "{}", result.reason.en);
        let result = judge(vec![exchange(
            &[ee.clone(), ee_next.clone()],
            DnssecState::Insecure,
            chain(),
        )]);
        assert_eq!(result.status, Status::Warn);
        assert!(result.reason.en.contains("unsigned zone"));
        let result = judge(vec![exchange(
            &[other.clone(), ee_next.clone()],
            DnssecState::Secure,
            chain(),
        )]);
        assert_eq!(result.status, Status::Fail);
        assert!(result
            .reason
            .en
            .contains("[2001:db8::1]: the certificate matches no TLSA record"));
        let result = judge(vec![exchange(std::slice::from_ref(&ee), DnssecState::Bogus, chain())]);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("bogus"));
        let pkix = format!("1 1 1 {}", digests("a1").spki_sha256);
        let result = judge(vec![exchange(&[pkix], DnssecState::Secure, chain())]);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("no record SMTP can use"));
        let result = judge(vec![exchange(&[], DnssecState::Secure, chain())]);
        assert_eq!(result.status, Status::Skip);
        let mut second = exchange(&[], DnssecState::Secure, chain());
        second.host = "mx2.haiduong.gov.vn".into();
        let result = judge(vec![
            exchange(&[ee.clone(), ee_next], DnssecState::Secure, chain()),
            second,
        ]);
        assert_eq!(result.status, Status::Fail);
        assert!(result
            .reason
            .en
            .contains("mx2.haiduong.gov.vn: no TLSA record while other MX hosts have one"));
        let indeterminate = DnssecState::Indeterminate {
            message: "timeout".into(),
        };
        let result = judge(vec![exchange(&[ee], indeterminate, chain())]);
        assert_eq!(result.status, Status::Error);
    }
}
