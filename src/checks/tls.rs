//! tls.valid, tls.expiry, tls.modern and tls.chain_complete, judged on every handshake: each
//! usable address's own, and each redirect hop's. An address whose handshake never finished is
//! named as untested, never skipped.

use std::net::IpAddr;

use serde_json::json;

use super::input::CheckFn;
use super::result::{error, fail, not_tested, noting_gaps, pass, reason, warn, CheckResult, Findings};
use crate::model::catalogue::CheckId;
use crate::model::target::TargetSettings;
use crate::probe::crl::Revocation;
use crate::probe::legacy_tls::LegacyTlsOutcome;
use crate::probe::tls::{CertFacts, TlsFacts};
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[
    (CheckId::TlsValid, |input| here(input, valid(input.observations))),
    (CheckId::TlsExpiry, |input| {
        here(input, expiry(input.observations, &input.target.settings, input.now))
    }),
    (CheckId::TlsModern, |input| here(input, modern(input.observations))),
    (CheckId::TlsChainComplete, |input| {
        here(input, chain_complete(input.observations))
    }),
];

/// Judged on the addresses this monitor can reach; a pass names the ones it cannot.
fn here(input: &super::input::CheckInput<'_>, result: CheckResult) -> CheckResult {
    noting_gaps(result, &super::http::monitor_gaps(input.observations))
}

/// One handshake: where (address, and the URL when it was a redirect hop) and what it showed.
struct Seen<'a> {
    ip: IpAddr,
    /// `Some(url)` for a redirect hop on another origin.
    hop: Option<&'a str>,
    tls: &'a TlsFacts,
    /// What the leaf's CRL says (from the certificate level).
    revocation: Option<&'a Revocation>,
}

impl Seen<'_> {
    /// "[2402:800::1]" or "[2402:800::1] hop https://sso.example.vn/".
    fn place(&self) -> String {
        match self.hop {
            Some(url) => format!("[{}] hop {url}", self.ip),
            None => format!("[{}]", self.ip),
        }
    }
}

fn handshakes(obs: &Observations) -> Vec<Seen<'_>> {
    fn seen<'a>(obs: &'a Observations, ip: IpAddr, hop: Option<&'a str>, tls: &'a TlsFacts) -> Seen<'a> {
        let leaf = tls.chain.first();
        let revocation = leaf.and_then(|leaf| obs.certificates.revocation(&leaf.sha256));
        Seen {
            ip,
            hop,
            tls,
            revocation,
        }
    }
    let mut all = Vec::new();
    for fetch in &obs.address.fetches {
        all.extend(fetch.tls.iter().map(|tls| seen(obs, fetch.ip, None, tls)));
        all.extend(
            fetch
                .hop_handshakes
                .iter()
                .map(|hop| seen(obs, hop.ip, Some(hop.url.as_str()), &hop.tls)),
        );
    }
    all
}

/// Usable addresses that showed no certificate at all, with why.
fn untested_addresses(obs: &Observations) -> Vec<String> {
    super::http::untested_here(obs, |fetch| fetch.tls.is_none(), "no handshake")
}

fn no_handshake(id: CheckId, obs: &Observations) -> CheckResult {
    let errors = super::http::untested_fetches(obs, |fetch| fetch.tls.is_none(), "no handshake");
    let detail = if errors.is_empty() {
        "no usable address".to_string()
    } else {
        errors.join("; ")
    };
    error(
        id,
        reason!(
            "no TLS handshake completed: {detail}",
            "không bắt tay TLS được: {detail}"
        ),
        json!({ "errors": errors }),
    )
}

/// A pass that does not hold everywhere is an error naming the addresses not tested.
fn partial(id: CheckId, untested: &[String], observed: serde_json::Value) -> Option<CheckResult> {
    if untested.is_empty() {
        return None;
    }
    Some(not_tested(
        id,
        "not tested on every address",
        "chưa kiểm tra được trên mọi địa chỉ",
        untested,
        observed,
    ))
}

