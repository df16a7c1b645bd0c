//! The transactional outbox: events leave a service only after the change they describe is
//! committed, and always do eventually.
//!
//! Publishing to the bus from a request handler would either lose the event (a crash after the
//! commit, a broker outage) or announce a change that then rolls back. Instead the service
//! writes the event into its own `outbox` table in the same transaction as the change
//! ([`enqueue`]), and a relay ([`spawn_relay`]) publishes pending rows in order and marks them
//! sent. If publishing fails the row stays, and is retried with a capped exponential backoff;
//! rows are durable, so a restart (or another instance polling the same table) resumes where
//! the relay stopped. Delivery is therefore at least once: consumers deduplicate on the event
//! id (see [`super::consumer`]).
//!
//! Order: the relay publishes rows oldest first (by enqueue time, then id; ids are UUIDv7, so
//! in creation order within a process) and stops at the first row it cannot publish yet; a
//! failed row is the head of the line until it goes out, so no later event (in particular no
//! later event of the same key) overtakes it. On PostgreSQL several instances of a service
//! share the table: a transaction-scoped advisory lock lets one relay publish at a time.
//!
//! Wiring in a service:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use platform::events::{Bus, Event, ORDER_EVENTS, outbox};
//! # async fn f(pool: sqlx::AnyPool, bus: Arc<dyn Bus>,
//! #            shutdown: tokio_util::sync::CancellationToken) -> sqlx::Result<()> {
//! let relay = outbox::spawn_relay("orders", pool.clone(), bus, shutdown);
//! // In a request:
//! let mut tx = platform::db::begin_write(&pool).await?;
//! // ... the change, on `&mut *tx` ...
//! let event = Event::new("/orders", "order.created", "0193…", serde_json::json!({}));
//! outbox::enqueue(&mut tx, ORDER_EVENTS, &event).await?;
//! tx.commit().await?;
//! relay.wake(); // publish now rather than at the next poll
//! # Ok(()) }
//! ```

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Row};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Bus, Event};

/// DDL of the `outbox` table on SQLite. Every producing service copies it into its own
/// `migrations/sqlite` (the platform runs no migrations of its own; a service's schema is its
/// own). Times are unix milliseconds; `payload` is the CloudEvents JSON of the event.
pub const SQLITE_TABLE: &str = "\
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    sent_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (created_at, id) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
";

/// DDL of the `outbox` table on PostgreSQL; copy it into the service's `migrations/postgres`.
pub const POSTGRES_TABLE: &str = "\
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    sent_at BIGINT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (created_at, id) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
";

/// The PostgreSQL advisory lock that lets one relay at a time publish a database's outbox.
const RELAY_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

/// Ids per `UPDATE … WHERE id IN (…)`, well under every engine's limit on parameters.
const IDS_PER_STATEMENT: usize = 500;

/// Sent rows deleted per cleanup statement, so one cleanup never holds SQLite's write lock long.
const DELETES_PER_STATEMENT: i64 = 5_000;

