//! Idempotent consumption.
//!
//! Every bus delivers at least once: a consumer that crashes after its effect but before the
//! commit, an outbox relay that publishes a row again after a restart, a Kafka rebalance, all
//! redeliver. A consumer therefore records the id of each event it processed in its own
//! `processed_events` table, in the same database transaction as the effect
//! ([`mark_processed`]): the first delivery stores both, a redelivery finds the id and skips,
//! and a crash in between stores neither.
//!
//! ```no_run
//! # use platform::events::{Event, Handled, consumer};
//! # async fn run(pool: sqlx::AnyPool, bus: std::sync::Arc<dyn platform::events::Bus>,
//! #              shutdown: tokio_util::sync::CancellationToken) {
//! let handler = consumer::handler(move |event: Event| {
//!     let pool = pool.clone();
//!     async move {
//!         let Ok(order) = event.data_as::<serde_json::Value>() else {
//!             return Handled::Reject("not an order".into());
//!         };
//!         let id = event.id.clone();
//!         let stored = consumer::process_once(&pool, "notifier", &event, |conn| {
//!             Box::pin(async move {
//!                 sqlx::query("INSERT INTO notifications (id, body) VALUES ($1, $2)")
//!                     .bind(id)
//!                     .bind(order.to_string())
//!                     .execute(&mut *conn)
//!                     .await?;
//!                 Ok(())
//!             })
//!         })
//!         .await;
//!         match stored {
//!             Ok(true) => {
//!                 // New: now the work that cannot roll back (print, push to streams).
//!                 Handled::Done
//!             }
//!             Ok(false) => Handled::Done, // a duplicate: already done
//!             Err(error) => Handled::Retry(error.to_string()),
//!         }
//!     }
//! });
//! bus.consume(platform::events::ORDER_EVENTS, "notifier", handler, shutdown);
//! # }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use sqlx::{AnyConnection, AnyPool};
use tokio_util::sync::CancellationToken;

use super::{Event, Handled, Handler};

/// DDL of the `processed_events` table on SQLite. Copy it into the consuming service's
/// `migrations/sqlite` (the platform does not run migrations of its own).
pub const SQLITE_TABLE: &str = "\
CREATE TABLE IF NOT EXISTS processed_events (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
";

/// DDL of the `processed_events` table on PostgreSQL. Copy it into the consuming service's
/// `migrations/postgres`.
pub const POSTGRES_TABLE: &str = "\
CREATE TABLE IF NOT EXISTS processed_events (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
";

/// Records that `consumer` processed `event_id`: `true` when it is new (store the effect in the
/// same transaction, then commit), `false` when it was already processed (skip the effect).
///
/// Call it on the transaction that stores the effect, so both commit or neither does:
///
/// ```no_run
/// # async fn f(pool: sqlx::AnyPool, event: platform::events::Event) -> sqlx::Result<()> {
/// let mut tx = platform::db::begin_write(&pool).await?;
/// if platform::events::consumer::mark_processed(&mut tx, "notifier", &event.id).await? {
///     // ... the effect, on `&mut *tx` ...
/// }
/// tx.commit().await?;
/// # Ok(()) }
/// ```
pub async fn mark_processed(
    conn: &mut AnyConnection,
    consumer: &str,
    event_id: &str,
) -> sqlx::Result<bool> {
    let recorded = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(consumer)
    .bind(event_id)
    .bind(crate::millis::now_millis())
    .execute(&mut *conn)
    .await?;
    Ok(recorded.rows_affected() == 1)
}

/// Runs `effect` once per event and consumer: in one transaction, records the event id and,
/// when it is new, runs the effect. `Ok(true)` when the effect ran and committed, `Ok(false)`
/// for a duplicate (nothing done). An error rolls back both; answer `Handled::Retry` with it.
///
/// Work that cannot be rolled back (pushing to a stream, printing) belongs after an `Ok(true)`,
/// so a duplicate never repeats it.
pub async fn process_once<F>(
    pool: &AnyPool,
    consumer: &str,
    event: &Event,
    effect: F,
) -> sqlx::Result<bool>
where
    F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, sqlx::Result<()>>,
{
    Ok(apply_once(pool, consumer, event, effect).await?.is_some())
}