/// Vietnamese wording of a verification failure.
fn failure_vi(code: &str) -> &'static str {
    match code {
        "expired" => "Chứng thư số đã hết hạn",
        "not_yet_valid" => "Chứng thư số chưa đến thời hạn hiệu lực",
        "wrong_host" => "Chứng thư số không khớp tên miền",
        "unknown_issuer" => "Chứng thư số do tổ chức không tin cậy cấp",
        "weak_key" => "Chứng thư số dùng khóa RSA quá ngắn",
        "weak_signature" => "Chứng thư số ký bằng thuật toán yếu (SHA-1/MD5)",
        "revoked" => "Chứng thư số đã bị thu hồi",
        _ => "Chứng thư số không hợp lệ",
    }
}

/// Why an untrusted chain is untrusted, from its shape: a self-signed certificate, a complete
/// chain to a root this monitor does not trust, or an intermediate the server did not send.
fn untrusted_chain_diagnosis(chain: &[CertFacts]) -> (String, String) {
    let Some(last) = chain.last() else {
        return ("no certificate".into(), "không có chứng thư".into());
    };
    if chain.len() == 1 && last.self_signed {
        return ("self-signed certificate".into(), "chứng thư tự ký".into());
    }
    if last.self_signed {
        return (
            format!(
                "chain ends at the untrusted root {}: add it with --extra-root if it is trusted",
                last.subject
            ),
            format!(
                "chuỗi kết thúc ở chứng thư gốc chưa được tin cậy {}: thêm bằng --extra-root",
                last.subject
            ),
        );
    }
    (
        format!(
            "intermediate missing: the server does not send the issuer of {} ({})",
            last.subject, last.issuer
        ),
        format!(
            "thiếu chứng thư trung gian: máy chủ không gửi chứng thư của {}",
            last.issuer
        ),
    )
}

/// The chain verifies to a trusted root, matches the host and is within validity, on every
/// address and every redirect hop.
pub fn valid(obs: &Observations) -> CheckResult {
    let id = CheckId::TlsValid;
    let seen = handshakes(obs);
    if seen.is_empty() {
        return no_handshake(id, obs);
    }
    let observed = json!({
        "handshakes": seen.iter().map(|h| json!({ "ip": h.ip, "hop": h.hop, "host": h.tls.host, "subject": h.tls.chain.first().map(|c| &c.subject), "issuer": h.tls.chain.first().map(|c| &c.issuer), "dns_names": h.tls.chain.first().map(|c| &c.dns_names), "verify_failure": h.tls.verify_failure, "revocation": h.revocation })).collect::<Vec<_>>()
    });
    let mut failures = Findings::default();
    for h in &seen {
        let Some(failure) = &h.tls.verify_failure else { continue };
        let place = h.place();
        if failure.code == "unknown_issuer" {
            let (en, vi) = untrusted_chain_diagnosis(&h.tls.chain);
            failures.push(
                format!("{place}: certificate issuer is not trusted ({en})"),
                format!("{place}: {} ({vi})", failure_vi(&failure.code)),
            );
        } else {
            failures.push(
                format!("{place}: {}", failure.message),
                format!("{place}: {}", failure_vi(&failure.code)),
            );
        }
    }
    let mut unchecked = Vec::new();
    let mut checked_revocation = false;
    for h in &seen {
        match h.revocation {
            Some(Revocation::Revoked { url, since }) => {
                let date = crate::model::calendar::date_of(*since);
                failures.push(
                    format!("{}: the certificate was revoked on {date} ({url})", h.place()),
                    format!("{}: Chứng thư số đã bị thu hồi ngày {date}", h.place()),
                );
            }
            Some(Revocation::Unknown { reason, .. }) => unchecked.push(format!("{}: {reason}", h.place())),
            Some(Revocation::Good { .. }) => checked_revocation = true,
            None => {}
        }
    }
    if !failures.is_empty() {
        return fail(id, failures.reason("", ""), observed);
    }
    if let Some(result) = partial(id, &untested_addresses(obs), observed.clone()) {
        return result;
    }
    if !unchecked.is_empty() {
        let list = unchecked.join("; ");
        return warn(
            id,
            reason!(
                "chain verifies, but revocation could not be checked: {list}",
                "chứng thư số hợp lệ nhưng chưa kiểm tra được việc thu hồi: {list}"
            ),
            observed,
        );
    }
    let revocation = if checked_revocation {
        "; not revoked (CRL or OCSP)"
    } else {
        ""
    };
    pass(
        id,
        reason!(
            format!(
                "certificate chain verifies on all {} handshake(s){revocation}",
                seen.len()
            ),
            "chứng thư số hợp lệ cho tên miền trên mọi địa chỉ"
        ),
        observed,
    )
}

