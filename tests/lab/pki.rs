//! A lab PKI made at test time with rcgen: root → intermediate → leaves, plus the broken
//! certificates real sites serve (expired, not yet valid, wrong host, self-signed).

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate chain as a server sends it, with its key.
#[derive(Clone)]
pub struct ServedCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
    pub chain_pem: String,
    pub key_pem: String,
}

impl ServedCert {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

pub struct LabPki {
    pub root_pem: String,
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

/// Validity of a certificate relative to today (2026 and later runs).
#[derive(Clone, Copy)]
pub enum Validity {
    Current,
    Expired,
    NotYetValid,
    /// Valid now, expiring this many days from today (end-to-end alert tests).
    ExpiresInDays(i64),
}

/// The calendar date `days` from today (UTC), for rcgen's date-only constructor.
fn date_in_days(days: i64) -> (i32, u8, u8) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let (year, month, day) = vnready::calendar::civil_from_days(now.div_euclid(86_400) + days);
    (year as i32, month as u8, day as u8)
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "vnready lab");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    params
}

impl LabPki {
    pub fn new() -> LabPki {
        let root = CertifiedIssuer::self_signed(ca_params("vnready Lab Root CA"), KeyPair::generate().expect("key"))
            .expect("root");
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("vnready Lab Issuing CA"),
            KeyPair::generate().expect("key"),
            &root,
        )
        .expect("intermediate");
        LabPki {
            root_pem: root.pem(),
            intermediate,
        }
    }

    fn leaf_params(names: &[&str], validity: Validity) -> CertificateParams {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("leaf params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names[0]);
        params.distinguished_name = dn;
        let (not_before, not_after) = match validity {
            Validity::Current => (rcgen::date_time_ymd(2025, 1, 1), rcgen::date_time_ymd(2035, 1, 1)),
            Validity::Expired => (rcgen::date_time_ymd(2020, 1, 1), rcgen::date_time_ymd(2021, 1, 1)),
            Validity::NotYetValid => (rcgen::date_time_ymd(2090, 1, 1), rcgen::date_time_ymd(2091, 1, 1)),
            Validity::ExpiresInDays(days) => {
                let (year, month, day) = date_in_days(days);
                (rcgen::date_time_ymd(2025, 1, 1), rcgen::date_time_ymd(year, month, day))
            }
        };
        params.not_before = not_before;
        params.not_after = not_after;
        params
    }

    /// A leaf signed by the intermediate; `send_intermediate` false reproduces the classic
    /// "missing intermediate" misconfiguration.
    pub fn leaf(&self, names: &[&str], validity: Validity, send_intermediate: bool) -> ServedCert {
        let key = KeyPair::generate().expect("key");
        let cert = Self::leaf_params(names, validity)
            .signed_by(&key, &self.intermediate)
            .expect("leaf");
        let mut chain = vec![cert.der().clone()];
        let mut chain_pem = cert.pem();
        if send_intermediate {
            chain.push(self.intermediate.der().clone());
            chain_pem.push_str(&self.intermediate.pem());
        }
        ServedCert {
            chain,
            key_der: key.serialize_der(),
            chain_pem,
            key_pem: key.serialize_pem(),
        }
    }

    /// A self-signed leaf, trusted by nobody.
    pub fn self_signed(&self, names: &[&str]) -> ServedCert {
        let key = KeyPair::generate().expect("key");
        let cert = Self::leaf_params(names, Validity::Current)
            .self_signed(&key)
            .expect("self-signed");
        ServedCert {
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
            chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
