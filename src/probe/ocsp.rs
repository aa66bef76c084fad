//! A stapled OCSP response (RFC 6960) read and checked against the chain it came with: its
//! status for the leaf, its validity window, and its signature by the issuer or by a responder
//! certificate the issuer signed. A small DER walk: only the fields a verdict needs.

use serde::Serialize;

/// What the staple says, and whether it can be believed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StapleFacts {
    /// good | revoked | unknown, for the leaf's serial; `None` when the response does not
    /// name the leaf.
    pub status: Option<String>,
    pub this_update: Option<i64>,
    pub next_update: Option<i64>,
    /// When the leaf was revoked, when the response says so.
    pub revoked_at: Option<i64>,
    /// Whether the signature verifies with the issuer's key (or a delegated responder's).
    pub signature_valid: bool,
    /// Why the response could not be read or verified.
    pub problem: Option<String>,
}

/// Reads `response` for `leaf`, issued by `issuer` (DER certificates).
pub fn check(response: &[u8], leaf: &[u8], issuer: Option<&[u8]>) -> StapleFacts {
    let mut facts = StapleFacts {
        status: None,
        this_update: None,
        next_update: None,
        revoked_at: None,
        signature_valid: false,
        problem: None,
    };
    match read(response, leaf, issuer, &mut facts) {
        Ok(()) => {}
        Err(problem) => facts.problem = Some(problem),
    }
    facts
}

fn read(response: &[u8], leaf: &[u8], issuer: Option<&[u8]>, facts: &mut StapleFacts) -> Result<(), String> {
    let bad = |what: &str| format!("unreadable OCSP response ({what})");
    // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ... }
    let mut outer = Der::new(Der::new(response).expect(0x30).ok_or_else(|| bad("outer"))?);
    let status = outer.expect(0x0a).ok_or_else(|| bad("status"))?;
    if status != [0] {
        return Err(format!(
            "the responder answered status {}, not successful",
            status.first().copied().unwrap_or(255)
        ));
    }
    let mut bytes = Der::new(outer.expect(0xa0).ok_or_else(|| bad("responseBytes"))?);
    let mut bytes = Der::new(bytes.expect(0x30).ok_or_else(|| bad("responseBytes"))?);
    let _kind = bytes.expect(0x06).ok_or_else(|| bad("responseType"))?;
    let basic = bytes.expect(0x04).ok_or_else(|| bad("response"))?;
    // BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature, certs [0] }
    let mut basic = Der::new(Der::new(basic).expect(0x30).ok_or_else(|| bad("basic"))?);
    let tbs_raw = basic.raw(0x30).ok_or_else(|| bad("tbsResponseData"))?;
    let algorithm = basic.expect(0x30).ok_or_else(|| bad("signatureAlgorithm"))?;
    let signature = basic.expect(0x03).ok_or_else(|| bad("signature"))?;
    let mut certs = Vec::new();
    if let Some(list) = basic.expect(0xa0) {
        let mut list = Der::new(Der::new(list).expect(0x30).unwrap_or_default());
        while let Some(cert) = list.raw(0x30) {
            certs.push(cert.to_vec());
        }
    }
    read_single_response(tbs_raw, leaf, facts).map_err(|what| bad(&what))?;
    let signature = signature.get(1..).ok_or_else(|| bad("signature bits"))?;
    facts.signature_valid = signed_by_issuer(tbs_raw, algorithm, signature, issuer, &certs);
    Ok(())
}

/// The SingleResponse for the leaf's serial: status and validity window.
fn read_single_response(tbs_raw: &[u8], leaf: &[u8], facts: &mut StapleFacts) -> Result<(), String> {
    use x509_parser::prelude::*;
    let serial = X509Certificate::from_der(leaf)
        .map(|(_, cert)| cert.raw_serial().to_vec())
        .map_err(|_| "leaf".to_string())?;
    let mut tbs = Der::new(Der::new(tbs_raw).expect(0x30).ok_or("tbs")?);
    let _version = tbs.expect(0xa0);
    let _responder = tbs.next().ok_or("responderID")?;
    let _produced = tbs.expect(0x18).ok_or("producedAt")?;
    let mut responses = Der::new(tbs.expect(0x30).ok_or("responses")?);
    while let Some(single) = responses.expect(0x30) {
        let mut single = Der::new(single);
        let mut cert_id = Der::new(single.expect(0x30).ok_or("certID")?);
        let _hash = cert_id.expect(0x30);
        let _name_hash = cert_id.expect(0x04);
        let _key_hash = cert_id.expect(0x04);
        let this_serial = cert_id.expect(0x02).ok_or("serial")?;
        let (tag, status) = single.next().ok_or("certStatus")?;
        let this_update = single.expect(0x18).ok_or("thisUpdate")?;
        let next_update = single.expect(0xa0).and_then(|inner| Der::new(inner).expect(0x18));
        if strip_zeros(this_serial) != strip_zeros(&serial) {
            continue;
        }
        facts.status = Some(
            match tag & 0x1f {
                0 => "good",
                1 => "revoked",
                _ => "unknown",
            }
            .to_string(),
        );
        if tag & 0x1f == 1 {
            facts.revoked_at = Der::new(status).expect(0x18).and_then(generalized_time);
        }
        facts.this_update = generalized_time(this_update);
        facts.next_update = next_update.and_then(generalized_time);
        return Ok(());
    }
    Ok(())
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().take_while(|b| **b == 0).count();
    &bytes[start.min(bytes.len().saturating_sub(1))..]
}

