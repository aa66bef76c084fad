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
    root: CertifiedIssuer<'static, KeyPair>,
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
    let (year, month, day) = vnready::model::calendar::civil_from_days(now.div_euclid(86_400) + days);
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
            root,
            intermediate,
        }
    }

    /// A leaf, its intermediate, and an expired copy of the lab root cross-signed by a retired
    /// root: the "DST Root CA X3" chain many sites kept sending after 2021. Clients build leaf
    /// → intermediate → trusted root and never use the third certificate.
    pub fn leaf_with_expired_cross_sign(&self, host: &str) -> ServedCert {
        let mut served = self.leaf(&[host], Validity::Current, true);
        let retired =
            CertifiedIssuer::self_signed(ca_params("vnready Retired Root CA"), KeyPair::generate().expect("key"))
                .expect("retired root");
        let mut params = ca_params("vnready Lab Root CA");
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2024, 9, 30);
        let cross = params.signed_by(self.root.key(), &retired).expect("cross-signed root");
        served.chain.push(cross.der().clone());
        served.chain_pem.push_str(&cross.pem());
        served
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

/// Certificates rcgen and rustls cannot make or serve (RSA-1024 keys, SHA-1 signatures, RSA
/// keys for static-RSA and NULL suites), made with the openssl command under its own CA.
pub struct OpensslPki {
    dir: std::path::PathBuf,
    pub ca_pem: String,
}

fn openssl(args: &[&str], dir: &std::path::Path) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed by the test command");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl OpensslPki {
    pub fn new(dir: &std::path::Path) -> OpensslPki {
        let dir = dir.join("openssl-pki");
        std::fs::create_dir_all(&dir).expect("pki dir");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=vnready Lab Legacy CA",
                "-days",
                "3650",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            &dir,
        );
        let ca_pem = std::fs::read_to_string(dir.join("ca.crt")).expect("ca");
        OpensslPki { dir, ca_pem }
    }

    /// A leaf for `host` with an RSA key of `bits`, signed by the CA with `digest` (sha256, sha1).
    /// Returns the certificate and key paths.
    pub fn leaf(&self, host: &str, bits: u32, digest: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let key = format!("{host}.key");
        let csr = format!("{host}.csr");
        let cert = format!("{host}.crt");
        let ext = format!("{host}.ext");
        std::fs::write(self.dir.join(&ext), format!("subjectAltName=DNS:{host}\n")).expect("ext");
        openssl(
            &[
                "req",
                "-newkey",
                &format!("rsa:{bits}"),
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={host}"),
            ],
            &self.dir,
        );
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "3650",
                &format!("-{digest}"),
                "-extfile",
                &ext,
            ],
            &self.dir,
        );
        (self.dir.join(cert), self.dir.join(key))
    }
}

impl LabPki {
    /// A leaf whose CRL distribution point is `crl_url`, with a fixed serial to revoke.
    pub fn leaf_with_crl(&self, host: &str, crl_url: &str, serial: u64) -> ServedCert {
        let key = KeyPair::generate().expect("key");
        let mut params = Self::leaf_params(&[host], Validity::Current);
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
            uris: vec![crl_url.to_string()],
        }];
        let cert = params.signed_by(&key, &self.intermediate).expect("leaf");
        ServedCert {
            chain: vec![cert.der().clone(), self.intermediate.der().clone()],
            key_der: key.serialize_der(),
            chain_pem: format!("{}{}", cert.pem(), self.intermediate.pem()),
            key_pem: key.serialize_pem(),
        }
    }

    /// The issuing CA's CRL (DER), listing `revoked` serials as revoked on 2026-01-15.
    pub fn crl(&self, revoked: &[u64]) -> Vec<u8> {
        let params = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2026, 1, 1),
            next_update: rcgen::date_time_ymd(2090, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|serial| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from(*serial),
                    revocation_time: rcgen::date_time_ymd(2026, 1, 15),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params.signed_by(&self.intermediate).expect("crl").der().to_vec()
    }

    /// A leaf naming `count` hosts: a certificate message far over rustls' 64 KiB limit.
    pub fn huge_leaf(&self, host: &str, count: usize) -> ServedCert {
        let mut names: Vec<String> = vec![host.to_string()];
        names.extend((0..count).map(|i| format!("name-{i:05}.{host}")));
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        self.leaf(&refs, Validity::Current, true)
    }
}
