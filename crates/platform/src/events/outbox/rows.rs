//! What a producer writes: the `outbox` table, a pending row in the caller's transaction, and
//! the backlog that `/metrics` and health checks read.

use std::sync::LazyLock;
use std::time::Duration;

use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Row};

use crate::events::Event;
use crate::millis::now_millis;

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
/// Call [`Relay::wake`] after the commit to publish without waiting for the next poll. To
/// write the row inside a statement of your own, see [`OutboxRow`].
pub async fn enqueue(conn: &mut AnyConnection, topic: &str, event: &Event) -> sqlx::Result<()> {
    static INSERT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO outbox ({}) VALUES ({})",
            OutboxRow::COLUMNS,
            OutboxRow::values(1)
        )
    });
    let row = OutboxRow::new(topic, event)?;
    row.bind(sqlx::query(AssertSqlSafe(INSERT.as_str())))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// An event's outbox row, for a statement of the caller's own that writes the change and its
/// event together: on PostgreSQL one data-modifying statement (`WITH changed AS (UPDATE …)
/// INSERT INTO outbox (…) SELECT … FROM changed`) is atomic by itself and costs one round
/// trip, where a transaction around the change and [`enqueue`] costs four. The columns and
/// placeholders come from here, so the row is the same whichever way it is written:
///
/// ```no_run
/// # use platform::events::{Event, ORDER_EVENTS, outbox::OutboxRow};
/// # async fn f(pool: sqlx::AnyPool, event: Event) -> sqlx::Result<()> {
/// let row = OutboxRow::new(ORDER_EVENTS, &event)?;
/// let sql = format!(
///     "WITH changed AS (UPDATE orders SET status = 'paid' WHERE id = $1 RETURNING id) \
///      INSERT INTO outbox ({}) SELECT {} FROM changed",
///     OutboxRow::COLUMNS,
///     OutboxRow::values(2),
/// );
/// row.bind(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(event.subject.as_str()))
///     .execute(&pool)
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OutboxRow {
    id: String,
    topic: String,
    key: String,
    payload: String,
    created_at: i64,
}

impl OutboxRow {
    /// The columns [`OutboxRow::values`] fills, in order.
    pub const COLUMNS: &'static str =
        "id, topic, key, payload, created_at, attempts, next_attempt_at";

    /// `event` as a pending row of `topic`, keyed by `event.subject`, enqueued now.
    pub fn new(topic: &str, event: &Event) -> sqlx::Result<Self> {
        let payload =
            serde_json::to_string(event).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
        Ok(Self {
            id: event.id.clone(),
            topic: topic.to_owned(),
            key: event.subject.clone(),
            payload,
            created_at: now_millis(),
        })
    }

    /// The values of [`OutboxRow::COLUMNS`], as placeholders numbered from `$first` (five of
    /// them) and constants.
    pub fn values(first: usize) -> String {
        let [id, topic, key, payload, created_at] =
            [0, 1, 2, 3, 4].map(|offset| format!("${}", first + offset));
        format!("{id}, {topic}, {key}, {payload}, {created_at}, 0, {created_at}")
    }

    /// Binds the row's values, in the order of [`OutboxRow::values`]'s placeholders: bind
    /// whatever precedes `$first` before calling this.
    pub fn bind<'q>(
        &'q self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        query
            .bind(self.id.as_str())
            .bind(self.topic.as_str())
            .bind(self.key.as_str())
            .bind(self.payload.as_str())
            .bind(self.created_at)
    }
}

/// How many rows wait to be published, and how long the oldest has waited (for `/metrics` and
/// health checks).
pub async fn backlog(pool: &AnyPool) -> sqlx::Result<(i64, Option<Duration>)> {
    let mut conn = pool.acquire().await?;
    backlog_on(&mut conn).await
}

pub(super) async fn backlog_on(conn: &mut AnyConnection) -> sqlx::Result<(i64, Option<Duration>)> {
    let row = sqlx::query("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(&mut *conn)
        .await?;
    let pending: i64 = row.try_get(0)?;
    let oldest: Option<i64> = row.try_get(1)?;
    Ok((pending, oldest.map(age_of)))
}

/// Time elapsed since a stored unix-millisecond instant (zero if it lies in the future).
pub(super) fn age_of(at_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(now_millis().saturating_sub(at_ms)).unwrap_or(0))
}
