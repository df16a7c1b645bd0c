//! Orders and their lines, and the one way their status changes.

use std::sync::LazyLock;

use platform::db;
use platform::events::{Event, ORDER_EVENTS, outbox};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::commands::{self, Command};
use super::{Storage, from_millis, now_millis, parse_uuid, to_millis};
use crate::domain::{Order, OrderItem, OrderStatus};
use crate::error::OrdersError;

/// The columns [`order_from_row`] reads, as a literal for `concat!`.
macro_rules! order_columns {
    () => {
        "id, user_id, username, status, total_cents, shipping_address, payment_id, created_at, updated_at"
    };
}

/// One page of orders, newest first, with the number of orders in all pages.
#[derive(Debug, Clone)]
pub struct Page {
    pub orders: Vec<Order>,
    pub total: i64,
}

/// A status change, applied only if the order is still in `from`.
#[derive(Debug)]
pub struct Transition<'a> {
    pub order_id: Uuid,
    pub from: OrderStatus,
    pub to: OrderStatus,
    /// Recorded with the change (the approved payment, for a later refund).
    pub payment_id: Option<&'a str>,
    /// Published on `order-events` through the outbox, in the same transaction.
    pub event: &'a Event,
    /// Calls owed to other services because of this change, in the same transaction.
    pub commands: &'a [Command],
}

