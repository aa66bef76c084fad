//! tls.valid, tls.expiry, tls.modern and tls.chain_complete, judged on the chain each address
//! presented during the main fetch.

use serde_json::json;

use super::{CheckId, CheckResult, Reason, Status};
use crate::probe::http::AddressFetch;
use crate::probe::legacy_tls::LegacyTlsOutcome;
use crate::probe::tls::TlsFacts;
use crate::probe::Observations;
use crate::target::TargetSettings;

fn handshakes(obs: &Observations) -> Vec<(&AddressFetch, &TlsFacts)> {
    obs.fetches
        .iter()
        .filter_map(|fetch| fetch.tls.as_ref().map(|tls| (fetch, tls)))
        .collect()
}

fn no_handshake(id: CheckId, obs: &Observations) -> CheckResult {
    let errors: Vec<String> = obs
        .fetches
        .iter()
        .filter_map(|f| f.error.as_ref().map(|e| format!("[{}] {}", f.ip, e.message)))
        .collect();
    let detail = if errors.is_empty() {
        "no usable address".to_string()
    } else {
        errors.join("; ")
    };
    CheckResult::new(
        id,
        Status::Error,
        Reason::new(
            format!("no TLS handshake completed: {detail}"),
            format!("không bắt tay TLS được: {detail}"),
        ),
        json!({ "errors": errors }),
    )
}

/// The chain verifies to a trusted root, matches the host and is within validity, on every address.
pub fn valid(obs: &Observations) -> CheckResult {
    let id = CheckId::TlsValid;
    let seen = handshakes(obs);
    if seen.is_empty() {
        return no_handshake(id, obs);
    }
    let observed = json!({
        "addresses": seen.iter().map(|(f, t)| json!({ "ip": f.ip, "subject": t.chain.first().map(|c| &c.subject), "issuer": t.chain.first().map(|c| &c.issuer), "dns_names": t.chain.first().map(|c| &c.dns_names), "verify_failure": t.verify_failure })).collect::<Vec<_>>()
    });
    let failures: Vec<_> = seen
        .iter()
        .filter_map(|(f, t)| t.verify_failure.as_ref().map(|v| (f.ip, v)))
        .collect();
    match failures.first() {
        None => CheckResult::new(
            id,
            Status::Pass,
            Reason::new(
                "certificate chain verifies for the host",
                "chứng thư số hợp lệ cho tên miền",
            ),
            observed,
        ),
        Some((ip, failure)) => {
            let (en, vi) = match failure.code.as_str() {
                "expired" => ("certificate expired", "Chứng thư số đã hết hạn"),
                "not_yet_valid" => ("certificate not yet valid", "Chứng thư số chưa đến thời hạn hiệu lực"),
                "wrong_host" => (
                    "certificate does not match the host name",
                    "Chứng thư số không khớp tên miền",
                ),
                "unknown_issuer" => (
                    "certificate issuer is not trusted (self-signed or missing intermediate)",
                    "Chứng thư số do tổ chức không tin cậy cấp (tự ký hoặc thiếu chứng thư trung gian)",
                ),
                "revoked" => ("certificate revoked", "Chứng thư số đã bị thu hồi"),
                _ => ("certificate does not verify", "Chứng thư số không hợp lệ"),
            };
            CheckResult::new(
                id,
                Status::Fail,
                Reason::new(format!("{en} [{ip}]: {}", failure.message), format!("{vi} [{ip}]")),
                observed,
            )
        }
    }
}

