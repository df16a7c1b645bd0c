//! A service's database from configuration to usable: the pool opened lazily, then the first
//! connection, the migrations and the service's own preparation, retried with capped, jittered
//! backoff while a PostgreSQL server cannot be reached (the service serves meanwhile, and its
//! routes answer 503 through [`Database::guard`]).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::AnyConnectOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions};

use super::pool::{migrate, pool_options, protect_sqlite_file};
use super::unavailable::{caused_by_unavailable, unavailable_problem};
use super::{Engine, Migrations, service_url};

/// How long a request that needs the database is told to wait (`Retry-After`, seconds) while
/// the database cannot be reached.
pub const RETRY_AFTER_SECS: u64 = 2;

/// The wait after the first failed attempt to reach a PostgreSQL database; it doubles with each
/// failure up to [`MAX_RETRY_DELAY`].
pub(super) const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);

/// The longest wait between two attempts: a database that comes back is used within seconds.
pub(super) const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// How long the start waits for the first attempt (connection, migrations, preparation) before
/// it goes on without the database and keeps trying in the background.
const FIRST_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long one attempt waits for a connection: a host that drops packets must not stall the
/// retries for the system's TCP timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A service's database: the pool, and whether the database has been reached, migrated and
/// prepared yet. Made by [`Database::open`], made usable by [`Database::start`]. Cheap to
/// clone.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    engine: Engine,
    reach: Arc<tokio::sync::watch::Sender<Reach>>,
}

#[derive(Clone, Debug)]
enum Reach {
    /// [`Database::start`] has not finished its first attempt.
    Starting,
    Ready,
    /// `attempt` attempts failed, the last with `error`; the next one starts at `next_at`.
    Connecting {
        attempt: u32,
        next_at: tokio::time::Instant,
        error: String,
    },
}

impl Database {
    /// The pool of the database at `url`, which connects on first use: the service can build
    /// everything over it before the database is reached. Only a malformed URL fails here.
    pub fn open(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of(url)?;
        let options = AnyConnectOptions::from_str(url).context("invalid database URL")?;
        if engine == Engine::Sqlite {
            protect_sqlite_file(url)?;
        }
        Ok(Self {
            pool: pool_options(engine, max_connections).connect_lazy_with(options),
            engine,
            reach: Arc::new(tokio::sync::watch::Sender::new(Reach::Starting)),
        })
    }

    /// [`Database::open`] for `service`: its configured URL, else its SQLite file in
    /// `data_dir` (see [`service_url`]).
    pub fn open_for_service(
        service: &str,
        configured: Option<&str>,
        data_dir: &Path,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        let url = service_url(configured, data_dir, service)?;
        let database = Self::open(&url, max_connections)
            .with_context(|| format!("cannot open the {service} database"))?;
        // The URL may carry a password: name the engine only.
        tracing::debug!(engine = ?database.engine(), "opened the {service} database");
        Ok(database)
    }

    /// [`Database::open_for_service`] then [`Database::start`] with nothing to prepare: the one
    /// startup path of a service whose database needs only its migrations.
    pub async fn start_for_service(
        service: &str,
        configured: Option<&str>,
        data_dir: &Path,
        max_connections: u32,
        migrations: Migrations,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<Self> {
        let database = Self::open_for_service(service, configured, data_dir, max_connections)?;
        database
            .start(migrations, shutdown, || async { Ok(()) })
            .await
            .with_context(|| format!("cannot open the {service} database"))?;
        Ok(database)
    }

    /// Makes the database usable: a connection, the migrations, then `prepare` (what the
    /// service needs stored before it serves, such as a seeded catalogue or a signing key).
    ///
    /// On SQLite, a local file, any failure stops the start: a file that cannot be opened is a
    /// configuration error. A PostgreSQL server is another machine that may be starting,
    /// restarting or briefly unreachable (compose, Kubernetes, a sleeping Neon compute): the
    /// first attempt waits a few seconds at most, and if it fails, this returns anyway and a
    /// task keeps trying (connection, migrations, `prepare`) with capped exponential backoff
    /// and jitter until it succeeds or `shutdown` fires. Meanwhile [`Database::check`] says why
    /// the service is not ready and [`Database::guard`] answers 503. Only a failure of
    /// `prepare` that is not about reaching the database (a missing setting) stops a
    /// PostgreSQL start: retrying would not heal it.
    pub async fn start<F, Fut>(
        &self,
        migrations: Migrations,
        shutdown: tokio_util::sync::CancellationToken,
        prepare: F,
    ) -> anyhow::Result<()>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        if self.engine == Engine::Sqlite {
            drop(
                self.pool
                    .acquire()
                    .await
                    .context("cannot connect to the database")?,
            );
            migrate(&self.pool, Engine::Sqlite, migrations).await?;
            prepare().await?;
            self.reach.send_replace(Reach::Ready);
            return Ok(());
        }
        let migrator = Arc::new(migrations.migrator(Engine::Postgres)?);
        let first =
            tokio::time::timeout(FIRST_ATTEMPT_TIMEOUT, bring_up(&self.pool, &migrator)).await;
        let error = match first {
            Ok(Ok(())) => match prepare().await {
                Ok(()) => {
                    self.reach.send_replace(Reach::Ready);
                    return Ok(());
                }
                Err(error) if caused_by_unavailable(&error) => describe(&error),
                Err(error) => return Err(error),
            },
            Ok(Err(error)) => describe(&error),
            Err(_) => format!("no answer within {} s", FIRST_ATTEMPT_TIMEOUT.as_secs_f64()),
        };
        let wait = self.failed(1, error);
        tokio::spawn(keep_trying(self.clone(), migrator, prepare, shutdown, wait));
        Ok(())
    }

