//! The DNS records that say whether mail from a domain can be forged: SPF (the domain's TXT and
//! every record its `include:` and `redirect=` terms lead to, plus the lookups its `a:`, `mx:`
//! and `exists:` terms make), DMARC (`_dmarc.DOMAIN`, else the organisational domain's, and the
//! authorisation records of report addresses in other domains) and DKIM (`_domainkey.DOMAIN`
//! and the configured selectors). Part of the mail-domain level: asked once per domain per
//! round. Facts only; `checks::mail_auth` judges them with the same parsers.

use hickory_resolver::proto::rr::RecordType;
use serde::Serialize;
use tokio::time::Instant;

use super::dns::{DnsProber, LookupOutcome};
use crate::model::{dmarc, spf};

/// SPF records followed at most: past RFC 7208's limit of 10 lookups the check already says
/// permerror, so a few more show how far over a record goes without letting it lead anywhere.
pub const MAX_SPF_RECORDS: usize = 20;
/// `a:`, `mx:` and `exists:` targets looked up at most (void lookups are counted on them).
pub const MAX_SPF_TARGETS: usize = 20;
/// Report domains whose authorisation record is looked up at most.
const MAX_REPORT_DOMAINS: usize = 8;

/// One DNS question and its answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NamedAnswer {
    pub name: String,
    pub answer: LookupOutcome,
}

/// SPF as a receiver evaluating the domain would meet it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpfFacts {
    /// The TXT answer of the mail domain first, then of each domain an `include:` or a
    /// `redirect=` leads to, breadth first, each once.
    pub records: Vec<NamedAnswer>,
    /// The answers of the domains `a:`, `mx:` and `exists:` terms name ("mx:example.vn").
    pub targets: Vec<NamedAnswer>,
    /// Domains not followed: written with macros, or past [`MAX_SPF_RECORDS`].
    pub not_followed: Vec<String>,
}

/// DMARC for the domain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DmarcFacts {
    /// `_dmarc.DOMAIN`.
    pub record: NamedAnswer,
    /// The organisational domain (Public Suffix List), when it is another one.
    pub organisational_domain: Option<String>,
    /// `_dmarc.ORGDOMAIN`, asked when the domain has no DMARC record of its own.
    pub organisational: Option<NamedAnswer>,
    /// `DOMAIN._report._dmarc.OTHER` for each report address in another organisation.
    pub authorisations: Vec<NamedAnswer>,
}

/// DKIM for the domain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DkimFacts {
    /// TXT at `_domainkey.DOMAIN`: NXDOMAIN means no key was ever published under it.
    pub domainkey: NamedAnswer,
    /// TXT at `SELECTOR._domainkey.DOMAIN` for every configured selector.
    pub selectors: Vec<NamedAnswer>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MailAuthFacts {
    pub spf: SpfFacts,
    pub dmarc: DmarcFacts,
    pub dkim: DkimFacts,
}

/// The registrable domain of `domain` by the Public Suffix List (`www.haiduong.gov.vn` →
/// `haiduong.gov.vn`); the domain itself when the list knows no suffix for it.
pub fn organisational_domain_of(domain: &str) -> String {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&domain).map(str::to_string).unwrap_or(domain)
}

async fn ask(dns: &DnsProber, name: String, record_type: RecordType, deadline: Instant) -> NamedAnswer {
    let answer = dns.lookup(&name, record_type, deadline).await;
    NamedAnswer { name, answer }
}

/// Everything above for `domain`, by `deadline`.
pub async fn probe(dns: &DnsProber, domain: &str, selectors: &[String], deadline: Instant) -> MailAuthFacts {
    let (spf, dmarc, dkim) = tokio::join!(
        probe_spf(dns, domain, deadline),
        probe_dmarc(dns, domain, deadline),
        probe_dkim(dns, domain, selectors, deadline)
    );
    MailAuthFacts { spf, dmarc, dkim }
}

