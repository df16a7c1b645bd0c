//! What every handler shares: storage, the password hasher, the key ring, the token verifier
//! and the settings that shape tokens.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use platform::Verifier;
use platform::auth::InternalToken;
use platform::events::outbox::Relay;

use crate::config::Config;
use crate::deletion::LocalRevocations;
use crate::keys::{KeyRing, LocalKeys};
use crate::passwords::Passwords;
use crate::storage::Storage;

/// Token settings, fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    /// Where clients reach auth, without a trailing slash; see [`Config::public_url`].
    pub public_url: Option<String>,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Registrations per client address and hour; 0: no limit.
    pub registrations_per_hour: u32,
}

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub storage: Storage,
    pub passwords: Arc<Passwords>,
    pub keys: Arc<KeyRing>,
    /// Checks access tokens against this service's own key store and list of disabled
    /// accounts, for [`platform::AuthUser`].
    pub verifier: Arc<Verifier>,
    pub settings: Arc<Settings>,
    /// Publishes the outbox; woken after each account creation so `user.registered` leaves at
    /// once instead of at the next poll.
    pub relay: Relay,
    /// What other services present on internal routes, for [`platform::auth::InternalCaller`].
    pub internal_token: InternalToken,
}

impl AppState {
    /// Builds the state over an opened database and its running outbox relay; computes the
    /// dummy password hash, so it takes as long as one hash. The verifier's list of disabled
    /// accounts is polled by whoever runs the service ([`crate::app`]).
    pub async fn new(
        config: &Config,
        storage: Storage,
        relay: Relay,
        internal_token: InternalToken,
    ) -> anyhow::Result<Self> {
        let passwords = Arc::new(Passwords::new(config.hash_concurrency()).await?);
        let keys = Arc::new(KeyRing::new(
            storage.clone(),
            config.access_token_ttl(),
            config.signing_key_reload(),
        ));
        // The key source is a local query, not a request to auth: no need to rate-limit
        // refetches, and a key rotated by another process must verify at once.
        let verifier = Arc::new(
            Verifier::new(config.issuer.clone(), LocalKeys(keys.clone()))
                .with_refetch_interval(Duration::ZERO)
                .with_revocations(LocalRevocations {
                    storage: storage.clone(),
                    access_ttl: config.access_token_ttl(),
                }),
        );
        Ok(Self {
            storage,
            passwords,
            keys,
            verifier,
            settings: Arc::new(Settings {
                issuer: config.issuer.clone(),
                public_url: config
                    .public_url
                    .as_deref()
                    .map(|url| url.trim_end_matches('/').to_owned()),
                access_ttl: config.access_token_ttl(),
                refresh_ttl: config.refresh_token_ttl(),
                registrations_per_hour: config.registrations_per_hour,
            }),
            relay,
            internal_token,
        })
    }
}

impl FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

impl FromRef<AppState> for InternalToken {
    fn from_ref(state: &AppState) -> Self {
        state.internal_token.clone()
    }
}
