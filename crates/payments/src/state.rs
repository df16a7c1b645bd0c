//! What every handler shares: storage, the chaos settings, and what identifies callers.

use std::sync::Arc;

use axum::extract::FromRef;
use platform::Verifier;
use platform::auth::InternalToken;
use tokio_util::sync::CancellationToken;

use crate::chaos::Chaos;
use crate::domain::ChaosSettings;
use crate::storage::Storage;

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub storage: Storage,
    /// This instance's bank behaviour, changed at runtime by admins.
    pub chaos: Arc<Chaos>,
    /// Checks admins' access tokens, for [`platform::AuthUser`] on the chaos routes.
    pub verifier: Arc<Verifier>,
    /// The secret other services prove themselves with, for [`platform::auth::InternalCaller`].
    pub internal_token: InternalToken,
    /// Fires when the process stops, releasing calls held by a `hang` outage.
    pub shutdown: CancellationToken,
}

impl AppState {
    pub fn new(storage: Storage, chaos: ChaosSettings, wiring: &platform::Wiring) -> Self {
        Self {
            storage,
            chaos: Arc::new(Chaos::new(chaos)),
            verifier: wiring.verifier.clone(),
            internal_token: wiring.internal_token.clone(),
            shutdown: wiring.shutdown.clone(),
        }
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
