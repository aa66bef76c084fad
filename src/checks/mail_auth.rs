//! mail.spf, mail.dmarc and mail.dkim: whether mail in the domain's name can be forged. SPF is
//! evaluated as a receiver would (every `include:` and `redirect=` followed, RFC 7208's limits
//! of 10 DNS-querying terms and 2 void lookups), DMARC falls back to the organisational domain
//! (Public Suffix List) and checks that report addresses in other domains are authorised, DKIM
//! checks that keys exist and are strong. A domain that sends no mail (a null MX, or no MX and
//! no SPF) is still forged, so it must say so: `v=spf1 -all` and `p=reject`.

use serde_json::{json, Value};

use super::input::CheckFn;
use super::result::{error, fail, pass, reason, skip, warn, CheckResult, Findings};
use crate::model::catalogue::CheckId;
use crate::model::dkim::{self, DkimKey};
use crate::model::dmarc::{self, Disposition, DmarcRecord};
use crate::model::spf::{self, Qualifier, SpfRecord};
use crate::probe::dns::LookupOutcome;
use crate::probe::mail::MailFacts;
use crate::probe::mail_auth::{MailAuthFacts, NamedAnswer};
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[
    (CheckId::MailSpf, |input| spf_check(input.observations)),
    (CheckId::MailDmarc, |input| dmarc_check(input.observations)),
    (CheckId::MailDkim, |input| dkim_check(input.observations)),
];

/// RFC 7208 §4.6.4.
pub const MAX_DNS_TERMS: usize = 10;
pub const MAX_VOID_LOOKUPS: usize = 2;
/// What a parked domain publishes, in both reasons.
const PARKED_RECORDS: &str = "\"v=spf1 -all\" (TXT at the domain) and \"v=DMARC1; p=reject\" (TXT at _dmarc)";

fn facts(obs: &Observations) -> Option<(&MailFacts, &MailAuthFacts)> {
    let mail = obs.mail.as_ref()?;
    Some((mail, mail.auth.as_ref()?))
}

fn not_probed(id: CheckId) -> CheckResult {
    error(
        id,
        reason!(
            "could not be tested: the mail domain's records were not asked for",
            "chưa kiểm tra được: chưa truy vấn bản ghi của tên miền thư"
        ),
        Value::Null,
    )
}

/// A lookup that says nothing about the zone (SERVFAIL, timeout…): the check is untested.
fn dns_failure(answer: &NamedAnswer) -> Option<String> {
    (!answer.answer.is_authoritative_answer()).then(|| format!("{} gave {}", answer.name, answer.answer.label()))
}

fn spf_texts(answer: &NamedAnswer) -> Vec<&String> {
    answer.answer.values().iter().filter(|text| spf::is_spf(text)).collect()
}

/// Whether the domain sends no mail: a null MX, an SPF record that authorises no sender
/// (`v=spf1 -all`), or neither an MX nor an SPF record.
fn sends_no_mail(mail: &MailFacts, auth: &MailAuthFacts) -> bool {
    let no_mx = matches!(mail.mx, LookupOutcome::NoData | LookupOutcome::NxDomain);
    let texts = auth.spf.records.first().map(spf_texts).unwrap_or_default();
    let authorises_nobody = match texts.as_slice() {
        [only] => spf::parse(only).is_ok_and(|record| record.authorises_nobody()),
        _ => false,
    };
    mail.null_mx || authorises_nobody || (no_mx && texts.is_empty())
}

/// The outcome of evaluating the domain's SPF as a receiver would.
struct SpfEvaluation {
    dns_terms: Vec<String>,
    voids: Vec<String>,
    problems: Findings,
    /// The `all` that ends evaluation: the record's own, or the one its redirect leads to
    /// (an included record's `all` never ends the caller's evaluation).
    all: Option<Qualifier>,
}

fn record_of<'a>(facts: &'a MailAuthFacts, domain: &str) -> Option<&'a NamedAnswer> {
    facts.spf.records.iter().find(|record| record.name == domain)
}

