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

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor, Transaction};
use tokio::sync::OwnedMutexGuard;

/// How long a write waits for its turn before failing, like SQLite's own busy timeout.
const WRITE_TURN_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of every SQLite connection, pooled or writer: WAL (readers beside the writer),
/// commits without an fsync each (WAL stays consistent; a power cut may lose the last ones),
/// foreign keys enforced, a busy timeout for other processes' locks, temporary b-trees (sorts,
/// `IN` lists) in memory.
const SQLITE_SETTINGS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;";

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
fn protect_sqlite_file(url: &str) -> anyhow::Result<()> {
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

/// How long a request that needs the database is told to wait (`Retry-After`, seconds) while
/// the database cannot be reached.
pub const RETRY_AFTER_SECS: u64 = 2;

/// The wait after the first failed attempt to reach a PostgreSQL database; it doubles with each
/// failure up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);

/// The longest wait between two attempts: a database that comes back is used within seconds.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

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
        let migrator = migrations.postgres;
        let first =
            tokio::time::timeout(FIRST_ATTEMPT_TIMEOUT, bring_up(&self.pool, migrator)).await;
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

/// Runs the migrations of `engine`; on SQLite, then opens the writer connection.
async fn migrate(pool: &AnyPool, engine: Engine, migrations: Migrations) -> anyhow::Result<()> {
    let migrator = match engine {
        Engine::Sqlite => migrations.sqlite,
        Engine::Postgres => migrations.postgres,
    };
    migrator
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

/// One attempt to make a PostgreSQL database usable: a connection of its own first (a pool
/// would hide why it cannot connect behind its timeout), then the migrations.
async fn bring_up(pool: &AnyPool, migrator: &'static Migrator) -> anyhow::Result<()> {
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
    migrator: &'static Migrator,
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
                bring_up(&database.pool, migrator).await?;
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
fn describe(error: &anyhow::Error) -> String {
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
fn retry_delay(attempt: u32) -> Duration {
    let ceiling = FIRST_RETRY_DELAY
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_RETRY_DELAY);
    let half = ceiling / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let random =
        std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), std::time::Instant::now());
    half + Duration::from_nanos(random % (nanos + 1))
}

/// Whether `error` means the database cannot be reached right now (no connection within the
/// pool's timeout, a connection refused, reset or closed, TLS failing, the server shutting
/// down or refusing connections), as opposed to a fault of the query or of the data. Such a
/// failure is answered [`unavailable_problem`], not an opaque 500.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        // SQLSTATE class 08 (connection exception), 57P01-03 (shutting down, crashed, starting
        // up), 53300 (too many connections).
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// [`is_unavailable`] for any error in `error`'s chain.
pub fn caused_by_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .is_some_and(is_unavailable)
    })
}

/// The answer to a request that needs the database while it cannot be reached: 503
/// `database_unavailable` with `Retry-After`.
pub fn unavailable_problem() -> crate::Problem {
    crate::Problem::service_unavailable(
        "database_unavailable",
        "The database cannot be reached right now; retry shortly",
    )
    .retry_after(RETRY_AFTER_SECS)
}

/// The answer to a request that failed on a database error, logged here once: 503
/// `database_unavailable` when the database cannot be reached (a state of the service, not a
/// bug: clients and the gateway retry), an opaque 500 otherwise. Every service's error enum
/// ends with this and [`internal_problem`].
pub fn database_problem(error: &sqlx::Error) -> crate::Problem {
    if is_unavailable(error) {
        tracing::warn!(error = %error, "the database is unavailable");
        unavailable_problem()
    } else {
        tracing::error!(error = %error, cause = ?std::error::Error::source(error), "database error");
        crate::Problem::internal()
    }
}

/// The answer to an unexpected error, logged here once with its cause chain: an opaque 500,
/// or 503 `database_unavailable` when a database that cannot be reached caused it.
pub fn internal_problem(error: &anyhow::Error) -> crate::Problem {
    if caused_by_unavailable(error) {
        tracing::warn!(error = format!("{error:#}"), "the database is unavailable");
        unavailable_problem()
    } else {
        tracing::error!(error = format!("{error:#}"), "unexpected error");
        crate::Problem::internal()
    }
}

