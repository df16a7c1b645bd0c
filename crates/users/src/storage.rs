//! Profiles in the users database, behind one handle.
//!
//! Queries are runtime SQL over sqlx's `Any` driver with `$N` placeholders, so the same code runs
//! on SQLite (embedded) and PostgreSQL (distributed). Ids are the auth account's UUID as text,
//! timestamps unix milliseconds.
//!
//! Deleting a profile keeps its row as a tombstone: the personal details are erased and
//! `deleted_at` is set. Because the row stays, every way a profile can come into being (a late
//! `user.registered`, `GET /users/me`, an admin's `POST /users`) is a plain
//! `INSERT … ON CONFLICT (id)` that the tombstone blocks, atomically, with no read-then-write
//! race: deletion is final. The deletion writes `user.deleted` into the outbox in the same
//! transaction, so auth disables the account exactly when a profile is really deleted.

use platform::events::{USER_EVENTS, outbox};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use uuid::Uuid;

pub use crate::domain::Profile;
use crate::domain::{Page, ProfileChanges, ProfileDetails, Username};
use crate::error::UsersError;
use crate::events::UserDeleted;
use platform::millis::from_millis;
pub use platform::millis::now_millis;

/// The users schema for each engine, applied by [`platform::db::connect`].
pub const MIGRATIONS: platform::db::Migrations = platform::migrations!["0001_users", "0002_outbox"];

/// The columns every profile query reads, as a literal (sqlx takes only `'static` SQL).
macro_rules! columns {
    () => {
        "id, username, email, first_name, last_name, address, phone, created_at, updated_at, deleted_at"
    };
}

/// What an id refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Live(Profile),
    /// A tombstone: the profile existed and was deleted.
    Deleted,
    Missing,
}

impl Lookup {
    /// The live profile, or the error for a deleted or unknown one.
    pub fn live(self) -> Result<Profile, UsersError> {
        match self {
            Lookup::Live(profile) => Ok(profile),
            Lookup::Deleted => Err(UsersError::Deleted),
            Lookup::Missing => Err(UsersError::NotFound),
        }
    }
}

/// The users database.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
}

fn text(value: Option<&impl AsRef<str>>) -> Option<String> {
    value.map(|value| value.as_ref().to_owned())
}

/// Reads a row of [`columns!`].
fn lookup_from_row(row: &AnyRow) -> anyhow::Result<Lookup> {
    if row.try_get::<Option<i64>, _>("deleted_at")?.is_some() {
        return Ok(Lookup::Deleted);
    }
    Ok(Lookup::Live(profile_from_row(row)?))
}