/// The certificates a client's path uses, by index: from the leaf, each one's issuer among the
/// certificates sent, until one issued by a trust anchor. A sent copy of a trust anchor is not
/// on the path (the client uses its own), and neither is anything else the server sends along,
/// such as an expired cross-signed root. `None` when the sent certificates reach no anchor.
pub fn trust_path(chain: &[CertFacts]) -> Option<Vec<usize>> {
    let mut path = vec![0];
    let mut current = chain.first()?;
    loop {
        if current.issuer_is_trust_anchor || (path.len() == 1 && current.is_trust_anchor) {
            return Some(path);
        }
        let candidates = chain
            .iter()
            .enumerate()
            .filter(|(index, cert)| !path.contains(index) && cert.subject == current.issuer);
        // As path builders do: an anchor's copy ends the path at once; then an issuer that
        // anchors; an unexpired one before an expired one.
        let (index, next) = candidates
            .min_by_key(|(_, cert)| (!cert.is_trust_anchor, !cert.issuer_is_trust_anchor, -cert.not_after))?;
        if next.is_trust_anchor {
            return Some(path);
        }
        path.push(index);
        current = next;
    }
}

/// The certificates of one handshake whose dates matter: the trust path's, or, when the chain
/// reaches no anchor, every one sent but a self-signed root (the client would replace it).
fn dated(tls: &TlsFacts) -> Vec<&CertFacts> {
    let chain = &tls.chain;
    let indexes: Vec<usize> = trust_path(chain).unwrap_or_else(|| {
        (0..chain.len())
            .filter(|index| *index == 0 || !chain[*index].self_signed)
            .collect()
    });
    indexes
        .into_iter()
        .map(|index| &chain[index])
        .filter(|cert| cert.not_after > 0)
        .collect()
}

/// Certificates a server sends that no client's path uses, and that have expired.
fn unused_expired(tls: &TlsFacts, now: i64) -> Vec<&CertFacts> {
    let Some(path) = trust_path(&tls.chain) else {
        return Vec::new();
    };
    tls.chain
        .iter()
        .enumerate()
        .filter(|(index, cert)| !path.contains(index) && cert.not_after > 0 && cert.not_after <= now)
        .map(|(_, cert)| cert)
        .collect()
}