/// The pool settings of every service database.
fn pool_options(engine: Engine, max_connections: u32) -> AnyPoolOptions {
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

/// A service's pool usage as gauges, read at each scrape (see [`crate::metrics::Sampled`]):
/// `db_pool_connections{service, state="idle"|"in_use"}` and
/// `db_pool_max_connections{service}`. In use near the maximum, with requests waiting, is a pool
/// too small for the load, or connections held across slow calls; idle near zero at rest, a
/// database that keeps dropping connections.
///
/// On SQLite the file's single writer connection is not part of the pool: its contention shows
/// in `db_write_wait_duration_seconds` instead.
pub struct PoolUsage {
    pool: AnyPool,
    idle: metrics::Gauge,
    in_use: metrics::Gauge,
    max: metrics::Gauge,
}

impl std::fmt::Debug for PoolUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolUsage").finish_non_exhaustive()
    }
}

impl PoolUsage {
    /// Reports `pool`'s usage under `service` on every `/metrics` for as long as the returned
    /// handle lives (the service's router holds it); the series exist from this call on.
    pub fn report(service: &'static str, pool: AnyPool) -> Arc<Self> {
        // The recorder must exist before the gauges are registered, or they record nowhere.
        crate::metrics::handle();
        metrics::describe_gauge!(
            "db_pool_connections",
            "Connections a service's database pool holds open, by state (idle, in_use)"
        );
        metrics::describe_gauge!(
            "db_pool_max_connections",
            "The most connections a service's database pool may open"
        );
        let usage = Arc::new(Self {
            pool,
            idle: metrics::gauge!("db_pool_connections", "service" => service, "state" => "idle"),
            in_use: metrics::gauge!("db_pool_connections", "service" => service, "state" => "in_use"),
            max: metrics::gauge!("db_pool_max_connections", "service" => service),
        });
        usage.sample_now();
        let sampled: Arc<dyn crate::metrics::Sampled> = usage.clone();
        crate::metrics::sample_at_render(&sampled);
        usage
    }

    fn sample_now(&self) {
        // Two separate atomic loads: a connection may change hands in between, so never let
        // idle exceed the total.
        let open = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle())
            .unwrap_or(u32::MAX)
            .min(open);
        self.idle.set(f64::from(idle));
        self.in_use.set(f64::from(open - idle));
        self.max
            .set(f64::from(self.pool.options().get_max_connections()));
    }
}

impl crate::metrics::Sampled for PoolUsage {
    fn sample(&self) {
        self.sample_now();
    }
}

/// The writer connection of a SQLite file, and whether a transaction was left open on it by a
/// holder that went away (a cancelled request): the next holder rolls it back first.
struct Writer {
    conn: AnyConnection,
    in_transaction: bool,
}

/// One SQLite file's turn to write, with the writer (opened by the first holder).
type Turn = Arc<tokio::sync::Mutex<Option<Writer>>>;

/// A file's turn, and the histogram of how long writers wait for it
/// (`db_write_wait_duration_seconds{service="orders",database="orders"}`): near zero when
/// writes are rare, close
/// to the time the others hold it when the file is the bottleneck.
#[derive(Clone)]
struct Slot {
    turn: Turn,
    wait: metrics::Histogram,
}