/// Leaf and chain expire later than the configured thresholds.
pub fn expiry(obs: &Observations, settings: &TargetSettings, now: i64) -> CheckResult {
    let id = CheckId::TlsExpiry;
    let seen = handshakes(obs);
    let Some(soonest) = seen
        .iter()
        // The leaf and intermediates; a root the server sends along is replaced by the trust
        // store's copy, so its date does not matter.
        .flat_map(|(_, tls)| tls.chain.iter().enumerate())
        .filter(|(index, cert)| cert.not_after > 0 && (*index == 0 || !cert.self_signed))
        .map(|(_, cert)| cert)
        .min_by_key(|cert| cert.not_after)
    else {
        return no_handshake(id, obs);
    };
    let seconds_left = soonest.not_after - now;
    let days_left = seconds_left.div_euclid(86400);
    let observed = json!({ "not_after": soonest.not_after, "subject": soonest.subject, "days_left": days_left, "warn_days": settings.tls_expiry_warn.as_secs() / 86400, "fail_days": settings.tls_expiry_fail.as_secs() / 86400 });
    if seconds_left <= 0 {
        return CheckResult::new(
            id,
            Status::Fail,
            Reason::new(
                format!("{} expired {} day(s) ago", soonest.subject, -days_left),
                format!("Chứng thư số đã hết hạn {} ngày", -days_left),
            ),
            observed,
        );
    }
    if seconds_left < settings.tls_expiry_fail.as_secs() as i64 {
        return CheckResult::new(
            id,
            Status::Fail,
            Reason::new(
                format!("expires in {days_left} day(s)"),
                format!("Chứng thư số sẽ hết hạn sau {days_left} ngày"),
            ),
            observed,
        );
    }
    if seconds_left < settings.tls_expiry_warn.as_secs() as i64 {
        return CheckResult::new(
            id,
            Status::Warn,
            Reason::new(
                format!("expires in {days_left} day(s)"),
                format!("Chứng thư số sắp hết hạn (còn {days_left} ngày)"),
            ),
            observed,
        );
    }
    CheckResult::new(
        id,
        Status::Pass,
        Reason::new(
            format!("expires in {days_left} days"),
            format!("còn {days_left} ngày trước khi hết hạn"),
        ),
        observed,
    )
}

/// TLS 1.2+ negotiated and TLS 1.0/1.1 refused.
pub fn modern(obs: &Observations) -> CheckResult {
    let id = CheckId::TlsModern;
    let seen = handshakes(obs);
    let versions: Vec<&str> = seen.iter().map(|(_, tls)| tls.version.as_str()).collect();
    let observed = json!({ "negotiated": versions, "legacy_probe": obs.legacy_tls });
    match &obs.legacy_tls {
        Some(LegacyTlsOutcome::Accepted { version }) => CheckResult::new(
            id,
            Status::Fail,
            Reason::new(
                format!("server still accepts {version}"),
                format!("Máy chủ vẫn chấp nhận giao thức cũ {version}"),
            ),
            observed,
        ),
        Some(LegacyTlsOutcome::Unknown { message }) => CheckResult::new(
            id,
            Status::Error,
            Reason::new(
                format!("could not test legacy TLS: {message}"),
                format!("không kiểm tra được TLS cũ: {message}"),
            ),
            observed,
        ),
        None => CheckResult::new(
            id,
            Status::Error,
            Reason::new("legacy TLS was not probed", "chưa kiểm tra TLS cũ"),
            observed,
        ),
        Some(LegacyTlsOutcome::Refused { .. }) if seen.is_empty() => no_handshake(id, obs),
        Some(LegacyTlsOutcome::Refused { .. }) => {
            let list = versions.join(", ");
            CheckResult::new(
                id,
                Status::Pass,
                Reason::new(
                    format!("negotiates {list}; TLS 1.0/1.1 refused"),
                    format!("dùng {list}; từ chối TLS 1.0/1.1"),
                ),
                observed,
            )
        }
    }
}

