//! Stock reservations: reserve all lines of an order or none, confirm, release exactly once.
//!
//! Each operation is one short transaction, taken with [`platform::db::begin_write`] (on SQLite
//! the process's writers queue instead of napping on the file lock, and the transaction holds
//! the write lock from its start, so it can never fail to upgrade a read snapshot). Reserving
//! starts by inserting the reservation row: a repeat for the same order (a retried call) finds
//! the row there and answers the stored reservation, and on PostgreSQL the row's primary key
//! serialises two reserves of the same order. Every line is then a conditional decrement
//! (`… SET stock = stock - q WHERE id = p AND stock >= q`), taken in product-id order so two
//! orders never lock rows in opposite orders; if one line cannot be served the whole
//! transaction rolls back, so nothing is ever half reserved and stock never goes below zero.
//!
//! Releasing flips the status with a conditional `UPDATE` and gives the stock back only if that
//! flip happened, so a release repeated, retried or raced restores stock exactly once.

use platform::db;
use sqlx::Row;

use super::{Storage, now_millis};
use crate::domain::{OrderId, ReservationLine, ReservationRequest, ReservationStatus};
use crate::error::ProductsError;

/// Why `line` could not be reserved (its product is unknown, or short of stock), after
/// rolling back `tx`, which reserved nothing else that may stay.
async fn not_taken(mut tx: db::WriteTransaction, line: &ReservationLine) -> ProductsError {
    let available: Result<Option<i64>, sqlx::Error> =
        sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
            .bind(line.product_id.get())
            .fetch_optional(&mut *tx)
            .await;
    let rolled_back = tx.rollback().await;
    match (available, rolled_back) {
        (Err(error), _) | (_, Err(error)) => error.into(),
        (Ok(None), Ok(())) => ProductsError::UnknownProduct {
            product_id: line.product_id,
            index: line.index,
        },
        (Ok(Some(available)), Ok(())) => ProductsError::InsufficientStock {
            product_id: line.product_id,
            index: line.index,
            requested: line.quantity.get(),
            available,
        },
    }
}

/// A reserved line, with the product's name and price as they were when it was reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedLine {
    pub product_id: i64,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
}

/// An order's reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub order_id: OrderId,
    pub status: ReservationStatus,
    /// In request order; empty for a release that arrived before any reserve.
    pub lines: Vec<ReservedLine>,
}

/// What [`Storage::reserve`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// Stock was taken now.
    New(Reservation),
    /// The order already had a reservation; nothing changed.
    Existing(Reservation),
}

impl Storage {
    /// Reserves every line of `request`, or nothing; repeats for the same order return the
    /// stored reservation untouched.
    pub async fn reserve(&self, request: &ReservationRequest) -> Result<Reserved, ProductsError> {
        if self.postgres {
            return self.reserve_on_postgres(request).await;
        }
        let order_id = request.order_id;
        let now = now_millis();
        let mut tx = db::begin_write(&self.pool).await?;
        let inserted = sqlx::query(
            "INSERT INTO reservations (order_id, status, created_at, updated_at) \
             VALUES ($1, 'reserved', $2, $2) ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order_id.key())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // A repeat (or a concurrent call) for the same order: answer what is stored.
            tx.rollback().await?;
            let existing = self
                .find_reservation(order_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("reservation {} vanished", order_id.key()))?;
            return Ok(Reserved::Existing(existing));
        }

        let mut by_product: Vec<_> = request.lines.iter().collect();
        by_product.sort_by_key(|line| line.product_id);
        let mut taken: Vec<(usize, ReservedLine)> = Vec::with_capacity(by_product.len());
        for line in by_product {
            let row = sqlx::query(
                "UPDATE products SET stock = stock - $1, updated_at = $2 \
                 WHERE id = $3 AND stock >= $1 \
                 RETURNING name, price_cents",
            )
            .bind(line.quantity.get())
            .bind(now)
            .bind(line.product_id.get())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Err(not_taken(tx, line).await);
            };
            taken.push((
                line.index,
                ReservedLine {
                    product_id: line.product_id.get(),
                    name: row.try_get("name")?,
                    unit_price_cents: row.try_get("price_cents")?,
                    quantity: line.quantity.get(),
                },
            ));
        }
        taken.sort_by_key(|(index, _)| *index);
        for (line_no, (_, line)) in taken.iter().enumerate() {
            sqlx::query(
                "INSERT INTO reservation_lines \
                 (order_id, line_no, product_id, name, unit_price_cents, quantity) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(order_id.key())
            .bind(i64::try_from(line_no).unwrap_or(i64::MAX))
            .bind(line.product_id)
            .bind(line.name.clone())
            .bind(line.unit_price_cents)
            .bind(line.quantity)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Reserved::New(Reservation {
            order_id,
            status: ReservationStatus::Reserved,
            lines: taken.into_iter().map(|(_, line)| line).collect(),
        }))
    }