/// Follows the record tree the probe fetched, counting DNS terms and void lookups.
fn evaluate(top: SpfRecord, domain: &str, facts: &MailAuthFacts) -> SpfEvaluation {
    let mut evaluation = SpfEvaluation {
        dns_terms: Vec::new(),
        voids: Vec::new(),
        problems: Findings::default(),
        all: top.all(),
    };
    let mut queue: Vec<(String, SpfRecord)> = vec![(domain.to_string(), top)];
    let mut seen = vec![domain.to_string()];
    while let Some((name, record)) = queue.pop() {
        for term in record.dns_terms() {
            evaluation.dns_terms.push(if name == domain {
                term.to_string()
            } else {
                format!("{term} (in {name})")
            });
        }
        let redirect_target = record.redirect().filter(|_| record.all().is_none());
        for (via, next) in record
            .includes()
            .into_iter()
            .map(|d| ("include", d))
            .chain(redirect_target.map(|d| ("redirect", d)))
        {
            let next = next.trim_end_matches('.').to_ascii_lowercase();
            if spf::has_macros(&next) || seen.contains(&next) {
                continue;
            }
            seen.push(next.clone());
            let Some(answer) = record_of(facts, &next) else {
                continue;
            };
            let texts = spf_texts(answer);
            match (&answer.answer, texts.as_slice()) {
                (LookupOutcome::NxDomain, _) => {
                    evaluation.voids.push(format!("{via}:{next} (NXDOMAIN)"));
                    evaluation.problems.push(
                        format!("{via}:{next} does not exist (NXDOMAIN): receivers treat the record as permerror"),
                        format!("{via}:{next} không tồn tại (NXDOMAIN): bên nhận coi SPF là lỗi (permerror)"),
                    );
                }
                (LookupOutcome::Records { .. } | LookupOutcome::NoData, []) => {
                    if matches!(answer.answer, LookupOutcome::NoData) {
                        evaluation.voids.push(format!("{via}:{next} (no data)"));
                    }
                    evaluation.problems.push(
                        format!("{via}:{next} has no SPF record: receivers treat the record as permerror"),
                        format!("{via}:{next} không có bản ghi SPF: bên nhận coi SPF là lỗi (permerror)"),
                    );
                }
                (LookupOutcome::Records { .. }, [only]) => match spf::parse(only) {
                    Ok(included) => {
                        if via == "redirect" {
                            evaluation.all = included.all();
                        }
                        queue.push((next, included));
                    }
                    Err(err) => evaluation.problems.push(
                        format!("{via}:{next} does not parse ({err})"),
                        format!("{via}:{next} sai cú pháp ({err})"),
                    ),
                },
                (LookupOutcome::Records { .. }, _) => evaluation.problems.push(
                    format!("{via}:{next} publishes more than one SPF record"),
                    format!("{via}:{next} có nhiều hơn một bản ghi SPF"),
                ),
                _ => {}
            }
        }
    }
    for target in &facts.spf.targets {
        if matches!(target.answer, LookupOutcome::NoData | LookupOutcome::NxDomain) {
            evaluation
                .voids
                .push(format!("{} ({})", target.name, target.answer.label()));
        }
    }
    evaluation
}

