//! The count in a SQL row (SQLite embedded, PostgreSQL distributed).
//!
//! One statement does the whole visit: an upsert that creates the row at 1 or adds one to it,
//! and returns the new value (`RETURNING`, SQLite ≥ 3.35 and PostgreSQL). The database applies
//! it atomically, so there is no read-then-write race between concurrent visits or between
//! replicas sharing a PostgreSQL database. On SQLite the statement also takes this process's
//! write turn ([`platform::db::acquire_write`]) so a burst of visits queues instead of napping
//! on `SQLITE_BUSY`.

use futures::FutureExt;
use futures::future::BoxFuture;
use platform::db::Engine;
use sqlx::AnyPool;

use super::Counter;
use crate::domain::Hits;
use crate::error::HitsError;

/// The hits schema for each engine, applied by [`platform::db::connect`].
pub const MIGRATIONS: platform::db::Migrations = platform::migrations!["0001_hits"];

/// The row the API counts in.
const COUNTER_NAME: &str = "hits";

const INCREMENT: &str = "INSERT INTO counters (name, value) VALUES ($1, 1) \
     ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 \
     RETURNING value";

/// Visits counted in the `counters` table.
#[derive(Debug, Clone)]
pub struct SqlCounter {
    pool: AnyPool,
    engine: Engine,
}

impl SqlCounter {
    /// A counter over an opened (and migrated) database.
    pub fn new(pool: AnyPool, engine: Engine) -> Self {
        Self { pool, engine }
    }

    /// Opens the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let engine = Engine::of(url)?;
        let pool = platform::db::connect(url, pool_size, MIGRATIONS).await?;
        Ok(Self { pool, engine })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn add_one(&self) -> Result<Hits, HitsError> {
        let mut conn = platform::db::acquire_write(&self.pool)
            .await
            .map_err(|error| classify(self.engine, error))?;
        let (value,): (i64,) = sqlx::query_as(INCREMENT)
            .bind(COUNTER_NAME)
            .fetch_one(&mut *conn)
            .await
            .map_err(|error| classify(self.engine, error))?;
        Ok(Hits::parse(value)?)
    }
}

impl Counter for SqlCounter {
    fn backend(&self) -> &'static str {
        "database"
    }

    fn increment(&self) -> BoxFuture<'_, Result<Hits, HitsError>> {
        self.add_one().boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        async move {
            sqlx::query("SELECT 1")
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(|error| error.to_string())
        }
        .boxed()
    }
}

/// A database that cannot be reached or is busy is "unavailable" (503, retry later); any other
/// database error is a bug or a broken schema (500).
fn classify(engine: Engine, error: sqlx::Error) -> HitsError {
    let unavailable = match &error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => database.code().is_some_and(|code| match engine {
            // Connection exceptions (08…), server shutting down or starting (57P…).
            Engine::Postgres => code.starts_with("08") || code.starts_with("57P"),
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
            Engine::Sqlite => code
                .parse::<i32>()
                .is_ok_and(|code| matches!(code & 0xff, 5 | 6)),
        }),
        _ => false,
    };
    if unavailable {
        HitsError::CounterUnavailable {
            backend: "database",
            cause: error.to_string(),
        }
    } else {
        HitsError::Database(error)
    }
}
