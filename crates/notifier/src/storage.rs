//! Everything the notifier keeps in its database: notifications (of orders and of agenda
//! events) and processed event ids.
//!
//! Queries are runtime SQL over sqlx's `Any` driver with `$N` placeholders, so the same code runs
//! on SQLite (embedded) and PostgreSQL (distributed). The one write that matters for correctness
//! is [`Storage::record`]: the event id and the notification go in one transaction, so an event
//! delivered twice leaves one notification, and a crash between the two leaves neither.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::CONSUMER_GROUP;
use crate::domain::{Notification, Page};
use platform::millis::{from_millis, parse_uuid, to_millis};

/// The notifier's schema for each engine, applied by [`platform::db::connect`].
pub const MIGRATIONS: platform::db::Migrations = platform::migrations![
    "0001_notifier",
    "0002_agenda_notifications",
    "0003_notification_details"
];

/// `SELECT <every column a Notification needs> FROM notifications <rest>`, as one literal
/// (sqlx takes only static SQL).
macro_rules! select_notifications {
    ($rest:literal) => {
        concat!(
            "SELECT id, user_id, kind, message, total_cents, reason, title, order_id, \
             agenda_event_id, created_at, read_at FROM notifications ",
            $rest
        )
    };
}

/// The notifier database.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
    /// Whether stored notifications are announced to every instance (PostgreSQL `NOTIFY`,
    /// see [`crate::fanout`]) rather than pushed by the instance that stored them.
    announces: bool,
}

/// One page of an inbox, with the inbox's size.
#[derive(Debug, Clone)]
pub struct InboxPage {
    pub items: Vec<Notification>,
    pub total: i64,
}

impl Storage {
    pub fn new(pool: AnyPool) -> Self {
        Self {
            pool,
            announces: false,
        }
    }

