//! What every handler shares: storage, the token verifier and the outbox relay.

use std::sync::Arc;

use axum::extract::FromRef;
use platform::Verifier;
use platform::events::outbox::Relay;

use crate::storage::Storage;

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The agenda database (a pool handle).
    pub storage: Storage,
    /// Checks access tokens, for [`platform::AuthUser`].
    pub verifier: Arc<Verifier>,
    /// Publishes the outbox; woken after each change so its announcement leaves at once
    /// instead of at the next poll.
    pub relay: Relay,
}

impl FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}
