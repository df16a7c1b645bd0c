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
use platform::http::{Readiness, service_app};
use sqlx::AnyPool;

pub use config::{Config, RedisUrl};
pub use error::HitsError;
pub use state::AppState;

/// Where and how hits runs, as the binary decides it.
pub use platform::ServiceEnv as Env;

use storage::{Counter, RedisCounter, SqlCounter};

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Opens the configured counter and returns the complete service, ready to serve.
///
/// With a Redis URL, nothing is connected yet: the service starts even while Redis is down,
/// `/health/ready` reports it, and visits are answered 503 until Redis answers. Without one, the
/// SQL database is opened and migrated here, and a failure stops the start. Hits has no
/// background tasks and publishes no events, so it needs nothing from the wiring.
pub async fn app(config: &Config, env: &Env, _wiring: &Wiring) -> anyhow::Result<Router> {
    let (counter, pool) = open_counter(config, env).await?;
    let check = counter.clone();
    let mut readiness = Readiness::new().check(counter.backend(), move || {
        let counter = check.clone();
        async move { counter.check().await }
    });
    if let Some(pool) = pool {
        readiness = readiness.pool_metrics(pool);
    }
    Ok(service_app(
        "hits",
        router(AppState::new(counter)),
        readiness,
    ))
}

/// The counter, and its database pool when it counts in a database (for `/metrics`).
async fn open_counter(
    config: &Config,
    env: &Env,
) -> anyhow::Result<(Arc<dyn Counter>, Option<AnyPool>)> {
    if let Some(url) = &config.redis_url {
        let counter = RedisCounter::new(url, config.redis_key.clone())
            .context("cannot set up the Redis connection of hits")?;
        tracing::info!(key = counter.key(), "hits counts in Redis");
        return Ok((Arc::new(counter), None));
    }
    let url = match &config.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&env.data_dir).with_context(|| {
                format!(
                    "cannot create the data directory {}",
                    env.data_dir.display()
                )
            })?;
            if !env.embedded {
                tracing::warn!(
                    "hits counts in a SQLite file of its own: replicas will not share the count \
                     (set MICROSHOP_REDIS_URL or MICROSHOP_HITS_DATABASE_URL)"
                );
            }
            platform::db::sqlite_url(&env.data_dir, "hits")
        }
    };
    let counter = SqlCounter::connect(&url, config.db_pool_size)
        .await
        .context("cannot open the hits database")?;
    // The URL may carry a password: name the engine only.
    tracing::info!(engine = ?platform::db::Engine::of(&url)?, "hits counts in its database");
    let pool = counter.pool().clone();
    Ok((Arc::new(counter), Some(pool)))
}
