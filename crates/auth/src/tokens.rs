//! The two kinds of tokens auth hands out, and how each is made.
//!
//! Access tokens are short-lived signed JWTs any service can check on its own (see [`crate::keys`]
//! for the signing). Refresh tokens are 256 random bits with no meaning of their own: only auth
//! can use them, and it keeps nothing but their SHA-256, so a leak of the database does not leak
//! usable sessions.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform::Claims;
use uuid::Uuid;

use crate::domain::ClientId;
use crate::storage::Account;

/// Refresh tokens carry 256 bits, which is 43 base64url characters.
const REFRESH_TOKEN_BYTES: usize = 32;
const REFRESH_TOKEN_CHARS: usize = 43;

pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of a new access token for `account`, issued to `client` (the RFC 9068 profile:
/// `iss sub aud exp iat jti client_id`, plus the shop's `name` and `role`).
pub fn access_claims(issuer: &str, account: &Account, client: &ClientId, ttl: Duration) -> Claims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Claims {
        iss: issuer.to_owned(),
        sub: account.id,
        name: account.username.clone(),
        role: account.role,
        iat: now,
        exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
        jti: Uuid::now_v7(),
        aud: Some(platform::auth::AUDIENCE.to_owned()),
        client_id: Some(client.as_str().to_owned()),
    }
}

/// A freshly minted refresh token: the value for the client, the hash for storage.
pub struct NewRefreshToken {
    pub token: String,
    pub hash: String,
}

impl NewRefreshToken {
    pub fn generate() -> anyhow::Result<Self> {
        let mut bytes = [0u8; REFRESH_TOKEN_BYTES];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        let token = base64url(&bytes);
        let hash = hash_refresh_token(&token);
        Ok(Self { token, hash })
    }
}

impl std::fmt::Debug for NewRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewRefreshToken(<redacted>)")
    }
}

/// The storage key of a refresh token: hex SHA-256. The token has 256 bits of entropy, so a
/// plain (unsalted, fast) hash is enough to make the stored value useless to a thief.
pub fn hash_refresh_token(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether a string could be a refresh token at all; anything else is refused without a lookup.
pub fn looks_like_refresh_token(token: &str) -> bool {
    token.len() == REFRESH_TOKEN_CHARS
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_256_bit_base64url_and_distinct() {
        let first = NewRefreshToken::generate().unwrap();
        let second = NewRefreshToken::generate().unwrap();
        assert!(looks_like_refresh_token(&first.token));
        assert_ne!(first.token, second.token);
        assert_eq!(first.hash, hash_refresh_token(&first.token));
        assert_eq!(first.hash.len(), 64);
        assert!(!first.hash.contains(&first.token));
    }

    #[test]
    fn odd_strings_are_not_refresh_tokens() {
        assert!(!looks_like_refresh_token(""));
        assert!(!looks_like_refresh_token("a.b.c"));
        assert!(!looks_like_refresh_token(&"+".repeat(43)));
    }
}