/// The server sends the intermediates needed to reach a trust anchor.
pub fn chain_complete(obs: &Observations) -> CheckResult {
    let id = CheckId::TlsChainComplete;
    let seen = handshakes(obs);
    if seen.is_empty() {
        return no_handshake(id, obs);
    }
    let observed = json!({
        "addresses": seen.iter().map(|(f, t)| json!({ "ip": f.ip, "chain": t.chain.iter().map(|c| json!({ "subject": c.subject, "issuer": c.issuer })).collect::<Vec<_>>() })).collect::<Vec<_>>()
    });
    for (fetch, tls) in &seen {
        let Some(last) = tls.chain.last() else { continue };
        let ends_properly = last.self_signed
            || last.issuer_is_trust_anchor
            || tls.verify_failure.as_ref().is_none_or(|f| f.code != "unknown_issuer");
        if !ends_properly {
            return CheckResult::new(
                id,
                Status::Fail,
                Reason::new(
                    format!(
                        "[{}] sends {} certificate(s) ending at {}, whose issuer {} is neither sent nor trusted",
                        fetch.ip,
                        tls.chain.len(),
                        last.subject,
                        last.issuer
                    ),
                    format!("[{}] thiếu chứng thư trung gian của {}", fetch.ip, last.issuer),
                ),
                observed,
            );
        }
    }
    CheckResult::new(
        id,
        Status::Pass,
        Reason::new("server sends the full chain", "máy chủ gửi đủ chuỗi chứng thư"),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
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
        for fetch in &mut obs.fetches {
            let tls = fetch.tls.as_mut().unwrap();
            tls.verify_failure = Some(VerifyFailure {
                code: "expired".into(),
                message: "certificate expired".into(),
            });
            tls.chain[0].not_after = NOW - 3 * 86400;
        }
        assert!(valid(&obs).reason.vi.contains("hết hạn"));
        let result = expiry(&obs, &TargetSettings::default(), NOW);
        assert_eq!(result.status, Status::Fail);
        assert!(result.reason.en.contains("expired 3 day"), "{}", result.reason.en);
    }

    #[test]
    fn expiry_thresholds_warn_then_fail() {
        let mut obs = observations();
        let settings = TargetSettings::default();
        for (days, status) in [(30, Status::Pass), (20, Status::Warn), (5, Status::Fail)] {
            for fetch in &mut obs.fetches {
                fetch.tls.as_mut().unwrap().chain[0].not_after = NOW + days * 86400 + 60;
            }
            assert_eq!(expiry(&obs, &settings, NOW).status, status, "{days} days");
        }
    }

    #[test]
    fn legacy_tls_accepted_fails_and_unknown_errors() {
        let mut obs = observations();
        obs.legacy_tls = Some(LegacyTlsOutcome::Accepted {
            version: "TLS 1.0".into(),
        });
        assert_eq!(modern(&obs).status, Status::Fail);
        obs.legacy_tls = Some(LegacyTlsOutcome::Unknown {
            message: "timeout".into(),
        });
        assert_eq!(modern(&obs).status, Status::Error);
    }

    #[test]
    fn missing_intermediate_fails_but_self_signed_chain_is_complete() {
        let mut obs = observations();
        for fetch in &mut obs.fetches {
            let tls = fetch.tls.as_mut().unwrap();
            tls.chain.truncate(1);
            tls.chain[0].issuer_is_trust_anchor = false;
            tls.verify_failure = Some(VerifyFailure {
                code: "unknown_issuer".into(),
                message: "UnknownIssuer".into(),
            });
        }
        assert_eq!(chain_complete(&obs).status, Status::Fail);
        for fetch in &mut obs.fetches {
            fetch.tls.as_mut().unwrap().chain[0].self_signed = true;
        }
        assert_eq!(chain_complete(&obs).status, Status::Pass);
        assert_eq!(valid(&obs).status, Status::Fail);
    }

    #[test]
    fn no_handshake_is_error_not_pass() {
        let mut obs = observations();
        for fetch in &mut obs.fetches {
            fetch.tls = None;
        }
        assert_eq!(valid(&obs).status, Status::Error);
        assert_eq!(chain_complete(&obs).status, Status::Error);
    }
}