/// The SPF records a receiver's evaluation reaches, level by level (the domains of one level
/// are asked side by side).
async fn probe_spf(dns: &DnsProber, domain: &str, deadline: Instant) -> SpfFacts {
    let mut facts = SpfFacts {
        records: Vec::new(),
        targets: Vec::new(),
        not_followed: Vec::new(),
    };
    let mut level = vec![domain.to_string()];
    let mut target_names: Vec<(&'static str, String)> = Vec::new();
    while !level.is_empty() {
        let answers =
            futures::future::join_all(level.drain(..).map(|name| ask(dns, name, RecordType::TXT, deadline))).await;
        for answered in answers {
            let spf: Vec<&String> = answered
                .answer
                .values()
                .iter()
                .filter(|text| spf::is_spf(text))
                .collect();
            if let [only] = spf.as_slice() {
                if let Ok(record) = spf::parse(only) {
                    for next in record.includes().into_iter().chain(record.redirect()) {
                        let next = next.trim_end_matches('.').to_ascii_lowercase();
                        let known = facts.records.iter().any(|r| r.name == next)
                            || level.contains(&next)
                            || next == answered.name;
                        if known {
                            continue;
                        }
                        if spf::has_macros(&next) || facts.records.len() + level.len() + 1 >= MAX_SPF_RECORDS {
                            facts.not_followed.push(next);
                        } else {
                            level.push(next);
                        }
                    }
                    for (kind, name) in record.target_lookups() {
                        if !spf::has_macros(name) {
                            target_names.push((kind, name.trim_end_matches('.').to_ascii_lowercase()));
                        }
                    }
                }
            }
            facts.records.push(answered);
        }
    }
    target_names.dedup();
    target_names.truncate(MAX_SPF_TARGETS);
    facts.targets = futures::future::join_all(target_names.into_iter().map(|(kind, name)| async move {
        let record_type = if kind == "mx" { RecordType::MX } else { RecordType::A };
        let mut answered = ask(dns, name.clone(), record_type, deadline).await;
        if kind == "a" && matches!(answered.answer, LookupOutcome::NoData) {
            answered.answer = dns.lookup(&name, RecordType::AAAA, deadline).await;
        }
        answered.name = format!("{kind}:{name}");
        answered
    }))
    .await;
    facts
}

async fn probe_dmarc(dns: &DnsProber, domain: &str, deadline: Instant) -> DmarcFacts {
    let record = ask(dns, format!("_dmarc.{domain}"), RecordType::TXT, deadline).await;
    let organisational = organisational_domain_of(domain);
    let organisational_domain =
        (organisational != domain.trim_end_matches('.').to_ascii_lowercase()).then_some(organisational);
    let has_own = record.answer.values().iter().any(|text| dmarc::is_dmarc(text));
    let inherited = match (&organisational_domain, has_own, record.answer.is_authoritative_answer()) {
        (Some(org), false, true) => Some(ask(dns, format!("_dmarc.{org}"), RecordType::TXT, deadline).await),
        _ => None,
    };
    let (policy_domain, chosen) = match &inherited {
        Some(answer) => (organisational_domain.clone().unwrap_or_default(), answer),
        None => (domain.to_string(), &record),
    };
    let parsed: Vec<dmarc::DmarcRecord> = chosen
        .answer
        .values()
        .iter()
        .filter(|text| dmarc::is_dmarc(text))
        .filter_map(|text| dmarc::parse(text).ok())
        .collect();
    let own_org = organisational_domain_of(&policy_domain);
    let mut authorisations = Vec::new();
    if let [only] = parsed.as_slice() {
        let others: Vec<String> = only
            .report_domains()
            .into_iter()
            .filter(|other| organisational_domain_of(other) != own_org)
            .take(MAX_REPORT_DOMAINS)
            .collect();
        authorisations = futures::future::join_all(others.into_iter().map(|other| {
            ask(
                dns,
                format!("{policy_domain}._report._dmarc.{other}"),
                RecordType::TXT,
                deadline,
            )
        }))
        .await;
    }
    DmarcFacts {
        record,
        organisational_domain,
        organisational: inherited,
        authorisations,
    }
}

async fn probe_dkim(dns: &DnsProber, domain: &str, selectors: &[String], deadline: Instant) -> DkimFacts {
    let (domainkey, selectors) = tokio::join!(
        ask(dns, format!("_domainkey.{domain}"), RecordType::TXT, deadline),
        futures::future::join_all(selectors.iter().map(|selector| ask(
            dns,
            format!("{selector}._domainkey.{domain}"),
            RecordType::TXT,
            deadline
        )))
    );
    DkimFacts { domainkey, selectors }
}
