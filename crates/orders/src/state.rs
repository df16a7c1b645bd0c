//! What every handler and background task shares: storage, the upstream clients, the outbox
//! relay to wake after a commit, the token verifier and the timing settings.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use platform::Verifier;
use platform::events::outbox::Relay;

use crate::config::Config;
use crate::storage::Storage;
use crate::upstream::Upstreams;

/// Timing settings, fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// An order still awaiting payment after this long is cancelled.
    pub payment_timeout: Duration,
    /// How often the sweep runs.
    pub sweep_interval: Duration,
    /// How long a repeated `Idempotency-Key` waits for the first request's answer before
    /// answering 409 `request_in_progress`: the longest the first request can take (a
    /// reservation and a charge, each within its timeout) plus a margin.
    pub idempotency_wait: Duration,
    /// A claimed key with no answer after this long belongs to a request that died (a crash);
    /// the key may then be taken over.
    pub stale_claim: Duration,
}

impl Settings {
    pub fn new(config: &Config) -> Self {
        let payments = Duration::from_millis(config.payments_timeout_ms);
        let upstream = Duration::from_millis(config.upstream_timeout_ms);
        // Users (the address), products (reserve, confirm) and payments (charge), each within
        // its timeout, plus the database work.
        let idempotency_wait = payments + upstream * 3 + Duration::from_secs(1);
        Self {
            payment_timeout: config.payment_timeout(),
            sweep_interval: config.sweep_interval(),
            idempotency_wait,
            stale_claim: (idempotency_wait * 2).max(Duration::from_secs(60)),
        }
    }
}

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub storage: Storage,
    pub upstreams: Arc<Upstreams>,
    /// Publishes the outbox; woken after every commit that wrote an event.
    pub relay: Relay,
    pub verifier: Arc<Verifier>,
    pub settings: Arc<Settings>,
}

impl FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}