fn profile_from_row(row: &AnyRow) -> anyhow::Result<Profile> {
    let id: String = row.try_get("id")?;
    let username: Option<String> = row.try_get("username")?;
    Ok(Profile {
        id: Uuid::parse_str(&id)
            .map_err(|error| anyhow::anyhow!("stored id {id:?} is not a UUID: {error}"))?,
        username: username.ok_or_else(|| anyhow::anyhow!("live profile {id} has no username"))?,
        email: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        address: row.try_get("address")?,
        phone: row.try_get("phone")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}

impl Storage {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Opens the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let pool = platform::db::connect(url, pool_size, MIGRATIONS).await?;
        Ok(Self::new(pool))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn find(&self, id: Uuid) -> Result<Lookup, UsersError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM profiles WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(lookup_from_row(&row)?),
            None => Ok(Lookup::Missing),
        }
    }

    /// One page of live profiles, oldest first, and how many live profiles there are in all.
    pub async fn list(&self, page: Page) -> Result<(Vec<Profile>, i64), UsersError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM profiles WHERE deleted_at IS NULL \
             ORDER BY created_at, id LIMIT $1 OFFSET $2"
        ))
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await?;
        let (total,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM profiles WHERE deleted_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        let items = rows
            .iter()
            .map(profile_from_row)
            .collect::<anyhow::Result<_>>()?;
        Ok((items, total))
    }

    /// Stores a new profile (an admin's `POST /users`): an id with a profile is
    /// [`UsersError::AlreadyExists`], a deleted one [`UsersError::IdRetired`].
    pub async fn create(
        &self,
        id: Uuid,
        username: &Username,
        details: &ProfileDetails,
    ) -> Result<Profile, UsersError> {
        let now = now_millis();
        let row = sqlx::query(concat!(
            "INSERT INTO profiles \
             (id, username, email, first_name, last_name, address, phone, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (id) DO NOTHING RETURNING ",
            columns!()
        ))
        .bind(id.to_string())
        .bind(username.as_str())
        .bind(text(details.email.as_ref()))
        .bind(text(details.first_name.as_ref()))
        .bind(text(details.last_name.as_ref()))
        .bind(text(details.address.as_ref()))
        .bind(text(details.phone.as_ref()))
        .bind(now)
        .fetch_optional(&mut *platform::db::acquire_write(&self.pool).await?)
        .await?;
        match row {
            Some(row) => Ok(profile_from_row(&row)?),
            None => match self.find(id).await? {
                Lookup::Deleted => Err(UsersError::IdRetired),
                _ => Err(UsersError::AlreadyExists),
            },
        }
    }

    /// The profile of an authenticated user, created from their token if it does not exist yet
    /// (the `user.registered` event may still be on its way). A deleted profile stays deleted.
    /// Safe under concurrency: two first requests insert one row.
    pub async fn ensure(&self, id: Uuid, username: &Username) -> Result<Lookup, UsersError> {
        if let found @ (Lookup::Live(_) | Lookup::Deleted) = self.find(id).await? {
            return Ok(found);
        }
        let now = now_millis();
        let inserted = sqlx::query(
            "INSERT INTO profiles (id, username, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(username.as_str())
        .bind(now)
        .execute(&mut *platform::db::acquire_write(&self.pool).await?)
        .await?;
        if inserted.rows_affected() == 1 {
            tracing::info!(user_id = %id, "created a profile from an access token");
        }
        self.find(id).await
    }

    /// Applies `changes` to a live profile in one statement (so concurrent partial updates of
    /// different fields never undo each other).
    pub async fn update(&self, id: Uuid, changes: &ProfileChanges) -> Result<Lookup, UsersError> {
        type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;
        fn change<'q, T: AsRef<str>>(
            query: AnyQuery<'q>,
            value: Option<Option<&T>>,
        ) -> AnyQuery<'q> {
            query
                .bind(value.is_some())
                .bind(value.flatten().map(|value| value.as_ref().to_owned()))
        }
        let query = sqlx::query(concat!(
            "UPDATE profiles SET \
             username = COALESCE($2, username), \
             email = CASE WHEN $3 THEN $4 ELSE email END, \
             first_name = CASE WHEN $5 THEN $6 ELSE first_name END, \
             last_name = CASE WHEN $7 THEN $8 ELSE last_name END, \
             address = CASE WHEN $9 THEN $10 ELSE address END, \
             phone = CASE WHEN $11 THEN $12 ELSE phone END, \
             updated_at = $13 \
             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            columns!()
        ));
        let query = query
            .bind(id.to_string())
            .bind(text(changes.username.as_ref()));
        let query = change(query, changes.email.new_value());
        let query = change(query, changes.first_name.new_value());
        let query = change(query, changes.last_name.new_value());
        let query = change(query, changes.address.new_value());
        let query = change(query, changes.phone.new_value());
        let row = query
            .bind(now_millis())
            .fetch_optional(&mut *platform::db::acquire_write(&self.pool).await?)
            .await?;
        match row {
            Some(row) => Ok(lookup_from_row(&row)?),
            None => self.find(id).await,
        }
    }

    /// Deletes a live profile, leaving a tombstone, and, in the same transaction, writes its
    /// `user.deleted` event (`deleted_by`: the caller) into the outbox; `false` if there was
    /// none to delete (and nothing is announced). Wake the relay after this returns `true`.
    ///
    /// With `even_if_missing` (a user deleting their own profile before the registration event
    /// arrived) a tombstone is written for an id that has no profile yet, so the late event
    /// cannot create one.
    pub async fn delete(
        &self,
        id: Uuid,
        even_if_missing: bool,
        deleted_by: Uuid,
    ) -> Result<bool, UsersError> {
        let now = now_millis();
        // Both statements erase every personal detail and set `deleted_at`, on live rows only.
        let sql = if even_if_missing {
            "INSERT INTO profiles (id, created_at, updated_at, deleted_at) \
             VALUES ($1, $2, $2, $2) \
             ON CONFLICT (id) DO UPDATE SET \
             username = NULL, email = NULL, first_name = NULL, last_name = NULL, \
             address = NULL, phone = NULL, updated_at = $2, deleted_at = $2 \
             WHERE profiles.deleted_at IS NULL"
        } else {
            "UPDATE profiles SET \
             username = NULL, email = NULL, first_name = NULL, last_name = NULL, \
             address = NULL, phone = NULL, updated_at = $2, deleted_at = $2 \
             WHERE id = $1 AND deleted_at IS NULL"
        };
        let mut tx = platform::db::begin_write(&self.pool).await?;
        let result = sqlx::query(sql)
            .bind(id.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if result.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let event = UserDeleted {
            user_id: id,
            deleted_by,
            deleted_at: from_millis(now)?,
        }
        .into_event();
        outbox::enqueue(&mut tx, USER_EVENTS, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records an account's registration on `connection` (inside the consumer's transaction): a
    /// new profile with the details given at registration, or, for a profile that already
    /// exists (created from a token before the event arrived), only its empty details filled
    /// in; nothing already there is overwritten. A tombstone is left alone.
    ///
    /// Returns whether a row was written.
    pub async fn record_registration(
        connection: &mut AnyConnection,
        id: Uuid,
        username: &Username,
        details: &ProfileDetails,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "INSERT INTO profiles \
             (id, username, email, first_name, last_name, address, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (id) DO UPDATE SET \
             email = COALESCE(profiles.email, excluded.email), \
             first_name = COALESCE(profiles.first_name, excluded.first_name), \
             last_name = COALESCE(profiles.last_name, excluded.last_name), \
             address = COALESCE(profiles.address, excluded.address), \
             updated_at = excluded.updated_at \
             WHERE profiles.deleted_at IS NULL AND ( \
             (profiles.email IS NULL AND excluded.email IS NOT NULL) OR \
             (profiles.first_name IS NULL AND excluded.first_name IS NOT NULL) OR \
             (profiles.last_name IS NULL AND excluded.last_name IS NOT NULL) OR \
             (profiles.address IS NULL AND excluded.address IS NOT NULL))",
        )
        .bind(id.to_string())
        .bind(username.as_str())
        .bind(text(details.email.as_ref()))
        .bind(text(details.first_name.as_ref()))
        .bind(text(details.last_name.as_ref()))
        .bind(text(details.address.as_ref()))
        .bind(now_millis())
        .execute(connection)
        .await?;
        Ok(result.rows_affected() > 0)
    }
}
