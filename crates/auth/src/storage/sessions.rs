//! Refresh tokens and their families.
//!
//! A family is one login; each refresh consumes its token and adds a successor to the family.
//! Consuming is one conditional `UPDATE … WHERE used_at IS NULL … RETURNING`, so of two
//! concurrent refreshes with the same token exactly one sees its row change: the other is
//! treated as a reuse, as it would be if it came later.

use sqlx::Row;
use uuid::Uuid;

use super::{Storage, parse_uuid};
use crate::error::AuthError;

/// What a consumed refresh token leaves to its successor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    pub family_id: Uuid,
    pub user_id: Uuid,
}

/// Why a refresh token could not be consumed, found after the fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshTokenState {
    Unknown,
    Expired,
    FamilyRevoked,
    /// Already exchanged once: a replay.
    AlreadyUsed {
        family_id: Uuid,
        user_id: Uuid,
    },
}

impl Storage {
    /// Starts a family (a login) with its first token.
    pub async fn start_family(
        &self,
        user_id: Uuid,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Uuid, AuthError> {
        let family_id = Uuid::now_v7();
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO refresh_families (id, user_id, created_at, revoked_at) VALUES ($1, $2, $3, NULL)",
        )
        .bind(family_id.to_string())
        .bind(user_id.to_string())
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        insert_token(
            &mut transaction,
            token_hash,
            family_id,
            user_id,
            now,
            expires_at,
        )
        .await?;
        transaction.commit().await?;
        Ok(family_id)
    }

    /// Consumes a live token and stores its successor, atomically. `None` when the token is
    /// not live (unknown, expired, used, or its family revoked): see [`Storage::inspect_token`].
    pub async fn rotate_token(
        &self,
        token_hash: &str,
        successor_hash: &str,
        now: i64,
        successor_expires_at: i64,
    ) -> Result<Option<Consumed>, AuthError> {
        let mut transaction = self.pool.begin().await?;
        // The write comes first so SQLite takes its write lock at once (no upgrade from a read
        // lock that could fail under contention).
        let row = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             AND EXISTS (SELECT 1 FROM refresh_families f \
             WHERE f.id = refresh_tokens.family_id AND f.revoked_at IS NULL) \
             RETURNING family_id, user_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = row else {
            transaction.rollback().await?;
            return Ok(None);
        };
        let consumed = Consumed {
            family_id: parse_uuid(&row.try_get::<String, _>("family_id")?)?,
            user_id: parse_uuid(&row.try_get::<String, _>("user_id")?)?,
        };
        insert_token(
            &mut transaction,
            successor_hash,
            consumed.family_id,
            consumed.user_id,
            now,
            successor_expires_at,
        )
        .await?;
        transaction.commit().await?;
        Ok(Some(consumed))
    }

    /// Why a token that [`Storage::rotate_token`] refused is not live.
    pub async fn inspect_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<RefreshTokenState, AuthError> {
        let row = sqlx::query(
            "SELECT t.family_id, t.user_id, t.expires_at, t.used_at, f.revoked_at \
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
             WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(RefreshTokenState::Unknown);
        };
        let used_at: Option<i64> = row.try_get("used_at")?;
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        Ok(if used_at.is_some() {
            RefreshTokenState::AlreadyUsed {
                family_id: parse_uuid(&row.try_get::<String, _>("family_id")?)?,
                user_id: parse_uuid(&row.try_get::<String, _>("user_id")?)?,
            }
        } else if revoked_at.is_some() {
            RefreshTokenState::FamilyRevoked
        } else if expires_at <= now {
            RefreshTokenState::Expired
        } else {
            // Refused a moment ago yet live now: cannot happen without a concurrent change to
            // the row; refusing once more is the safe answer.
            RefreshTokenState::Unknown
        })
    }

    /// Revokes every token of a family. Idempotent.
    pub async fn revoke_family(&self, family_id: Uuid, now: i64) -> Result<(), AuthError> {
        sqlx::query(
            "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes the family of a token if, and only if, the token belongs to `user_id`; `true` if
    /// a family was revoked by this call.
    pub async fn revoke_family_of(
        &self,
        token_hash: &str,
        user_id: Uuid,
        now: i64,
    ) -> Result<bool, AuthError> {
        let result = sqlx::query(
            "UPDATE refresh_families SET revoked_at = $1 \
             WHERE revoked_at IS NULL AND user_id = $3 \
             AND id IN (SELECT family_id FROM refresh_tokens WHERE token_hash = $2 AND user_id = $3)",
        )
        .bind(now)
        .bind(token_hash)
        .bind(user_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Forgets a user's expired tokens and the families left without any token, so the tables
    /// stay the size of the live sessions. Used tokens are kept until they expire: they are
    /// what reuse detection recognises.
    pub async fn prune_sessions(&self, user_id: Uuid, now: i64) -> Result<(), AuthError> {
        let user_id = user_id.to_string();
        sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at <= $2")
            .bind(&user_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "DELETE FROM refresh_families WHERE user_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id)",
        )
        .bind(&user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

async fn insert_token(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    token_hash: &str,
    family_id: Uuid,
    user_id: Uuid,
    now: i64,
    expires_at: i64,
) -> Result<(), AuthError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(token_hash)
    .bind(family_id.to_string())
    .bind(user_id.to_string())
    .bind(now)
    .bind(expires_at)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}
