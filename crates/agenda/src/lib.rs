//! The agenda service: the seed's "Service Events", events (happenings) people organize.
//!
//! Anyone may browse public events, soonest first, without a token; a signed-in user also sees
//! their own private events, and an admin sees everything. Any signed-in user may organize an
//! event; only its organizer or an admin may change or cancel it. Every change is announced on
//! `agenda-events` (`event.created`, `event.updated`, `event.cancelled`) through the
//! transactional outbox, and the notifier turns those into lines and notifications.
//!
//! The crate is named `agenda` so that "events" stays free for the bus's messages; its routes
//! keep the seed's `/events`. The HTTP surface is in [`routes`], the input types and access
//! rules in [`domain`], the database in [`storage`], what it publishes in [`announcements`].

pub mod announcements;
pub mod config;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod storage;
pub mod views;

use axum::Router;
use platform::db::Database;
use platform::events::outbox;
use platform::http::{Readiness, service_app};
use platform::{ServiceEnv, Wiring};

pub use config::Config;
pub use error::AgendaError;
pub use state::AppState;

use storage::Storage;

/// The service's name, in logs, metrics, health answers and its database file.
pub const SERVICE: &str = "agenda";

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Opens the database (running migrations), starts the outbox relay that publishes the
/// agenda's announcements on `wiring.bus` until `wiring.shutdown` fires, and returns the
/// complete service, ready to serve. A PostgreSQL database that cannot be reached yet does not
/// stop the start: the service answers 503 `database_unavailable` until it can (see
/// [`platform::db::Database::start`]); the relay waits for it too.
pub async fn app(config: &Config, env: &ServiceEnv, wiring: &Wiring) -> anyhow::Result<Router> {
    let database = Database::start_for_service(
        SERVICE,
        config.database_url.as_deref(),
        &env.data_dir,
        config.db_pool_size,
        storage::MIGRATIONS,
        wiring.shutdown.clone(),
    )
    .await?;
    let storage = Storage::new(database.pool().clone());
    let relay = outbox::spawn_relay(
        SERVICE,
        storage.pool().clone(),
        wiring.bus.clone(),
        wiring.shutdown.clone(),
    );
    let state = AppState {
        storage,
        verifier: wiring.verifier.clone(),
        relay,
    };
    let readiness = Readiness::new()
        .opened_database(database.clone())
        .jwks(wiring.verifier.clone())
        .bus(wiring.bus.clone());
    Ok(service_app(
        SERVICE,
        database.guard(router(state)),
        readiness,
    ))
}