    /// [`Storage::reserve`] on PostgreSQL, in as few round trips as the guarantees allow: the
    /// hot path is one row (a popular product) locked from its decrement to the commit, so
    /// every statement less there is throughput. The first line's statement also inserts the
    /// reservation row and takes stock only if that insert happened (a repeat, or a
    /// concurrent call for the same order waiting on the row's key, takes nothing); each line
    /// decrements its product and writes the reservation line in one statement. Lines still
    /// go in product-id order, and one line that cannot be served rolls everything back.
    async fn reserve_on_postgres(
        &self,
        request: &ReservationRequest,
    ) -> Result<Reserved, ProductsError> {
        /// Takes one line's stock and records the line; nothing if the stock is short.
        const TAKE_LINE: &str = "\
            WITH taken AS ( \
                UPDATE products SET stock = stock - $1, updated_at = $2 \
                WHERE id = $3 AND stock >= $1 RETURNING name, price_cents) \
            INSERT INTO reservation_lines \
            (order_id, line_no, product_id, name, unit_price_cents, quantity) \
            SELECT $4, $5, $3, name, price_cents, $1 FROM taken \
            RETURNING name, unit_price_cents";
        /// The reservation row and the first line, the line only if the row is new: `fresh`
        /// says whether it was, `name` and `unit_price_cents` are the line if it was taken.
        const RESERVE_FIRST_LINE: &str = "\
            WITH reservation AS ( \
                INSERT INTO reservations (order_id, status, created_at, updated_at) \
                VALUES ($4, 'reserved', $2, $2) ON CONFLICT (order_id) DO NOTHING \
                RETURNING order_id), \
            taken AS ( \
                UPDATE products SET stock = stock - $1, updated_at = $2 \
                WHERE id = $3 AND stock >= $1 AND EXISTS (SELECT 1 FROM reservation) \
                RETURNING name, price_cents), \
            line AS ( \
                INSERT INTO reservation_lines \
                (order_id, line_no, product_id, name, unit_price_cents, quantity) \
                SELECT $4, $5, $3, name, price_cents, $1 FROM taken \
                RETURNING name, unit_price_cents) \
            SELECT (SELECT COUNT(*) FROM reservation) AS fresh, line.name, \
            line.unit_price_cents FROM (SELECT 1) AS one LEFT JOIN line ON TRUE";

        let order_id = request.order_id;
        let now = now_millis();
        // Line numbers follow the request; stock is taken in product-id order.
        let mut by_product: Vec<(usize, &ReservationLine)> =
            request.lines.iter().enumerate().collect();
        by_product.sort_by_key(|(_, line)| line.product_id);
        let mut taken: Vec<(usize, ReservedLine)> = Vec::with_capacity(by_product.len());
        let mut tx = db::begin_write(&self.pool).await?;
        for (position, &(line_no, line)) in by_product.iter().enumerate() {
            let query = sqlx::query(if position == 0 {
                RESERVE_FIRST_LINE
            } else {
                TAKE_LINE
            })
            .bind(line.quantity.get())
            .bind(now)
            .bind(line.product_id.get())
            .bind(order_id.key())
            .bind(i64::try_from(line_no).unwrap_or(i64::MAX));
            let row = query.fetch_optional(&mut *tx).await?;
            if position == 0 {
                let fresh: i64 = match &row {
                    Some(row) => row.try_get("fresh")?,
                    None => 0,
                };
                if fresh == 0 {
                    // A repeat (or a concurrent call) for the same order: answer what is stored.
                    tx.rollback().await?;
                    let existing = self.find_reservation(order_id).await?.ok_or_else(|| {
                        anyhow::anyhow!("reservation {} vanished", order_id.key())
                    })?;
                    return Ok(Reserved::Existing(existing));
                }
            }
            let name: Option<String> = match &row {
                Some(row) => row.try_get("name")?,
                None => None,
            };
            let (Some(row), Some(name)) = (row, name) else {
                return Err(not_taken(tx, line).await);
            };
            taken.push((
                line_no,
                ReservedLine {
                    product_id: line.product_id.get(),
                    name,
                    unit_price_cents: row.try_get("unit_price_cents")?,
                    quantity: line.quantity.get(),
                },
            ));
        }
        tx.commit().await?;
        taken.sort_by_key(|(line_no, _)| *line_no);
        Ok(Reserved::New(Reservation {
            order_id,
            status: ReservationStatus::Reserved,
            lines: taken.into_iter().map(|(_, line)| line).collect(),
        }))
    }