    /// Opens the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let pool = platform::db::connect(url, pool_size, MIGRATIONS).await?;
        Ok(Self {
            pool,
            announces: platform::db::Engine::of(url)? == platform::db::Engine::Postgres,
        })
    }

    /// The storage over the database the service's start opened (announcing on PostgreSQL,
    /// as [`Storage::connect`] does).
    pub fn over(database: &platform::db::Database) -> Self {
        Self {
            pool: database.pool().clone(),
            announces: database.engine() == platform::db::Engine::Postgres,
        }
    }

    /// Whether stored notifications reach the streams through announcements (PostgreSQL).
    pub fn announces(&self) -> bool {
        self.announces
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Stores `notification` as the effect of event `event_id`, unless that event was already
    /// processed. `true` when stored now, `false` for a duplicate (nothing written).
    pub async fn record(&self, event_id: &str, notification: &Notification) -> sqlx::Result<bool> {
        let mut tx = platform::db::begin_write(&self.pool).await?;
        if !platform::events::consumer::mark_processed(&mut tx, CONSUMER_GROUP, event_id).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO notifications \
             (id, user_id, kind, message, order_id, agenda_event_id, event_id, created_at, \
             read_at, total_cents, reason, title) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11)",
        )
        .bind(notification.id.to_string())
        .bind(notification.user_id.to_string())
        .bind(notification.kind.clone())
        .bind(notification.message.clone())
        .bind(notification.order_id.map(|id| id.to_string()))
        .bind(notification.agenda_event_id.map(|id| id.to_string()))
        .bind(event_id.to_owned())
        .bind(to_millis(notification.created_at))
        .bind(notification.total_cents)
        .bind(notification.reason.clone())
        .bind(notification.title.clone())
        .execute(&mut *tx)
        .await?;
        if self.announces {
            // Delivered to the listeners at commit, and only if the transaction commits.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::fanout::CHANNEL)
                .bind(crate::fanout::announcement(notification))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// [`Storage::record`] for several events in one transaction (PostgreSQL; see
    /// [`crate::recorder`]): per entry, in the same order, `true` when stored now, `false` for
    /// an event already processed. Event ids must be distinct. The stored notifications are
    /// announced in id order, so a stream receives them in the order they were created.
    ///
    /// Two statements whatever the batch size: the processed ids and the notifications go in
    /// through one statement (a notification only for an id that was new), taking the batch
    /// as one JSON parameter; then the announcements.
    pub async fn record_many(&self, entries: &[(&str, &Notification)]) -> sqlx::Result<Vec<bool>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut ordered: Vec<&(&str, &Notification)> = entries.iter().collect();
        ordered.sort_by_key(|(_, notification)| notification.id);
        let incoming: Vec<serde_json::Value> = ordered
            .iter()
            .map(|(event_id, notification)| {
                serde_json::json!({
                    "event_id": event_id,
                    "id": notification.id.to_string(),
                    "user_id": notification.user_id.to_string(),
                    "kind": notification.kind,
                    "message": notification.message,
                    "total_cents": notification.total_cents,
                    "reason": notification.reason,
                    "title": notification.title,
                    "order_id": notification.order_id.map(|id| id.to_string()),
                    "agenda_event_id": notification.agenda_event_id.map(|id| id.to_string()),
                    "created_at": to_millis(notification.created_at),
                })
            })
            .collect();
        let mut tx = platform::db::begin_write(&self.pool).await?;
        let stored: Vec<String> = sqlx::query_scalar(
            "WITH incoming AS ( \
                 SELECT * FROM json_to_recordset($1::json) AS entry( \
                     event_id TEXT, id TEXT, user_id TEXT, kind TEXT, message TEXT, \
                     total_cents BIGINT, reason TEXT, title TEXT, \
                     order_id TEXT, agenda_event_id TEXT, created_at BIGINT)), \
             fresh AS ( \
                 INSERT INTO processed_events (consumer, event_id, processed_at) \
                 SELECT $2, event_id, $3 FROM incoming \
                 ON CONFLICT DO NOTHING RETURNING event_id) \
             INSERT INTO notifications \
             (id, user_id, kind, message, order_id, agenda_event_id, event_id, created_at, \
             read_at, total_cents, reason, title) \
             SELECT id, user_id, kind, message, order_id, agenda_event_id, event_id, \
             created_at, NULL, total_cents, reason, title FROM incoming JOIN fresh USING (event_id) \
             RETURNING event_id",
        )
        .bind(serde_json::Value::Array(incoming).to_string())
        .bind(CONSUMER_GROUP)
        .bind(to_millis(OffsetDateTime::now_utc()))
        .fetch_all(&mut *tx)
        .await?;
        let stored: std::collections::HashSet<String> = stored.into_iter().collect();
        let announcements: Vec<String> = ordered
            .iter()
            .filter(|(event_id, _)| stored.contains(*event_id))
            .map(|(_, notification)| crate::fanout::announcement(notification))
            .collect();
        if self.announces && !announcements.is_empty() {
            // Delivered to the listeners at commit, in this order, and only if it commits.
            sqlx::query(
                "SELECT pg_notify($1, announcement) \
                 FROM json_array_elements_text($2::json) WITH ORDINALITY AS a(announcement, n) \
                 ORDER BY n",
            )
            .bind(crate::fanout::CHANNEL)
            .bind(serde_json::Value::from(announcements).to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(entries
            .iter()
            .map(|(event_id, _)| stored.contains(*event_id))
            .collect())
    }

    /// `user`'s notifications, newest first.
    pub async fn inbox(&self, user: Uuid, page: Page) -> anyhow::Result<InboxPage> {
        let rows = sqlx::query(select_notifications!(
            "WHERE user_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(user.to_string())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await?;
        let total: i64 =
            sqlx::query("SELECT COUNT(*) AS total FROM notifications WHERE user_id = $1")
                .bind(user.to_string())
                .fetch_one(&self.pool)
                .await?
                .try_get("total")?;
        Ok(InboxPage {
            items: rows
                .iter()
                .map(notification_from_row)
                .collect::<Result<_, _>>()?,
            total,
        })
    }

    /// At most `limit` of `user`'s notifications created after `after`, oldest first: what a
    /// stream missed.
    pub async fn after(
        &self,
        user: Uuid,
        after: Uuid,
        limit: u32,
    ) -> anyhow::Result<Vec<Notification>> {
        let rows = sqlx::query(select_notifications!(
            "WHERE user_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3"
        ))
        .bind(user.to_string())
        .bind(after.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notification_from_row).collect()
    }

    /// Marks one of `user`'s notifications read (idempotent); `None` when `user` has no such
    /// notification.
    pub async fn mark_read(&self, user: Uuid, id: Uuid) -> anyhow::Result<Option<Notification>> {
        sqlx::query(
            "UPDATE notifications SET read_at = $1 \
             WHERE id = $2 AND user_id = $3 AND read_at IS NULL",
        )
        .bind(to_millis(OffsetDateTime::now_utc()))
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *platform::db::acquire_write(&self.pool).await?)
        .await?;
        let row = sqlx::query(select_notifications!("WHERE id = $1 AND user_id = $2"))
            .bind(id.to_string())
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(notification_from_row).transpose()
    }
}

fn notification_from_row(row: &AnyRow) -> anyhow::Result<Notification> {
    let read_at: Option<i64> = row.try_get("read_at")?;
    Ok(Notification {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        user_id: parse_uuid(&row.try_get::<String, _>("user_id")?)?,
        kind: row.try_get("kind")?,
        message: row.try_get("message")?,
        total_cents: row.try_get("total_cents")?,
        reason: row.try_get("reason")?,
        title: row.try_get("title")?,
        order_id: optional_uuid(row.try_get("order_id")?)?,
        agenda_event_id: optional_uuid(row.try_get("agenda_event_id")?)?,
        created_at: from_millis(row.try_get("created_at")?)?,
        read: read_at.is_some(),
    })
}

fn optional_uuid(text: Option<String>) -> anyhow::Result<Option<Uuid>> {
    text.as_deref().map(parse_uuid).transpose()
}
