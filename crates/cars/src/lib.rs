//! The cars service: the seed's car CRUD ("CRUD pour stocker des voitures (marque, modèle,
//! année, couleur)"), as a service that owns its database.
//!
//! Each car belongs to the account that created it: customers see and change their own cars,
//! admins every car, and every route needs a valid access token. The seed ran this on Neon
//! (serverless PostgreSQL), which is what distributed mode does with a
//! `postgres://…?sslmode=require` URL; embedded mode keeps the cars in SQLite. Input types are
//! in [`domain`], the HTTP surface in [`routes`], the database in [`storage`].

pub mod config;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod storage;

use axum::Router;
use platform::db::Database;
use platform::http::{Readiness, service_app};
use platform::{ServiceEnv, Wiring};

pub use config::Config;
pub use error::CarsError;
pub use state::AppState;

use storage::Storage;

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Opens the database (running migrations) and returns the complete service, ready to serve.
/// Cars has no background work and publishes no events. A PostgreSQL database that cannot be
/// reached yet (a sleeping Neon compute, say) does not stop the start: the service answers 503
/// `database_unavailable` until it can (see [`platform::db::Database::start`]).
pub async fn app(config: &Config, env: &ServiceEnv, wiring: &Wiring) -> anyhow::Result<Router> {
    let database = Database::start_for_service(
        "cars",
        config.database_url.as_deref(),
        &env.data_dir,
        config.db_pool_size,
        storage::MIGRATIONS,
        wiring.shutdown.clone(),
    )
    .await?;
    let readiness = Readiness::new()
        .opened_database(database.clone())
        .jwks(wiring.verifier.clone());
    let state = AppState {
        storage: Storage::new(database.pool().clone()),
        verifier: wiring.verifier.clone(),
    };
    Ok(service_app(
        "cars",
        database.guard(router(state)),
        readiness,
    ))
}