/// The writers of the SQLite files this process writes to, by database URL; an entry goes when
/// its pool is closed or dropped.
static WRITERS: LazyLock<Mutex<HashMap<String, Slot>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The turn on `pool`'s file: waits for it (first come, first served), then opens the writer
/// if this is the first write, and rolls back what a previous holder left open.
async fn writer_turn(pool: &AnyPool) -> sqlx::Result<OwnedMutexGuard<Option<Writer>>> {
    if pool.is_closed() {
        return Err(sqlx::Error::PoolClosed);
    }
    let options = pool.connect_options();
    let url = options.database_url.as_str();
    let slot = {
        let mut writers = WRITERS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match writers.get(url) {
            Some(slot) => slot.clone(),
            None => {
                let database = Path::new(options.database_url.path())
                    .file_stem()
                    .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
                // The recorder must exist before the histogram is registered, or it is lost.
                crate::metrics::handle();
                // A service's file is `<service>.db` (`sqlite_url`): its stem names the service
                // whose `/metrics` shows the wait.
                let wait = metrics::histogram!(
                    "db_write_wait_duration_seconds",
                    "service" => database.clone(),
                    "database" => database
                );
                let slot = Slot {
                    turn: Turn::default(),
                    wait,
                };
                writers.insert(url.to_owned(), slot.clone());
                forget_on_close(pool, url.to_owned(), &slot.turn);
                slot
            }
        }
    };
    let asked = std::time::Instant::now();
    let mut turn = tokio::time::timeout(WRITE_TURN_TIMEOUT, slot.turn.lock_owned())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?;
    slot.wait.record(asked.elapsed().as_secs_f64());
    match turn.as_mut() {
        None => {
            let mut conn = options.connect().await?;
            conn.execute(SQLITE_SETTINGS).await?;
            *turn = Some(Writer {
                conn,
                in_transaction: false,
            });
        }
        Some(writer) if writer.in_transaction => {
            // Fails harmlessly when the transaction never began (its `BEGIN` was cancelled
            // before it ran) or already ended.
            let _ = writer.conn.execute("ROLLBACK").await;
            writer.in_transaction = false;
        }
        Some(_) => {}
    }
    Ok(turn)
}

/// Drops the writer of `url` once `pool` is closed or dropped, so it does not outlive it.
fn forget_on_close(pool: &AnyPool, url: String, turn: &Turn) {
    let closed = pool.close_event();
    let turn = Arc::downgrade(turn);
    let forget = async move {
        closed.await;
        let mut writers = WRITERS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only this pool's writer: another pool may have opened the file again meanwhile.
        if writers
            .get(&url)
            .is_some_and(|current| std::ptr::eq(Arc::as_ptr(&current.turn), turn.as_ptr()))
        {
            writers.remove(&url);
        }
    };
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(forget);
    }
}

fn is_sqlite(pool: &AnyPool) -> bool {
    pool.connect_options().database_url.scheme() == "sqlite"
}

/// A transaction that writes. On SQLite it runs on the file's writer connection, holding the
/// write turn until it commits, rolls back or is dropped (then it is rolled back, and the turn
/// passes on after that). Use it as the connection (`&mut *tx`, or `&mut tx` where an
/// `&mut AnyConnection` is expected).
pub struct WriteTransaction(TransactionOn);

enum TransactionOn {
    /// `None` only once committed or rolled back.
    Writer(Option<OwnedMutexGuard<Option<Writer>>>),
    Pool(Transaction<'static, Any>),
}

impl std::fmt::Debug for WriteTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTransaction").finish_non_exhaustive()
    }
}

/// Begins a transaction that writes: on SQLite, waits for the write turn and begins with
/// `BEGIN IMMEDIATE` on the writer connection; on PostgreSQL, a transaction from the pool.
pub async fn begin_write(pool: &AnyPool) -> sqlx::Result<WriteTransaction> {
    if !is_sqlite(pool) {
        return Ok(WriteTransaction(TransactionOn::Pool(pool.begin().await?)));
    }
    let mut turn = writer_turn(pool).await?;
    let writer = writer_of(&mut turn);
    // Set first: if this is cancelled once `BEGIN` is sent, the next holder still rolls back.
    writer.in_transaction = true;
    writer.conn.execute("BEGIN IMMEDIATE").await?;
    Ok(WriteTransaction(TransactionOn::Writer(Some(turn))))
}

