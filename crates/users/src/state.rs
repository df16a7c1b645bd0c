//! What every handler shares: storage, the token verifier and the internal token.

use std::sync::Arc;

use axum::extract::FromRef;
use platform::Verifier;
use platform::auth::InternalToken;

use crate::storage::Storage;

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub storage: Storage,
    /// Checks access tokens (JWKS from auth), for [`platform::AuthUser`].
    pub verifier: Arc<Verifier>,
    /// What other services present on internal routes, for [`platform::auth::InternalCaller`].
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