/// Leaf and chain expire later than the configured thresholds, on every handshake. Judged on
/// the certificates a client's path uses: an expired extra certificate the server still sends
/// (the "DST Root CA X3" pattern) is a warning that it is unused, never a failure.
pub fn expiry(obs: &Observations, settings: &TargetSettings, now: i64) -> CheckResult {
    let id = CheckId::TlsExpiry;
    let seen = handshakes(obs);
    let Some((place, soonest)) = seen
        .iter()
        .flat_map(|h| dated(h.tls).into_iter().map(move |cert| (h, cert)))
        .min_by_key(|(_, cert)| cert.not_after)
        .map(|(h, cert)| (h.place(), cert))
    else {
        return no_handshake(id, obs);
    };
    let mut unused = Findings::default();
    let mut unused_observed = Vec::new();
    for h in &seen {
        for cert in unused_expired(h.tls, now) {
            let days = (now - cert.not_after).div_euclid(86400);
            let (place, subject) = (h.place(), &cert.subject);
            if unused_observed
                .iter()
                .any(|(p, s): &(String, String)| *p == place && s == subject)
            {
                continue;
            }
            unused.push(
                format!("{place}: also sends {subject}, which expired {days} day(s) ago; no client uses it (remove it from the chain)"),
                format!("{place}: máy chủ còn gửi kèm {subject} đã hết hạn {days} ngày; không trình duyệt nào dùng (nên gỡ khỏi chuỗi)"),
            );
            unused_observed.push((place, subject.clone()));
        }
    }
    let seconds_left = soonest.not_after - now;
    let days_left = seconds_left.div_euclid(86400);
    let observed = json!({ "not_after": soonest.not_after, "subject": soonest.subject, "where": place, "days_left": days_left, "warn_days": settings.tls_expiry_warn.as_secs() / 86400, "fail_days": settings.tls_expiry_fail.as_secs() / 86400, "unused_expired": unused_observed.iter().map(|(place, subject)| json!({ "where": place, "subject": subject })).collect::<Vec<_>>() });
    if seconds_left <= 0 {
        let (en, days) = (format!("{place}: {} expired", soonest.subject), -days_left);
        let why = reason!("{en} {days} day(s) ago", "{place}: Chứng thư số đã hết hạn {days} ngày");
        return fail(id, why, observed);
    }
    let expiring = format!("{place}: expires in {days_left} day(s)");
    if seconds_left < settings.tls_expiry_fail.as_secs() as i64 {
        let vi = format!("{place}: Chứng thư số sẽ hết hạn sau {days_left} ngày");
        return fail(id, reason!(expiring, vi), observed);
    }
    if seconds_left < settings.tls_expiry_warn.as_secs() as i64 {
        let vi = format!("{place}: Chứng thư số sắp hết hạn (còn {days_left} ngày)");
        return warn(id, reason!(expiring, vi), observed);
    }
    if !unused.is_empty() {
        let (en, vi) = (
            format!("expires in {days_left} days; "),
            format!("còn {days_left} ngày trước khi hết hạn; "),
        );
        return warn(id, unused.reason(&en, &vi), observed);
    }
    if let Some(result) = partial(id, &untested_addresses(obs), observed.clone()) {
        return result;
    }
    pass(
        id,
        reason!("expires in {days_left} days", "còn {days_left} ngày trước khi hết hạn"),
        observed,
    )
}

/// TLS 1.2+ negotiated and TLS 1.0/1.1 refused, on every usable address. Protocol versions
/// only: a server that offers nothing but suites rustls will not use (CBC, static RSA, DHE,
/// NULL) negotiates TLS 1.2 all the same, and its suites are judged by tls.ciphers.
pub fn modern(obs: &Observations) -> CheckResult {
    let id = CheckId::TlsModern;
    let seen = handshakes(obs);
    let mut versions: Vec<&str> = seen
        .iter()
        .filter(|h| h.tls.handshake_completed)
        .map(|h| h.tls.version.as_str())
        .collect();
    versions.sort();
    versions.dedup();
    let obsolete: Vec<_> = obs
        .address
        .fetches
        .iter()
        .filter_map(|f| f.obsolete_suite.as_ref().map(|suite| (f.ip, suite)))
        .collect();
    let by_address: serde_json::Map<String, serde_json::Value> = seen
        .iter()
        .filter(|h| h.hop.is_none())
        .map(|h| {
            (
                h.ip.to_string(),
                json!({ "negotiated": h.tls.handshake_completed.then_some(&h.tls.version) }),
            )
        })
        .collect();
    let observed = json!({ "negotiated": versions, "addresses": by_address, "legacy_probe": obs.address.legacy_tls, "obsolete_suites": obsolete.iter().map(|(ip, suite)| json!({ "ip": ip, "suite": suite })).collect::<Vec<_>>() });
    if !obs.probes.legacy_tls {
        return error(
            id,
            reason!("legacy TLS was not probed", "chưa kiểm tra TLS cũ"),
            observed,
        );
    }
    let mut problems = Findings::default();
    let mut unknown = Vec::new();
    for probe in &obs.address.legacy_tls {
        match &probe.outcome {
            LegacyTlsOutcome::Accepted { version } => {
                problems.push(
                    format!("[{}] still accepts {version}", probe.ip),
                    format!("[{}] vẫn chấp nhận giao thức cũ {version}", probe.ip),
                );
            }
            LegacyTlsOutcome::Unknown { message } => unknown.push(format!("[{}] {message}", probe.ip)),
            LegacyTlsOutcome::Refused { .. } | LegacyTlsOutcome::NoRoute { .. } => {}
        }
    }
    // One verdict per fault: a server whose TLS 1.2 suites are all ones rustls will not use
    // still negotiates TLS 1.2 (the hand-built hello showed it); its suites are tls.ciphers'.
    if !obsolete.is_empty() && !versions.contains(&"TLS 1.2") {
        versions.push("TLS 1.2");
    }
    if !problems.is_empty() {
        return fail(id, problems.reason("", ""), observed);
    }
    if !unknown.is_empty() {
        let list = unknown.join("; ");
        return error(
            id,
            reason!(
                "could not test legacy TLS: {list}",
                "không kiểm tra được TLS cũ: {list}"
            ),
            observed,
        );
    }
    if versions.is_empty() {
        return no_handshake(id, obs);
    }
    let unfinished = super::http::untested_here(
        obs,
        |fetch| fetch.obsolete_suite.is_none() && !fetch.tls.as_ref().is_some_and(|tls| tls.handshake_completed),
        "no handshake",
    );
    if let Some(result) = partial(id, &unfinished, observed.clone()) {
        return result;
    }
    let list = versions.join(", ");
    pass(
        id,
        reason!(
            "negotiates {list}; TLS 1.0/1.1 refused",
            "dùng {list}; từ chối TLS 1.0/1.1"
        ),
        observed,
    )
}

