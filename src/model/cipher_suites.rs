//! The cipher-suite classifier every TLS check shares (`mail.tls` now, `tls.ciphers` next):
//! the four levels of the NCSC-NL TLS guidelines (v2.1) that internet.nl applies, so a suite
//! we call insufficient is one the reference checker calls insufficient too.
//!
//! Only the probe's hand-built hellos need the codes; checks read the class and the name.

use serde::Serialize;

/// How the NCSC-NL guidelines rate a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteClass {
    /// Forward secrecy and AEAD (ECDHE with AES-GCM or ChaCha20, every TLS 1.3 suite).
    Good,
    /// Forward secrecy without AEAD, or finite-field DHE.
    Sufficient,
    /// To be phased out: no forward secrecy (static RSA) or 3DES.
    PhaseOut,
    /// Not to be used: no authentication (anonymous), no encryption (NULL), RC4, DES, export
    /// grade, MD5.
    Insufficient,
}

impl SuiteClass {
    pub fn as_str(self) -> &'static str {
        match self {
            SuiteClass::Good => "good",
            SuiteClass::Sufficient => "sufficient",
            SuiteClass::PhaseOut => "phase out",
            SuiteClass::Insufficient => "insufficient",
        }
    }
}

/// One known suite: its IANA code, the OpenSSL name administrators configure, and its class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub code: u16,
    pub name: &'static str,
    pub class: SuiteClass,
}

use SuiteClass::{Good, Insufficient, PhaseOut, Sufficient};

/// The suites the probe offers or may be told about. Unknown codes are named by number and
/// left unclassified rather than guessed.
pub const SUITES: &[Suite] = &[
    // TLS 1.3
    suite(0x1301, "TLS_AES_128_GCM_SHA256", Good),
    suite(0x1302, "TLS_AES_256_GCM_SHA384", Good),
    suite(0x1303, "TLS_CHACHA20_POLY1305_SHA256", Good),
    // ECDHE with AEAD
    suite(0xc02b, "ECDHE-ECDSA-AES128-GCM-SHA256", Good),
    suite(0xc02c, "ECDHE-ECDSA-AES256-GCM-SHA384", Good),
    suite(0xc02f, "ECDHE-RSA-AES128-GCM-SHA256", Good),
    suite(0xc030, "ECDHE-RSA-AES256-GCM-SHA384", Good),
    suite(0xcca8, "ECDHE-RSA-CHACHA20-POLY1305", Good),
    suite(0xcca9, "ECDHE-ECDSA-CHACHA20-POLY1305", Good),
    // ECDHE with CBC, DHE
    suite(0xc023, "ECDHE-ECDSA-AES128-SHA256", Sufficient),
    suite(0xc024, "ECDHE-ECDSA-AES256-SHA384", Sufficient),
    suite(0xc027, "ECDHE-RSA-AES128-SHA256", Sufficient),
    suite(0xc028, "ECDHE-RSA-AES256-SHA384", Sufficient),
    suite(0xc009, "ECDHE-ECDSA-AES128-SHA", Sufficient),
    suite(0xc00a, "ECDHE-ECDSA-AES256-SHA", Sufficient),
    suite(0xc013, "ECDHE-RSA-AES128-SHA", Sufficient),
    suite(0xc014, "ECDHE-RSA-AES256-SHA", Sufficient),
    suite(0x009e, "DHE-RSA-AES128-GCM-SHA256", Sufficient),
    suite(0x009f, "DHE-RSA-AES256-GCM-SHA384", Sufficient),
    suite(0xccaa, "DHE-RSA-CHACHA20-POLY1305", Sufficient),
    suite(0x0067, "DHE-RSA-AES128-SHA256", Sufficient),
    suite(0x006b, "DHE-RSA-AES256-SHA256", Sufficient),
    suite(0x0033, "DHE-RSA-AES128-SHA", Sufficient),
    suite(0x0039, "DHE-RSA-AES256-SHA", Sufficient),
    // Static RSA, 3DES
    suite(0x009c, "AES128-GCM-SHA256", PhaseOut),
    suite(0x009d, "AES256-GCM-SHA384", PhaseOut),
    suite(0x003c, "AES128-SHA256", PhaseOut),
    suite(0x003d, "AES256-SHA256", PhaseOut),
    suite(0x002f, "AES128-SHA", PhaseOut),
    suite(0x0035, "AES256-SHA", PhaseOut),
    suite(0xc012, "ECDHE-RSA-DES-CBC3-SHA", PhaseOut),
    suite(0xc008, "ECDHE-ECDSA-DES-CBC3-SHA", PhaseOut),
    suite(0x0016, "DHE-RSA-DES-CBC3-SHA", PhaseOut),
    suite(0x000a, "DES-CBC3-SHA", PhaseOut),
    // Anonymous (no authentication)
    suite(0x00a6, "ADH-AES128-GCM-SHA256", Insufficient),
    suite(0x00a7, "ADH-AES256-GCM-SHA384", Insufficient),
    suite(0x006c, "ADH-AES128-SHA256", Insufficient),
    suite(0x006d, "ADH-AES256-SHA256", Insufficient),
    suite(0x0034, "ADH-AES128-SHA", Insufficient),
    suite(0x003a, "ADH-AES256-SHA", Insufficient),
    suite(0x001b, "ADH-DES-CBC3-SHA", Insufficient),
    suite(0x0018, "ADH-RC4-MD5", Insufficient),
    suite(0xc018, "AECDH-AES128-SHA", Insufficient),
    suite(0xc019, "AECDH-AES256-SHA", Insufficient),
    suite(0xc017, "AECDH-DES-CBC3-SHA", Insufficient),
    suite(0xc016, "AECDH-RC4-SHA", Insufficient),
    suite(0xc015, "AECDH-NULL-SHA", Insufficient),
    // No encryption
    suite(0x0001, "NULL-MD5", Insufficient),
    suite(0x0002, "NULL-SHA", Insufficient),
    suite(0x003b, "NULL-SHA256", Insufficient),
    suite(0xc006, "ECDHE-ECDSA-NULL-SHA", Insufficient),
    suite(0xc010, "ECDHE-RSA-NULL-SHA", Insufficient),
    // RC4, DES, export
    suite(0x0004, "RC4-MD5", Insufficient),
    suite(0x0005, "RC4-SHA", Insufficient),
    suite(0xc011, "ECDHE-RSA-RC4-SHA", Insufficient),
    suite(0xc007, "ECDHE-ECDSA-RC4-SHA", Insufficient),
    suite(0x0009, "DES-CBC-SHA", Insufficient),
    suite(0x0015, "DHE-RSA-DES-CBC-SHA", Insufficient),
    suite(0x0003, "EXP-RC4-MD5", Insufficient),
    suite(0x0006, "EXP-RC2-CBC-MD5", Insufficient),
    suite(0x0008, "EXP-DES-CBC-SHA", Insufficient),
    suite(0x0014, "EXP-EDH-RSA-DES-CBC-SHA", Insufficient),
];

