//! DMARC records (RFC 7489 §6.3–6.4): `v=DMARC1` first, then `tag=value` pairs separated by
//! semicolons. Unknown tags are ignored, as the RFC says; known tags must hold valid values.
//! `t=` is DMARCbis's testing flag. Pure: the probe uses it to find report addresses whose
//! domain must authorise them, `mail.dmarc` to judge.

use std::fmt;

/// The requested handling of mail that fails DMARC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    None,
    Quarantine,
    Reject,
}

impl Disposition {
    fn parse(text: &str) -> Option<Disposition> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Some(Disposition::None),
            "quarantine" => Some(Disposition::Quarantine),
            "reject" => Some(Disposition::Reject),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::None => "none",
            Disposition::Quarantine => "quarantine",
            Disposition::Reject => "reject",
        }
    }
}

/// A parsed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcRecord {
    pub policy: Disposition,
    /// `sp=`: the policy for subdomains (defaults to `p=`).
    pub subdomain_policy: Option<Disposition>,
    /// `pct=` (0–100, default 100).
    pub percent: u8,
    /// `t=y`: testing mode (DMARCbis).
    pub testing: bool,
    /// `rua=` and `ruf=` URIs as written (without a `!size` suffix).
    pub aggregate_reports: Vec<String>,
    pub failure_reports: Vec<String>,
}

/// Why a record does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcSyntaxError {
    pub tag: String,
    pub why: &'static str,
}

impl fmt::Display for DmarcSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tag.is_empty() {
            f.write_str(self.why)
        } else {
            write!(f, "\"{}\": {}", self.tag, self.why)
        }
    }
}

/// Whether a TXT record at `_dmarc.` is a DMARC record (it begins with the version tag).
pub fn is_dmarc(text: &str) -> bool {
    let Some((tag, value)) = text.split(';').next().and_then(|first| first.split_once('=')) else {
        return false;
    };
    tag.trim().eq_ignore_ascii_case("v") && value.trim() == "DMARC1"
}

impl DmarcRecord {
    /// The policy that applies to a domain that inherits this record from its organisational
    /// domain (`sp=`, else `p=`).
    pub fn inherited_policy(&self) -> Disposition {
        self.subdomain_policy.unwrap_or(self.policy)
    }

    /// The domains of `mailto:` report addresses (lower case), in order, once each.
    pub fn report_domains(&self) -> Vec<String> {
        let mut domains = Vec::new();
        for uri in self.aggregate_reports.iter().chain(&self.failure_reports) {
            let Some(address) = uri
                .get(..7)
                .filter(|s| s.eq_ignore_ascii_case("mailto:"))
                .map(|_| &uri[7..])
            else {
                continue;
            };
            if let Some((_, domain)) = address.rsplit_once('@') {
                let domain = domain.trim_end_matches('.').to_ascii_lowercase();
                if !domain.is_empty() && !domains.contains(&domain) {
                    domains.push(domain);
                }
            }
        }
        domains
    }
}

fn error(tag: &str, why: &'static str) -> DmarcSyntaxError {
    DmarcSyntaxError {
        tag: tag.to_string(),
        why,
    }
}