/// The server sends the intermediates needed to reach a trust anchor. A complete chain to a
/// root this monitor does not trust is not a missing intermediate: it is a warning that says
/// how to add the root.
pub fn chain_complete(obs: &Observations) -> CheckResult {
    let id = CheckId::TlsChainComplete;
    let seen = handshakes(obs);
    if seen.is_empty() {
        return no_handshake(id, obs);
    }
    let observed = json!({
        "handshakes": seen.iter().map(|h| json!({ "ip": h.ip, "hop": h.hop, "chain": h.tls.chain.iter().map(|c| json!({ "subject": c.subject, "issuer": c.issuer })).collect::<Vec<_>>() })).collect::<Vec<_>>()
    });
    let mut missing = Vec::new();
    let mut untrusted_root = Vec::new();
    for h in &seen {
        if trust_path(&h.tls.chain).is_some() {
            continue;
        }
        let Some(last) = h.tls.chain.last() else { continue };
        let single_self_signed = h.tls.chain.len() == 1 && last.self_signed;
        if last.issuer_is_trust_anchor || last.is_trust_anchor || single_self_signed {
            continue;
        }
        if last.self_signed {
            untrusted_root.push((h.place(), last.subject.clone()));
        } else {
            missing.push((h.place(), h.tls.chain.len(), last.subject.clone(), last.issuer.clone()));
        }
    }
    if let Some((place, count, subject, issuer)) = missing.first() {
        return fail(id, reason!(format!(
                    "{place}: intermediate missing: sends {count} certificate(s) ending at {subject}, whose issuer {issuer} is neither sent nor a trusted root"
                ), format!("{place}: thiếu chứng thư trung gian của {issuer}")), observed);
    }
    if let Some((place, root)) = untrusted_root.first() {
        return warn(id, reason!("{place}: chain is complete but ends at the untrusted root {root}: add it with --extra-root if it is trusted", "{place}: chuỗi đầy đủ nhưng chứng thư gốc {root} chưa được tin cậy: thêm bằng --extra-root"), observed);
    }
    if let Some(result) = partial(id, &untested_addresses(obs), observed.clone()) {
        return result;
    }
    pass(
        id,
        reason!("server sends the full chain", "máy chủ gửi đủ chuỗi chứng thư"),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;
    use crate::probe::tls::VerifyFailure;

    #[test]
    fn good_chain_passes() {
        let obs = observations();
        assert_eq!(valid(&obs).status, Status::Pass);
        assert_eq!(chain_complete(&obs).status, Status::Pass);
        assert_eq!(modern(&obs).status, Status::Pass);
        assert_eq!(expiry(&obs, &TargetSettings::default(), NOW).status, Status::Pass);
    }

    #[test]
    fn expired_certificate_fails_valid_and_expiry() {
        let mut obs = observations();
        for fetch in &mut obs.address.fetches {
            let tls = fetch.tls.as_mut().unwrap();
            tls.verify_failure = Some(VerifyFailure {
                code: "expired".into(),
                message: "certificate expired".into(),
            });
            tls.chain[0].not_after = NOW - 3 * 86400;
        }
        assert!(valid(&obs).reason.vi.contains("hết hạn"));
        let result = expiry(&obs, &TargetSettings::default(), NOW);
        assert_verdict(&result, Status::Fail, "expired 3 day");
    }

    /// Leaf, intermediate and an expired cross-signed copy of the root (subject of a trusted
    /// root, issued by a retired one): what many Let's Encrypt sites kept serving after 2021.
    fn with_expired_cross_sign(obs: &mut Observations) {
        for fetch in &mut obs.address.fetches {
            let tls = fetch.tls.as_mut().unwrap();
            let mut cross = tls.chain[1].clone();
            cross.subject = "CN=Root".into();
            cross.issuer = "CN=DST Root CA X3".into();
            cross.issuer_is_trust_anchor = false;
            cross.is_trust_anchor = true;
            cross.not_after = NOW - 795 * 86400;
            tls.chain.push(cross);
        }
    }

    #[test]
    fn an_expired_extra_certificate_is_an_unused_warning_not_a_failure() {
        let mut obs = observations();
        with_expired_cross_sign(&mut obs);
        assert_eq!(
            trust_path(&obs.address.fetches[0].tls.as_ref().unwrap().chain),
            Some(vec![0, 1])
        );
        let result = expiry(&obs, &TargetSettings::default(), NOW);
        assert_verdict(
            &result,
            Status::Warn,
            "also sends CN=Root, which expired 795 day(s) ago; no client uses it",
        );
        assert_reason(&result, "[2402:800::1]");
        assert_eq!(chain_complete(&obs).status, Status::Pass);
        assert_eq!(valid(&obs).status, Status::Pass);
        // An expired intermediate on the path still fails.
        for fetch in &mut obs.address.fetches {
            fetch.tls.as_mut().unwrap().chain[1].not_after = NOW - 86400;
        }
        assert_verdict(
            &expiry(&obs, &TargetSettings::default(), NOW),
            Status::Fail,
            "CN=Intermediate expired 1 day(s) ago",
        );
    }

    #[test]
    fn the_path_follows_issuers_not_the_order_sent() {
        let mut obs = observations();
        let tls = obs.address.fetches[0].tls.as_mut().unwrap();
        let intermediate = tls.chain.remove(1);
        let mut stray = intermediate.clone();
        stray.subject = "CN=Stray".into();
        stray.issuer_is_trust_anchor = false;
        stray.not_after = NOW - 10;
        tls.chain.push(stray);
        tls.chain.push(intermediate);
        assert_eq!(trust_path(&tls.chain), Some(vec![0, 2]));
        tls.chain.pop();
        assert_eq!(trust_path(&tls.chain), None, "no issuer sent, none anchors");
    }

    #[test]
    fn expiry_thresholds_warn_then_fail() {
        let mut obs = observations();
        let settings = TargetSettings::default();
        for (days, status) in [(30, Status::Pass), (20, Status::Warn), (5, Status::Fail)] {
            for fetch in &mut obs.address.fetches {
                fetch.tls.as_mut().unwrap().chain[0].not_after = NOW + days * 86400 + 60;
            }
            assert_eq!(expiry(&obs, &settings, NOW).status, status, "{days} days");
        }
    }

    #[test]
    fn legacy_tls_accepted_fails_and_unknown_errors() {
        let mut obs = observations();
        obs.address.legacy_tls[1].outcome = LegacyTlsOutcome::Accepted {
            version: "TLS 1.0".into(),
        };
        let result = modern(&obs);
        assert_verdict(&result, Status::Fail, "[2402:800::1] still accepts TLS 1.0");
        obs.address.legacy_tls[1].outcome = LegacyTlsOutcome::Unknown {
            message: "timeout".into(),
        };
        assert_eq!(modern(&obs).status, Status::Error);
    }

    #[test]
    fn missing_intermediate_fails_but_self_signed_chain_is_complete() {
        let mut obs = observations();
        for fetch in &mut obs.address.fetches {
            let tls = fetch.tls.as_mut().unwrap();
            tls.chain.truncate(1);
            tls.chain[0].issuer_is_trust_anchor = false;
            tls.verify_failure = Some(VerifyFailure {
                code: "unknown_issuer".into(),
                message: "the chain does not lead to a trusted root".into(),
            });
        }
        assert_eq!(chain_complete(&obs).status, Status::Fail);
        for fetch in &mut obs.address.fetches {
            fetch.tls.as_mut().unwrap().chain[0].self_signed = true;
        }
        assert_eq!(chain_complete(&obs).status, Status::Pass);
        assert_eq!(valid(&obs).status, Status::Fail);
    }

    #[test]
    fn versions_are_listed_once() {
        let result = modern(&observations());
        assert!(
            result.reason.en.starts_with("negotiates TLS 1.3;"),
            "{}",
            result.reason.en
        );
    }

    #[test]
    fn obsolete_suites_only_are_not_a_protocol_fault() {
        let mut obs = observations();
        obs.address.fetches[0].tls = None;
        obs.address.fetches[0].responses.clear();
        obs.address.fetches[0].obsolete_suite = Some("AES128-SHA (static RSA, CBC)".into());
        let result = modern(&obs);
        assert_eq!(result.status, Status::Pass, "{}", result.reason.en);
    }

    #[test]
    fn an_invalid_certificate_on_a_redirect_hop_fails_valid() {
        let mut obs = observations();
        let mut hop_tls = obs.address.fetches[0].tls.clone().unwrap();
        hop_tls.host = "sso.example.vn".into();
        hop_tls.verify_failure = Some(VerifyFailure {
            code: "expired".into(),
            message: "the certificate has expired".into(),
        });
        let ip = obs.address.fetches[0].ip;
        obs.address.fetches[0]
            .hop_handshakes
            .push(crate::probe::http::HopHandshake {
                url: "https://sso.example.vn/login".into(),
                ip,
                tls: hop_tls,
            });
        let result = valid(&obs);
        assert_verdict(&result, Status::Fail, "hop https://sso.example.vn/login");
        assert_reason(&result, "expired");
    }

    #[test]
    fn an_address_without_a_handshake_makes_the_pass_an_error_naming_it() {
        let mut obs = observations();
        break_fetch(&mut obs, crate::probe::addr::IpFamily::Ipv6, "timeout");
        for check in [valid(&obs), chain_complete(&obs), modern(&obs)] {
            assert_eq!(check.status, Status::Error, "{:?}", check.id);
            assert_reason(&check, "[2402:800::1] timeout");
        }
        assert_eq!(expiry(&obs, &TargetSettings::default(), NOW).status, Status::Error);
    }

    #[test]
    fn chain_to_an_untrusted_root_is_not_a_missing_intermediate() {
        let mut obs = observations();
        for fetch in &mut obs.address.fetches {
            let tls = fetch.tls.as_mut().unwrap();
            for cert in &mut tls.chain {
                cert.issuer_is_trust_anchor = false;
            }
            let mut root = tls.chain[1].clone();
            root.subject = "CN=Vietnam National Root CA".into();
            root.issuer = root.subject.clone();
            root.self_signed = true;
            tls.chain[1].issuer = root.subject.clone();
            tls.chain.push(root);
            tls.verify_failure = Some(VerifyFailure {
                code: "unknown_issuer".into(),
                message: "the chain does not lead to a trusted root".into(),
            });
        }
        let result = chain_complete(&obs);
        assert_verdict(&result, Status::Warn, "--extra-root");
        let result = valid(&obs);
        assert_reason(&result, "untrusted root CN=Vietnam National Root CA");
    }

    #[test]
    fn an_expired_leaf_does_not_hide_a_missing_intermediate() {
        let mut obs = observations();
        for fetch in &mut obs.address.fetches {
            let tls = fetch.tls.as_mut().unwrap();
            tls.chain.truncate(1);
            tls.verify_failure = Some(VerifyFailure {
                code: "expired".into(),
                message: "the certificate has expired".into(),
            });
        }
        let result = chain_complete(&obs);
        assert_verdict(&result, Status::Fail, "intermediate missing");
    }

    #[test]
    fn no_handshake_is_error_not_pass() {
        let mut obs = observations();
        for fetch in &mut obs.address.fetches {
            fetch.tls = None;
        }
        assert_eq!(valid(&obs).status, Status::Error);
        assert_eq!(chain_complete(&obs).status, Status::Error);
    }
}