/// Milliseconds since the Unix epoch, the unit of every stored time.
pub(crate) fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Writes `event` as a pending row of `topic`, keyed by `event.subject`, on the caller's
/// connection — normally the transaction that stores the change the event describes, so both
/// commit or neither does. Pass `&mut tx` for a [`crate::db::WriteTransaction`] or a
/// `sqlx::Transaction<'_, Any>` (both dereference to the connection; `&mut *tx` is the same),
/// or `&mut conn` for a pooled connection:
///
/// ```no_run
/// # async fn f(pool: sqlx::AnyPool, event: platform::events::Event) -> sqlx::Result<()> {
/// let mut tx = platform::db::begin_write(&pool).await?;
/// platform::events::outbox::enqueue(&mut tx, platform::events::ORDER_EVENTS, &event).await?;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
///
/// Call [`Relay::wake`] after the commit to publish without waiting for the next poll.
pub async fn enqueue(conn: &mut AnyConnection, topic: &str, event: &Event) -> sqlx::Result<()> {
    let payload =
        serde_json::to_string(event).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let now = now_ms();
    sqlx::query(
        "INSERT INTO outbox (id, topic, key, payload, created_at, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6)",
    )
    .bind(event.id.as_str())
    .bind(topic)
    .bind(event.subject.as_str())
    .bind(payload)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many rows wait to be published, and how long the oldest has waited (for `/metrics` and
/// health checks).
pub async fn backlog(pool: &AnyPool) -> sqlx::Result<(i64, Option<Duration>)> {
    let mut conn = pool.acquire().await?;
    backlog_on(&mut conn).await
}

async fn backlog_on(conn: &mut AnyConnection) -> sqlx::Result<(i64, Option<Duration>)> {
    let row = sqlx::query("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(&mut *conn)
        .await?;
    let pending: i64 = row.try_get(0)?;
    let oldest: Option<i64> = row.try_get(1)?;
    Ok((pending, oldest.map(age_of)))
}

/// Time elapsed since a stored unix-millisecond instant (zero if it lies in the future).
fn age_of(at_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(now_ms().saturating_sub(at_ms)).unwrap_or(0))
}

/// Tuning of a relay; [`spawn_relay`] uses the defaults.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Rows read and published per pass.
    pub batch_size: usize,
    /// How often the table is read when nobody calls [`Relay::wake`]: picks up rows written by
    /// other instances, or left unpublished before a restart.
    pub poll_interval: Duration,
    /// Delay before the first retry of a failed row; doubles per attempt (with jitter) ...
    pub backoff_start: Duration,
    /// ... up to this.
    pub backoff_cap: Duration,
    /// A publish taking longer counts as failed (the row is retried).
    pub publish_timeout: Duration,
    /// Sent rows are kept this long, for inspection, then deleted ...
    pub retention: Duration,
    /// ... and at most this many of them.
    pub keep_sent: u64,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            poll_interval: Duration::from_millis(200),
            backoff_start: Duration::from_millis(50),
            backoff_cap: Duration::from_secs(30),
            publish_timeout: Duration::from_secs(10),
            retention: Duration::from_secs(3600),
            keep_sent: 10_000,
        }
    }
}

/// A handle on a running relay: cheap to clone, kept in the service's state.
#[derive(Clone)]
pub struct Relay {
    shared: Arc<Shared>,
}

