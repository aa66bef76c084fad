//! What the page-response checks (`http.security_headers`, `http.csp`) share: the final
//! response of every address, header values combined as browsers combine them, and findings
//! that name the addresses they hold on.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use crate::model::catalogue::CheckId;
use crate::probe::http::{AddressFetch, ResponseFacts};
use crate::probe::Observations;

use super::result::{not_tested, pass, warn, CheckResult, Findings, Reason};

/// The last response of each address that answered: the page a user of that address ends on.
pub fn final_responses(obs: &Observations) -> Vec<(IpAddr, &ResponseFacts)> {
    obs.address
        .fetches
        .iter()
        .filter_map(|fetch: &AddressFetch| Some((fetch.ip, fetch.responses.last()?)))
        .collect()
}

/// Every value of a header, in order, each header line split at its commas (RFC 9110 §5.3: a
/// repeated field is the same as one comma-separated field).
pub fn header_values<'a>(response: &'a ResponseFacts, name: &str) -> Vec<&'a str> {
    response
        .headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .collect()
}

/// Every line of a header, in order, uncut (a CSP value may hold commas between policies).
pub fn header_lines<'a>(response: &'a ResponseFacts, name: &str) -> Vec<&'a str> {
    response
        .headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
        .collect()
}

/// Findings that hold on some addresses: the same finding on several addresses is listed once
/// with all of them ("[203.0.113.1], [2001:db8::1] no X-Content-Type-Options"), so a header set
/// on the IPv4 server and forgotten on the IPv6 one reads as exactly that.
#[derive(Debug, Default)]
pub struct AddressFindings {
    found: Vec<(String, String, Vec<IpAddr>)>,
}

impl AddressFindings {
    pub fn push(&mut self, ip: IpAddr, en: impl Into<String>, vi: impl Into<String>) {
        let (en, vi) = (en.into(), vi.into());
        match self.found.iter_mut().find(|(known, _, _)| *known == en) {
            Some((_, _, ips)) => ips.push(ip),
            None => self.found.push((en, vi, vec![ip])),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The findings as one reason, each led by the addresses it holds on.
    pub fn reason(&self) -> Reason {
        let mut findings = Findings::default();
        for (en, vi, ips) in &self.found {
            let places: Vec<String> = ips.iter().map(|ip| format!("[{ip}]")).collect();
            let places = places.join(", ");
            findings.push(format!("{places} {en}"), format!("{places} {vi}"));
        }
        findings.reason("", "")
    }
}

/// How a page-response check ends once every answering address is read. Findings warn (these
/// checks never fail), naming any address that could not be read as well; with no finding, an
/// address not read makes it `error` (`untested` leads the list); otherwise it passes with
/// `passed`. `observed` keys each address's values and lists what was not tested.
pub fn conclude(
    id: CheckId,
    obs: &Observations,
    findings: &AddressFindings,
    by_address: Map<String, Value>,
    untested: Reason,
    passed: Reason,
) -> CheckResult {
    let unanswered = super::http::untested_here(obs, |fetch| !fetch.answered(), "no answer");
    let observed = json!({ "addresses": Value::Object(by_address), "not_tested": unanswered });
    if !findings.is_empty() {
        let list = unanswered.join("; ");
        let found = findings.reason();
        if unanswered.is_empty() {
            return warn(id, found, observed);
        }
        let reason = Reason::new(
            format!("{}; not tested: {list}", found.en),
            format!("{}; chưa kiểm tra được: {list}", found.vi),
        );
        return warn(id, reason, observed);
    }
    if !unanswered.is_empty() {
        return not_tested(id, &untested.en, &untested.vi, &unanswered, observed);
    }
    pass(id, passed, observed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_finding_on_two_addresses_is_listed_once_with_both() {
        let mut findings = AddressFindings::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap());
        findings.push(a, "no X", "thiếu X");
        findings.push(b, "no X", "thiếu X");
        findings.push(b, "no Y", "thiếu Y");
        let reason = findings.reason();
        assert_eq!(&*reason.en, "[192.0.2.1], [2001:db8::1] no X; [2001:db8::1] no Y");
        assert_eq!(&*reason.vi, "[192.0.2.1], [2001:db8::1] thiếu X; [2001:db8::1] thiếu Y");
    }
}
