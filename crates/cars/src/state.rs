//! What every handler shares: storage and the token verifier.

use std::sync::Arc;

use axum::extract::FromRef;
use platform::Verifier;

use crate::storage::Storage;

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub storage: Storage,
    /// Checks access tokens (JWKS from auth), for [`platform::AuthUser`].
    pub verifier: Arc<Verifier>,
}

impl FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}
