//! Everything the agenda keeps in its database: events, and the outbox of their announcements.
//!
//! Queries are runtime SQL over sqlx's `Any` driver with `$N` placeholders, so the same code runs
//! on SQLite (embedded) and PostgreSQL (distributed). Ids are UUIDv7 text and times unix
//! milliseconds; rows become [`AgendaEvent`]s here, so no caller sees a raw row.
//!
//! Every change is one short write transaction holding the change and its announcement
//! ([`crate::announcements`]) in the outbox, so an event is announced if and only if the change
//! committed. Updates and cancellations are single conditional statements: who may change the
//! event and, for an update, that it still ends after it starts, are checked by the statement
//! that writes, against the row as it is at that moment. Two concurrent half-updates (one moving
//! the start, one the end) therefore can never leave an event that ends before it starts. Only
//! when such a statement changes nothing is the row read, to say why.

use platform::db;
use platform::events::{AGENDA_EVENTS, outbox};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use uuid::Uuid;

use crate::announcements::{self, Change};
pub use crate::domain::AgendaEvent;
use crate::domain::{EventChanges, EventId, EventQuery, NewEvent, Timestamp, Viewer, Visibility};
use crate::error::AgendaError;
use platform::millis::parse_uuid;

/// The agenda's schema for each engine, applied by [`platform::db::connect`].
pub const MIGRATIONS: db::Migrations = platform::migrations!["0001_agenda"];

/// The columns an [`AgendaEvent`] is read from, as one literal (sqlx takes only static SQL).
macro_rules! columns {
    () => {
        "id, title, description, location, starts_at, ends_at, visibility, organizer_id, \
         organizer_username, created_at, updated_at"
    };
}

/// Who may see a row, for the listing: `$1` the caller's id (`''` when anonymous), `$2` whether
/// the caller is an admin. The same rule as [`Viewer::can_see`].
macro_rules! visible_to_caller {
    () => {
        "(visibility = 'public' OR organizer_id = $1 OR $2)"
    };
}

/// The listing's filters after visibility: `$3` ≤ starts_at < `$4`, ends_at > `$5`, and `$6`
/// (a `LIKE` pattern, `%` for all) in the title or the description. Absent bounds are bound
/// as the extreme values, so one statement text serves every combination.
macro_rules! listing_filters {
    () => {
        " AND starts_at >= $3 AND starts_at < $4 AND ends_at > $5 \
         AND (title_search LIKE $6 ESCAPE '\\' OR description_search LIKE $6 ESCAPE '\\')"
    };
}

