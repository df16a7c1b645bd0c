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

use anyhow::Context;
use axum::Router;
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
/// Cars has no background work and publishes no events.
pub async fn app(config: &Config, env: &ServiceEnv, wiring: &Wiring) -> anyhow::Result<Router> {
    let storage = open_storage(config, env).await?;
    let readiness = Readiness::new().database(storage.pool().clone());
    let state = AppState {
        storage,
        verifier: wiring.verifier.clone(),
    };
    Ok(service_app("cars", router(state), readiness))
}

async fn open_storage(config: &Config, env: &ServiceEnv) -> anyhow::Result<Storage> {
    let url = match &config.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&env.data_dir).with_context(|| {
                format!(
                    "cannot create the data directory {}",
                    env.data_dir.display()
                )
            })?;
            platform::db::sqlite_url(&env.data_dir, "cars")
        }
    };
    let storage = Storage::connect(&url, config.db_pool_size)
        .await
        .context("cannot open the cars database")?;
    // The URL may carry a password: name the engine only.
    tracing::debug!(engine = ?platform::db::Engine::of(&url)?, "opened the cars database");
    Ok(storage)
}
