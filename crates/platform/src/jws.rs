//! Compact JWS signed with EdDSA over Ed25519 (RFC 7515 §3.1, RFC 8037 §3.1): the one token
//! format microshop issues and accepts, on ring, the crypto library TLS already brings.
//!
//! Why not a JWT crate: jsonwebtoken 10 has no ring backend, and its RustCrypto one compiles
//! RSA, P-256, P-384 and a second Ed25519 into the binary for the single algorithm used here
//! (about a minute of CPU in a clean release build on two cores). Splitting, signing and checking
//! an EdDSA JWS is this file; what the claims must say (issuer, expiry, audience) stays in
//! [`crate::auth`]. The tests check both directions against jsonwebtoken, an independent
//! implementation, so the format cannot drift from the standard.
//!
//! Parsing is strict where leniency has bitten JWT libraries: exactly three segments, base64url
//! without padding, a JSON object header, `alg` compared before any key is touched, and a token
//! with a `crit` header refused (it names extensions this code does not understand, RFC 7515
//! §4.1.11).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The `alg` of every token: EdDSA (RFC 8037 §3.1), with Ed25519 keys.
pub const ALGORITHM: &str = "EdDSA";

/// The JOSE header of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Extensions a recipient must understand; none are, so its presence refuses the token.
    #[serde(default, skip_serializing)]
    crit: Option<serde_json::Value>,
}

/// Why a compact JWS is not accepted, before its claims are looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("the token is not a compact JWS")]
    Malformed,
    #[error("the token is signed with an algorithm other than EdDSA")]
    WrongAlgorithm,
    #[error("the token's signature does not match its key")]
    BadSignature,
}

/// Signs `claims` as a compact JWS with `key`, naming it `kid` and typing it `typ`.
pub fn sign(
    key: &Ed25519KeyPair,
    kid: &str,
    typ: &str,
    claims: &impl Serialize,
) -> Result<String, serde_json::Error> {
    let header = Header {
        alg: ALGORITHM.to_owned(),
        typ: Some(typ.to_owned()),
        kid: Some(kid.to_owned()),
        crit: None,
    };
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(claims)?, &mut token);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
    Ok(token)
}

/// A compact JWS split and its header read; nothing in it is trusted until [`Unverified::verify`].
#[derive(Debug)]
pub struct Unverified<'a> {
    header: Header,
    signing_input: &'a str,
    payload: &'a str,
    signature: Vec<u8>,
}

/// Splits a compact JWS and reads its header.
pub fn parse(token: &str) -> Result<Unverified<'_>, JwsError> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(JwsError::Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(JwsError::Malformed)?;
    if payload.contains('.') {
        return Err(JwsError::Malformed);
    }
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| JwsError::Malformed)?;
    let header: Header = serde_json::from_slice(&header).map_err(|_| JwsError::Malformed)?;
    if header.crit.is_some() {
        return Err(JwsError::Malformed);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwsError::Malformed)?;
    Ok(Unverified {
        header,
        signing_input,
        payload,
        signature,
    })
}

