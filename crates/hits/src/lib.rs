//! The hits service: seed 000's Docker Compose getting-started app, "Hello World! I have been
//! seen N times.", as a microshop service.
//!
//! `GET /hits` counts the visit and answers `{"hits": n, "message": "…seen n times."}`. The
//! count lives in Redis (`INCR`) when a Redis URL is configured, so every replica shares it, and
//! in a SQL row otherwise (SQLite in embedded mode, PostgreSQL if configured); [`storage`] holds
//! both behind one trait. Either way each visit is one atomic increment on the store, so
//! concurrent visits get distinct counts and none is lost; when the store cannot be reached the
//! visit is answered 503 after a few bounded retries, never with a made-up number ([`error`]).

pub mod config;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod storage;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use platform::Wiring;
use platform::db::Database;
use platform::http::{Readiness, service_app};

pub use config::{Config, RedisUrl};
pub use error::HitsError;
pub use state::AppState;

/// Where and how hits runs, as the binary decides it.
pub use platform::ServiceEnv as Env;

use storage::{Counter, MIGRATIONS, RedisCounter, SqlCounter};

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Opens the configured counter and returns the complete service, ready to serve.
///
/// With a Redis URL, nothing is connected yet: the service starts even while Redis is down,
/// `/health/ready` reports it, and visits are answered 503 until Redis answers. Without one, the
/// SQL database is opened like every service's ([`platform::db::Database::start`]): a SQLite
/// file that cannot be opened stops the start, a PostgreSQL server that cannot be reached yet
/// does not (503 `database_unavailable` until it can). Hits has no background tasks and
/// publishes no events.
pub async fn app(config: &Config, env: &Env, wiring: &Wiring) -> anyhow::Result<Router> {
    if let Some(url) = &config.redis_url {
        let counter = RedisCounter::new(url, config.redis_key.clone())
            .context("cannot set up the Redis connection of hits")?;
        tracing::info!(key = counter.key(), "hits counts in Redis");
        let counter: Arc<dyn Counter> = Arc::new(counter);
        let check = counter.clone();
        let readiness = Readiness::new().check(counter.backend(), move || {
            let counter = check.clone();
            async move { counter.check().await }
        });
        return Ok(service_app(
            "hits",
            router(AppState::new(counter)),
            readiness,
        ));
    }
    if config.database_url.is_none() && !env.embedded {
        tracing::warn!(
            "hits counts in a SQLite file of its own: replicas will not share the count \
             (set MICROSHOP_REDIS_URL or MICROSHOP_HITS_DATABASE_URL)"
        );
    }
    let database = Database::start_for_service(
        "hits",
        config.database_url.as_deref(),
        &env.data_dir,
        config.db_pool_size,
        MIGRATIONS,
        wiring.shutdown.clone(),
    )
    .await?;
    tracing::info!(engine = ?database.engine(), "hits counts in its database");
    let counter = SqlCounter::new(database.pool().clone(), database.engine());
    let readiness = Readiness::new().opened_database(database.clone());
    Ok(service_app(
        "hits",
        database.guard(router(AppState::new(Arc::new(counter)))),
        readiness,
    ))
}
