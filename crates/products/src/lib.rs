//! The products service: the catalogue, its stock, and the stock reservations orders make.
//!
//! Anyone may browse the catalogue; only admins change it. Orders never touches stock itself:
//! it asks this service, over the internal API, to reserve an order's lines (all or nothing),
//! then to confirm or release them, and gets back the names and prices it bills, so a client
//! can never set a price. Stock is only ever changed by conditional updates inside short
//! transactions, so it never goes below zero whatever the concurrency or the number of
//! replicas. The HTTP surface is in [`routes`], input types in [`domain`], the database in
//! [`storage`].

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

pub use config::Config;
pub use error::ProductsError;
pub use state::AppState;

use storage::Storage;

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Opens the database (running migrations), seeds the sample catalogue on a first start if
/// configured to, and returns the complete service, ready to serve. A PostgreSQL database that
/// cannot be reached yet does not stop the start: the service answers 503 until it can (see
/// [`platform::db::Database::start`]).
pub async fn app(
    config: &Config,
    env: &platform::ServiceEnv,
    wiring: &platform::Wiring,
) -> anyhow::Result<Router> {
    let database = platform::db::Database::open_for_service(
        "products",
        config.database_url.as_deref(),
        &env.data_dir,
        config.db_pool_size,
    )?;
    let storage = Storage::new(database.pool().clone());
    let seed = config.seed_catalogue.then(|| storage.clone());
    database
        .start(storage::MIGRATIONS, wiring.shutdown.clone(), move || {
            let seed = seed.clone();
            async move {
                if let Some(storage) = seed {
                    let added = storage
                        .seed_catalogue()
                        .await
                        .context("cannot seed the catalogue")?;
                    if added > 0 {
                        tracing::info!(products = added, "seeded the sample catalogue");
                    }
                }
                Ok(())
            }
        })
        .await
        .context("cannot open the products database")?;
    let state = AppState {
        storage,
        verifier: wiring.verifier.clone(),
        internal_token: wiring.internal_token.clone(),
    };
    let readiness = Readiness::new()
        .opened_database(database.clone())
        .jwks(wiring.verifier.clone());
    Ok(service_app(
        "products",
        database.guard(router(state)),
        readiness,
    ))
}
