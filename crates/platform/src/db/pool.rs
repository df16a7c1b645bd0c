//! Opening a pool: the settings every connection gets, the pool's limits, and the migrations.
//!
//! SQLite needs per-connection settings to behave under concurrency (WAL, a busy timeout,
//! foreign keys); its file is made the owner's only before SQLite opens it. Both engines run
//! their own migration folder.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use super::writes::writer_turn;
use super::{Engine, Migrations};

/// Settings of every SQLite connection, pooled or writer: WAL (readers beside the writer),
/// commits without an fsync each (WAL stays consistent; a power cut may lose the last ones),
/// foreign keys enforced, a busy timeout for other processes' locks, temporary b-trees (sorts,
/// `IN` lists) in memory.
pub(super) const SQLITE_SETTINGS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;";

/// The file a SQLite URL names, unless it is an in-memory database; and whether the URL lets
/// SQLite create it (`mode=rwc`).
fn sqlite_file(url: &str) -> Option<(std::path::PathBuf, bool)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut parameters = query.split('&');
    if path.is_empty() || path == ":memory:" || parameters.clone().any(|p| p == "mode=memory") {
        return None;
    }
    Some((path.into(), parameters.any(|p| p == "mode=rwc")))
}

/// Makes a SQLite database file the owner's only (0600) before SQLite opens it, creating it
/// first when the URL lets SQLite create it: SQLite gives its `-wal` and `-shm` files the
/// database file's mode, so they are private too.
pub(super) fn protect_sqlite_file(url: &str) -> anyhow::Result<()> {
    let Some((path, creatable)) = sqlite_file(url) else {
        return Ok(());
    };
    // A missing folder is left for SQLite to report when the database is first used.
    let folder_exists = path
        .parent()
        .is_none_or(|parent| parent.as_os_str().is_empty() || parent.is_dir());
    if path.exists() || (creatable && folder_exists) {
        crate::files::private_file(&path)?;
    }
    Ok(())
}

/// Opens a pool and runs migrations, failing at once if the database cannot be reached (for
/// tools and tests; a service starts through [`Database::open`] and [`Database::start`]).
pub async fn connect(
    url: &str,
    max_connections: u32,
    migrations: Migrations,
) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of(url)?;
    let options = AnyConnectOptions::from_str(url).context("invalid database URL")?;
    if engine == Engine::Sqlite {
        protect_sqlite_file(url)?;
    }
    let pool = pool_options(engine, max_connections)
        .connect_with(options)
        .await
        .context("cannot connect to the database")?;
    migrate(&pool, engine, migrations).await?;
    Ok(pool)
}

/// Runs the migrations of `engine`; on SQLite, then opens the writer connection.
pub(super) async fn migrate(
    pool: &AnyPool,
    engine: Engine,
    migrations: Migrations,
) -> anyhow::Result<()> {
    migrations
        .migrator(engine)?
        .run(pool)
        .await
        .context("database migrations failed")?;
    if engine == Engine::Sqlite {
        // Open the writer now rather than on the first write, which then waits for nothing.
        drop(
            writer_turn(pool)
                .await
                .context("cannot open the database's writer connection")?,
        );
    }
    Ok(())
}

/// The pool settings of every service database.
pub(super) fn pool_options(engine: Engine, max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        // A SQLite connection is a file handle in this process: it cannot have gone away, and
        // testing it is a round trip to its worker thread on every acquire.
        .test_before_acquire(engine == Engine::Postgres)
        .after_connect(move |connection, _meta| {
            Box::pin(async move {
                if engine == Engine::Sqlite {
                    connection.execute(SQLITE_SETTINGS).await?;
                }
                Ok(())
            })
        })
}