fn writer_of(turn: &mut OwnedMutexGuard<Option<Writer>>) -> &mut Writer {
    turn.as_mut().expect("the writer is opened with the turn")
}

impl WriteTransaction {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.finish("COMMIT").await
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        self.finish("ROLLBACK").await
    }

    async fn finish(mut self, statement: &'static str) -> sqlx::Result<()> {
        match std::mem::replace(&mut self.0, TransactionOn::Writer(None)) {
            TransactionOn::Pool(tx) if statement == "COMMIT" => tx.commit().await,
            TransactionOn::Pool(tx) => tx.rollback().await,
            TransactionOn::Writer(Some(mut turn)) => {
                let writer = writer_of(&mut turn);
                // On failure the flag stays set: the next holder rolls back.
                writer.conn.execute(statement).await?;
                writer.in_transaction = false;
                Ok(())
            }
            TransactionOn::Writer(None) => Ok(()),
        }
    }
}

impl Drop for WriteTransaction {
    fn drop(&mut self) {
        // Dropped unfinished (an error returned early, a cancelled request): roll back now, in
        // the background, keeping the turn until then. Without a runtime the flag on the writer
        // makes the next holder do it.
        if let TransactionOn::Writer(turn @ Some(_)) = &mut self.0
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
            && let Some(mut turn) = turn.take()
        {
            runtime.spawn(async move {
                let writer = writer_of(&mut turn);
                let _ = writer.conn.execute("ROLLBACK").await;
                writer.in_transaction = false;
            });
        }
    }
}

impl Deref for WriteTransaction {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            TransactionOn::Writer(Some(turn)) => {
                &turn
                    .as_ref()
                    .expect("the writer is opened with the turn")
                    .conn
            }
            TransactionOn::Writer(None) => unreachable!("a finished transaction is consumed"),
            TransactionOn::Pool(tx) => tx,
        }
    }
}

impl DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            TransactionOn::Writer(Some(turn)) => &mut writer_of(turn).conn,
            TransactionOn::Writer(None) => unreachable!("a finished transaction is consumed"),
            TransactionOn::Pool(tx) => tx,
        }
    }
}

/// A connection for writes that are one statement each (every statement is atomic alone, so
/// no `BEGIN`/`COMMIT` round trips): on SQLite the writer connection, holding the write turn
/// until dropped. Drop it as soon as the writes are done; reads that follow belong on the pool.
pub struct WriteConnection(ConnectionOn);

enum ConnectionOn {
    Writer(OwnedMutexGuard<Option<Writer>>),
    Pool(PoolConnection<Any>),
}

impl std::fmt::Debug for WriteConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteConnection").finish_non_exhaustive()
    }
}

/// On SQLite, waits for the write turn and hands out the writer connection; on PostgreSQL, a
/// connection from the pool.
pub async fn acquire_write(pool: &AnyPool) -> sqlx::Result<WriteConnection> {
    if !is_sqlite(pool) {
        return Ok(WriteConnection(ConnectionOn::Pool(pool.acquire().await?)));
    }
    Ok(WriteConnection(ConnectionOn::Writer(
        writer_turn(pool).await?,
    )))
}

impl Deref for WriteConnection {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            ConnectionOn::Writer(turn) => {
                &turn
                    .as_ref()
                    .expect("the writer is opened with the turn")
                    .conn
            }
            ConnectionOn::Pool(conn) => conn,
        }
    }
}

impl DerefMut for WriteConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            ConnectionOn::Writer(turn) => &mut writer_of(turn).conn,
            ConnectionOn::Pool(conn) => conn,
        }
    }
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

#[cfg(test)]
mod tests {
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
        let migrations = Migrations {
            sqlite: &EMPTY,
            postgres: &EMPTY,
        };
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
        let migrations = Migrations {
            sqlite: &EMPTY,
            postgres: &EMPTY,
        };
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

    static EMPTY: Migrator = Migrator::DEFAULT;

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
        let migrations = Migrations {
            sqlite: &EMPTY,
            postgres: &EMPTY,
        };
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