fn order_from_row(row: &AnyRow, items: Vec<OrderItem>) -> anyhow::Result<Order> {
    let status: String = row.try_get("status")?;
    Ok(Order {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        user_id: parse_uuid(&row.try_get::<String, _>("user_id")?)?,
        username: row.try_get("username")?,
        status: OrderStatus::parse(&status)
            .ok_or_else(|| anyhow::anyhow!("stored status {status:?} is unknown"))?,
        items,
        total_cents: row.try_get("total_cents")?,
        shipping_address: row.try_get("shipping_address")?,
        payment_id: row.try_get("payment_id")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}

fn item_from_row(row: &AnyRow) -> anyhow::Result<(String, OrderItem)> {
    let quantity: i64 = row.try_get("quantity")?;
    Ok((
        row.try_get("order_id")?,
        OrderItem {
            product_id: row.try_get("product_id")?,
            name: row.try_get("name")?,
            unit_price_cents: row.try_get("unit_price_cents")?,
            quantity: u32::try_from(quantity)
                .map_err(|_| anyhow::anyhow!("stored quantity {quantity} is out of range"))?,
            line_total_cents: row.try_get("line_total_cents")?,
        },
    ))
}

impl Storage {
    /// Stores a new order with its lines and its `order.created` event, in one transaction.
    ///
    /// `guard` is the release command registered before the stock was reserved (it is
    /// dropped: the order now owns the reservation); `key` binds the caller's
    /// `Idempotency-Key` to the order, so that key can never create another one.
    pub async fn insert_order(
        &self,
        order: &Order,
        guard: Uuid,
        key: Option<(Uuid, &str)>,
        event: &Event,
    ) -> Result<(), OrdersError> {
        if self.postgres {
            return self.insert_order_at_once(order, guard, key, event).await;
        }
        let mut tx = db::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO orders \
             (id, user_id, username, status, total_cents, shipping_address, payment_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(order.id.to_string())
        .bind(order.user_id.to_string())
        .bind(order.username.as_str())
        .bind(order.status.as_str())
        .bind(order.total_cents)
        .bind(order.shipping_address.as_str())
        .bind(order.payment_id.clone())
        .bind(to_millis(order.created_at))
        .bind(to_millis(order.updated_at))
        .execute(&mut *tx)
        .await?;
        for (line_no, item) in order.items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO order_items \
                 (order_id, line_no, product_id, name, unit_price_cents, quantity, line_total_cents) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(order.id.to_string())
            .bind(i64::try_from(line_no).unwrap_or(i64::MAX))
            .bind(item.product_id)
            .bind(item.name.as_str())
            .bind(item.unit_price_cents)
            .bind(i64::from(item.quantity))
            .bind(item.line_total_cents)
            .execute(&mut *tx)
            .await?;
        }
        commands::delete_in(&mut tx, guard).await?;
        if let Some((user_id, key)) = key {
            sqlx::query(
                "UPDATE idempotency_keys SET order_id = $1 \
                 WHERE user_id = $2 AND idempotency_key = $3",
            )
            .bind(order.id.to_string())
            .bind(user_id.to_string())
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }
        outbox::enqueue(&mut tx, ORDER_EVENTS, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Storage::insert_order`] on PostgreSQL: the order, its lines, the guard's deletion,
    /// the key's binding and the event in one statement, atomic by itself.
    async fn insert_order_at_once(
        &self,
        order: &Order,
        guard: Uuid,
        key: Option<(Uuid, &str)>,
        event: &Event,
    ) -> Result<(), OrdersError> {
        static INSERT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "WITH new_order AS ( \
                     INSERT INTO orders (id, user_id, username, status, total_cents, \
                     shipping_address, payment_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)), \
                 lines AS ( \
                     INSERT INTO order_items (order_id, line_no, product_id, name, \
                     unit_price_cents, quantity, line_total_cents) \
                     SELECT $1, line_no, product_id, name, unit_price_cents, quantity, \
                     line_total_cents FROM json_to_recordset($10::json) AS line( \
                         line_no BIGINT, product_id BIGINT, name TEXT, \
                         unit_price_cents BIGINT, quantity BIGINT, line_total_cents BIGINT)), \
                 guard AS (DELETE FROM saga_commands WHERE id = $11), \
                 bound_key AS ( \
                     UPDATE idempotency_keys SET order_id = $1 \
                     WHERE user_id = $12 AND idempotency_key = $13) \
                 INSERT INTO outbox ({}) VALUES ({})",
                outbox::OutboxRow::COLUMNS,
                outbox::OutboxRow::values(14)
            )
        });
        let lines: Vec<serde_json::Value> = order
            .items
            .iter()
            .enumerate()
            .map(|(line_no, item)| {
                serde_json::json!({
                    "line_no": line_no,
                    "product_id": item.product_id,
                    "name": item.name,
                    "unit_price_cents": item.unit_price_cents,
                    "quantity": item.quantity,
                    "line_total_cents": item.line_total_cents,
                })
            })
            .collect();
        let row = outbox::OutboxRow::new(ORDER_EVENTS, event)?;
        let query = sqlx::query(AssertSqlSafe(INSERT.as_str()))
            .bind(order.id.to_string())
            .bind(order.user_id.to_string())
            .bind(order.username.as_str())
            .bind(order.status.as_str())
            .bind(order.total_cents)
            .bind(order.shipping_address.as_str())
            .bind(order.payment_id.clone())
            .bind(to_millis(order.created_at))
            .bind(to_millis(order.updated_at))
            .bind(serde_json::Value::from(lines).to_string())
            .bind(guard.to_string())
            .bind(key.map(|(user_id, _)| user_id.to_string()))
            .bind(key.map(|(_, key)| key));
        row.bind(query).execute(&self.pool).await?;
        Ok(())
    }

    /// Applies a status change if the order is still in `from`; `Some(updated_at)` when this
    /// caller made the change, `None` when someone else changed the order first.
    pub async fn transition(
        &self,
        change: Transition<'_>,
    ) -> Result<Option<OffsetDateTime>, OrdersError> {
        if self.postgres {
            return self.transition_at_once(change).await;
        }
        let now = now_millis();
        let mut tx = db::begin_write(&self.pool).await?;
        let applied = sqlx::query(
            "UPDATE orders SET status = $1, updated_at = $2, payment_id = COALESCE($3, payment_id) \
             WHERE id = $4 AND status = $5",
        )
        .bind(change.to.as_str())
        .bind(now)
        .bind(change.payment_id.map(str::to_owned))
        .bind(change.order_id.to_string())
        .bind(change.from.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !applied {
            tx.rollback().await?;
            return Ok(None);
        }
        for command in change.commands {
            commands::insert_in(&mut tx, command).await?;
        }
        outbox::enqueue(&mut tx, ORDER_EVENTS, change.event).await?;
        tx.commit().await?;
        Ok(Some(from_millis(now)?))
    }

    /// [`Storage::transition`] on PostgreSQL: the conditional update, the owed commands and
    /// the event in one statement, atomic by itself; the commands and the event are written
    /// only if the update applied.
    async fn transition_at_once(
        &self,
        change: Transition<'_>,
    ) -> Result<Option<OffsetDateTime>, OrdersError> {
        static TRANSITION: LazyLock<String> = LazyLock::new(|| {
            format!(
                "WITH changed AS ( \
                     UPDATE orders SET status = $1, updated_at = $2, \
                     payment_id = COALESCE($3, payment_id) \
                     WHERE id = $4 AND status = $5 RETURNING id), \
                 owed AS ( \
                     INSERT INTO saga_commands (id, order_id, kind, payment_id, attempts, \
                     next_attempt_at, created_at) \
                     SELECT command.id, command.order_id, command.kind, command.payment_id, \
                     command.attempts, command.next_attempt_at, command.created_at \
                     FROM json_to_recordset($6::json) AS command( \
                         id TEXT, order_id TEXT, kind TEXT, payment_id TEXT, attempts BIGINT, \
                         next_attempt_at BIGINT, created_at BIGINT) \
                     WHERE EXISTS (SELECT 1 FROM changed)), \
                 event AS ( \
                     INSERT INTO outbox ({}) SELECT {} FROM changed) \
                 SELECT COUNT(*) FROM changed",
                outbox::OutboxRow::COLUMNS,
                outbox::OutboxRow::values(7)
            )
        });
        let now = now_millis();
        let commands: Vec<serde_json::Value> = change
            .commands
            .iter()
            .map(|command| commands::as_json(command, now))
            .collect();
        let row = outbox::OutboxRow::new(ORDER_EVENTS, change.event)?;
        let query = sqlx::query(AssertSqlSafe(TRANSITION.as_str()))
            .bind(change.to.as_str())
            .bind(now)
            .bind(change.payment_id.map(str::to_owned))
            .bind(change.order_id.to_string())
            .bind(change.from.as_str())
            .bind(serde_json::Value::from(commands).to_string());
        let changed: i64 = row.bind(query).fetch_one(&self.pool).await?.try_get(0)?;
        if changed == 0 {
            return Ok(None);
        }
        Ok(Some(from_millis(now)?))
    }

    pub async fn find_order(&self, id: Uuid) -> Result<Option<Order>, OrdersError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut orders = self.with_items(vec![row]).await?;
        Ok(orders.pop())
    }

    /// Orders newest first: all of them, or only `owner`'s.
    pub async fn list_orders(
        &self,
        owner: Option<Uuid>,
        limit: i64,
        offset: i64,
    ) -> Result<Page, OrdersError> {
        let (rows, total) = match owner {
            Some(owner) => {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    order_columns!(),
                    " FROM orders WHERE user_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(owner.to_string())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                let total: i64 =
                    sqlx::query("SELECT COUNT(*) AS total FROM orders WHERE user_id = $1")
                        .bind(owner.to_string())
                        .fetch_one(&self.pool)
                        .await?
                        .try_get("total")?;
                (rows, total)
            }
            None => {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    order_columns!(),
                    " FROM orders ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                let total: i64 = sqlx::query("SELECT COUNT(*) AS total FROM orders")
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("total")?;
                (rows, total)
            }
        };
        Ok(Page {
            orders: self.with_items(rows).await?,
            total,
        })
    }

    /// Orders still awaiting payment that were placed before `cutoff`, oldest first.
    pub async fn unpaid_since_before(
        &self,
        cutoff: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Order>, OrdersError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE status = $1 AND created_at < $2 ORDER BY created_at LIMIT $3"
        ))
        .bind(OrderStatus::AwaitingPayment.as_str())
        .bind(to_millis(cutoff))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        self.with_items(rows).await
    }

    /// Loads the lines of the orders in `rows`, keeping the rows' order.
    async fn with_items(&self, rows: Vec<AnyRow>) -> Result<Vec<Order>, OrdersError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows
            .iter()
            .map(|row| row.try_get::<String, _>("id"))
            .collect::<Result<_, _>>()?;
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT order_id, product_id, name, unit_price_cents, quantity, line_total_cents \
             FROM order_items WHERE order_id IN ({}) ORDER BY order_id, line_no",
            placeholders.join(", ")
        );
        // Only placeholders are interpolated; the ids are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in &ids {
            query = query.bind(id.clone());
        }
        let mut items: std::collections::HashMap<String, Vec<OrderItem>> =
            std::collections::HashMap::new();
        for row in query.fetch_all(&self.pool).await? {
            let (order_id, item) = item_from_row(&row)?;
            items.entry(order_id).or_default().push(item);
        }
        rows.iter()
            .zip(ids)
            .map(|(row, id)| Ok(order_from_row(row, items.remove(&id).unwrap_or_default())?))
            .collect()
    }
}
