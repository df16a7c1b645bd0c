//! What every handler shares: storage, the fan-out hub, the token verifier and the stream
//! settings.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use platform::Verifier;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::storage::Storage;
use crate::streams::StreamLimits;

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub storage: Storage,
    pub hub: Arc<Hub>,
    /// Checks access tokens for [`platform::AuthUser`].
    pub verifier: Arc<Verifier>,
    /// Time between keep-alive comments on an idle stream.
    pub keepalive: Duration,
    /// How many streams may be open, per user and in all.
    pub streams: Arc<StreamLimits>,
    /// Fires when the process stops: open streams end, so shutdown is not held up by them.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}
