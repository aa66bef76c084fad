//! DNSSEC trust anchors beyond the root's, as a resolver operator writes them: DNSKEY records,
//! DS records (`zone. IN DS 20326 8 2 E06D…`, as unbound's root.key and `ldns-key2ds` give
//! them), or IANA's root-anchors.xml. A DNSKEY is trusted as it is. A DS names a key to find:
//! the zone's DNSKEY set is fetched once, a key whose digest matches a DS must have signed the
//! set (its RRSIG verifies and is current), and then every key of the set is trusted, as
//! unbound and BIND do.

use std::net::SocketAddr;

use hickory_resolver::proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS};
use hickory_resolver::proto::dnssec::{Algorithm, DigestType, TrustAnchors, Verifier};
use hickory_resolver::proto::op::{Edns, Message};
use hickory_resolver::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::time::Instant;

/// What a trust-anchor file holds, parsed once when the prober is set up.
#[derive(Debug, Default)]
pub struct AnchorFile {
    /// Keys trusted as they are, with their zone.
    keys: Vec<(Name, DNSKEY)>,
    /// Digests of keys to find in their zone's DNSKEY set.
    digests: Vec<(Name, DS)>,
}

/// Why a trust-anchor file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AnchorError(pub String);

impl AnchorFile {
    /// Whether every anchor is a key, so no lookup is needed before validating.
    pub fn is_resolved(&self) -> bool {
        self.digests.is_empty()
    }
}

/// Parses a trust-anchor file: IANA's XML, or zone-file lines of DNSKEY and DS records
/// (comments after `;`).
pub fn parse(text: &str) -> Result<AnchorFile, AnchorError> {
    if text.contains("<TrustAnchor") {
        return parse_iana_xml(text, crate::model::clock::unix_now() as i64);
    }
    let mut file = AnchorFile::default();
    let mut dnskey_lines = String::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split(';').next().unwrap_or_default();
        let words: Vec<&str> = code.split_whitespace().collect();
        match words.iter().position(|word| word.eq_ignore_ascii_case("DS")) {
            Some(at) => file.digests.push(parse_ds(&words, at).map_err(|why| {
                AnchorError(format!(
                    "line {}: {why}; expected \"zone. IN DS <key tag> <algorithm> <digest type> <hex digest>\"",
                    number + 1
                ))
            })?),
            None => {
                dnskey_lines.push_str(line);
                dnskey_lines.push('\n');
            }
        }
    }
    if !dnskey_lines.trim().is_empty() {
        use hickory_resolver::proto::serialize::txt::trust_anchor::{Entry, Parser};
        let entries = Parser::new(dnskey_lines.as_str()).parse().map_err(|err| {
            AnchorError(format!(
                "expected DNSKEY records like \"example.vn. IN DNSKEY 257 3 13 …\" or DS records like \"example.vn. IN DS 12345 13 2 …\": {err}"
            ))
        })?;
        for entry in entries {
            let Entry::DNSKEY(record) = entry else { continue };
            file.keys.push((record.name().clone(), record.data().clone()));
        }
    }
    if file.keys.is_empty() && file.digests.is_empty() {
        return Err(AnchorError("no DNSKEY or DS record found".into()));
    }
    Ok(file)
}

/// `owner [ttl] [IN] DS tag algorithm digest-type hex…` with `DS` at index `at`.
fn parse_ds(words: &[&str], at: usize) -> Result<(Name, DS), String> {
    let owner = words.first().filter(|_| at > 0).ok_or("no owner name")?;
    let name = Name::from_ascii(owner).map_err(|err| format!("bad owner name {owner:?}: {err}"))?;
    let field = |offset: usize, what: &str| words.get(at + offset).ok_or_else(|| format!("no {what}"));
    let key_tag: u16 = field(1, "key tag")?
        .parse()
        .map_err(|_| "the key tag is not a number")?;
    let algorithm: u8 = field(2, "algorithm")?
        .parse()
        .map_err(|_| "the algorithm is not a number")?;
    let digest_type: u8 = field(3, "digest type")?
        .parse()
        .map_err(|_| "the digest type is not a number")?;
    let hex: String = words.get(at + 4..).unwrap_or_default().concat();
    let digest = decode_hex(&hex).ok_or("the digest is not hexadecimal")?;
    if digest.is_empty() {
        return Err("no digest".into());
    }
    let ds = DS::new(
        key_tag,
        Algorithm::from_u8(algorithm),
        DigestType::from(digest_type),
        digest,
    );
    Ok((name, ds))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim())
}

