//! The payments database: one row per charge, keyed by the caller's idempotency key.
//!
//! Queries are runtime SQL over sqlx's `Any` driver with `$N` placeholders, so the same code runs
//! on SQLite (embedded) and PostgreSQL (distributed). Correctness under concurrency comes from
//! the database, not from the process: the UNIQUE constraint on the idempotency key makes
//! exactly one of several racing charges with one key win (`ON CONFLICT DO NOTHING`, the losers
//! read the winner's row), and a refund is one conditional UPDATE. So several payments
//! instances on one database stay correct too.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

pub use crate::domain::Payment;
use crate::domain::{Charge, Decision, IdempotencyKey, PaymentStatus};
use crate::error::PaymentsError;
use platform::millis::{from_millis, now_millis, parse_uuid, to_millis};

/// The payments schema for each engine, applied by [`platform::db::connect`].
pub const MIGRATIONS: platform::db::Migrations = platform::migrations!["0001_payments"];

/// The columns [`payment_from_row`] reads, spelled once.
macro_rules! select_payment {
    ($condition:literal) => {
        concat!(
            "SELECT id, order_id, amount_cents, decision, status, created_at FROM payments WHERE ",
            $condition
        )
    };
}

/// What recording a charge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// This call stored the payment.
    Created(Payment),
    /// The key was already taken (by an earlier or a concurrent call): its payment, unchanged.
    Existing(Payment),
}

/// The payments database.
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
        let pool = platform::db::connect(url, pool_size, MIGRATIONS).await?;
        Ok(Self::new(pool))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Stores a charge under `key` with `decision`, unless the key already has a payment, in
    /// which case that payment is returned and nothing is written.
    pub async fn record_charge(
        &self,
        key: &IdempotencyKey,
        charge: &Charge,
        decision: Decision,
    ) -> Result<Recorded, PaymentsError> {
        let payment = Payment {
            id: Uuid::now_v7(),
            order_id: charge.order_id,
            amount_cents: charge.amount.cents(),
            decision,
            status: decision.status(),
            // Stored in milliseconds; answer exactly what a later read will show.
            created_at: from_millis(now_millis())?,
        };
        let inserted = sqlx::query(
            "INSERT INTO payments \
             (id, idempotency_key, order_id, amount_cents, decision, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(payment.id.to_string())
        .bind(key.as_str())
        .bind(payment.order_id.to_string())
        .bind(payment.amount_cents)
        .bind(decision.as_str())
        .bind(payment.status.as_str())
        .bind(to_millis(payment.created_at))
        .execute(&mut *platform::db::acquire_write(&self.pool).await?)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Recorded::Created(payment));
        }
        let existing = self.find_by_key(key).await?.ok_or_else(|| {
            anyhow::anyhow!("an insert conflicted on an idempotency key that has no payment")
        })?;
        Ok(Recorded::Existing(existing))
    }

    /// The payment recorded under `key`, if any.
    pub async fn find_by_key(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<Payment>, PaymentsError> {
        let row = sqlx::query(select_payment!("idempotency_key = $1"))
            .bind(key.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(payment_from_row).transpose()?)
    }

    pub async fn find(&self, id: Uuid) -> Result<Option<Payment>, PaymentsError> {
        let row = sqlx::query(select_payment!("id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(payment_from_row).transpose()?)
    }

    /// Refunds an approved payment; a refunded one stays as it is (a refund is idempotent).
    pub async fn refund(&self, id: Uuid) -> Result<Payment, PaymentsError> {
        sqlx::query(
            "UPDATE payments SET status = 'refunded', refunded_at = $1 \
             WHERE id = $2 AND status = 'approved'",
        )
        .bind(now_millis())
        .bind(id.to_string())
        .execute(&mut *platform::db::acquire_write(&self.pool).await?)
        .await?;
        let payment = self.find(id).await?.ok_or(PaymentsError::NotFound)?;
        match payment.status {
            PaymentStatus::Refunded => Ok(payment),
            other => Err(PaymentsError::NotRefundable(other)),
        }
    }
}

fn payment_from_row(row: &AnyRow) -> anyhow::Result<Payment> {
    let decision: String = row.try_get("decision")?;
    let status: String = row.try_get("status")?;
    Ok(Payment {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        order_id: parse_uuid(&row.try_get::<String, _>("order_id")?)?,
        amount_cents: row.try_get("amount_cents")?,
        decision: Decision::parse(&decision)
            .ok_or_else(|| anyhow::anyhow!("stored decision {decision:?} is unknown"))?,
        status: PaymentStatus::parse(&status)
            .ok_or_else(|| anyhow::anyhow!("stored status {status:?} is unknown"))?,
        created_at: from_millis(row.try_get("created_at")?)?,
    })
}
