//! Accounts: who can log in, with which password hash and role.
//!
//! A disabled account (its user was deleted, [`Storage::disable_account`]) keeps its row, so its
//! username stays taken, but it is invisible to logins and token refreshes: to them it is an
//! unknown user.

use platform::Role;
use platform::auth::DisabledAccount;
use platform::events::{USER_EVENTS, outbox};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Storage, from_millis, now_millis, parse_uuid, to_millis};
pub use crate::domain::Account;
use crate::domain::{PersonalDetails, Username};
use crate::error::AuthError;
use crate::events::UserRegistered;
use crate::passwords::StoredHash;

/// The unique constraint on lowercased usernames (its name in PostgreSQL, its column in SQLite).
const USERNAME_CONSTRAINT: &str = "users_username_lower_key";
const USERNAME_COLUMN: &str = "users.username_lower";

/// An account with its password hash, for login only.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account: Account,
    pub password_hash: StoredHash,
}

fn account_from_row(row: &AnyRow) -> anyhow::Result<Account> {
    let role: String = row.try_get("role")?;
    Ok(Account {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        username: row.try_get("username")?,
        role: Role::parse(&role)
            .ok_or_else(|| anyhow::anyhow!("stored role {role:?} is unknown"))?,
        created_at: from_millis(row.try_get("created_at")?)?,
    })
}

impl Storage {
    /// Stores a new account and, in the same transaction, its `user.registered` event in the
    /// outbox; a username already taken (in any case) is [`AuthError::UsernameTaken`]. Wake the
    /// relay after this returns to publish the event at once.
    pub async fn create_account(
        &self,
        username: &Username,
        password_hash: &StoredHash,
        role: Role,
        profile: &PersonalDetails,
    ) -> Result<Account, AuthError> {
        let account = Account {
            id: Uuid::now_v7(),
            username: username.as_str().to_owned(),
            role,
            // Stored in milliseconds; answer exactly what a later read will show.
            created_at: from_millis(now_millis())?,
        };
        let event = UserRegistered::new(&account, profile).into_event();
        let mut tx = self.pool.begin().await?;
        let result = sqlx::query(
            "INSERT INTO users \
             (id, username, username_lower, password_hash, role, email, first_name, last_name, address, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(account.id.to_string())
        .bind(username.as_str())
        .bind(username.key())
        .bind(password_hash.expose())
        .bind(role.as_str())
        .bind(profile.email.as_ref().map(|email| email.as_str().to_owned()))
        .bind(profile.first_name.as_ref().map(|name| name.as_str().to_owned()))
        .bind(profile.last_name.as_ref().map(|name| name.as_str().to_owned()))
        .bind(profile.address.as_ref().map(|address| address.as_str().to_owned()))
        .bind(to_millis(account.created_at))
        .execute(&mut *tx)
        .await;
        match result {
            Ok(_) => {}
            Err(error)
                if platform::db::is_unique_violation(
                    &error,
                    USERNAME_CONSTRAINT,
                    USERNAME_COLUMN,
                ) =>
            {
                return Err(AuthError::UsernameTaken);
            }
            Err(error) => return Err(error.into()),
        }
        outbox::enqueue(&mut tx, USER_EVENTS, &event).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// Whether an account has this lowercased username (a disabled one included: its username
    /// is never reassigned).
    pub async fn username_exists(&self, username_lower: &str) -> Result<bool, AuthError> {
        let row = sqlx::query("SELECT 1 AS found FROM users WHERE username_lower = $1")
            .bind(username_lower)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The account and hash for a lowercased username, if a usable (not disabled) one exists.
    pub async fn find_credentials(
        &self,
        username_lower: &str,
    ) -> Result<Option<Credentials>, AuthError> {
        let row = sqlx::query(
            "SELECT id, username, role, created_at, password_hash FROM users \
             WHERE username_lower = $1 AND disabled_at IS NULL",
        )
        .bind(username_lower)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            account: account_from_row(&row)?,
            password_hash: StoredHash::new(row.try_get::<String, _>("password_hash")?),
        }))
    }

    /// The usable (not disabled) account with this id.
    pub async fn find_account(&self, id: Uuid) -> Result<Option<Account>, AuthError> {
        let row = sqlx::query(
            "SELECT id, username, role, created_at FROM users WHERE id = $1 AND disabled_at IS NULL",
        )
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(account_from_row).transpose()?)
    }

    /// Disables an account on `connection` (inside the consumer's transaction): `disabled_at`
    /// set once, the details kept only for `user.registered` and the password hash erased, and
    /// every refresh-token family revoked, so no login or refresh works again. Returns whether
    /// an account was disabled by this call (`false`: unknown, or disabled already).
    pub async fn disable_account(
        connection: &mut AnyConnection,
        id: Uuid,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let id = id.to_string();
        // No hash ever has this form: nothing can match it, even if a query forgot the filter.
        let disabled = sqlx::query(
            "UPDATE users SET disabled_at = $2, password_hash = '!disabled', \
             email = NULL, first_name = NULL, last_name = NULL, address = NULL \
             WHERE id = $1 AND disabled_at IS NULL",
        )
        .bind(&id)
        .bind(now)
        .execute(&mut *connection)
        .await?;
        // Also on a redelivery to an account already disabled: a session started in a race
        // with the first delivery ends too.
        sqlx::query(
            "UPDATE refresh_families SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(&id)
        .bind(now)
        .execute(&mut *connection)
        .await?;
        Ok(disabled.rows_affected() > 0)
    }

    /// Accounts disabled at or after `since` (unix ms), oldest first, at most `limit`, and
    /// whether more follow.
    pub async fn disabled_since(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<(Vec<DisabledAccount>, bool), AuthError> {
        let rows = sqlx::query(
            "SELECT id, disabled_at FROM users \
             WHERE disabled_at IS NOT NULL AND disabled_at >= $1 \
             ORDER BY disabled_at, id LIMIT $2",
        )
        .bind(since)
        .bind(limit.saturating_add(1))
        .fetch_all(&self.pool)
        .await?;
        let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
        let accounts = rows
            .iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|row| {
                Ok(DisabledAccount {
                    user_id: parse_uuid(&row.try_get::<String, _>("id")?)?,
                    disabled_at_ms: row.try_get("disabled_at")?,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok((accounts, more))
    }
}
