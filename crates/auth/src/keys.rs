//! Ed25519 signing keys: creation, rotation, signing, and the published JWKS.
//!
//! Keys live in auth's database so every auth process signs with the same key and publishes the
//! same set. The first start creates one; a rotation (`microshop auth rotate-key`, possibly from
//! another process) adds a newer key and marks the old one superseded. Each process re-reads the
//! signing key at most every `signing_key_reload` seconds, so a rotation reaches every signer
//! within that delay. The JWKS and this process's own verifier always read the database, so a
//! token signed by any auth process with a current key verifies at once in every auth process
//! (other services fetch the JWKS again when they meet an unknown `kid`).
//!
//! A superseded key stays published until the last token it can have signed has expired:
//! superseded_at + reload delay (a slow process may still sign with it) + access-token TTL + a
//! margin for clock skew between machines. Rotation deletes keys past that point.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::future::BoxFuture;
use platform::Claims;
use platform::auth::{ACCESS_TOKEN_TYPE, Jwk, JwkSet, KeySource};
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::storage::{Storage, StoredKey, millis, now_millis};
use crate::tokens::base64url;

/// Extra time a superseded key stays published, for clocks that disagree a little and for the
/// verifiers' own leeway on `exp`.
const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(10);

struct Loaded {
    kid: String,
    key: Arc<Ed25519KeyPair>,
    loaded_at: Instant,
}

/// The signing side of the key store, shared by every request of one process.
pub struct KeyRing {
    storage: Storage,
    reload: Duration,
    retention: Duration,
    current: Mutex<Option<Loaded>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("reload", &self.reload)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

/// How long a superseded key must stay published.
pub fn retention(access_ttl: Duration, reload: Duration) -> Duration {
    access_ttl + reload + CLOCK_SKEW_MARGIN
}

impl KeyRing {
    pub fn new(storage: Storage, access_ttl: Duration, reload: Duration) -> Self {
        Self {
            storage,
            reload,
            retention: retention(access_ttl, reload),
            current: Mutex::new(None),
        }
    }

    /// Creates the first signing key if there is none yet.
    pub async fn ensure_signing_key(&self) -> anyhow::Result<()> {
        if self.storage.signing_key().await?.is_some() {
            return Ok(());
        }
        let key = generate()?;
        if self.storage.add_signing_key(&key, false).await? {
            tracing::info!(kid = %key.kid, "created the first signing key");
        }
        Ok(())
    }

    /// Signs an access token with the current key.
    pub async fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let (kid, key) = self.current_key().await?;
        platform::jws::sign(&key, &kid, ACCESS_TOKEN_TYPE, claims)
            .context("signing an access token failed")
    }

    /// The public keys verifiers must know: current and recently superseded.
    pub async fn jwks(&self) -> anyhow::Result<JwkSet> {
        let cutoff = now_millis().saturating_sub(millis(self.retention));
        let keys = self.storage.published_keys(cutoff).await?;
        Ok(JwkSet {
            keys: keys
                .into_iter()
                .map(|key| Jwk::ed25519(key.kid, key.public_key))
                .collect(),
        })
    }

    async fn current_key(&self) -> anyhow::Result<(String, Arc<Ed25519KeyPair>)> {
        {
            let current = self
                .current
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if let Some(loaded) = current.as_ref()
                && loaded.loaded_at.elapsed() < self.reload
            {
                return Ok((loaded.kid.clone(), loaded.key.clone()));
            }
        }
        let stored = self
            .storage
            .signing_key()
            .await?
            .context("there is no signing key in storage")?;
        let der = STANDARD
            .decode(&stored.private_key)
            .context("a stored signing key is not base64")?;
        // Lenient on the PKCS#8 version: a key stored by an earlier build may be v1.
        let key = Arc::new(
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .map_err(|error| anyhow::anyhow!("a stored signing key is unreadable: {error}"))?,
        );
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *current = Some(Loaded {
            kid: stored.kid.clone(),
            key: key.clone(),
            loaded_at: Instant::now(),
        });
        Ok((stored.kid, key))
    }
}

/// Adds a new signing key, supersedes the current one and deletes keys retired long enough;
/// returns the new key's id.
pub async fn rotate(storage: &Storage, retention: Duration) -> anyhow::Result<String> {
    let key = generate()?;
    storage.add_signing_key(&key, true).await?;
    let deleted = storage
        .delete_retired_keys(key.created_at.saturating_sub(millis(retention)))
        .await?;
    tracing::info!(kid = %key.kid, deleted, "rotated the signing key");
    Ok(key.kid)
}

/// A new Ed25519 key pair, its id being the RFC 7638 thumbprint of the public key.
fn generate() -> anyhow::Result<StoredKey> {
    let random = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&random)
        .map_err(|_| anyhow::anyhow!("generating an Ed25519 key failed"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|error| anyhow::anyhow!("a generated Ed25519 key is unreadable: {error}"))?;
    let x = base64url(pair.public_key().as_ref());
    Ok(StoredKey {
        kid: thumbprint(&x),
        private_key: STANDARD.encode(pkcs8.as_ref()),
        public_key: x,
        created_at: now_millis(),
        superseded_at: None,
    })
}

/// RFC 7638 JWK thumbprint of an Ed25519 public key (RFC 8037 §2 lists its members).
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    base64url(digest.as_ref())
}

/// The key store as a [`KeySource`] for this process's own [`platform::Verifier`]: read from the
/// database directly, no HTTP round trip to itself.
#[derive(Debug, Clone)]
pub struct LocalKeys(pub Arc<KeyRing>);

impl KeySource for LocalKeys {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<JwkSet>> {
        Box::pin(self.0.jwks())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_match_rfc_8037_appendix_a3() {
        // RFC 8037 A.3: the thumbprint of the A.2 public key.
        assert_eq!(
            thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn generated_keys_are_ed25519_pkcs8_with_a_32_byte_public_key() {
        let key = generate().unwrap();
        let der = STANDARD.decode(&key.private_key).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(&der).unwrap();
        assert_eq!(pair.public_key().as_ref().len(), 32);
        assert_eq!(key.public_key.len(), 43);
        assert_eq!(key.kid, thumbprint(&key.public_key));
    }
}
