//! What could not be tested, and why, in the words every reason uses: fetch errors as short
//! phrases, fetches that never answered, and addresses this monitor has no route to.

use crate::probe::http::{AddressFetch, FetchError, Phase};
use crate::probe::Observations;

/// "[ip] why" for every fetch that `missed` selects (no answer, no handshake…): the addresses
/// a check could not judge, named rather than passed over.
pub fn untested_fetches(obs: &Observations, missed: impl Fn(&AddressFetch) -> bool, otherwise: &str) -> Vec<String> {
    obs.address
        .fetches
        .iter()
        .filter(|fetch| missed(fetch))
        .map(|fetch| match &fetch.error {
            Some(err) => format!("[{}] {}", fetch.ip, describe_error(err)),
            None => format!("[{}] {otherwise}", fetch.ip),
        })
        .collect()
}

/// "[ip] this monitor has no IPv6 route to …" for a fetch this monitor could not even try.
pub fn not_from_here(fetch: &AddressFetch) -> Option<String> {
    let err = fetch.error.as_ref().filter(|err| err.kind == "no_route")?;
    Some(format!("[{}] {}", fetch.ip, err.message))
}

/// The addresses this monitor has no route to: a check that is not about IPv6 judges the
/// others and names these in its reason, so a monitor without IPv6 never fails a site for it.
pub fn monitor_gaps(obs: &Observations) -> Vec<String> {
    obs.address.fetches.iter().filter_map(not_from_here).collect()
}

/// [`untested_fetches`] without the addresses this monitor has no route to (see
/// [`monitor_gaps`]), for checks that are not about IPv6.
pub fn untested_here(obs: &Observations, missed: impl Fn(&AddressFetch) -> bool, otherwise: &str) -> Vec<String> {
    untested_fetches(obs, |fetch| missed(fetch) && not_from_here(fetch).is_none(), otherwise)
}

/// A fetch error as a short phrase: what failed and where.
pub fn describe_error(err: &FetchError) -> String {
    let phase = match err.phase {
        Phase::Resolve => "resolving a redirect",
        Phase::Connect => "connect",
        Phase::Tls => "TLS",
        Phase::Processing => "waiting for the response",
        Phase::Transfer => "reading the body",
    };
    match err.kind.as_str() {
        "timeout" => format!("timeout ({phase})"),
        "refused" => "connection refused".into(),
        "reset" => format!("connection reset ({phase})"),
        _ => format!("{phase}: {}", err.message),
    }
}