/// An OCSP request (RFC 6960 §4.1) for `leaf` issued by `issuer`: one CertID with SHA-1 hashes
/// of the issuer's name and key, as every responder accepts.
pub fn request(leaf: &[u8], issuer: &[u8]) -> Option<Vec<u8>> {
    use x509_parser::prelude::*;
    let (_, leaf) = X509Certificate::from_der(leaf).ok()?;
    let (_, issuer) = X509Certificate::from_der(issuer).ok()?;
    let sha1 = |bytes: &[u8]| {
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
            .as_ref()
            .to_vec()
    };
    let algorithm = tlv(
        0x30,
        &[&[0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a][..], &[0x05, 0x00]].concat(),
    );
    let name_hash = tlv(0x04, &sha1(issuer.subject().as_raw()));
    let key_hash = tlv(0x04, &sha1(&issuer.public_key().subject_public_key.data));
    let serial = tlv(0x02, leaf.raw_serial());
    let cert_id = tlv(0x30, &[algorithm, name_hash, key_hash, serial].concat());
    let request = tlv(0x30, &cert_id);
    let list = tlv(0x30, &request);
    let tbs = tlv(0x30, &list);
    Some(tlv(0x30, &tbs))
}

/// One DER TLV.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = contents.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes: Vec<u8> = length.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// `YYYYMMDDHHMMSSZ` as Unix seconds.
fn generalized_time(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let digits = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(8..10)?, digits(10..12)?, digits(12..14)?);
    let days = crate::model::calendar::days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Whether `signature` over `tbs` verifies with the issuer's key, or with a responder
/// certificate in `certs` that the issuer signed (RFC 6960 §4.2.2.2).
fn signed_by_issuer(tbs: &[u8], algorithm: &[u8], signature: &[u8], issuer: Option<&[u8]>, certs: &[Vec<u8>]) -> bool {
    use x509_parser::prelude::*;
    let Some(issuer) = issuer.and_then(|der| X509Certificate::from_der(der).ok().map(|(_, c)| c)) else {
        return false;
    };
    let Some(scheme) = scheme_of(algorithm) else {
        return false;
    };
    let verify = |key: &[u8]| {
        ring::signature::UnparsedPublicKey::new(scheme, key)
            .verify(tbs, signature)
            .is_ok()
    };
    if verify(&issuer.public_key().subject_public_key.data) {
        return true;
    }
    certs.iter().any(|der| {
        X509Certificate::from_der(der).is_ok_and(|(_, responder)| {
            responder.verify_signature(Some(issuer.public_key())).is_ok()
                && verify(&responder.public_key().subject_public_key.data)
        })
    })
}

/// The ring scheme of a signature AlgorithmIdentifier's contents.
fn scheme_of(algorithm: &[u8]) -> Option<&'static dyn ring::signature::VerificationAlgorithm> {
    let oid = Der::new(algorithm).expect(0x06)?;
    Some(match oid {
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b] => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c] => &ring::signature::RSA_PKCS1_2048_8192_SHA384,
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d] => &ring::signature::RSA_PKCS1_2048_8192_SHA512,
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02] => &ring::signature::ECDSA_P256_SHA256_ASN1,
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03] => &ring::signature::ECDSA_P384_SHA384_ASN1,
        _ => return None,
    })
}

/// A cursor over DER TLVs.
#[derive(Default)]
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Der<'a> {
        Der(bytes)
    }

    /// The next TLV: its tag and contents, and the whole encoding.
    fn tlv(&self) -> Option<(u8, &'a [u8], usize)> {
        let tag = *self.0.first()?;
        let first = *self.0.get(1)?;
        let (length, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return None;
            }
            let mut length = 0usize;
            for byte in self.0.get(2..2 + count)? {
                length = length << 8 | usize::from(*byte);
            }
            (length, 2 + count)
        };
        let contents = self.0.get(header..header.checked_add(length)?)?;
        Some((tag, contents, header + length))
    }

    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (tag, contents, size) = self.tlv()?;
        self.0 = &self.0[size..];
        Some((tag, contents))
    }

    /// The next TLV's contents when its tag is `tag`; the cursor stays otherwise.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.tlv()? {
            (found, contents, size) if found == tag => {
                self.0 = &self.0[size..];
                Some(contents)
            }
            _ => None,
        }
    }

    /// The next TLV's whole encoding when its tag is `tag`.
    fn raw(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.tlv()? {
            (found, _, size) if found == tag => {
                let whole = &self.0[..size];
                self.0 = &self.0[size..];
                Some(whole)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_problem_not_a_panic() {
        for bytes in [
            &b""[..],
            &[0x30, 0x82, 0xff],
            &[0x30, 0x03, 0x0a, 0x01, 0x01],
            &[0x30; 64],
        ] {
            let facts = check(bytes, b"", None);
            assert!(facts.problem.is_some(), "{bytes:?}");
            assert!(!facts.signature_valid);
        }
        assert_eq!(generalized_time(b"20261207120000Z"), Some(1_796_644_800));
    }
}