const fn suite(code: u16, name: &'static str, class: SuiteClass) -> Suite {
    Suite { code, name, class }
}

/// The suite of `code`, when it is one we know.
pub fn by_code(code: u16) -> Option<Suite> {
    SUITES.iter().copied().find(|suite| suite.code == code)
}

/// The suite rustls (or anyone) negotiated, by its IANA or OpenSSL name: rustls says
/// `TLS13_AES_128_GCM_SHA256` or `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
pub fn by_name(name: &str) -> Option<Suite> {
    let wanted = name.trim();
    if let Some(found) = SUITES.iter().find(|suite| suite.name.eq_ignore_ascii_case(wanted)) {
        return Some(*found);
    }
    let iana = wanted.replace("TLS13_", "TLS_");
    SUITES
        .iter()
        .copied()
        .find(|suite| iana_name(suite).eq_ignore_ascii_case(&iana))
}

/// The IANA spelling of a suite we list under its OpenSSL name (TLS 1.3 names are already
/// IANA's); enough for the AEAD suites rustls negotiates.
fn iana_name(suite: &Suite) -> String {
    if suite.name.starts_with("TLS_") {
        return suite.name.to_string();
    }
    let parts: Vec<&str> = suite.name.split('-').collect();
    match parts.as_slice() {
        [kx, auth, "AES128", "GCM", "SHA256"] => format!("TLS_{kx}_{auth}_WITH_AES_128_GCM_SHA256"),
        [kx, auth, "AES256", "GCM", "SHA384"] => format!("TLS_{kx}_{auth}_WITH_AES_256_GCM_SHA384"),
        [kx, auth, "CHACHA20", "POLY1305"] => format!("TLS_{kx}_{auth}_WITH_CHACHA20_POLY1305_SHA256"),
        _ => suite.name.to_string(),
    }
}

/// Every insufficient suite, in the order a probe offers them: a server that picks one of these
/// from a hello offering nothing else accepts an insufficient suite.
pub fn insufficient_codes() -> Vec<u16> {
    SUITES
        .iter()
        .filter(|suite| suite.class == SuiteClass::Insufficient)
        .map(|suite| suite.code)
        .collect()
}

/// A readable name for any code: ours, or its number.
pub fn name_of(code: u16) -> String {
    by_code(code)
        .map(|suite| suite.name.to_string())
        .unwrap_or_else(|| format!("suite {code:#06x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_the_insufficient_offer_holds_only_insufficient_suites() {
        let mut codes: Vec<u16> = SUITES.iter().map(|s| s.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), SUITES.len());
        let offer = insufficient_codes();
        assert!(offer.len() >= 20);
        assert!(offer
            .iter()
            .all(|code| by_code(*code).map(|s| s.class) == Some(SuiteClass::Insufficient)));
        assert!(offer.contains(&0x00a7), "anonymous suites are offered");
    }

    #[test]
    fn rustls_names_classify() {
        assert_eq!(by_name("TLS13_AES_256_GCM_SHA384").map(|s| s.class), Some(Good));
        assert_eq!(
            by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").map(|s| s.code),
            Some(0xc02f)
        );
        assert_eq!(
            by_name("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256").map(|s| s.code),
            Some(0xcca9)
        );
        assert_eq!(by_name("ADH-AES256-GCM-SHA384").map(|s| s.class), Some(Insufficient));
        assert_eq!(by_name("nonsense"), None);
        assert_eq!(name_of(0x1234), "suite 0x1234");
    }
}
