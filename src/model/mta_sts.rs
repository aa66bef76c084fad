//! MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460) as their grammars define them: the
//! `_mta-sts` TXT record, the policy file served over HTTPS, and the `_smtp._tls` TXT record.
//! Used by the probe (whether a policy is worth fetching) and by `mail.mta_sts`.

/// The `_mta-sts.DOMAIN` record: `v=STSv1; id=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsRecord {
    pub id: String,
}

/// Whether a TXT value is an MTA-STS record at all (RFC 8461 §3.1: others are discarded).
pub fn is_sts_record(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with("v=STSv1;") || text == "v=STSv1"
}

/// Parses an STSv1 record: `v=STSv1` first, then `;`-separated `key=value` fields, one of them
/// `id` of 1–32 letters and digits.
pub fn parse_sts_record(text: &str) -> Result<StsRecord, String> {
    let fields = key_values(text)?;
    match fields.first() {
        Some((key, value)) if key == "v" && value == "STSv1" => {}
        _ => return Err("does not begin with v=STSv1".into()),
    }
    let ids: Vec<&String> = fields.iter().filter(|(key, _)| key == "id").map(|(_, v)| v).collect();
    let [id] = ids.as_slice() else {
        return Err(format!("{} id= fields, one expected", ids.len()));
    };
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("id={id} is not 1-32 letters and digits"));
    }
    Ok(StsRecord { id: id.to_string() })
}

/// `k=v; k=v` (RFC 8461 §3.1 and RFC 8460 §3 share this shape), whitespace around fields
/// allowed, a trailing `;` too.
fn key_values(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut fields = Vec::new();
    for field in text.split(';') {
        let field = field.trim();
        if field.is_empty() {
            continue;
        }
        let (key, value) = field
            .split_once('=')
            .ok_or_else(|| format!("field {field:?} is not key=value"))?;
        let key = key.trim();
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        {
            return Err(format!("field name {key:?} is not valid"));
        }
        fields.push((key.to_string(), value.trim().to_string()));
    }
    Ok(fields)
}

/// The policy's mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StsMode {
    Enforce,
    Testing,
    None,
}

impl StsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StsMode::Enforce => "enforce",
            StsMode::Testing => "testing",
            StsMode::None => "none",
        }
    }
}

/// A parsed policy file (RFC 8461 §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsPolicy {
    pub mode: StsMode,
    pub max_age: u64,
    pub mx: Vec<String>,
}

/// The largest `max_age` the RFC allows (one year).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// Parses a policy: `key: value` lines (CRLF or LF), `version: STSv1`, `mode`, `max_age`, and
/// `mx` patterns (required unless the mode is none). Unknown keys are ignored, as the RFC
/// asks; a repeated single-valued key is an error.
pub fn parse_policy(text: &str) -> Result<StsPolicy, String> {
    let (mut version, mut mode, mut max_age, mut mx) = (None, None, None, Vec::new());
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("line {}: {line:?} is not key: value", number + 1));
        };
        let (key, value) = (key.trim(), value.trim());
        let once = |slot: &Option<String>| match slot {
            Some(_) => Err(format!("line {}: {key} given twice", number + 1)),
            None => Ok(Some(value.to_string())),
        };
        match key {
            "version" => version = once(&version)?,
            "mode" => mode = once(&mode)?,
            "max_age" => max_age = once(&max_age)?,
            "mx" => mx.push(value.to_ascii_lowercase().trim_end_matches('.').to_string()),
            _ => {}
        }
    }
    if version.as_deref() != Some("STSv1") {
        return Err(format!("version is {:?}, not STSv1", version.unwrap_or_default()));
    }
    let mode = match mode.as_deref() {
        Some("enforce") => StsMode::Enforce,
        Some("testing") => StsMode::Testing,
        Some("none") => StsMode::None,
        other => {
            return Err(format!(
                "mode {:?} is not enforce, testing or none",
                other.unwrap_or_default()
            ))
        }
    };
    let max_age_text = max_age.ok_or("no max_age")?;
    let max_age: u64 = max_age_text
        .parse()
        .ok()
        .filter(|age| *age <= MAX_AGE_LIMIT && max_age_text.len() <= 10)
        .ok_or_else(|| format!("max_age {max_age_text:?} is not a number of seconds up to {MAX_AGE_LIMIT}"))?;
    if mode != StsMode::None && mx.is_empty() {
        return Err("no mx: line".into());
    }
    if let Some(bad) = mx.iter().find(|pattern| !valid_pattern(pattern)) {
        return Err(format!("mx: {bad} is not a host name or *.domain pattern"));
    }
    Ok(StsPolicy { mode, max_age, mx })
}