    /// Records that attempt `attempt` failed with `error`, and returns the wait before the
    /// next one.
    fn failed(&self, attempt: u32, error: String) -> Duration {
        let wait = retry_delay(attempt);
        tracing::warn!(attempt, next_in = ?wait, error = %error, "the database is unavailable; retrying");
        self.reach.send_replace(Reach::Connecting {
            attempt,
            next_at: tokio::time::Instant::now() + wait,
            error,
        });
        wait
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// `true` once the database was reached, migrated and prepared (it may be lost again
    /// later: requests then fail with errors [`is_unavailable`] recognises).
    pub fn is_ready(&self) -> bool {
        matches!(*self.reach.borrow(), Reach::Ready)
    }

    /// Waits until [`Database::is_ready`].
    pub async fn wait_ready(&self) {
        let mut reach = self.reach.subscribe();
        // Only fails once the sender is gone, and `self` holds it.
        let _ = reach.wait_for(|reach| matches!(reach, Reach::Ready)).await;
    }

    /// Why the database is not usable yet, such as `connecting (attempt 4, next in 1.6 s):
    /// error communicating with database: Connection refused (os error 111)`; `None` once
    /// ready.
    pub fn unavailable_reason(&self) -> Option<String> {
        match &*self.reach.borrow() {
            Reach::Ready => None,
            Reach::Starting => Some("starting".to_owned()),
            Reach::Connecting {
                attempt,
                next_at,
                error,
            } => {
                let next_in = next_at.saturating_duration_since(tokio::time::Instant::now());
                Some(format!(
                    "connecting (attempt {attempt}, next in {:.1} s): {error}",
                    next_in.as_secs_f64()
                ))
            }
        }
    }

    /// The readiness check of the database: why not while it is still being reached, then one
    /// round trip.
    pub async fn check(&self) -> Result<(), String> {
        if let Some(reason) = self.unavailable_reason() {
            return Err(format!("unavailable: {reason}"));
        }
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    /// `routes` answering [`unavailable_problem`] at once while the database is not usable
    /// yet, instead of queries waiting for the pool's timeout or failing on a schema that is
    /// not there. Wrap only the service's own routes: health and metrics keep answering.
    pub fn guard(&self, routes: axum::Router) -> axum::Router {
        let database = self.clone();
        routes.route_layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let database = database.clone();
                async move {
                    if database.is_ready() {
                        next.run(request).await
                    } else {
                        axum::response::IntoResponse::into_response(unavailable_problem())
                    }
                }
            },
        ))
    }
}

/// One attempt to make a PostgreSQL database usable: a connection of its own first (a pool
/// would hide why it cannot connect behind its timeout), then the migrations.
async fn bring_up(pool: &AnyPool, migrator: &Migrator) -> anyhow::Result<()> {
    let options = pool.connect_options();
    let connection = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
        .await
        .map_err(|_| {
            anyhow::anyhow!("no connection within {} s", CONNECT_TIMEOUT.as_secs_f64())
        })??;
    let _ = sqlx::Connection::close(connection).await;
    migrator
        .run(pool)
        .await
        .context("database migrations failed")?;
    Ok(())
}

/// Tries again after each failure until the database is ready or `shutdown` fires; the first
/// attempt already failed, and [`Database::failed`] scheduled the next one.
async fn keep_trying<F, Fut>(
    database: Database,
    migrator: Arc<Migrator>,
    prepare: F,
    shutdown: tokio_util::sync::CancellationToken,
    mut wait: Duration,
) where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut attempt = 1u32;
    loop {
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = async {
                tokio::time::sleep(wait).await;
                bring_up(&database.pool, &migrator).await?;
                prepare().await
            } => outcome,
        };
        attempt = attempt.saturating_add(1);
        match outcome {
            Ok(()) => {
                database.reach.send_replace(Reach::Ready);
                tracing::info!(attempts = attempt, "the database is available");
                return;
            }
            Err(failure) => wait = database.failed(attempt, describe(&failure)),
        }
    }
}

/// `error` and its causes, each said once: sqlx's I/O error repeats its cause in its own text.
pub(super) fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

/// The wait after `attempt` failed attempts: `FIRST_RETRY_DELAY × 2^(attempt-1)` capped at
/// `MAX_RETRY_DELAY`, of which the upper half is random, so instances that lost the database
/// together do not all come back in the same instant.
pub(super) fn retry_delay(attempt: u32) -> Duration {
    let ceiling = FIRST_RETRY_DELAY
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_RETRY_DELAY);
    let half = ceiling / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let random =
        std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), std::time::Instant::now());
    half + Duration::from_nanos(random % (nanos + 1))
}