/// [`process_once`] for an effect with a result: `Ok(Some(result))` when the effect ran and
/// committed, `Ok(None)` for a duplicate. Every consumer that stores something goes through
/// here, so "record the id, skip a duplicate, effect and id commit together" is written once.
pub async fn apply_once<T, F>(
    pool: &AnyPool,
    consumer: &str,
    event: &Event,
    effect: F,
) -> sqlx::Result<Option<T>>
where
    F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, sqlx::Result<T>>,
{
    let mut tx = crate::db::begin_write(pool).await?;
    if !mark_processed(&mut tx, consumer, &event.id).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    let result = effect(&mut tx).await?;
    tx.commit().await?;
    Ok(Some(result))
}

/// The `data` of `event` as a `T`, when the event is of type `kind`.
///
/// A topic carries several event types and each consumer wants some of them: another type is
/// `Err(Handled::Done)` (nothing to do, not an error), data that does not decode is
/// `Err(Handled::Reject)` naming the type (it never will decode, so it goes to the dead-letter
/// topic). Return the `Err` as the handler's answer.
pub fn decode<T: DeserializeOwned>(event: &Event, kind: &str) -> Result<T, Handled> {
    if event.kind != kind {
        return Err(Handled::Done);
    }
    event
        .data_as()
        .map_err(|error| Handled::Reject(format!("malformed {kind} data: {error}")))
}

/// How long processed event ids are remembered by [`spawn_pruning`]: far longer than any
/// redelivery takes (redeliveries come within minutes, not days).
pub const PROCESSED_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How often [`spawn_pruning`] forgets old ids.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Forgets processed event ids older than [`PROCESSED_RETENTION`] every hour until `shutdown`,
/// so every consumer's `processed_events` table stays bounded the same way.
pub fn spawn_pruning(pool: AnyPool, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PRUNE_EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match forget_older_than(&pool, PROCESSED_RETENTION).await {
                Ok(0) => {}
                Ok(forgotten) => tracing::debug!(forgotten, "pruned processed event ids"),
                Err(error) => tracing::warn!(%error, "pruning processed event ids failed"),
            }
        }
    })
}

/// Consumes `topic` as `group` with `handler` until `shutdown`, and prunes the group's
/// database of old processed ids ([`spawn_pruning`]): the whole life of an idempotent consumer.
pub fn spawn(
    bus: &Arc<dyn super::Bus>,
    topic: &str,
    group: &str,
    handler: Arc<dyn Handler>,
    pool: AnyPool,
    shutdown: &CancellationToken,
) {
    bus.consume(topic, group, handler, shutdown.clone());
    drop(spawn_pruning(pool, shutdown.clone()));
}

/// Forgets processed ids older than `age`, so the table stays bounded. Keep `age` well above
/// the longest time a redelivery can take (the outbox retries for as long as the bus is down,
/// but a row is published at most once after it succeeded, so a day is ample).
pub async fn forget_older_than(pool: &AnyPool, age: Duration) -> sqlx::Result<u64> {
    let cutoff = crate::millis::now_millis().saturating_sub(crate::millis::millis(age));
    let deleted = sqlx::query("DELETE FROM processed_events WHERE processed_at < $1")
        .bind(cutoff)
        .execute(&mut *crate::db::acquire_write(pool).await?)
        .await?;
    Ok(deleted.rows_affected())
}

/// A [`Handler`] from an async closure taking the event by value.
///
/// ```no_run
/// # use platform::events::{Event, Handled, consumer};
/// let handler = consumer::handler(|event: Event| async move {
///     println!("{} {}", event.kind, event.subject);
///     Handled::Done
/// });
/// ```
pub fn handler<F, Fut>(f: F) -> Arc<dyn Handler>
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Handled> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

struct FnHandler<F>(F);

impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Handled> + Send + 'static,
{
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Handled> {
        Box::pin((self.0)(event.clone()))
    }
}
