//! mail.tls: on every address of every MX host, both families, STARTTLS leads to TLS 1.2 or
//! newer, refuses TLS 1.0/1.1 and every insufficient suite (the classifier `tls.ciphers`
//! shares), and the certificate names the MX host and verifies. A certificate that does not
//! verify is a warn: most sending MTAs do not check it (RFC 7435 opportunistic TLS).

use serde_json::json;

use super::findings::Gaps;
use super::input::CheckFn;
use super::mail::judged;
use super::result::{pass, reason, CheckResult};
use crate::model::catalogue::CheckId;
use crate::model::cipher_suites::{self, SuiteClass};
use crate::probe::legacy_tls::LegacyTlsOutcome;
use crate::probe::mail::{MailFacts, SmtpOutcome};
use crate::probe::smtp::{StarttlsFacts, StarttlsHandshake};

pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::MailTls, |input| {
    judged(CheckId::MailTls, input.observations, mail_tls)
})];

/// What one address showed.
#[derive(Default)]
struct Findings {
    gaps: Gaps,
    addresses: usize,
}

fn mail_tls(id: CheckId, mail: &MailFacts) -> CheckResult {
    let observed = json!(mail);
    let mut found = Findings::default();
    for exchange in &mail.exchanges {
        let host = &exchange.host;
        let conversations: Vec<_> = exchange.smtp.iter().chain(&exchange.smtp_v4).collect();
        if conversations.is_empty() {
            found.gaps.untested.push(format!("{host}: no usable address to test"));
        }
        for smtp in conversations {
            let at = format!("{host} [{}]", smtp.ip);
            match &smtp.outcome {
                SmtpOutcome::NoRoute { message } => found.gaps.untested.push(format!("{at}: {message}")),
                SmtpOutcome::Failed { phase, message } => found
                    .gaps
                    .untested
                    .push(format!("{at}: SMTP {}: {message}", phase.as_str())),
                SmtpOutcome::Answered { starttls: false, .. } => {
                    found.gaps.problems.push(format!("{at}: STARTTLS not offered"))
                }
                SmtpOutcome::Answered { tls: None, .. } => found.gaps.untested.push(format!("{at}: TLS not probed")),
                SmtpOutcome::Answered { tls: Some(tls), .. } => {
                    found.addresses += 1;
                    judge_address(&at, tls, &mut found);
                }
            }
        }
    }
    if mail.unprobed > 0 {
        found
            .gaps
            .untested
            .push(format!("{} more MX hosts not probed", mail.unprobed));
    }
    let domain = &mail.domain;
    let observed = match found.gaps.conclude(
        id,
        observed,
        |list| {
            reason!(
                "mail servers of {domain} accept weak or no TLS: {list}",
                "máy chủ thư của {domain} chấp nhận TLS yếu hoặc không có TLS: {list}"
            )
        },
        (
            "TLS of these mail server addresses could not be tested",
            "không kiểm tra được TLS của các địa chỉ máy chủ thư này",
        ),
        |list| {
            reason!(
                "TLS 1.2+ on every mail server address, but {list} (most senders do not check it)",
                "mọi địa chỉ máy chủ thư dùng TLS 1.2+, nhưng {list} (đa số máy gửi không kiểm tra)"
            )
        },
    ) {
        Ok(result) => return result,
        Err(observed) => observed,
    };
    let count = found.addresses;
    pass(
        id,
        reason!(
            "STARTTLS with TLS 1.2+ and sound suites on all {count} mail server address(es); certificates verify",
            "STARTTLS với TLS 1.2+ và bộ mã an toàn trên cả {count} địa chỉ máy chủ thư; chứng thư hợp lệ"
        ),
        observed,
    )
}

