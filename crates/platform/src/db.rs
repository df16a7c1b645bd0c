//! Storage bootstrap: one code path over SQLite (embedded mode) and PostgreSQL (distributed).
//!
//! Services use sqlx's `Any` driver with runtime queries and `$N` placeholders, which both
//! engines accept, and keep one migration folder per engine. This module opens the pool, applies
//! the per-connection settings SQLite needs to behave under concurrency (WAL, a busy timeout,
//! foreign keys), and runs the right migrations.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;

/// Which engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Engine::Postgres)
        } else {
            anyhow::bail!("unsupported database URL scheme (use sqlite:// or postgres://)")
        }
    }
}

/// A service's migrations for each engine.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// The SQLite URL of a service's file under `data_dir`, created if missing.
pub fn sqlite_url(data_dir: &Path, service: &str) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join(format!("{service}.db")).display()
    )
}

/// Opens a pool and runs migrations.
pub async fn connect(
    url: &str,
    max_connections: u32,
    migrations: Migrations,
) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of(url)?;
    let options = AnyConnectOptions::from_str(url).context("invalid database URL")?;
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |connection, _meta| {
            Box::pin(async move {
                if engine == Engine::Sqlite {
                    use sqlx::Executor;
                    connection
                        .execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .context("cannot connect to the database")?;
    let migrator = match engine {
        Engine::Sqlite => migrations.sqlite,
        Engine::Postgres => migrations.postgres,
    };
    migrator
        .run(&pool)
        .await
        .context("database migrations failed")?;
    Ok(pool)
}

/// Whether a database error is a unique-constraint violation on `constraint`.
///
/// Matched on the constraint (Postgres) or the indexed columns SQLite names, never on free text
/// beyond that, so a conflict maps to 409 reliably.
pub fn is_unique_violation(error: &sqlx::Error, constraint: &str, sqlite_columns: &str) -> bool {
    let sqlx::Error::Database(database) = error else {
        return false;
    };
    if !matches!(database.kind(), sqlx::error::ErrorKind::UniqueViolation) {
        return false;
    }
    match database.constraint() {
        Some(name) => name == constraint,
        None => database.message().contains(sqlite_columns),
    }
}