fn short_list(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(12).map(String::as_str).collect();
    let more = items.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{}, … {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

pub fn spf_check(obs: &Observations) -> CheckResult {
    let id = CheckId::MailSpf;
    let Some((mail, auth)) = facts(obs) else {
        return not_probed(id);
    };
    let domain = &mail.domain;
    let Some(first) = auth.spf.records.first() else {
        return not_probed(id);
    };
    let observed = json!({ "domain": domain, "records": auth.spf.records, "targets": auth.spf.targets, "not_followed": auth.spf.not_followed });
    if let Some(failure) = dns_failure(first) {
        return error(
            id,
            reason!("could not be tested: {failure}", "chưa kiểm tra được: {failure}"),
            observed,
        );
    }
    let parked = sends_no_mail(mail, auth);
    let texts = spf_texts(first);
    let record = match texts.as_slice() {
        [] if parked => {
            return fail(
                id,
                reason!(
                    "{domain} sends no mail but says nothing: anyone can send mail in its name; publish {PARKED_RECORDS}",
                    "{domain} không gửi thư nhưng chưa khai báo: ai cũng gửi thư mạo danh được; hãy công bố {PARKED_RECORDS}"
                ),
                observed,
            )
        }
        [] => {
            return fail(
                id,
                reason!(
                    "{domain} has no SPF record: receivers cannot tell forged mail from the domain's own",
                    "{domain} chưa có bản ghi SPF: bên nhận không phân biệt được thư mạo danh"
                ),
                observed,
            )
        }
        [only] => *only,
        several => {
            let n = several.len();
            return fail(
                id,
                reason!(
                    "{domain} publishes {n} SPF records: receivers treat that as permerror (exactly one is allowed)",
                    "{domain} có {n} bản ghi SPF: bên nhận coi là lỗi (chỉ được có một)"
                ),
                observed,
            );
        }
    };
    let top = match spf::parse(record) {
        Ok(top) => top,
        Err(err) => {
            return fail(
                id,
                reason!(
                    "SPF \"{record}\" does not parse: {err}; receivers treat it as permerror",
                    "SPF \"{record}\" sai cú pháp: {err}; bên nhận coi là lỗi (permerror)"
                ),
                observed,
            )
        }
    };
    let evaluation = evaluate(top, domain, auth);
    let mut problems = evaluation.problems;
    let terms = evaluation.dns_terms.len();
    if terms > MAX_DNS_TERMS {
        let list = short_list(&evaluation.dns_terms);
        problems.push(
            format!(
                "SPF: {terms} DNS-querying terms ({list}), more than {MAX_DNS_TERMS}: receivers treat it as permerror"
            ),
            format!("SPF: {terms} lượt truy vấn DNS ({list}), quá {MAX_DNS_TERMS}: bên nhận coi là lỗi (permerror)"),
        );
    }
    let voids = evaluation.voids.len();
    if voids > MAX_VOID_LOOKUPS {
        let list = short_list(&evaluation.voids);
        problems.push(
            format!(
                "SPF: {voids} void lookups ({list}), more than {MAX_VOID_LOOKUPS}: receivers treat it as permerror"
            ),
            format!("SPF: {voids} truy vấn rỗng ({list}), quá {MAX_VOID_LOOKUPS}: bên nhận coi là lỗi (permerror)"),
        );
    }
    match evaluation.all {
        Some(Qualifier::Pass) => problems.push(
            format!("SPF \"{record}\" ends in +all: every server on the Internet may send as {domain}"),
            format!("SPF \"{record}\" kết thúc bằng +all: mọi máy chủ đều được gửi thư dưới tên {domain}"),
        ),
        Some(Qualifier::SoftFail | Qualifier::Neutral) | None if parked => problems.push(
            format!("{domain} sends no mail, so its SPF must end in -all (\"v=spf1 -all\"), not \"{record}\""),
            format!(
                "{domain} không gửi thư nên SPF phải kết thúc bằng -all (\"v=spf1 -all\"), không phải \"{record}\""
            ),
        ),
        _ => {}
    }
    if !problems.is_empty() {
        return fail(id, problems.reason("", ""), observed);
    }
    match evaluation.all {
        Some(Qualifier::Fail | Qualifier::SoftFail) => {
            let all = evaluation.all.map(|q| q.symbol()).unwrap_or_default();
            pass(
                id,
                reason!(
                    "SPF \"{record}\" ends in {all}all within {terms} of {MAX_DNS_TERMS} DNS lookups",
                    "SPF \"{record}\" kết thúc bằng {all}all, dùng {terms}/{MAX_DNS_TERMS} lượt truy vấn DNS"
                ),
                observed,
            )
        }
        Some(Qualifier::Neutral) => warn(
            id,
            reason!(
                "SPF \"{record}\" ends in ?all: receivers are told nothing about mail from other servers",
                "SPF \"{record}\" kết thúc bằng ?all: bên nhận không được dặn gì với thư từ máy chủ khác"
            ),
            observed,
        ),
        _ => warn(
            id,
            reason!(
                "SPF \"{record}\" has no all term: mail from other servers is neutral; end it with -all or ~all",
                "SPF \"{record}\" thiếu all: thư từ máy chủ khác không bị đánh dấu; hãy kết thúc bằng -all hoặc ~all"
            ),
            observed,
        ),
    }
}

fn dmarc_texts(answer: &NamedAnswer) -> Vec<&String> {
    answer
        .answer
        .values()
        .iter()
        .filter(|text| dmarc::is_dmarc(text))
        .collect()
}

pub fn dmarc_check(obs: &Observations) -> CheckResult {
    let id = CheckId::MailDmarc;
    let Some((mail, auth)) = facts(obs) else {
        return not_probed(id);
    };
    let domain = &mail.domain;
    let facts = &auth.dmarc;
    let observed = json!({ "domain": domain, "record": facts.record, "organisational_domain": facts.organisational_domain, "organisational": facts.organisational, "authorisations": facts.authorisations });
    if let Some(failure) = dns_failure(&facts.record) {
        return error(
            id,
            reason!("could not be tested: {failure}", "chưa kiểm tra được: {failure}"),
            observed,
        );
    }
    let parked = sends_no_mail(mail, auth);
    // The domain's own record, else the organisational domain's (its sp= then applies).
    let (answer, inherited) = match (&facts.organisational, dmarc_texts(&facts.record).is_empty()) {
        (Some(org), true) => (org, true),
        _ => (&facts.record, false),
    };
    if let Some(failure) = dns_failure(answer) {
        return error(
            id,
            reason!("could not be tested: {failure}", "chưa kiểm tra được: {failure}"),
            observed,
        );
    }
    let where_ = &answer.name;
    let texts = dmarc_texts(answer);
    let text = match texts.as_slice() {
        [] => {
            let (en, vi) = if parked {
                (
                    format!("{domain} sends no mail but has no DMARC record: publish {PARKED_RECORDS}"),
                    format!("{domain} không gửi thư nhưng chưa có DMARC: hãy công bố {PARKED_RECORDS}"),
                )
            } else {
                (
                    format!(
                        "no DMARC record at _dmarc.{domain}{}: receivers deliver spoofed mail as they see fit",
                        match &facts.organisational_domain {
                            Some(org) => format!(" or _dmarc.{org}"),
                            None => String::new(),
                        }
                    ),
                    format!(
                        "chưa có bản ghi DMARC tại _dmarc.{domain}{}: bên nhận tự quyết định với thư mạo danh",
                        match &facts.organisational_domain {
                            Some(org) => format!(" hay _dmarc.{org}"),
                            None => String::new(),
                        }
                    ),
                )
            };
            return fail(id, reason!(en, vi), observed);
        }
        [only] => *only,
        several => {
            let n = several.len();
            return fail(
                id,
                reason!(
                    "{where_} publishes {n} DMARC records: receivers ignore DMARC then (exactly one is allowed)",
                    "{where_} có {n} bản ghi DMARC: bên nhận bỏ qua DMARC (chỉ được có một)"
                ),
                observed,
            );
        }
    };
    let record = match dmarc::parse(text) {
        Ok(record) => record,
        Err(err) => {
            return fail(
                id,
                reason!(
                    "DMARC \"{text}\" at {where_} does not parse: {err}",
                    "DMARC \"{text}\" tại {where_} sai cú pháp: {err}"
                ),
                observed,
            )
        }
    };
    judge_dmarc(id, &record, text, where_, inherited, parked, domain, facts, observed)
}

#[allow(clippy::too_many_arguments)]
fn judge_dmarc(
    id: CheckId,
    record: &DmarcRecord,
    text: &str,
    where_: &str,
    inherited: bool,
    parked: bool,
    domain: &str,
    facts: &crate::probe::mail_auth::DmarcFacts,
    observed: Value,
) -> CheckResult {
    let policy = if inherited {
        record.inherited_policy()
    } else {
        record.policy
    };
    let tag = if inherited && record.subdomain_policy.is_some() {
        "sp"
    } else {
        "p"
    };
    let from = if inherited {
        format!(" (inherited from {where_})")
    } else {
        String::new()
    };
    let from_vi = if inherited {
        format!(" (thừa hưởng từ {where_})")
    } else {
        String::new()
    };
    let name = policy.as_str();
    if parked && policy != Disposition::Reject {
        let (status_fail, en, vi) = (
            policy == Disposition::None,
            format!("{domain} sends no mail, so DMARC must say p=reject, not {tag}={name}{from}"),
            format!("{domain} không gửi thư nên DMARC phải là p=reject, không phải {tag}={name}{from_vi}"),
        );
        return if status_fail {
            fail(id, reason!(en, vi), observed)
        } else {
            warn(id, reason!(en, vi), observed)
        };
    }
    let mut weak = Findings::default();
    if policy == Disposition::None {
        weak.push(
            format!("DMARC {tag}=none{from}: reports only, spoofed mail is still delivered"),
            format!("DMARC {tag}=none{from_vi}: chỉ báo cáo, thư mạo danh vẫn được chuyển"),
        );
    }
    if record.percent < 100 {
        let pct = record.percent;
        weak.push(
            format!("DMARC pct={pct}: the policy applies to {pct}% of failing mail only"),
            format!("DMARC pct={pct}: chính sách chỉ áp dụng cho {pct}% thư không đạt"),
        );
    }
    if record.testing {
        weak.push(
            "DMARC t=y: testing mode, receivers apply a weaker policy".to_string(),
            "DMARC t=y: chế độ thử nghiệm, bên nhận áp dụng chính sách nhẹ hơn".to_string(),
        );
    }
    for authorisation in &facts.authorisations {
        if !authorisation.answer.values().iter().any(|t| dmarc::is_dmarc(t))
            && authorisation.answer.is_authoritative_answer()
        {
            let name = &authorisation.name;
            weak.push(
                format!("DMARC reports go to another domain that has not authorised them ({name} has no v=DMARC1 record, RFC 7489 §7.1): receivers drop those reports"),
                format!("báo cáo DMARC gửi tới tên miền khác chưa cho phép ({name} chưa có bản ghi v=DMARC1, RFC 7489 §7.1): bên nhận bỏ các báo cáo đó"),
            );
        }
    }
    if !weak.is_empty() {
        return warn(id, weak.reason("", ""), observed);
    }
    let (done_en, done_vi) = match policy {
        Disposition::Reject => ("rejected", "từ chối"),
        _ => ("quarantined", "cách ly"),
    };
    pass(
        id,
        reason!(
            "DMARC \"{text}\"{from}: forged mail in the domain's name is {done_en}",
            "DMARC \"{text}\"{from_vi}: thư mạo danh tên miền bị {done_vi}"
        ),
        observed,
    )
}

pub fn dkim_check(obs: &Observations) -> CheckResult {
    let id = CheckId::MailDkim;
    let Some((mail, auth)) = facts(obs) else {
        return not_probed(id);
    };
    let domain = &mail.domain;
    let facts = &auth.dkim;
    let observed = json!({ "domain": domain, "domainkey": facts.domainkey, "selectors": facts.selectors });
    if sends_no_mail(mail, auth) {
        return skip(
            id,
            reason!(
                "{domain} sends no mail: nothing to sign",
                "{domain} không gửi thư: không cần ký DKIM"
            ),
            observed,
        );
    }
    let mut problems = Findings::default();
    let mut weak = Findings::default();
    let mut untested = Vec::new();
    match &facts.domainkey.answer {
        LookupOutcome::NxDomain if facts.selectors.is_empty() => {
            return fail(
                id,
                reason!(
                    "_domainkey.{domain} does not exist (NXDOMAIN): the domain publishes no DKIM keys, so receivers cannot verify its mail",
                    "_domainkey.{domain} không tồn tại (NXDOMAIN): tên miền chưa công bố khoá DKIM, bên nhận không xác thực được thư"
                ),
                observed,
            )
        }
        LookupOutcome::NxDomain => {}
        answer if !answer.is_authoritative_answer() => untested.push(format!("_domainkey.{domain} gave {}", answer.label())),
        _ => {}
    }
    let mut strong = Vec::new();
    for selector in &facts.selectors {
        let name = &selector.name;
        if let Some(failure) = dns_failure(selector) {
            untested.push(failure);
            continue;
        }
        let texts = selector.answer.values();
        let Some(text) = texts.first() else {
            problems.push(
                format!("selector {name}: no key published ({})", selector.answer.label()),
                format!("selector {name}: chưa công bố khoá ({})", selector.answer.label()),
            );
            continue;
        };
        match dkim::parse_key(text) {
            Err(why) => problems.push(
                format!("selector {name}: {why}"),
                format!("selector {name}: khoá sai định dạng ({why})"),
            ),
            Ok(DkimKey::Revoked) => problems.push(
                format!("selector {name}: the key is revoked (empty p=)"),
                format!("selector {name}: khoá đã bị thu hồi (p= rỗng)"),
            ),
            Ok(DkimKey::Rsa { bits }) if bits < 1024 => problems.push(
                format!("selector {name}: RSA {bits}-bit key, under 1024 bits (receivers treat it as unsigned)"),
                format!("selector {name}: khoá RSA {bits} bit, dưới 1024 bit (bên nhận coi như không ký)"),
            ),
            Ok(DkimKey::Rsa { bits }) if bits < 2048 => weak.push(
                format!("selector {name}: RSA {bits}-bit key, under 2048 bits"),
                format!("selector {name}: khoá RSA {bits} bit, dưới 2048 bit"),
            ),
            Ok(DkimKey::Rsa { bits }) => strong.push(format!("{name} RSA {bits}")),
            Ok(DkimKey::Ed25519) => strong.push(format!("{name} Ed25519")),
        }
    }
    if !problems.is_empty() {
        return fail(id, problems.reason("DKIM: ", "DKIM: "), observed);
    }
    if !untested.is_empty() {
        return super::result::not_tested(id, "DKIM could not be read", "chưa đọc được DKIM", &untested, observed);
    }
    if !weak.is_empty() {
        return warn(id, weak.reason("DKIM: ", "DKIM: "), observed);
    }
    if strong.is_empty() {
        return pass(
            id,
            reason!(
                "_domainkey.{domain} exists (no selectors configured to check the keys: set mail.dkim_selectors)",
                "_domainkey.{domain} tồn tại (chưa cấu hình selector để kiểm tra khoá: đặt mail.dkim_selectors)"
            ),
            observed,
        );
    }
    let list = strong.join(", ");
    pass(id, reason!("DKIM keys: {list}", "khoá DKIM: {list}"), observed)
}