fn judge_address(at: &str, tls: &StarttlsFacts, found: &mut Findings) {
    match &tls.handshake {
        StarttlsHandshake::Failed { message } => found
            .gaps
            .problems
            .push(format!("{at}: TLS handshake after STARTTLS fails ({message})")),
        StarttlsHandshake::Completed {
            version,
            cipher,
            verify_failure,
            ..
        } => {
            if !matches!(version.as_str(), "TLS 1.2" | "TLS 1.3") {
                found.gaps.problems.push(format!("{at}: negotiated {version}"));
            }
            if let Some(suite) = cipher_suites::by_name(cipher) {
                if suite.class == SuiteClass::Insufficient {
                    found
                        .gaps
                        .problems
                        .push(format!("{at}: negotiated insufficient suite {}", suite.name));
                }
            }
            if let Some(failure) = verify_failure {
                found
                    .gaps
                    .warnings
                    .push(format!("{at}: certificate does not verify ({})", failure.message));
            }
        }
    }
    match &tls.legacy {
        LegacyTlsOutcome::Accepted { version } => found.gaps.problems.push(format!("{at}: accepts {version}")),
        LegacyTlsOutcome::Refused { .. } => {}
        LegacyTlsOutcome::Unknown { message } | LegacyTlsOutcome::NoRoute { message } => {
            found.gaps.untested.push(format!("{at}: TLS 1.0/1.1 probe: {message}"))
        }
    }
    match &tls.insufficient {
        LegacyTlsOutcome::Accepted { version: suite } => found
            .gaps
            .problems
            .push(format!("{at}: accepts insufficient suite {suite}")),
        LegacyTlsOutcome::Refused { .. } => {}
        LegacyTlsOutcome::Unknown { message } | LegacyTlsOutcome::NoRoute { message } => found
            .gaps
            .untested
            .push(format!("{at}: insufficient-suite probe: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::result::Status;
    use crate::probe::dns::LookupOutcome;
    use crate::probe::mail::{ExchangeFacts, SmtpFacts};
    use crate::probe::tls::VerifyFailure;

    fn tls(handshake: StarttlsHandshake, legacy: LegacyTlsOutcome, insufficient: LegacyTlsOutcome) -> StarttlsFacts {
        StarttlsFacts {
            handshake,
            legacy,
            insufficient,
        }
    }

    fn completed(verify_failure: Option<VerifyFailure>) -> StarttlsHandshake {
        StarttlsHandshake::Completed {
            version: "TLS 1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            verify_failure,
            chain: Vec::new(),
        }
    }

    fn refused() -> LegacyTlsOutcome {
        LegacyTlsOutcome::Refused {
            how: "alert protocol_version".into(),
        }
    }

    fn mail_with(v6: SmtpOutcome, v4: SmtpOutcome) -> MailFacts {
        MailFacts {
            domain: "haiduong.gov.vn".into(),
            mx: LookupOutcome::Records {
                values: vec!["10 mx.haiduong.gov.vn".into()],
            },
            null_mx: false,
            exchanges: vec![ExchangeFacts {
                host: "mx.haiduong.gov.vn".into(),
                preference: 10,
                a: LookupOutcome::NoData,
                aaaa: LookupOutcome::NoData,
                unusable: Vec::new(),
                smtp: vec![SmtpFacts {
                    ip: "2001:db8::1".parse().expect("ip"),
                    outcome: v6,
                }],
                smtp_v4: vec![SmtpFacts {
                    ip: "192.0.2.1".parse().expect("ip"),
                    outcome: v4,
                }],
                tlsa: None,
            }],
            unprobed: 0,
            auth: None,
            mta_sts: None,
        }
    }

    fn answered(tls: Option<StarttlsFacts>) -> SmtpOutcome {
        SmtpOutcome::Answered {
            banner: "mx ESMTP".into(),
            starttls: tls.is_some(),
            tls,
        }
    }

    fn good() -> SmtpOutcome {
        answered(Some(tls(completed(None), refused(), refused())))
    }

    #[test]
    fn each_status_and_the_address_it_names() {
        let result = mail_tls(CheckId::MailTls, &mail_with(good(), good()));
        assert_eq!(result.status, Status::Pass, "{}", result.reason.en);
        assert!(result.reason.en.contains("all 2 mail server"), "{}", result.reason.en);

        let tls10 = answered(Some(tls(
            completed(None),
            LegacyTlsOutcome::Accepted {
                version: "TLS 1.0".into(),
            },
            refused(),
        )));
        let result = mail_tls(CheckId::MailTls, &mail_with(good(), tls10));
        assert_eq!(result.status, Status::Fail);
        assert!(
            result.reason.en.contains("[192.0.2.1]: accepts TLS 1.0"),
            "{}",
            result.reason.en
        );
        assert!(!result.reason.en.contains("2001:db8::1"), "{}", result.reason.en);

        let anon = answered(Some(tls(
            completed(None),
            refused(),
            LegacyTlsOutcome::Accepted {
                version: "ADH-AES256-GCM-SHA384".into(),
            },
        )));
        let result = mail_tls(CheckId::MailTls, &mail_with(anon, good()));
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("insufficient suite ADH-AES256-GCM-SHA384"));

        let result = mail_tls(CheckId::MailTls, &mail_with(answered(None), good()));
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("STARTTLS not offered"));

        let wrong = VerifyFailure {
            code: "wrong_host".into(),
            message: "the certificate does not name this host".into(),
        };
        let named = answered(Some(tls(completed(Some(wrong)), refused(), refused())));
        let result = mail_tls(CheckId::MailTls, &mail_with(good(), named));
        assert_eq!(result.status, Status::Warn);
        assert!(result.reason.en.contains("does not name this host"));

        let unknown = answered(Some(tls(
            completed(None),
            LegacyTlsOutcome::Unknown {
                message: "no answer within the timeout".into(),
            },
            refused(),
        )));
        let result = mail_tls(CheckId::MailTls, &mail_with(good(), unknown));
        assert_eq!(result.status, Status::Error, "an untested probe never passes");
        assert!(result.reason.en.contains("192.0.2.1"));
    }
}