/// The value of `name="…"` in an element's opening tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

/// IANA's root-anchors.xml: one DS per `<KeyDigest>` whose validity covers `now`.
fn parse_iana_xml(text: &str, now: i64) -> Result<AnchorFile, AnchorError> {
    let zone = element(text, "Zone").ok_or_else(|| AnchorError("IANA trust anchor without <Zone>".into()))?;
    let name = Name::from_ascii(zone).map_err(|err| AnchorError(format!("bad <Zone> {zone:?}: {err}")))?;
    let mut file = AnchorFile::default();
    let mut rest = text;
    while let Some(at) = rest.find("<KeyDigest") {
        let digest_xml = &rest[at..];
        let end = digest_xml
            .find("</KeyDigest>")
            .ok_or_else(|| AnchorError("unterminated <KeyDigest>".into()))?;
        let (body, after) = (&digest_xml[..end], &digest_xml[end..]);
        rest = after;
        let opening = &body[..body.find('>').unwrap_or(body.len())];
        let in_force = |name: &str, wanted: fn(i64, i64) -> bool| {
            attribute(opening, name)
                .and_then(crate::model::calendar::parse_rfc3339)
                .is_none_or(|when| wanted(when, now))
        };
        if !in_force("validFrom", |from, now| from <= now) || !in_force("validUntil", |until, now| now < until) {
            continue;
        }
        let words = [
            zone,
            "DS",
            element(body, "KeyTag").unwrap_or_default(),
            element(body, "Algorithm").unwrap_or_default(),
            element(body, "DigestType").unwrap_or_default(),
            element(body, "Digest").unwrap_or_default(),
        ];
        let (_, ds) = parse_ds(&words, 1).map_err(|why| AnchorError(format!("<KeyDigest>: {why}")))?;
        file.digests.push((name.clone(), ds));
    }
    if file.digests.is_empty() {
        return Err(AnchorError("no <KeyDigest> in force in the IANA trust anchor".into()));
    }
    Ok(file)
}

/// The file's keys as anchors, when it names no DS (nothing to look up).
pub fn keys_only(file: &AnchorFile) -> Result<TrustAnchors, AnchorError> {
    if !file.is_resolved() {
        return Err(AnchorError("DS anchors need their zone's keys looked up first".into()));
    }
    let mut anchors = TrustAnchors::default();
    for (name, key) in &file.keys {
        anchors.insert_with_name(key.public_key(), name.into());
    }
    Ok(anchors)
}

/// The anchors to validate with: the file's keys, plus every key of each DS-anchored zone's
/// DNSKEY set once a key matching a DS has been shown to sign it. Asks `servers` over TCP.
pub async fn resolve(
    file: &AnchorFile,
    servers: &[SocketAddr],
    deadline: Instant,
) -> Result<TrustAnchors, AnchorError> {
    let mut anchors = TrustAnchors::default();
    for (name, key) in &file.keys {
        anchors.insert_with_name(key.public_key(), name.into());
    }
    let mut zones: Vec<&Name> = file.digests.iter().map(|(name, _)| name).collect();
    zones.dedup();
    for zone in zones {
        let digests: Vec<&DS> = file
            .digests
            .iter()
            .filter(|(name, _)| name == zone)
            .map(|(_, ds)| ds)
            .collect();
        let answer = dnskey_answer(servers, zone, deadline).await?;
        for key in keys_proven_by(zone, &digests, &answer, crate::model::clock::unix_now() as i64)? {
            anchors.insert_with_name(key.public_key(), zone.into());
        }
    }
    Ok(anchors)
}

/// The DNSKEY set of `zone` with its signatures, from the first server that answers.
async fn dnskey_answer(servers: &[SocketAddr], zone: &Name, deadline: Instant) -> Result<Vec<Record>, AnchorError> {
    let mut request = super::nameserver::query_message(zone, RecordType::DNSKEY, true);
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true).set_max_payload(4096);
    request.set_edns(edns);
    let wire = request
        .to_vec()
        .map_err(|err| AnchorError(format!("cannot encode the DNSKEY query: {err}")))?;
    let mut last = format!("no resolver to ask for the DNSKEY set of {zone}");
    for server in servers {
        match tokio::time::timeout_at(deadline, super::nameserver::tcp_exchange(*server, &wire)).await {
            Err(_) => {
                return Err(AnchorError(format!(
                    "timeout asking {server} for the DNSKEY set of {zone}"
                )))
            }
            Ok(Err(err)) => last = format!("{server}: {err}"),
            Ok(Ok(bytes)) => match Message::from_vec(&bytes) {
                Ok(message) if message.metadata.id == request.metadata.id => return Ok(message.answers),
                _ => last = format!("{server}: malformed answer"),
            },
        }
    }
    Err(AnchorError(last))
}

