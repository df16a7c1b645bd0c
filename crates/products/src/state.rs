//! What every handler shares: storage, the token verifier for users, and the internal token
//! for calls from other services.

use std::sync::Arc;

use axum::extract::FromRef;
use platform::Verifier;
use platform::auth::InternalToken;

use crate::storage::Storage;

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The products database (a pool handle).
    pub storage: Storage,
    /// Checks users' access tokens, for [`platform::AuthUser`].
    pub verifier: Arc<Verifier>,
    /// The secret other services present, for [`platform::auth::InternalCaller`].
    pub internal_token: InternalToken,
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