    pub async fn find_reservation(
        &self,
        order_id: OrderId,
    ) -> Result<Option<Reservation>, ProductsError> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM reservations WHERE order_id = $1")
                .bind(order_id.key())
                .fetch_optional(&self.pool)
                .await?;
        let Some(status) = status else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT product_id, name, unit_price_cents, quantity FROM reservation_lines \
             WHERE order_id = $1 ORDER BY line_no",
        )
        .bind(order_id.key())
        .fetch_all(&self.pool)
        .await?;
        let lines = rows
            .iter()
            .map(|row| {
                Ok(ReservedLine {
                    product_id: row.try_get("product_id")?,
                    name: row.try_get("name")?,
                    unit_price_cents: row.try_get("unit_price_cents")?,
                    quantity: row.try_get("quantity")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(Some(Reservation {
            order_id,
            status: parse_status(&status)?,
            lines,
        }))
    }

    /// Marks a reservation paid for. Repeating it is harmless; a released reservation cannot be
    /// confirmed (its stock may be sold to someone else already).
    pub async fn confirm(&self, order_id: OrderId) -> Result<(), ProductsError> {
        let updated = sqlx::query(
            "UPDATE reservations SET status = 'confirmed', updated_at = $2 \
             WHERE order_id = $1 AND status = 'reserved'",
        )
        .bind(order_id.key())
        .bind(now_millis())
        .execute(&mut *db::acquire_write(&self.pool).await?)
        .await?;
        if updated.rows_affected() == 1 {
            return Ok(());
        }
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM reservations WHERE order_id = $1")
                .bind(order_id.key())
                .fetch_optional(&self.pool)
                .await?;
        match status.as_deref().map(parse_status).transpose()? {
            None => Err(ProductsError::ReservationNotFound),
            Some(ReservationStatus::Confirmed) => Ok(()),
            Some(ReservationStatus::Released) => Err(ProductsError::ReservationReleased(order_id)),
            // Nothing moves a reservation back to `reserved`; the UPDATE above would have won.
            Some(ReservationStatus::Reserved) => Err(anyhow::anyhow!(
                "reservation {} stayed reserved through a confirm",
                order_id.key()
            )
            .into()),
        }
    }

    /// Gives a reservation's stock back, once; `true` if this call restored stock.
    ///
    /// A release for an order with no reservation records a `released` tombstone: if the
    /// reserve it compensates for arrives late (a retried or slow request), it finds the order
    /// released and reserves nothing, instead of holding stock for an order that is gone.
    pub async fn release(&self, order_id: OrderId) -> Result<bool, ProductsError> {
        let now = now_millis();
        let mut tx = db::begin_write(&self.pool).await?;
        let updated = sqlx::query(
            "UPDATE reservations SET status = 'released', updated_at = $2 \
             WHERE order_id = $1 AND status IN ('reserved', 'confirmed')",
        )
        .bind(order_id.key())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO reservations (order_id, status, created_at, updated_at) \
                 VALUES ($1, 'released', $2, $2) ON CONFLICT (order_id) DO NOTHING",
            )
            .bind(order_id.key())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(false);
        }
        let lines = sqlx::query(
            "SELECT product_id, quantity FROM reservation_lines \
             WHERE order_id = $1 ORDER BY product_id",
        )
        .bind(order_id.key())
        .fetch_all(&mut *tx)
        .await?;
        for line in &lines {
            let product_id: i64 = line.try_get("product_id")?;
            let quantity: i64 = line.try_get("quantity")?;
            // A product deleted meanwhile has no stock to restore; the rest still comes back.
            sqlx::query("UPDATE products SET stock = stock + $1, updated_at = $2 WHERE id = $3")
                .bind(quantity)
                .bind(now)
                .bind(product_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

fn parse_status(text: &str) -> Result<ReservationStatus, ProductsError> {
    ReservationStatus::parse(text)
        .ok_or_else(|| anyhow::anyhow!("stored reservation status {text:?} is unknown").into())
}