impl Unverified<'_> {
    /// The header, unauthenticated: only for choosing the key.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Checks the signature with the 32-byte Ed25519 `public_key` and reads the claims.
    pub fn verify<T: DeserializeOwned>(&self, public_key: &[u8]) -> Result<T, JwsError> {
        if self.header.alg != ALGORITHM {
            return Err(JwsError::WrongAlgorithm);
        }
        UnparsedPublicKey::new(&ED25519, public_key)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JwsError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| JwsError::Malformed)?;
        serde_json::from_slice(&payload).map_err(|_| JwsError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair;
    use serde_json::{Value, json};

    fn key() -> (Ed25519KeyPair, Vec<u8>) {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
        (
            Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(),
            pkcs8.as_ref().to_vec(),
        )
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn rfc_8037_appendix_a4_signature_is_reproduced_and_verifies() {
        // RFC 8037 A.1/A.4: the test key, the payload "Example of Ed25519 signing" and the JWS.
        let seed = URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap();
        let public = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        let pair = Ed25519KeyPair::from_seed_and_public_key(&seed, &public).unwrap();
        let expected = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
        let (signing_input, signature) = expected.rsplit_once('.').unwrap();
        assert_eq!(
            b64(pair.sign(signing_input.as_bytes())),
            signature,
            "Ed25519 is deterministic: the RFC's signature comes out"
        );
        let parsed = parse(expected).unwrap();
        assert_eq!(parsed.header().alg, "EdDSA");
        // The payload is text, not JSON: the signature checks, reading claims does not.
        assert_eq!(
            parsed.verify::<Value>(&public).unwrap_err(),
            JwsError::Malformed
        );
        let mut tampered = expected.to_owned();
        tampered.replace_range(30..31, "Z");
        assert_eq!(
            parse(&tampered)
                .unwrap()
                .verify::<Value>(&public)
                .unwrap_err(),
            JwsError::BadSignature
        );
    }

    #[test]
    fn a_signed_token_verifies_with_its_key_and_only_with_it() {
        let (pair, _) = key();
        let (other, _) = key();
        let claims = json!({"sub": "alice", "exp": 1});
        let token = sign(&pair, "k1", "at+jwt", &claims).unwrap();
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.header().kid.as_deref(), Some("k1"));
        assert_eq!(parsed.header().typ.as_deref(), Some("at+jwt"));
        assert_eq!(
            parsed.verify::<Value>(pair.public_key().as_ref()).unwrap(),
            claims
        );
        assert_eq!(
            parsed
                .verify::<Value>(other.public_key().as_ref())
                .unwrap_err(),
            JwsError::BadSignature
        );
        assert_eq!(
            parsed.verify::<Value>(&[0; 31]).unwrap_err(),
            JwsError::BadSignature
        );
    }

    #[test]
    fn tokens_agree_with_jsonwebtoken_both_ways() {
        let (pair, pkcs8) = key();
        let x = b64(pair.public_key().as_ref());
        let claims = json!({"sub": "alice", "exp": 4_000_000_000_i64, "name": "Alice"});

        let ours = sign(&pair, "k1", "at+jwt", &claims).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.required_spec_claims.clear();
        let decoded = jsonwebtoken::decode::<Value>(
            &ours,
            &jsonwebtoken::DecodingKey::from_ed_components(&x).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims, claims);
        assert_eq!(decoded.header.kid.as_deref(), Some("k1"));
        assert_eq!(decoded.header.typ.as_deref(), Some("at+jwt"));

        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some("k2".into());
        let theirs = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ed_der(&pkcs8),
        )
        .unwrap();
        let parsed = parse(&theirs).unwrap();
        assert_eq!(parsed.header().kid.as_deref(), Some("k2"));
        assert_eq!(
            parsed.verify::<Value>(pair.public_key().as_ref()).unwrap(),
            claims
        );
    }

    #[test]
    fn other_algorithms_are_refused_before_any_key_is_used() {
        let (pair, _) = key();
        let token = sign(&pair, "k1", "at+jwt", &json!({})).unwrap();
        let (_, rest) = token.split_once('.').unwrap();
        for alg in ["none", "HS256", "RS256", "ES256", "eddsa"] {
            let forged = format!(
                "{}.{rest}",
                b64(json!({"alg": alg, "kid": "k1"}).to_string())
            );
            assert_eq!(
                parse(&forged)
                    .unwrap()
                    .verify::<Value>(pair.public_key().as_ref())
                    .unwrap_err(),
                JwsError::WrongAlgorithm,
                "{alg}"
            );
        }
    }

    #[test]
    fn malformed_tokens_are_refused_as_malformed() {
        let (pair, _) = key();
        let token = sign(&pair, "k1", "at+jwt", &json!({"a": 1})).unwrap();
        let [header, payload, signature]: [&str; 3] =
            token.split('.').collect::<Vec<_>>().try_into().unwrap();
        let crit = b64(json!({"alg": "EdDSA", "crit": ["exp"], "exp": 1}).to_string());
        for bad in [
            String::new(),
            "abc".to_owned(),
            "abc.def".to_owned(),
            format!("{header}.{payload}.{signature}.extra"),
            format!("{header}.{payload}"),
            format!("{header}=.{payload}.{signature}"),
            format!("{header}.{payload}.{signature}=="),
            format!("{}.{payload}.{signature}", b64("[1,2]")),
            format!("{}.{payload}.{signature}", b64("{\"typ\":\"JWT\"}")),
            format!("{}.{payload}.{signature}", b64("not json")),
            format!("{crit}.{payload}.{signature}"),
            format!("{header}.{payload}.not*base64"),
        ] {
            assert_eq!(parse(&bad).unwrap_err(), JwsError::Malformed, "{bad:?}");
        }
        // A payload that is not base64url, or not JSON, under a valid signature.
        for payload in ["%%%".to_owned(), b64("not json")] {
            let input = format!("{header}.{payload}");
            let token = format!("{input}.{}", b64(pair.sign(input.as_bytes())));
            assert_eq!(
                parse(&token)
                    .unwrap()
                    .verify::<Value>(pair.public_key().as_ref())
                    .unwrap_err(),
                JwsError::Malformed
            );
        }
    }

    #[test]
    fn a_changed_payload_or_header_breaks_the_signature() {
        let (pair, _) = key();
        let token = sign(&pair, "k1", "at+jwt", &json!({"role": "customer"})).unwrap();
        let [header, _, signature]: [&str; 3] =
            token.split('.').collect::<Vec<_>>().try_into().unwrap();
        let escalated = format!("{header}.{}.{signature}", b64(r#"{"role":"admin"}"#));
        let rekeyed = format!(
            "{}.{}.{signature}",
            b64(r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k2"}"#),
            token.split('.').nth(1).unwrap()
        );
        for forged in [escalated, rekeyed] {
            assert_eq!(
                parse(&forged)
                    .unwrap()
                    .verify::<Value>(pair.public_key().as_ref())
                    .unwrap_err(),
                JwsError::BadSignature
            );
        }
    }
}
