//! Calls the saga owes other services: confirm or release a stock reservation, refund a payment.
//!
//! A status change that requires one of these writes it here in the same transaction (an
//! outbox of commands), then the caller performs it at once and deletes the row. If the other
//! service is down, or this process dies in between, the row stays and the background sweep
//! retries it with backoff until the service answers. Every command is idempotent at the
//! receiving end (per order id, per payment id), so running one twice is harmless.
//!
//! The same mechanism guards the reservation itself: a delayed `release` is registered before
//! stock is reserved and deleted when the order is stored, so a reservation whose order never
//! got stored (products timed out, or the process crashed) is handed back.

use std::time::Duration;

use platform::db;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Storage, millis, now_millis, parse_uuid};
use crate::error::OrdersError;

/// How long a command waits after the first retry before the next one, at most.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// Products: make the order's reservation final.
    Confirm,
    /// Products: hand the order's reserved stock back.
    Release,
    /// Payments: refund `payment_id`.
    Refund,
}

impl CommandKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Confirm => "confirm",
            CommandKind::Release => "release",
            CommandKind::Refund => "refund",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "confirm" => Some(CommandKind::Confirm),
            "release" => Some(CommandKind::Release),
            "refund" => Some(CommandKind::Refund),
            _ => None,
        }
    }
}

/// One owed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub id: Uuid,
    pub kind: CommandKind,
    pub order_id: Uuid,
    /// The payment a refund is for.
    pub payment_id: Option<String>,
    /// Failed attempts so far.
    pub attempts: i64,
    /// How long the sweep leaves it alone after it is stored (the caller performs it first).
    pub delay: Duration,
}

/// How long a new command is left to its caller before the sweep may run it.
pub const CALLER_GRACE: Duration = Duration::from_secs(5);

impl Command {
    pub fn new(kind: CommandKind, order_id: Uuid) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            order_id,
            payment_id: None,
            attempts: 0,
            delay: CALLER_GRACE,
        }
    }

    pub fn refund(order_id: Uuid, payment_id: impl Into<String>) -> Self {
        Self {
            payment_id: Some(payment_id.into()),
            ..Self::new(CommandKind::Refund, order_id)
        }
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

fn command_from_row(row: &AnyRow) -> anyhow::Result<Command> {
    let kind: String = row.try_get("kind")?;
    Ok(Command {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        kind: CommandKind::parse(&kind)
            .ok_or_else(|| anyhow::anyhow!("stored command kind {kind:?} is unknown"))?,
        order_id: parse_uuid(&row.try_get::<String, _>("order_id")?)?,
        payment_id: row.try_get("payment_id")?,
        attempts: row.try_get("attempts")?,
        delay: Duration::ZERO,
    })
}

pub(super) async fn insert_in(
    conn: &mut AnyConnection,
    command: &Command,
) -> Result<(), sqlx::Error> {
    let now = now_millis();
    sqlx::query(
        "INSERT INTO saga_commands (id, order_id, kind, payment_id, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(command.id.to_string())
    .bind(command.order_id.to_string())
    .bind(command.kind.as_str())
    .bind(command.payment_id.clone())
    .bind(command.attempts)
    .bind(now.saturating_add(millis(command.delay)))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A command as the row [`insert_in`] writes at `now`, for a statement that writes several
/// things at once (see [`Storage::transition`]).
pub(super) fn as_json(command: &Command, now: i64) -> serde_json::Value {
    serde_json::json!({
        "id": command.id.to_string(),
        "order_id": command.order_id.to_string(),
        "kind": command.kind.as_str(),
        "payment_id": command.payment_id,
        "attempts": command.attempts,
        "next_attempt_at": now.saturating_add(millis(command.delay)),
        "created_at": now,
    })
}

pub(super) async fn delete_in(conn: &mut AnyConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM saga_commands WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Storage {
    /// Stores a command on its own (outside a status change): one statement, atomic alone.
    pub async fn insert_command(&self, command: &Command) -> Result<(), OrdersError> {
        let mut conn = db::acquire_write(&self.pool).await?;
        insert_in(&mut conn, command).await?;
        Ok(())
    }

    /// The command was performed: forget it.
    pub async fn command_done(&self, id: Uuid) -> Result<(), OrdersError> {
        let mut conn = db::acquire_write(&self.pool).await?;
        delete_in(&mut conn, id).await?;
        Ok(())
    }

    /// The command failed again: try later, backing off exponentially (1 s, 2 s, … 60 s).
    pub async fn command_failed(&self, command: &Command) -> Result<(), OrdersError> {
        let attempts = command.attempts.saturating_add(1);
        let exponent = u32::try_from((attempts - 1).clamp(0, 6)).unwrap_or(6);
        let backoff = Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF);
        let mut conn = db::acquire_write(&self.pool).await?;
        sqlx::query("UPDATE saga_commands SET attempts = $1, next_attempt_at = $2 WHERE id = $3")
            .bind(attempts)
            .bind(now_millis().saturating_add(millis(backoff)))
            .bind(command.id.to_string())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Makes a command due now (its caller could not perform it and wants the sweep to).
    pub async fn command_due_now(&self, id: Uuid) -> Result<(), OrdersError> {
        let mut conn = db::acquire_write(&self.pool).await?;
        sqlx::query("UPDATE saga_commands SET next_attempt_at = $1 WHERE id = $2")
            .bind(now_millis())
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Commands whose time has come, oldest first (so one order's commands run in order).
    pub async fn due_commands(&self, limit: i64) -> Result<Vec<Command>, OrdersError> {
        let rows = sqlx::query(
            "SELECT id, order_id, kind, payment_id, attempts FROM saga_commands \
             WHERE next_attempt_at <= $1 ORDER BY created_at, id LIMIT $2",
        )
        .bind(now_millis())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(command_from_row)
            .collect::<anyhow::Result<_>>()?)
    }

    /// Commands not yet performed (the backlog metric).
    pub async fn pending_commands(&self) -> Result<i64, OrdersError> {
        Ok(sqlx::query("SELECT COUNT(*) AS pending FROM saga_commands")
            .fetch_one(&self.pool)
            .await?
            .try_get("pending")?)
    }
}
