//! The cipher-suite classifier every TLS check shares (`tls.ciphers`, `mail.tls`): the levels of
//! the NCSC-NL TLS guidelines as internet.nl applies them today, so a suite we call insufficient
//! is one the reference checker calls insufficient too.
//!
//! Only the probe's hand-built hellos need the codes; checks read the class and the name.

use serde::Serialize;

/// How the NCSC-NL guidelines rate a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteClass {
    /// Forward secrecy and AEAD: every TLS 1.3 suite, ECDHE with AES-GCM or ChaCha20-Poly1305.
    Good,
    /// To be phased out: ECDHE with CBC and SHA-2, finite-field DHE with AEAD or CBC-SHA-2,
    /// CAMELLIA, ARIA, AES-CCM.
    PhaseOut,
    /// Not to be used: RSA key exchange (no forward secrecy), CBC with SHA-1, 3DES, RC4, NULL,
    /// export grade, anonymous, CCM_8.
    Insufficient,
}

impl SuiteClass {
    pub fn as_str(self) -> &'static str {
        match self {
            SuiteClass::Good => "good",
            SuiteClass::PhaseOut => "phase-out",
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

use SuiteClass::{Good, Insufficient, PhaseOut};

/// The suites the scan offers (TLS 1.3 first, then TLS 1.2 from best to worst) and that may be
/// reported. Unknown codes are named by number and left unclassified rather than guessed.
pub const SUITES: &[Suite] = &[
    // TLS 1.3
    suite(0x1301, "TLS_AES_128_GCM_SHA256", Good),
    suite(0x1302, "TLS_AES_256_GCM_SHA384", Good),
    suite(0x1303, "TLS_CHACHA20_POLY1305_SHA256", Good),
    suite(0x1304, "TLS_AES_128_CCM_SHA256", Good),
    suite(0x1305, "TLS_AES_128_CCM_8_SHA256", Insufficient),
    // ECDHE with AEAD
    suite(0xc02b, "ECDHE-ECDSA-AES128-GCM-SHA256", Good),
    suite(0xc02c, "ECDHE-ECDSA-AES256-GCM-SHA384", Good),
    suite(0xc02f, "ECDHE-RSA-AES128-GCM-SHA256", Good),
    suite(0xc030, "ECDHE-RSA-AES256-GCM-SHA384", Good),
    suite(0xcca8, "ECDHE-RSA-CHACHA20-POLY1305", Good),
    suite(0xcca9, "ECDHE-ECDSA-CHACHA20-POLY1305", Good),
    // Phase-out: ECDHE with CBC-SHA-2, DHE, CAMELLIA, ARIA, CCM
    suite(0xc023, "ECDHE-ECDSA-AES128-SHA256", PhaseOut),
    suite(0xc024, "ECDHE-ECDSA-AES256-SHA384", PhaseOut),
    suite(0xc027, "ECDHE-RSA-AES128-SHA256", PhaseOut),
    suite(0xc028, "ECDHE-RSA-AES256-SHA384", PhaseOut),
    suite(0x009e, "DHE-RSA-AES128-GCM-SHA256", PhaseOut),
    suite(0x009f, "DHE-RSA-AES256-GCM-SHA384", PhaseOut),
    suite(0xccaa, "DHE-RSA-CHACHA20-POLY1305", PhaseOut),
    suite(0x0067, "DHE-RSA-AES128-SHA256", PhaseOut),
    suite(0x006b, "DHE-RSA-AES256-SHA256", PhaseOut),
    suite(0xc0ac, "ECDHE-ECDSA-AES128-CCM", PhaseOut),
    suite(0xc0ad, "ECDHE-ECDSA-AES256-CCM", PhaseOut),
    suite(0xc09e, "DHE-RSA-AES128-CCM", PhaseOut),
    suite(0xc09f, "DHE-RSA-AES256-CCM", PhaseOut),
    suite(0xc072, "ECDHE-ECDSA-CAMELLIA128-SHA256", PhaseOut),
    suite(0xc073, "ECDHE-ECDSA-CAMELLIA256-SHA384", PhaseOut),
    suite(0xc076, "ECDHE-RSA-CAMELLIA128-SHA256", PhaseOut),
    suite(0xc077, "ECDHE-RSA-CAMELLIA256-SHA384", PhaseOut),
    suite(0x00be, "DHE-RSA-CAMELLIA128-SHA256", PhaseOut),
    suite(0x00c4, "DHE-RSA-CAMELLIA256-SHA256", PhaseOut),
    suite(0xc05c, "ECDHE-ECDSA-ARIA128-GCM-SHA256", PhaseOut),
    suite(0xc05d, "ECDHE-ECDSA-ARIA256-GCM-SHA384", PhaseOut),
    suite(0xc060, "ECDHE-ARIA128-GCM-SHA256", PhaseOut),
    suite(0xc061, "ECDHE-ARIA256-GCM-SHA384", PhaseOut),
    suite(0xc052, "DHE-RSA-ARIA128-GCM-SHA256", PhaseOut),
    suite(0xc053, "DHE-RSA-ARIA256-GCM-SHA384", PhaseOut),
    // Anonymous (no authentication): offered first when asking for insufficient suites, so a
    // server that takes any names the worst.
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
    // CBC with SHA-1
    suite(0xc009, "ECDHE-ECDSA-AES128-SHA", Insufficient),
    suite(0xc00a, "ECDHE-ECDSA-AES256-SHA", Insufficient),
    suite(0xc013, "ECDHE-RSA-AES128-SHA", Insufficient),
    suite(0xc014, "ECDHE-RSA-AES256-SHA", Insufficient),
    suite(0x0033, "DHE-RSA-AES128-SHA", Insufficient),
    suite(0x0039, "DHE-RSA-AES256-SHA", Insufficient),
    suite(0x0045, "DHE-RSA-CAMELLIA128-SHA", Insufficient),
    suite(0x0088, "DHE-RSA-CAMELLIA256-SHA", Insufficient),
    // RSA key exchange
    suite(0x009c, "AES128-GCM-SHA256", Insufficient),
    suite(0x009d, "AES256-GCM-SHA384", Insufficient),
    suite(0x003c, "AES128-SHA256", Insufficient),
    suite(0x003d, "AES256-SHA256", Insufficient),
    suite(0x002f, "AES128-SHA", Insufficient),
    suite(0x0035, "AES256-SHA", Insufficient),
    suite(0x0041, "CAMELLIA128-SHA", Insufficient),
    suite(0x0084, "CAMELLIA256-SHA", Insufficient),
    suite(0xc050, "ARIA128-GCM-SHA256", Insufficient),
    suite(0xc051, "ARIA256-GCM-SHA384", Insufficient),
    suite(0xc09c, "AES128-CCM", Insufficient),
    suite(0xc09d, "AES256-CCM", Insufficient),
    // CCM_8
    suite(0xc0ae, "ECDHE-ECDSA-AES128-CCM8", Insufficient),
    suite(0xc0af, "ECDHE-ECDSA-AES256-CCM8", Insufficient),
    suite(0xc0a2, "DHE-RSA-AES128-CCM8", Insufficient),
    suite(0xc0a0, "AES128-CCM8", Insufficient),
    // 3DES
    suite(0xc012, "ECDHE-RSA-DES-CBC3-SHA", Insufficient),
    suite(0xc008, "ECDHE-ECDSA-DES-CBC3-SHA", Insufficient),
    suite(0x0016, "DHE-RSA-DES-CBC3-SHA", Insufficient),
    suite(0x000a, "DES-CBC3-SHA", Insufficient),
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

/// Every insufficient TLS 1.2 suite, in the order a probe offers them: a server that picks one
/// of these from a hello offering nothing else accepts an insufficient suite.
pub fn insufficient_codes() -> Vec<u16> {
    SUITES
        .iter()
        .filter(|suite| suite.class == SuiteClass::Insufficient && !is_tls13(suite.code))
        .map(|suite| suite.code)
        .collect()
}

/// Every TLS 1.2 suite we know, best first.
pub fn tls12_codes() -> Vec<u16> {
    SUITES
        .iter()
        .filter(|suite| !is_tls13(suite.code))
        .map(|suite| suite.code)
        .collect()
}

/// Every TLS 1.3 suite.
pub fn tls13_codes() -> Vec<u16> {
    SUITES
        .iter()
        .filter(|suite| is_tls13(suite.code))
        .map(|suite| suite.code)
        .collect()
}

/// TLS 1.3 suites live at 0x13xx.
pub fn is_tls13(code: u16) -> bool {
    code >> 8 == 0x13
}

impl Suite {
    /// Why the suite is rated below good, in the words a reason uses ("RSA key exchange").
    pub fn weakness(&self) -> &'static str {
        let name = self.name;
        let cbc_sha1 = name.ends_with("-SHA") && !name.contains("NULL") && !name.contains("RC4");
        if name.starts_with("ADH") || name.starts_with("AECDH") {
            "anonymous: no authentication"
        } else if name.contains("NULL") {
            "no encryption"
        } else if name.starts_with("EXP") {
            "export grade"
        } else if name.contains("RC4") {
            "RC4"
        } else if name.contains("DES-CBC3") {
            "3DES"
        } else if name.contains("DES-CBC") {
            "DES"
        } else if name.contains("CCM8") || name.contains("CCM_8") {
            "CCM_8: short tag"
        } else if !(name.starts_with("ECDHE") || name.starts_with("DHE") || name.starts_with("TLS_")) {
            "RSA key exchange: no forward secrecy"
        } else if cbc_sha1 {
            "CBC with SHA-1"
        } else if name.starts_with("DHE") {
            "finite-field DHE"
        } else if name.contains("CAMELLIA") {
            "CAMELLIA"
        } else if name.contains("ARIA") {
            "ARIA"
        } else if name.contains("CCM") {
            "AES-CCM"
        } else if self.class == SuiteClass::PhaseOut {
            "CBC"
        } else {
            ""
        }
    }
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
        assert_eq!(by_code(0x002f).map(|s| s.class), Some(Insufficient), "RSA key exchange");
        assert_eq!(by_code(0xc013).map(|s| s.class), Some(Insufficient), "CBC with SHA-1");
        assert_eq!(by_code(0xc027).map(|s| s.class), Some(PhaseOut), "CBC with SHA-256");
        assert_eq!(by_code(0x009e).map(|s| s.class), Some(PhaseOut), "DHE");
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
        let why = |code| by_code(code).map(|s| s.weakness());
        assert_eq!(why(0x002f), Some("RSA key exchange: no forward secrecy"));
        assert_eq!(why(0xc013), Some("CBC with SHA-1"));
        assert_eq!(why(0xc027), Some("CBC"));
        assert_eq!(why(0x009e), Some("finite-field DHE"));
        assert_eq!(why(0x00a7), Some("anonymous: no authentication"));
        assert_eq!(why(0x000a), Some("3DES"));
        assert_eq!(why(0xc02f), Some(""));
        assert_eq!(name_of(0x1234), "suite 0x1234");
    }
}
