//! The orders service: orders and their lines, and the saga that pays for them.
//!
//! Placing an order reserves its stock at products (which prices it: a client never sets a
//! price), stores it `awaiting_payment` with its `order.created` event in one transaction, and
//! charges it at payments through a timeout and a circuit breaker; the bank's answer settles it
//! (`paid`, or `payment_failed` with the stock released), and no answer leaves it payable
//! later, until it expires. Cancelling releases the stock and refunds. Every status change
//! emits its event on `order-events` through the transactional outbox. The flows are in
//! [`saga`], the HTTP surface in [`routes`], the `Idempotency-Key` protocol in [`idempotency`],
//! the calls to other services in [`upstream`], the
//! input types and life cycle in [`domain`], the database in [`storage`].

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod openapi;
pub mod routes;
pub mod saga;
pub mod state;
pub mod storage;
pub mod upstream;
pub mod views;

use std::sync::Arc;

use axum::Router;
use platform::events::outbox;
use platform::http::{Readiness, service_app};
use platform::{ServiceEnv, Wiring};

pub use config::Config;
pub use error::OrdersError;
pub use state::AppState;

use state::Settings;
use storage::Storage;
use upstream::Upstreams;

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Opens the database (running migrations), starts the outbox relay and the sweep (expiry,
/// owed calls) on `wiring.shutdown`, and returns the complete service, ready to serve. A
/// PostgreSQL database that cannot be reached yet does not stop the start: the service answers
/// 503 until it can (see [`platform::db::Database::start`]).
pub async fn app(config: &Config, env: &ServiceEnv, wiring: &Wiring) -> anyhow::Result<Router> {
    let database = platform::db::Database::start_for_service(
        "orders",
        config.database_url.as_deref(),
        &env.data_dir,
        config.db_pool_size,
        storage::MIGRATIONS,
        wiring.shutdown.clone(),
    )
    .await?;
    let storage = Storage::new(database.pool().clone());
    let relay = outbox::spawn_relay_once_ready(
        "orders",
        database.clone(),
        wiring.bus.clone(),
        wiring.shutdown.clone(),
    );
    let state = AppState {
        storage: storage.clone(),
        upstreams: Arc::new(Upstreams::new(config, wiring)),
        relay,
        verifier: wiring.verifier.clone(),
        settings: Arc::new(Settings::new(config)),
    };
    saga::sweep(state.clone(), wiring.shutdown.clone());
    let readiness = Readiness::new()
        .opened_database(database.clone())
        .jwks(wiring.verifier.clone())
        .bus(wiring.bus.clone());
    Ok(service_app(
        "orders",
        database.guard(router(state)),
        readiness,
    ))
}
