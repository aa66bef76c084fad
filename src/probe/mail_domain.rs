//! The mail-domain level: the MX set of the target's mail domain, its exchanges' SMTP and
//! its SPF, DMARC and DKIM records, its MTA-STS policy and TLS-RPT record,
//! probed once per domain per round ([`super::mail`] does the talking) and shared by every
//! site whose mail goes there.

use super::context::Context;
use super::mail::{probe_mail, MailFacts, MailOptions};
use super::mail_auth;
use super::mta_sts;

/// The target's mail domain: configured, or its zone's apex (the host itself when none is
/// found).
pub async fn domain_of(cx: &Context<'_>) -> String {
    match &cx.target.settings.mail_domain {
        Some(domain) => domain.clone(),
        None => cx
            .shared
            .dns
            .find_apex(cx.host(), cx.deadline)
            .await
            .0
            .unwrap_or_else(|| cx.host().to_string()),
    }
}

/// The mail level: the mail of the target's mail domain (configured, or its zone apex),
/// probed once per domain per round and shared by the sites that use it.
pub async fn observe(cx: &Context<'_>) -> Option<MailFacts> {
    if !cx.probes.mail {
        return None;
    }
    let domain = domain_of(cx).await;
    let smtp = cx.probes.smtp.then_some(cx.shared.smtp_port);
    let selectors = &cx.target.settings.dkim_selectors;
    let auth = cx.probes.mail_auth;
    let options = MailOptions {
        smtp_port: smtp,
        tls: (cx.probes.smtp && cx.probes.mail_tls).then_some(&cx.shared.tls),
        dane: cx.probes.mail_dane,
    };
    let key = format!(
        "{domain}|{}|{}|{}|{auth}|{}|{selectors:?}|{:?}",
        smtp.is_some(),
        options.tls.is_some(),
        options.dane,
        cx.probes.mta_sts,
        cx.accept
    );
    let compute = || async {
        let records = async {
            match auth {
                true => Some(mail_auth::probe(&cx.shared.dns, &domain, selectors, cx.deadline).await),
                false => None,
            }
        };
        let policy = async {
            match cx.probes.mta_sts {
                true => {
                    let http = cx.http();
                    let usable = |ip| cx.usable(ip);
                    Some(mta_sts::probe(&cx.shared.dns, &http, &domain, usable, cx.deadline).await)
                }
                false => None,
            }
        };
        let (mut facts, auth, policy) = tokio::join!(
            probe_mail(&cx.shared.dns, &domain, options, &cx.accept, cx.deadline),
            records,
            policy
        );
        facts.auth = auth;
        facts.mta_sts = policy;
        (facts, cx.target.settings.interval)
    };
    cx.shared.mails.get_or_compute(&key, cx.deadline, compute).await
}