/// The keys of `zone`'s DNSKEY set in `answer`, when a key matching one of `digests` signed the
/// set with a signature current at `now`.
fn keys_proven_by(zone: &Name, digests: &[&DS], answer: &[Record], now: i64) -> Result<Vec<DNSKEY>, AnchorError> {
    let keys: Vec<&Record> = answer
        .iter()
        .filter(|record| record.record_type() == RecordType::DNSKEY && record.name == *zone)
        .collect();
    let dnskey = |record: &Record| match &record.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(key)) => Some(key.clone()),
        _ => None,
    };
    let matched: Vec<DNSKEY> = keys
        .iter()
        .filter_map(|record| dnskey(record))
        .filter(|key| {
            let tag = key.calculate_key_tag().ok();
            digests
                .iter()
                .any(|ds| Some(ds.key_tag()) == tag && ds.covers(zone, key).unwrap_or(false))
        })
        .collect();
    if matched.is_empty() {
        return Err(AnchorError(format!(
            "no key in the DNSKEY set of {zone} ({} key(s)) matches the trust anchor's DS",
            keys.len()
        )));
    }
    let signed = answer.iter().any(|record| {
        let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &record.data else {
            return false;
        };
        let input = sig.input();
        let current = i64::from(input.sig_inception.get()) <= now && now <= i64::from(input.sig_expiration.get());
        input.type_covered == RecordType::DNSKEY
            && current
            && matched.iter().any(|key| {
                key.calculate_key_tag().ok() == Some(input.key_tag)
                    && key.verify_rrsig(zone, DNSClass::IN, sig, keys.iter().copied()).is_ok()
            })
    });
    if !signed {
        return Err(AnchorError(format!(
            "the DNSKEY set of {zone} is not signed by the key its DS names (or the signature has expired)"
        )));
    }
    Ok(keys.iter().filter_map(|record| dnskey(record)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_lines_and_dnskey_lines_are_read() {
        let text = "; root.key\n. 86400 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\nlab.vn. IN DS 1 13 2 ab cd\n";
        let file = parse(text).expect("parses");
        assert_eq!(file.digests.len(), 2);
        assert_eq!(file.digests[0].1.key_tag(), 20326);
        assert_eq!(file.digests[1].1.digest(), &[0xab, 0xcd]);
        assert!(!file.is_resolved());
        let err = parse("lab.vn. IN DS 1 13 2 zz").expect_err("bad hex");
        assert!(err.0.contains("line 1") && err.0.contains("not hexadecimal"), "{err}");
        assert!(parse("; nothing\n").is_err());
    }

    #[test]
    fn iana_root_anchors_xml_keeps_the_digests_in_force() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<TrustAnchor id="380DC50D-484E-40D0-A3AE-68F2B18F61C7" source="http://data.iana.org/root-anchors/root-anchors.xml">
<Zone>.</Zone>
<KeyDigest id="Kjqmt7v" validFrom="2010-07-15T00:00:00+00:00" validUntil="2019-01-11T00:00:00+00:00">
<KeyTag>19036</KeyTag>
<Algorithm>8</Algorithm>
<DigestType>2</DigestType>
<Digest>49AAC11D7B6F6446702E54A1607371607A1A41855200FD2CE1CDDE32F24E8FB5</Digest>
</KeyDigest>
<KeyDigest id="Klajeyz" validFrom="2017-02-02T00:00:00+00:00">
<KeyTag>20326</KeyTag>
<Algorithm>8</Algorithm>
<DigestType>2</DigestType>
<Digest>E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D</Digest>
</KeyDigest>
</TrustAnchor>"#;
        let file = parse_iana_xml(xml, 1_800_000_000).expect("parses");
        assert_eq!(file.digests.len(), 1, "the 2010 key is retired");
        assert_eq!(file.digests[0].1.key_tag(), 20326);
        assert!(file.digests[0].0.is_root());
    }
}
