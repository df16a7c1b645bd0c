//! The payments service: the bank of seed 004, simulated, for orders to charge and refund.
//!
//! Orders charges an order with `POST /payments` under an idempotency key and refunds with
//! `POST /payments/{id}/refund`; both are internal routes (the internal token, else 404). The
//! bank approves or declines at random, at a configurable decline rate (the seed's 0.5), and can
//! be made slow or down on demand (the chaos settings, in [`chaos`], set from configuration and
//! changed at runtime by an admin through `/payments/chaos`), so the resilience of the rest of the
//! system (timeouts, circuit breaker, saga) can be shown and tested. Readiness follows the
//! database only: a simulated outage is a behaviour of the payment routes, not of the instance.
//!
//! The HTTP surface is in [`routes`], the input types in [`domain`], the database in
//! [`storage`].

pub mod chaos;
pub mod config;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod storage;

use axum::Router;
use platform::http::{Readiness, service_app};

pub use config::Config;
pub use error::PaymentsError;
pub use state::AppState;

use storage::Storage;

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router(&state).with_state(state)
}

/// Opens the database (running migrations) and returns the complete service, ready to serve,
/// with the chaos settings of `config`. A PostgreSQL database that cannot be reached yet does
/// not stop the start: the service answers 503 until it can (see
/// [`platform::db::Database::start`]).
pub async fn app(
    config: &Config,
    env: &platform::ServiceEnv,
    wiring: &platform::Wiring,
) -> anyhow::Result<Router> {
    let database = platform::db::Database::start_for_service(
        "payments",
        config.database_url.as_deref(),
        &env.data_dir,
        config.db_pool_size,
        storage::MIGRATIONS,
        wiring.shutdown.clone(),
    )
    .await?;
    let storage = Storage::new(database.pool().clone());
    let state = AppState::new(storage, config.chaos(), wiring);
    let readiness = Readiness::new()
        .opened_database(database.clone())
        .jwks(wiring.verifier.clone());
    Ok(service_app(
        "payments",
        database.guard(router(state)),
        readiness,
    ))
}