struct Shared {
    wake: Notify,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

impl Relay {
    /// Asks for a pass now; call it after committing a transaction that enqueued events.
    /// Wakes arriving during a pass are not lost: another pass follows.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// The relay's task, to await it after shutdown fired (the first caller gets it).
    pub fn take_handle(&self) -> Option<JoinHandle<()>> {
        self.shared
            .handle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Starts the relay of `service`'s outbox with the default [`RelayOptions`]; it runs until
/// `shutdown` fires.
pub fn spawn_relay(
    service: &'static str,
    pool: AnyPool,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Relay {
    spawn_relay_with(service, pool, bus, shutdown, RelayOptions::default())
}

/// [`spawn_relay`] with explicit tuning.
pub fn spawn_relay_with(
    service: &'static str,
    pool: AnyPool,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
    options: RelayOptions,
) -> Relay {
    let shared = Arc::new(Shared {
        wake: Notify::new(),
        handle: Mutex::new(None),
    });
    let worker = Worker {
        service,
        pool,
        bus,
        options,
        shared: shared.clone(),
        postgres: None,
    };
    let handle = tokio::spawn(worker.run(shutdown));
    *shared.handle.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
    Relay { shared }
}

/// What one pass found.
enum Pass {
    /// Caught up (as of the read).
    Idle,
    /// A full batch went out: there may be more right away.
    More,
    /// The oldest pending row may not be retried before this unix-millisecond instant.
    Blocked(i64),
}

/// A pending row as read by a pass.
struct Pending {
    id: String,
    topic: String,
    key: String,
    payload: String,
    created_at: i64,
    attempts: i64,
    next_attempt_at: i64,
}

/// The rows a pass read.
struct Batch {
    rows: Vec<Pending>,
    /// As many rows as a batch holds: there may be more.
    full: bool,
}

/// What publishing a batch did.
#[derive(Default)]
struct Published<'b> {
    sent: Vec<&'b str>,
    undecodable: Vec<(&'b str, String)>,
    failure: Option<(&'b Pending, String)>,
    /// The head row is not due before this unix-millisecond instant.
    blocked: Option<i64>,
}

impl Published<'_> {
    /// Nothing to record: no row went out, failed or was dropped.
    fn writes_nothing(&self) -> bool {
        self.sent.is_empty() && self.undecodable.is_empty() && self.failure.is_none()
    }
}

struct Worker {
    service: &'static str,
    pool: AnyPool,
    bus: Arc<dyn Bus>,
    options: RelayOptions,
    shared: Arc<Shared>,
    /// Learnt from the first connection.
    postgres: Option<bool>,
}

impl Worker {
    async fn run(mut self, shutdown: CancellationToken) {
        let cleanup_every = self.options.retention.min(Duration::from_secs(1));
        let mut last_cleanup: Option<Instant> = None;
        let mut failed_passes = 0;
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            let pass = match self.pass().await {
                Ok(pass) => {
                    failed_passes = 0;
                    pass
                }
                Err(error) => {
                    // The database is down or the table is missing: back off, so the log and
                    // the database are not flooded while it lasts.
                    failed_passes += 1;
                    let delay = backoff(
                        failed_passes,
                        self.options.poll_interval,
                        self.options.backoff_cap.min(Duration::from_secs(5)),
                    );
                    tracing::warn!(service = self.service, %error, ?delay, "outbox relay pass failed");
                    Pass::Blocked(now_ms().saturating_add(millis(delay)))
                }
            };
            if failed_passes == 0 && last_cleanup.is_none_or(|at| at.elapsed() >= cleanup_every) {
                last_cleanup = Some(Instant::now());
                if let Err(error) = self.cleanup().await {
                    tracing::warn!(service = self.service, %error, "outbox cleanup failed");
                }
            }
            let (wait, wakeable) = match pass {
                Pass::More => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Pass::Idle => (self.options.poll_interval, true),
                // Nothing can go out before the head row's retry time: new rows wait behind it.
                Pass::Blocked(until) => (
                    Duration::from_millis(u64::try_from(until - now_ms()).unwrap_or(0)),
                    false,
                ),
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.shared.wake.notified(), if wakeable => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    fn is_postgres(&mut self, conn: &AnyConnection) -> bool {
        *self
            .postgres
            .get_or_insert_with(|| conn.backend_name().eq_ignore_ascii_case("PostgreSQL"))
    }

    async fn pass(&mut self) -> sqlx::Result<Pass> {
        let mut conn = self.pool.acquire().await?;
        if !self.is_postgres(&conn) {
            // SQLite has one writer per file, so one relay per file: no lock needed, and no
            // transaction held across the publishes (it would fail to upgrade to a write). The
            // read's connection goes back before the publishes, and the outcome is written
            // in this process's write turn (see `crate::db`), taken only if there is one.
            let pending = self.read_pending(&mut conn).await?;
            drop(conn);
            let outcome = self.publish(&pending).await;
            if outcome.writes_nothing() {
                return self.conclude(None, &pending, outcome).await;
            }
            let mut conn = crate::db::acquire_write(&self.pool).await?;
            return self.conclude(Some(&mut *conn), &pending, outcome).await;
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            // Another instance is relaying this table right now.
            tx.rollback().await?;
            return Ok(Pass::Idle);
        }
        let pending = self.read_pending(&mut tx).await?;
        let outcome = self.publish(&pending).await;
        let pass = self.conclude(Some(&mut *tx), &pending, outcome).await?;
        tx.commit().await?;
        Ok(pass)
    }

    /// The oldest pending rows, at most a batch.
    async fn read_pending(&self, conn: &mut AnyConnection) -> sqlx::Result<Batch> {
        let batch_size = self.options.batch_size.max(1);
        let rows = sqlx::query(
            "SELECT id, topic, key, payload, created_at, attempts, next_attempt_at FROM outbox \
             WHERE sent_at IS NULL ORDER BY created_at, id LIMIT $1",
        )
        .bind(i64::try_from(batch_size).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await?;
        let full = rows.len() == batch_size;
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            pending.push(Pending {
                id: row.try_get("id")?,
                topic: row.try_get("topic")?,
                key: row.try_get("key")?,
                payload: row.try_get("payload")?,
                created_at: row.try_get("created_at")?,
                attempts: row.try_get("attempts")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
            });
        }
        Ok(Batch {
            rows: pending,
            full,
        })
    }

    /// Publishes the rows in order, up to the first that is not due or fails.
    async fn publish<'b>(&self, pending: &'b Batch) -> Published<'b> {
        let now = now_ms();
        let mut outcome = Published::default();
        for row in &pending.rows {
            if row.next_attempt_at > now {
                outcome.blocked = Some(row.next_attempt_at);
                break;
            }
            let event: Event = match serde_json::from_str(&row.payload) {
                Ok(event) => event,
                Err(error) => {
                    // Only a hand-written row can be malformed; it could never go out, and must
                    // not block the line forever. It is kept (marked sent) with the reason.
                    tracing::error!(service = self.service, id = %row.id, %error, "outbox row is not an event; dropped");
                    outcome
                        .undecodable
                        .push((&row.id, format!("undecodable payload: {error}")));
                    continue;
                }
            };
            let published = tokio::time::timeout(
                self.options.publish_timeout,
                self.bus.publish(&row.topic, &row.key, &event),
            )
            .await;
            match published {
                Ok(Ok(())) => outcome.sent.push(&row.id),
                Ok(Err(error)) => {
                    outcome.failure = Some((row, error.to_string()));
                    break;
                }
                Err(_) => {
                    outcome.failure = Some((row, "publishing timed out".to_owned()));
                    break;
                }
            }
        }
        outcome
    }

    /// Records what [`Self::publish`] did (on `conn`, which is `None` only when there is
    /// nothing to write) and sets the gauges.
    async fn conclude(
        &self,
        mut conn: Option<&mut AnyConnection>,
        pending: &Batch,
        outcome: Published<'_>,
    ) -> sqlx::Result<Pass> {
        let Published {
            sent,
            undecodable,
            failure,
            mut blocked,
        } = outcome;
        if let Some(conn) = conn.as_deref_mut() {
            let sent_at = now_ms();
            mark_sent(conn, &sent, sent_at).await?;
            for (id, error) in &undecodable {
                sqlx::query("UPDATE outbox SET sent_at = $1, last_error = $2 WHERE id = $3")
                    .bind(sent_at)
                    .bind(error.as_str())
                    .bind(*id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        if !sent.is_empty() {
            metrics::counter!("outbox_published_total", "service" => self.service)
                .increment(sent.len() as u64);
        }
        if let Some((row, error)) = failure {
            let attempts = row.attempts.saturating_add(1);
            let delay = backoff(
                attempts,
                self.options.backoff_start,
                self.options.backoff_cap,
            );
            let next_attempt_at = now_ms().saturating_add(millis(delay));
            tracing::warn!(service = self.service, id = %row.id, topic = %row.topic, attempts, ?delay, %error, "publishing an outbox row failed; it will be retried");
            metrics::counter!("outbox_publish_failures_total", "service" => self.service)
                .increment(1);
            if let Some(conn) = conn.as_deref_mut() {
                sqlx::query(
                    "UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 \
                     WHERE id = $4",
                )
                .bind(attempts)
                .bind(next_attempt_at)
                .bind(error)
                .bind(row.id.as_str())
                .execute(&mut *conn)
                .await?;
            }
            blocked = Some(next_attempt_at);
        }

        // The gauges: exact from the batch when it held every pending row, else counted.
        let handled = sent.len() + undecodable.len();
        let full = pending.full;
        let (count, oldest) = match conn {
            Some(conn) if full && blocked.is_none() => backlog_on(conn).await?,
            _ => {
                // Rows go out in order, so the handled ones are a prefix of the batch.
                let left = &pending.rows[handled..];
                (
                    i64::try_from(left.len()).unwrap_or(i64::MAX),
                    left.first().map(|row| age_of(row.created_at)),
                )
            }
        };
        metrics::gauge!("outbox_pending", "service" => self.service).set(count as f64);
        metrics::gauge!("outbox_oldest_pending_seconds", "service" => self.service)
            .set(oldest.map_or(0.0, |age| age.as_secs_f64()));

        Ok(match blocked {
            Some(until) => Pass::Blocked(until),
            None if full => Pass::More,
            None => Pass::Idle,
        })
    }

    /// Deletes sent rows past the retention, and the oldest beyond `keep_sent`.
    async fn cleanup(&self) -> sqlx::Result<u64> {
        let mut cutoff = now_ms().saturating_sub(millis(self.options.retention));
        let boundary: Option<i64> = sqlx::query_scalar(
            "SELECT sent_at FROM outbox WHERE sent_at IS NOT NULL \
             ORDER BY sent_at DESC LIMIT 1 OFFSET $1",
        )
        .bind(i64::try_from(self.options.keep_sent).unwrap_or(i64::MAX))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(boundary) = boundary {
            cutoff = cutoff.max(boundary.saturating_add(1));
        }
        let deleted = sqlx::query(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
             WHERE sent_at IS NOT NULL AND sent_at < $1 ORDER BY sent_at LIMIT $2)",
        )
        .bind(cutoff)
        .bind(DELETES_PER_STATEMENT)
        .execute(&mut *crate::db::acquire_write(&self.pool).await?)
        .await?;
        Ok(deleted.rows_affected())
    }
}

/// Marks rows sent in one statement per chunk of ids (one per batch in practice): the relay's
/// write cost must not grow per event, SQLite serializes writers.
async fn mark_sent(conn: &mut AnyConnection, ids: &[&str], sent_at: i64) -> sqlx::Result<()> {
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "UPDATE outbox SET sent_at = $1 WHERE id IN ({}) AND sent_at IS NULL",
            placeholders.join(", ")
        );
        // Built from placeholders only; the ids are bound. Not cached: the text varies with the
        // batch length.
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .persistent(false)
            .bind(sent_at);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The delay before retry number `attempts` (1 = first retry): doubling from `start`, capped,
/// with "equal jitter" (a random point in the upper half) so instances retrying the same
/// outage spread out.
fn backoff(attempts: i64, start: Duration, cap: Duration) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let ceiling = start.saturating_mul(1 << doublings).min(cap);
    let half = ceiling / 2;
    half + half.mul_f64(random_unit())
}

/// A random number in [0, 1), from the standard library's per-process random hash keys.
fn random_unit() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let start = Duration::from_millis(50);
        let cap = Duration::from_secs(30);
        for _ in 0..100 {
            let first = backoff(1, start, cap);
            assert!(
                first >= Duration::from_millis(25) && first <= start,
                "{first:?}"
            );
            let third = backoff(3, start, cap);
            assert!(
                third >= Duration::from_millis(100) && third <= Duration::from_millis(200),
                "{third:?}"
            );
            let late = backoff(40, start, cap);
            assert!(late >= cap / 2 && late <= cap, "{late:?}");
        }
    }

    #[test]
    fn jitter_varies() {
        let draws: std::collections::HashSet<u64> =
            (0..20).map(|_| random_unit().to_bits()).collect();
        assert!(draws.len() > 10);
    }
}
