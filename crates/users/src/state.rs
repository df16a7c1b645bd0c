//! What every handler shares: storage, the token verifier, the internal token and the outbox
//! relay.

use std::sync::Arc;

use axum::extract::FromRef;
use platform::Verifier;
use platform::auth::InternalToken;
use platform::events::outbox::Relay;

use crate::storage::Storage;

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub storage: Storage,
    /// Checks access tokens (JWKS from auth), for [`platform::AuthUser`].
    pub verifier: Arc<Verifier>,
    /// What other services present on internal routes, for [`platform::auth::InternalCaller`].
    pub internal_token: InternalToken,
    /// Publishes the outbox; woken after each deletion so `user.deleted` leaves at once
    /// instead of at the next poll.
    pub relay: Relay,
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
