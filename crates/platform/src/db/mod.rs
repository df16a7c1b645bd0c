//! Storage bootstrap: one code path over SQLite (embedded mode) and PostgreSQL (distributed).
//!
//! Services use sqlx's `Any` driver with runtime queries and `$N` placeholders, which both
//! engines accept, and keep one migration folder per engine. This module opens the pool, applies
//! the per-connection settings SQLite needs to behave under concurrency (WAL, a busy timeout,
//! foreign keys), and runs the right migrations.
//!
//! Writes go through [`begin_write`] (a transaction) or [`acquire_write`] (statements that are
//! atomic alone). SQLite has one writer per file. Letting every pooled connection write meant
//! that two writers at once got `SQLITE_BUSY`, which SQLite answers by *sleeping* (1, 2, 5,
//! 10, … up to 100 ms) and trying again: under a few dozen concurrent requests most of a
//! write's latency was such naps, taken while the lock had long been free. So each SQLite file
//! opened by this process has one dedicated writer connection, and writers take turns on it
//! through an async queue (first come, first served): SQLite's lock is always free when they
//! ask for it, and the writer's page cache stays warm, since no other connection changes the
//! file. Readers use the pool and never queue (WAL lets them read beside the writer). On
//! PostgreSQL, which has row locks, writes use the pool like reads and do not queue.
//!
//! A service starts through [`Database::start`]. A SQLite file that cannot be opened stops the
//! start: it is a configuration error. A PostgreSQL server is another machine, which may be down
//! for a while (starting with the stack, restarting, a cold Neon compute): the service starts
//! without it, says so on `/health/ready`, answers 503 `database_unavailable` to requests that
//! need it, and keeps trying in the background. A database lost later is seen per request:
//! [`is_unavailable`] tells the services' error mappings to answer 503 rather than 500.
//!
//! The module is split by concern: [`migrations`] embeds each service's schema, [`pool`] opens pools (per-connection settings, migrations),
//! [`start`] makes a service's database usable and keeps trying while it cannot be reached,
//! [`unavailable`] tells an outage from a fault and answers each, [`usage`] reports pool usage
//! to `/metrics`, and [`writes`] serialises SQLite writers. Everything is re-exported here, so
//! callers name `platform::db::…` whatever file an item lives in.

use std::path::Path;

pub mod migrations;
pub mod pool;
pub mod start;
pub mod unavailable;
pub mod usage;
pub mod writes;

pub use migrations::{MigrationFile, Migrations};
pub use pool::connect;
pub use start::{Database, RETRY_AFTER_SECS};
pub use unavailable::{
    caused_by_unavailable, database_problem, internal_problem, is_unavailable, is_unique_violation,
    unavailable_problem,
};
pub use usage::PoolUsage;
pub use writes::{WriteConnection, WriteTransaction, acquire_write, begin_write};

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

/// The SQLite URL of a service's file under `data_dir`, created if missing.
pub fn sqlite_url(data_dir: &Path, service: &str) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join(format!("{service}.db")).display()
    )
}