/// Parses a record [`is_dmarc`] accepted.
pub fn parse(text: &str) -> Result<DmarcRecord, DmarcSyntaxError> {
    let mut parts = text.split(';').map(str::trim);
    if !parts.next().is_some_and(is_dmarc) {
        return Err(error("", "the record must begin with v=DMARC1"));
    }
    let mut policy = None;
    let mut record = DmarcRecord {
        policy: Disposition::None,
        subdomain_policy: None,
        percent: 100,
        testing: false,
        aggregate_reports: Vec::new(),
        failure_reports: Vec::new(),
    };
    let mut seen: Vec<String> = Vec::new();
    for part in parts.filter(|part| !part.is_empty()) {
        let Some((tag, value)) = part.split_once('=') else {
            return Err(error(part, "not a tag=value pair"));
        };
        let (tag, value) = (tag.trim().to_ascii_lowercase(), value.trim());
        if seen.contains(&tag) {
            return Err(error(part, "the tag appears twice"));
        }
        seen.push(tag.clone());
        match tag.as_str() {
            "p" => {
                policy = Some(
                    Disposition::parse(value).ok_or_else(|| error(part, "p= must be none, quarantine or reject"))?,
                )
            }
            "sp" => {
                record.subdomain_policy = Some(
                    Disposition::parse(value).ok_or_else(|| error(part, "sp= must be none, quarantine or reject"))?,
                )
            }
            "pct" => {
                record.percent = value
                    .parse::<u8>()
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or_else(|| error(part, "pct= must be a whole number from 0 to 100"))?
            }
            "t" => {
                record.testing = match value.to_ascii_lowercase().as_str() {
                    "y" => true,
                    "n" => false,
                    _ => return Err(error(part, "t= must be y or n")),
                }
            }
            "adkim" | "aspf" if !matches!(value.to_ascii_lowercase().as_str(), "r" | "s") => {
                return Err(error(part, "alignment must be r or s"));
            }
            "rua" => record.aggregate_reports = report_uris(part, value)?,
            "ruf" => record.failure_reports = report_uris(part, value)?,
            "ri" => {
                value
                    .parse::<u32>()
                    .map_err(|_| error(part, "ri= must be a number of seconds"))?;
            }
            "v" => return Err(error(part, "v= must come first, once")),
            _ => {}
        }
    }
    record.policy = policy.ok_or_else(|| error("", "no p= tag (the policy is required)"))?;
    Ok(record)
}

/// A comma-separated list of URIs, each `scheme:rest` with an optional `!size[kmgt]`.
fn report_uris(part: &str, value: &str) -> Result<Vec<String>, DmarcSyntaxError> {
    let mut uris = Vec::new();
    for uri in value.split(',').map(str::trim) {
        let uri = match uri.rsplit_once('!') {
            Some((uri, size)) => {
                let digits = size.trim_end_matches(['k', 'm', 'g', 't', 'K', 'M', 'G', 'T']);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(error(part, "a report size limit is !digits with k, m, g or t"));
                }
                uri
            }
            None => uri,
        };
        let scheme_ok = uri.split_once(':').is_some_and(|(scheme, rest)| {
            !rest.is_empty() && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        });
        if !scheme_ok {
            return Err(error(
                part,
                "a report address must be a URI such as mailto:dmarc@example.vn",
            ));
        }
        uris.push(uri.to_string());
    }
    Ok(uris)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typical_record_parses() {
        let record = parse("v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:dmarc@haiduong.gov.vn,mailto:r@vendor.com!10m; adkim=s").unwrap();
        assert_eq!(record.policy, Disposition::Reject);
        assert_eq!(record.inherited_policy(), Disposition::Quarantine);
        assert_eq!(record.percent, 50);
        assert_eq!(record.report_domains(), vec!["haiduong.gov.vn", "vendor.com"]);
    }

    #[test]
    fn what_does_not_parse_is_named() {
        assert_eq!(parse("v=DMARC1; p=maybe").unwrap_err().tag, "p=maybe");
        assert_eq!(parse("v=DMARC1; rua=dmarc@x.vn").unwrap_err().tag, "rua=dmarc@x.vn");
        assert!(parse("v=DMARC1; pct=101; p=none").is_err());
        assert!(parse("v=DMARC1; sp=reject").unwrap_err().why.contains("no p="));
        assert!(parse("v=DMARC1; p=none; p=reject").is_err());
        assert!(parse("p=reject; v=DMARC1").is_err());
        assert!(parse("v=DMARC1; p=none; unknown=whatever; t=y").unwrap().testing);
    }

    #[test]
    fn dmarc_records_are_told_from_other_txt() {
        assert!(
            is_dmarc("v=DMARC1; p=none")
                && is_dmarc("v = DMARC1")
                && !is_dmarc("v=DMARC2; p=none")
                && !is_dmarc("v=spf1")
        );
    }
}