fn event_from_row(row: &AnyRow) -> Result<AgendaEvent, AgendaError> {
    let id: String = row.try_get("id")?;
    let organizer: String = row.try_get("organizer_id")?;
    let visibility: String = row.try_get("visibility")?;
    Ok(AgendaEvent {
        id: parse_uuid(&id)?.into(),
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        location: row.try_get("location")?,
        starts_at: Timestamp::from_millis(row.try_get("starts_at")?),
        ends_at: Timestamp::from_millis(row.try_get("ends_at")?),
        visibility: Visibility::parse(&visibility)
            .map_err(|_| anyhow::anyhow!("stored visibility {visibility:?} is unknown"))?,
        organizer_id: parse_uuid(&organizer)?,
        organizer_username: row.try_get("organizer_username")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

/// The agenda database.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
}

impl Storage {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Opens the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let pool = db::connect(url, pool_size, MIGRATIONS).await?;
        Ok(Self::new(pool))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// One page of the events `viewer` may see that match `query`, soonest first, and how many
    /// match in all.
    pub async fn list(
        &self,
        viewer: Viewer,
        query: &EventQuery,
        now: Timestamp,
    ) -> Result<(Vec<AgendaEvent>, i64), AgendaError> {
        let caller = viewer.id().map(|id| id.to_string()).unwrap_or_default();
        let from = query.from.map_or(i64::MIN, Timestamp::millis);
        let to = query.to.map_or(i64::MAX, Timestamp::millis);
        let ends_after = query.ends_after(now).map_or(i64::MIN, Timestamp::millis);
        let pattern = query
            .search
            .as_ref()
            .map_or_else(|| "%".to_owned(), |term| term.like_pattern());
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM events WHERE ",
            visible_to_caller!(),
            listing_filters!(),
            " ORDER BY starts_at, id LIMIT $7 OFFSET $8"
        ))
        .bind(caller.clone())
        .bind(viewer.is_admin())
        .bind(from)
        .bind(to)
        .bind(ends_after)
        .bind(pattern.clone())
        .bind(query.page.limit())
        .bind(query.page.offset())
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM events WHERE ",
            visible_to_caller!(),
            listing_filters!()
        ))
        .bind(caller)
        .bind(viewer.is_admin())
        .bind(from)
        .bind(to)
        .bind(ends_after)
        .bind(pattern)
        .fetch_one(&self.pool)
        .await?;
        let events = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
        Ok((events, total))
    }

    /// The event with this id, whoever may see it (the caller checks).
    pub async fn find(&self, id: EventId) -> Result<Option<AgendaEvent>, AgendaError> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM events WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    /// Adds `new`, organized by the caller (`organizer`, `username`), and announces it.
    pub async fn create(
        &self,
        new: &NewEvent,
        organizer: Uuid,
        username: &str,
    ) -> Result<AgendaEvent, AgendaError> {
        let now = Timestamp::now();
        let event = AgendaEvent {
            id: EventId::generate(),
            title: new.title.as_str().to_owned(),
            description: new.description.as_str().to_owned(),
            location: new.location.as_str().to_owned(),
            starts_at: new.schedule.starts_at(),
            ends_at: new.schedule.ends_at(),
            visibility: new.visibility,
            organizer_id: organizer,
            organizer_username: username.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = db::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO events (id, title, description, location, title_search, \
             description_search, starts_at, ends_at, visibility, organizer_id, \
             organizer_username, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(event.id.to_string())
        .bind(event.title.clone())
        .bind(event.description.clone())
        .bind(event.location.clone())
        .bind(new.title.search_key())
        .bind(new.description.search_key())
        .bind(event.starts_at.millis())
        .bind(event.ends_at.millis())
        .bind(event.visibility.as_str())
        .bind(organizer.to_string())
        .bind(event.organizer_username.clone())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        let announcement = announcements::announce(Change::Created, &event, username);
        outbox::enqueue(&mut tx, AGENDA_EVENTS, &announcement).await?;
        tx.commit().await?;
        Ok(event)
    }

    /// Applies `changes` to event `id` for `viewer` (`username`), and announces the result.
    ///
    /// Refused with `NotFound` when the viewer cannot see the event, `NotOrganizer` when they
    /// see it but may not change it, and a validation error when the times would not be in
    /// order. No changes at all is a read with the same rights, and announces nothing.
    pub async fn update(
        &self,
        id: EventId,
        changes: &EventChanges,
        viewer: Viewer,
        username: &str,
    ) -> Result<AgendaEvent, AgendaError> {
        if changes.is_empty() {
            let event = self.find(id).await?.ok_or(AgendaError::NotFound)?;
            return permit(viewer, event.organizer_id, event.visibility).map(|()| event);
        }
        let mut tx = db::begin_write(&self.pool).await?;
        let caller = viewer.id().map(|id| id.to_string()).unwrap_or_default();
        let row = sqlx::query(concat!(
            "UPDATE events SET title = COALESCE($1, title), \
             title_search = COALESCE($2, title_search), \
             description = COALESCE($3, description), \
             description_search = COALESCE($4, description_search), \
             location = COALESCE($5, location), \
             starts_at = COALESCE($6, starts_at), ends_at = COALESCE($7, ends_at), \
             visibility = COALESCE($8, visibility), updated_at = $9 \
             WHERE id = $10 AND (organizer_id = $11 OR $12) \
             AND COALESCE($7, ends_at) > COALESCE($6, starts_at) \
             RETURNING ",
            columns!()
        ))
        .bind(
            changes
                .title
                .as_ref()
                .map(|title| title.as_str().to_owned()),
        )
        .bind(changes.title.as_ref().map(|title| title.search_key()))
        .bind(
            changes
                .description
                .as_ref()
                .map(|text| text.as_str().to_owned()),
        )
        .bind(changes.description.as_ref().map(|text| text.search_key()))
        .bind(
            changes
                .location
                .as_ref()
                .map(|text| text.as_str().to_owned()),
        )
        .bind(changes.starts_at.map(Timestamp::millis))
        .bind(changes.ends_at.map(Timestamp::millis))
        .bind(changes.visibility.map(|visibility| visibility.as_str()))
        .bind(Timestamp::now().millis())
        .bind(id.to_string())
        .bind(caller)
        .bind(viewer.is_admin())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            refusal(&mut tx, id, viewer).await?;
            // Found and the caller may change it: only the times can have refused.
            return Err(changes.schedule_error().into());
        };
        let event = event_from_row(&row)?;
        let announcement = announcements::announce(Change::Updated, &event, username);
        outbox::enqueue(&mut tx, AGENDA_EVENTS, &announcement).await?;
        tx.commit().await?;
        Ok(event)
    }

    /// Cancels (deletes) event `id` for `viewer` (`username`) and announces it with its last
    /// state. Refused like [`Storage::update`].
    pub async fn cancel(
        &self,
        id: EventId,
        viewer: Viewer,
        username: &str,
    ) -> Result<AgendaEvent, AgendaError> {
        let mut tx = db::begin_write(&self.pool).await?;
        let caller = viewer.id().map(|id| id.to_string()).unwrap_or_default();
        let row = sqlx::query(concat!(
            "DELETE FROM events WHERE id = $1 AND (organizer_id = $2 OR $3) RETURNING ",
            columns!()
        ))
        .bind(id.to_string())
        .bind(caller)
        .bind(viewer.is_admin())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            refusal(&mut tx, id, viewer).await?;
            // The caller may cancel it, yet it was not deleted: impossible within one
            // transaction, so say so rather than guess.
            return Err(anyhow::anyhow!("event {id} was not deleted though permitted").into());
        };
        let event = event_from_row(&row)?;
        let announcement = announcements::announce(Change::Cancelled, &event, username);
        outbox::enqueue(&mut tx, AGENDA_EVENTS, &announcement).await?;
        tx.commit().await?;
        Ok(event)
    }
}

/// Why a conditional change of event `id` matched nothing: `NotFound` or `NotOrganizer`;
/// `Ok(())` when the event exists and `viewer` may change it.
async fn refusal(conn: &mut AnyConnection, id: EventId, viewer: Viewer) -> Result<(), AgendaError> {
    let row = sqlx::query("SELECT organizer_id, visibility FROM events WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AgendaError::NotFound)?;
    let organizer: String = row.try_get("organizer_id")?;
    let visibility: String = row.try_get("visibility")?;
    let visibility = Visibility::parse(&visibility)
        .map_err(|_| anyhow::anyhow!("stored visibility {visibility:?} is unknown"))?;
    permit(viewer, parse_uuid(&organizer)?, visibility)
}

/// The rights to change an event: a caller who cannot see it gets `NotFound` (its existence
/// stays secret), one who sees it but is not its organizer nor an admin `NotOrganizer`.
fn permit(viewer: Viewer, organizer: Uuid, visibility: Visibility) -> Result<(), AgendaError> {
    if !viewer.can_see(organizer, visibility) {
        Err(AgendaError::NotFound)
    } else if !viewer.can_manage(organizer) {
        Err(AgendaError::NotOrganizer)
    } else {
        Ok(())
    }
}
