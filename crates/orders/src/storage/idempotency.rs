//! `Idempotency-Key` records: the first answer to a `POST /orders`, replayed to its repeats.
//!
//! A key is claimed (a row inserted under the unique `(user_id, idempotency_key)`) before any
//! work is done, so of two concurrent requests with one key exactly one does the work. The key
//! is bound to the order in the transaction that stores it, and the answer is recorded once it
//! is known. A request that stored no order (refused input, no stock, products down) releases
//! its key instead: nothing was created, so a retry with the same key may try again.

use platform::db;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use super::{Storage, now_millis, parse_uuid};
use crate::error::OrdersError;

/// An HTTP answer as recorded for replay: status, the headers that matter, and the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What is already recorded under a key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// The fingerprint of the request that claimed the key.
    pub request: String,
    /// The order that request stored, once stored.
    pub order_id: Option<Uuid>,
    /// Its answer, once known.
    pub response: Option<StoredResponse>,
    /// When the key was claimed (unix ms), to recognise a claim abandoned by a crash.
    pub claimed_at: i64,
}

/// The outcome of trying to claim a key.
#[derive(Debug, Clone)]
pub enum Claim {
    /// This request owns the key and must do the work.
    Claimed,
    /// Someone else claimed it first.
    Existing(KeyRecord),
}

impl Storage {
    pub async fn claim_key(
        &self,
        user_id: Uuid,
        key: &str,
        request: &str,
    ) -> Result<Claim, OrdersError> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, idempotency_key, request, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, idempotency_key) DO NOTHING",
        )
        .bind(user_id.to_string())
        .bind(key)
        .bind(request)
        .bind(now_millis())
        .execute(&mut *db::acquire_write(&self.pool).await?)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Claimed);
        }
        let row = sqlx::query(
            "SELECT request, order_id, response, created_at FROM idempotency_keys \
             WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(user_id.to_string())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            // Released between our insert and our read: try again.
            return Box::pin(self.claim_key(user_id, key, request)).await;
        };
        let order_id: Option<String> = row.try_get("order_id")?;
        let response: Option<String> = row.try_get("response")?;
        Ok(Claim::Existing(KeyRecord {
            request: row.try_get("request")?,
            order_id: order_id.as_deref().map(parse_uuid).transpose()?,
            response: response
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|error| anyhow::anyhow!("stored response is not valid: {error}"))?,
            claimed_at: row.try_get("created_at")?,
        }))
    }

    /// Records the answer if the key's request stored an order; otherwise releases the key.
    /// Returns whether the answer was recorded.
    pub async fn finish_key(
        &self,
        user_id: Uuid,
        key: &str,
        response: &StoredResponse,
    ) -> Result<bool, OrdersError> {
        let text = serde_json::to_string(response)
            .map_err(|error| anyhow::anyhow!("cannot serialise a response: {error}"))?;
        let recorded = sqlx::query(
            "UPDATE idempotency_keys SET response = $1 \
             WHERE user_id = $2 AND idempotency_key = $3 AND order_id IS NOT NULL AND response IS NULL",
        )
        .bind(text)
        .bind(user_id.to_string())
        .bind(key)
        .execute(&mut *db::acquire_write(&self.pool).await?)
        .await?
        .rows_affected()
            == 1;
        if !recorded {
            self.release_key(user_id, key, None).await?;
        }
        Ok(recorded)
    }

    /// Forgets a claim that stored no order; with `claimed_at`, only that very claim (taking
    /// over a claim abandoned by a crashed request). Returns whether a row was deleted.
    pub async fn release_key(
        &self,
        user_id: Uuid,
        key: &str,
        claimed_at: Option<i64>,
    ) -> Result<bool, OrdersError> {
        let base = "DELETE FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = $2 \
                    AND order_id IS NULL AND response IS NULL";
        let query = match claimed_at {
            Some(at) => sqlx::query(sqlx::AssertSqlSafe(format!("{base} AND created_at = $3")))
                .bind(user_id.to_string())
                .bind(key)
                .bind(at),
            None => sqlx::query(base).bind(user_id.to_string()).bind(key),
        };
        let deleted = query
            .execute(&mut *db::acquire_write(&self.pool).await?)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    /// Forgets keys claimed before `before` (unix ms): a repeat that late is a new request.
    pub async fn purge_keys(&self, before: i64) -> Result<u64, OrdersError> {
        Ok(
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(before)
                .execute(&mut *db::acquire_write(&self.pool).await?)
                .await?
                .rows_affected(),
        )
    }
}
