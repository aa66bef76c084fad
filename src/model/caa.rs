//! CAA records (RFC 8659) as the resolver prints them (`0 issue "letsencrypt.org"`), judged
//! by the RFC's grammar: which CAs may issue for a name, and where they report.

/// One parsed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caa {
    pub critical: bool,
    pub tag: String,
    pub value: String,
}

/// Parses `flags tag "value"`, then the value by its tag: `issue`/`issuewild` an issuer domain
/// name (or empty) with `; key=value` parameters, `iodef` a `mailto:` or `https:` URL. A critical
/// record with a tag we do not know is an error too: a CA must then refuse to issue.
pub fn parse(text: &str) -> Result<Caa, String> {
    let text = text.trim();
    let (flags, rest) = text
        .split_once(' ')
        .ok_or_else(|| format!("{text:?} is not flags tag value"))?;
    let flags: u8 = flags
        .parse()
        .map_err(|_| format!("flags {flags:?} is not a number 0-255"))?;
    let (tag, value) = rest.trim_start().split_once(' ').unwrap_or((rest, ""));
    if tag.is_empty() || tag.len() > 15 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("tag {tag:?} is not 1-15 letters and digits"));
    }
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
        .to_string();
    let record = Caa {
        critical: flags & 0x80 != 0,
        tag: tag.to_ascii_lowercase(),
        value,
    };
    match record.tag.as_str() {
        "issue" | "issuewild" => issuer_value(&record.value)?,
        "iodef"
            if !(record.value.starts_with("mailto:") && record.value.len() > 7
                || record.value.starts_with("https://") && record.value.len() > 8) =>
        {
            return Err(format!("iodef {:?} is neither mailto: nor https:", record.value));
        }
        // Known tags a CA may act on (RFC 8657 and 9495 add parameters, not tags).
        "contactemail" | "contactphone" | "issuevmc" | "issuemail" => {}
        other if record.critical => {
            return Err(format!("critical record with unknown tag {other:?}: no CA may issue"));
        }
        _ => {}
    }
    Ok(record)
}

/// `issuer-domain-name *(";" parameter)`, or only parameters (nobody may issue).
fn issuer_value(value: &str) -> Result<(), String> {
    let mut parts = value.split(';');
    let issuer = parts.next().unwrap_or_default().trim();
    if !issuer.is_empty() {
        let labels_ok = issuer.split('.').all(|label| {
            !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if !labels_ok {
            return Err(format!("issuer {issuer:?} is not a domain name"));
        }
    }
    for parameter in parts {
        let parameter = parameter.trim();
        if parameter.is_empty() {
            continue;
        }
        let Some((key, _)) = parameter.split_once('=') else {
            return Err(format!("parameter {parameter:?} is not key=value"));
        };
        if key.trim().is_empty() || !key.trim().bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("parameter key {key:?} is not letters and digits"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_by_the_grammar() {
        let record = parse("0 issue \"letsencrypt.org\"").expect("parses");
        assert_eq!(
            (record.tag.as_str(), record.value.as_str(), record.critical),
            ("issue", "letsencrypt.org", false)
        );
        assert!(parse("0 issue \";\"").is_ok(), "nobody may issue");
        assert!(parse("0 issuewild \"ca.vn; accounturi=https://ca.vn/acct/1\"").is_ok());
        assert!(parse("0 iodef \"mailto:soc@haiduong.gov.vn\"").is_ok());
        assert!(parse("0 iodef \"ftp://x.vn\"").is_err());
        assert!(parse("0 issue \"bad domain\"").is_err());
        assert!(parse("128 tbs \"x\"").is_err(), "critical unknown tag");
        assert!(parse("0 tbs \"x\"").is_ok(), "unknown non-critical tags are ignored");
        assert!(parse("x issue \"a.vn\"").is_err());
        assert!(parse("").is_err());
    }
}