/// The database URL a service uses: the configured one, or its SQLite file in `data_dir`,
/// whose folder is created owner-only (see [`crate::files`]).
pub fn service_url(
    configured: Option<&str>,
    data_dir: &Path,
    service: &str,
) -> anyhow::Result<String> {
    match configured {
        Some(url) => Ok(url.to_owned()),
        None => {
            crate::files::private_dir(data_dir)?;
            Ok(sqlite_url(data_dir, service))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::start::{FIRST_RETRY_DELAY, MAX_RETRY_DELAY, describe, retry_delay};
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_the_cap_with_jitter() {
        for attempt in 1..=30 {
            let ceiling = FIRST_RETRY_DELAY
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_RETRY_DELAY);
            let wait = retry_delay(attempt);
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "attempt {attempt}: {wait:?}"
            );
        }
        assert!(retry_delay(1) <= Duration::from_millis(200));
        assert!(retry_delay(30) >= Duration::from_millis(2_500));
        let waits: std::collections::HashSet<_> = (0..20).map(|_| retry_delay(10)).collect();
        assert!(waits.len() > 1, "the waits are jittered");
    }

    #[test]
    fn a_lost_connection_is_unavailability_and_a_bad_query_is_not() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(is_unavailable(&sqlx::Error::Io(refused)));
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("id".into())));
        let wrapped = anyhow::Error::new(sqlx::Error::PoolTimedOut).context("seeding");
        assert!(caused_by_unavailable(&wrapped));
        assert!(!caused_by_unavailable(&anyhow::anyhow!(
            "no admin password"
        )));
    }

    #[test]
    fn a_failure_is_described_with_each_cause_once() {
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let error = anyhow::Error::new(refused).context("database migrations failed");
        assert_eq!(
            describe(&error),
            "database migrations failed: error communicating with database: connection refused"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_service_database_and_its_folder_are_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let url = service_url(None, &data, "private").unwrap();
        let migrations = Migrations::NONE;
        let pool = connect(&url, 2, migrations).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(mode(&data), 0o700);
        for file in ["private.db", "private.db-wal", "private.db-shm"] {
            assert_eq!(mode(&data.join(file)), 0o600, "{file}");
        }
        pool.close().await;
        assert_eq!(
            service_url(Some("sqlite::memory:"), &data, "x").unwrap(),
            "sqlite::memory:"
        );
    }

    #[tokio::test]
    async fn a_sqlite_file_that_cannot_be_opened_stops_the_start() {
        let database =
            Database::open("sqlite:///nonexistent-directory/x/service.db?mode=rwc", 2).unwrap();
        let migrations = Migrations::NONE;
        let started = database
            .start(
                migrations,
                tokio_util::sync::CancellationToken::new(),
                || async { Ok(()) },
            )
            .await;
        assert!(started.is_err());
        assert!(!database.is_ready());
    }

    /// The value of the `db_pool_*` sample of `service` with `state` (`None`: the gauge without
    /// a state) in a Prometheus text.
    fn pool_sample(text: &str, name: &str, service: &str, state: Option<&str>) -> Option<f64> {
        text.lines()
            .find(|line| {
                line.starts_with(&format!("{name}{{"))
                    && line.contains(&format!("service=\"{service}\""))
                    && state.is_none_or(|state| line.contains(&format!("state=\"{state}\"")))
            })
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
    }

    #[tokio::test]
    async fn pool_usage_is_read_at_each_scrape_and_does_not_keep_the_pool_alive() {
        let dir = tempfile::tempdir().unwrap();
        let migrations = Migrations::NONE;
        let pool = connect(&sqlite_url(dir.path(), "pool-usage"), 3, migrations)
            .await
            .unwrap();
        let service = "db-pool-usage-unit";
        let usage = PoolUsage::report(service, pool.clone());
        let gauge = |text: &str, state| pool_sample(text, "db_pool_connections", service, state);

        let held = pool.acquire().await.unwrap();
        let text = crate::metrics::render(service);
        assert_eq!(gauge(&text, Some("in_use")), Some(1.0), "{text}");
        assert_eq!(
            pool_sample(&text, "db_pool_max_connections", service, None),
            Some(3.0)
        );
        let open = f64::from(pool.size());
        assert_eq!(gauge(&text, Some("idle")), Some(open - 1.0));

        // A connection goes back to the pool in a task of its own: wait for it.
        drop(held);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while pool.num_idle() == 0 {
            assert!(tokio::time::Instant::now() < deadline, "never returned");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let text = crate::metrics::render(service);
        assert_eq!(gauge(&text, Some("in_use")), Some(0.0), "{text}");
        assert_eq!(gauge(&text, Some("idle")), Some(f64::from(pool.size())));

        // Once its owner lets go, nothing else holds the pool: it closes as it is dropped.
        let closed = pool.close_event();
        drop(usage);
        drop(pool);
        crate::metrics::render(service);
        tokio::time::timeout(Duration::from_secs(5), closed)
            .await
            .expect("the pool was dropped, not kept by the metrics");
    }
}
