//! What every service's integration tests need and nothing ships: a signing key that the
//! services' verifiers trust, tokens minted for any user and role, and the [`Wiring`] a
//! service gets from the binary (in-process bus, verifier, internal token).
//!
//! Tests that need the real auth service start it; these keys are for testing a service alone.

use std::sync::{Arc, Mutex};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{ACCESS_TOKEN_TYPE, InternalToken, Jwk, JwkSet, KeySource};
use platform::events::memory::MemoryBus;
use platform::{Claims, Role, ServiceUrls, Verifier, Wiring};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Issuer the test verifier expects.
pub const ISSUER: &str = platform::auth::DEFAULT_ISSUER;

/// An Ed25519 signing key with its JWKS, for minting access tokens.
#[derive(Clone)]
pub struct TestKeys {
    kid: String,
    pkcs8: Arc<Vec<u8>>,
    set: Arc<Mutex<JwkSet>>,
}

impl std::fmt::Debug for TestKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKeys").field("kid", &self.kid).finish()
    }
}

impl Default for TestKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl TestKeys {
    pub fn new() -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("key generation works");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("fresh key parses");
        let kid = Uuid::now_v7().to_string();
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Self {
            set: Arc::new(Mutex::new(JwkSet {
                keys: vec![Jwk::ed25519(&kid, x)],
            })),
            kid,
            pkcs8: Arc::new(pkcs8.as_ref().to_vec()),
        }
    }

    /// A verifier trusting these keys.
    pub fn verifier(&self) -> Arc<Verifier> {
        Arc::new(Verifier::new(ISSUER, self.clone()))
    }

    /// Signs arbitrary claims (expired ones, wrong issuers...).
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8))
            .expect("signing works")
    }

    /// A valid 15-minute access token.
    pub fn token(&self, user_id: Uuid, username: &str, role: Role) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.sign(&Claims {
            iss: ISSUER.to_owned(),
            sub: user_id,
            name: username.to_owned(),
            role,
            iat: now,
            exp: now + 900,
            jti: Uuid::now_v7(),
        })
    }
}

impl KeySource for TestKeys {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<JwkSet>> {
        let set = self.set.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Box::pin(async move { Ok(set) })
    }
}

/// A test user with a token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub token: String,
}

impl TestKeys {
    pub fn user(&self, username: &str) -> TestUser {
        self.user_with_role(username, Role::Customer)
    }

    pub fn admin(&self) -> TestUser {
        self.user_with_role("admin", Role::Admin)
    }

    pub fn user_with_role(&self, username: &str, role: Role) -> TestUser {
        let id = Uuid::now_v7();
        TestUser {
            id,
            username: username.to_owned(),
            role,
            token: self.token(id, username, role),
        }
    }
}

/// The wiring a service gets in embedded mode: a fresh in-process bus, a verifier trusting
/// `keys`, a random internal token and its own shutdown token. Set `urls` as needed.
pub fn wiring(keys: &TestKeys) -> (Wiring, MemoryBus) {
    let bus = MemoryBus::new();
    let wiring = Wiring {
        bus: Arc::new(bus.clone()),
        verifier: keys.verifier(),
        urls: ServiceUrls::default(),
        internal_token: InternalToken::random(),
        shutdown: CancellationToken::new(),
    };
    (wiring, bus)
}
