//! DKIM key records (RFC 6376 §3.6.1, RFC 8463 for Ed25519): `tag=value` pairs, `k=` the key
//! type (rsa when absent), `p=` the base64 public key (empty: revoked). An RSA key is a DER
//! SubjectPublicKeyInfo whose modulus gives its size. Pure.

use base64::Engine;

/// What a selector's key record holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DkimKey {
    Rsa {
        bits: usize,
    },
    Ed25519,
    /// `p=` is empty: the key was revoked.
    Revoked,
}

/// Parses a key record, or says why it does not parse.
pub fn parse_key(text: &str) -> Result<DkimKey, String> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for (index, part) in text.split(';').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
        let Some((tag, value)) = part.split_once('=') else {
            return Err(format!("\"{part}\" is not a tag=value pair"));
        };
        let tag = tag.trim().to_ascii_lowercase();
        if tag == "v" && (index != 0 || value.trim() != "DKIM1") {
            return Err("v= must come first and be DKIM1".into());
        }
        if tags.iter().any(|(known, _)| *known == tag) {
            return Err(format!("the tag {tag}= appears twice"));
        }
        // Folding white space may sit inside the base64 value.
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        tags.push((tag, value));
    }
    let get = |name: &str| tags.iter().find(|(tag, _)| tag == name).map(|(_, v)| v.as_str());
    let Some(key) = get("p") else {
        return Err("no p= tag (the public key)".into());
    };
    if key.is_empty() {
        return Ok(DkimKey::Revoked);
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|_| "p= is not base64".to_string())?;
    match get("k").map(str::to_ascii_lowercase).as_deref() {
        None | Some("rsa") => rsa_bits(&der).map(|bits| DkimKey::Rsa { bits }),
        Some("ed25519") if der.len() == 32 => Ok(DkimKey::Ed25519),
        Some("ed25519") => Err(format!("an Ed25519 key is 32 bytes, this one {}", der.len())),
        Some(other) => Err(format!("unknown key type k={other}")),
    }
}

/// The modulus size of an RSA SubjectPublicKeyInfo.
fn rsa_bits(der: &[u8]) -> Result<usize, String> {
    use x509_parser::prelude::FromDer;
    use x509_parser::public_key::PublicKey;
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der)
        .map_err(|_| "p= is not a DER SubjectPublicKeyInfo".to_string())?;
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => Ok(rsa.key_size()),
        Ok(_) => Err("k=rsa but p= holds another kind of key".into()),
        Err(_) => Err("p= holds an RSA key that does not parse".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_ed25519_and_malformed_keys() {
        assert_eq!(parse_key("v=DKIM1; k=rsa; p="), Ok(DkimKey::Revoked));
        let ed = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(parse_key(&format!("v=DKIM1; k=ed25519; p={ed}")), Ok(DkimKey::Ed25519));
        assert!(parse_key("v=DKIM1; p=!!!").unwrap_err().contains("base64"));
        assert!(parse_key("k=rsa; v=DKIM1; p=").is_err());
        assert!(parse_key("v=DKIM1; k=rsa").unwrap_err().contains("no p="));
        assert!(parse_key("v=DKIM1; p=AAAA")
            .unwrap_err()
            .contains("SubjectPublicKeyInfo"));
    }
}
