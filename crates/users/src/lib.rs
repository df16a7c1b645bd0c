//! The users service: profiles.
//!
//! Auth owns accounts and credentials; users owns what a person tells the shop about themselves
//! (name, e-mail, postal address, phone). A profile's id is its account's id. Profiles come into
//! being from auth's `user.registered` events ([`events`]), from the user's first visit to
//! `/users/me` if the event is still on its way, or from an admin's `POST /users`; they are
//! read and edited by their owner or an admin ([`routes`]), read by other services through an
//! internal route (orders takes the shipping address from here), and deleted for good: a
//! deletion is announced as `user.deleted` through the users outbox, and auth disables the
//! account.
//! Input types are in [`domain`], the database in [`storage`].

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod storage;

use axum::Router;
use platform::db::Database;
use platform::events::outbox;
use platform::http::{Readiness, service_app};
use platform::{ServiceEnv, Wiring};

pub use config::Config;
pub use error::UsersError;
pub use state::AppState;

use storage::Storage;

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Opens the database (running migrations), starts consuming `user-events` and the outbox relay
/// that publishes `user.deleted` on `wiring.bus`, and returns the
/// complete service, ready to serve. Background work stops on `wiring.shutdown`. A PostgreSQL
/// database that cannot be reached yet does not stop the start: the service answers 503 until
/// it can (see [`platform::db::Database::start`]).
pub async fn app(config: &Config, env: &ServiceEnv, wiring: &Wiring) -> anyhow::Result<Router> {
    let database = Database::start_for_service(
        "users",
        config.database_url.as_deref(),
        &env.data_dir,
        config.db_pool_size,
        storage::MIGRATIONS,
        wiring.shutdown.clone(),
    )
    .await?;
    let storage = Storage::new(database.pool().clone());
    let relay = outbox::spawn_relay_once_ready(
        "users",
        database.clone(),
        wiring.bus.clone(),
        wiring.shutdown.clone(),
    );
    events::spawn(&storage, &wiring.bus, &wiring.shutdown);
    let readiness = Readiness::new()
        .opened_database(database.clone())
        .jwks(wiring.verifier.clone())
        .bus(wiring.bus.clone());
    let state = AppState {
        storage,
        verifier: wiring.verifier.clone(),
        internal_token: wiring.internal_token.clone(),
        relay,
    };
    Ok(service_app(
        "users",
        database.guard(router(state)),
        readiness,
    ))
}