fn valid_pattern(pattern: &str) -> bool {
    let name = pattern.strip_prefix("*.").unwrap_or(pattern);
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether `host` matches a policy `mx` pattern: exactly, or `*.` standing for one leftmost
/// label (RFC 8461 §4.1).
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => host == pattern,
    }
}

/// The `_smtp._tls.DOMAIN` record (RFC 8460 §3): `v=TLSRPTv1` first and `rua=` of `mailto:` or
/// `https:` URIs, comma-separated.
pub fn parse_tlsrpt(text: &str) -> Result<Vec<String>, String> {
    let fields = key_values(text)?;
    match fields.first() {
        Some((key, value)) if key == "v" && value == "TLSRPTv1" => {}
        _ => return Err("does not begin with v=TLSRPTv1".into()),
    }
    let rua = fields
        .iter()
        .find(|(key, _)| key == "rua")
        .map(|(_, value)| value)
        .ok_or("no rua=")?;
    let uris: Vec<String> = rua.split(',').map(|uri| uri.trim().to_string()).collect();
    if let Some(bad) = uris
        .iter()
        .find(|uri| !(uri.starts_with("mailto:") && uri.len() > 7 || uri.starts_with("https://") && uri.len() > 8))
    {
        return Err(format!("rua {bad:?} is neither mailto: nor https:"));
    }
    Ok(uris)
}

/// Whether a TXT value is a TLS-RPT record at all.
pub fn is_tlsrpt_record(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with("v=TLSRPTv1;") || text == "v=TLSRPTv1"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_by_the_grammar() {
        assert_eq!(
            parse_sts_record("v=STSv1; id=20160831085700Z;"),
            Ok(StsRecord {
                id: "20160831085700Z".into()
            })
        );
        assert!(parse_sts_record("id=1; v=STSv1").is_err(), "v first");
        assert!(parse_sts_record("v=STSv1;").is_err(), "id required");
        assert!(parse_sts_record("v=STSv1; id=a-b").is_err());
        assert!(is_sts_record("v=STSv1; id=1") && !is_sts_record("v=spf1 -all"));
        assert_eq!(
            parse_tlsrpt("v=TLSRPTv1; rua=mailto:tls@haiduong.gov.vn,https://r.vn/tls"),
            Ok(vec![
                "mailto:tls@haiduong.gov.vn".to_string(),
                "https://r.vn/tls".to_string()
            ])
        );
        assert!(parse_tlsrpt("v=TLSRPTv1; rua=ftp://x").is_err());
        assert!(parse_tlsrpt("v=TLSRPTv1;").is_err());
    }

    #[test]
    fn policies_parse_and_mx_patterns_match_one_label() {
        let policy = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.haiduong.gov.vn\r\nmx: *.backup.vn\r\nmax_age: 604800\r\n",
        )
        .expect("parses");
        assert_eq!(policy.mode, StsMode::Enforce);
        assert_eq!(policy.max_age, 604_800);
        assert!(mx_matches(&policy.mx[0], "Mail.Haiduong.gov.vn."));
        assert!(mx_matches(&policy.mx[1], "mx1.backup.vn"));
        assert!(!mx_matches(&policy.mx[1], "a.mx1.backup.vn"), "one label only");
        assert!(!mx_matches(&policy.mx[1], "backup.vn"));
        assert!(
            parse_policy("version: STSv1\nmode: enforce\nmax_age: 86400\n").is_err(),
            "mx required"
        );
        assert!(parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n").is_ok());
        assert!(parse_policy("version: STSv2\nmode: enforce\nmx: a.vn\nmax_age: 1\n").is_err());
        assert!(parse_policy("version: STSv1\nmode: strict\nmx: a.vn\nmax_age: 1\n").is_err());
        assert!(parse_policy("version: STSv1\nmode: enforce\nmx: a.vn\nmax_age: 99999999999\n").is_err());
        assert!(parse_policy("version: STSv1\nmode: enforce\nmode: testing\nmx: a.vn\nmax_age: 1\n").is_err());
        assert!(parse_policy("<html>").is_err());
    }
}
