//! The catalogue: listing, search, and the admin's create, update and delete.

use platform::db;
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{Storage, from_millis, now_millis};
use crate::domain::{NewProduct, ProductChanges, ProductId, ProductQuery};
use crate::error::ProductsError;

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub stock: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

fn product_from_row(row: &AnyRow) -> Result<Product, ProductsError> {
    Ok(Product {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        price_cents: row.try_get("price_cents")?,
        stock: row.try_get("stock")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}

impl Storage {
    /// One page of the catalogue in id order, and how many products match in all.
    pub async fn list_products(
        &self,
        query: &ProductQuery,
    ) -> Result<(Vec<Product>, i64), ProductsError> {
        let page = query.page;
        let (rows, total) = match &query.search {
            None => {
                let rows = sqlx::query(
                    "SELECT id, name, description, price_cents, stock, created_at, updated_at \
                     FROM products ORDER BY id LIMIT $1 OFFSET $2",
                )
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(&self.pool)
                .await?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
                    .fetch_one(&self.pool)
                    .await?;
                (rows, total)
            }
            Some(term) => {
                let pattern = term.like_pattern();
                let rows = sqlx::query(
                    "SELECT id, name, description, price_cents, stock, created_at, updated_at \
                     FROM products WHERE name_search LIKE $1 ESCAPE '\\' \
                     ORDER BY id LIMIT $2 OFFSET $3",
                )
                .bind(pattern.clone())
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(&self.pool)
                .await?;
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM products WHERE name_search LIKE $1 ESCAPE '\\'",
                )
                .bind(pattern)
                .fetch_one(&self.pool)
                .await?;
                (rows, total)
            }
        };
        let products = rows
            .iter()
            .map(product_from_row)
            .collect::<Result<_, _>>()?;
        Ok((products, total))
    }

    pub async fn find_product(&self, id: ProductId) -> Result<Option<Product>, ProductsError> {
        let row = sqlx::query(
            "SELECT id, name, description, price_cents, stock, created_at, updated_at \
             FROM products WHERE id = $1",
        )
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(product_from_row).transpose()
    }

    pub async fn create_product(&self, product: &NewProduct) -> Result<Product, ProductsError> {
        let now = now_millis();
        let row = sqlx::query(
            "INSERT INTO products \
             (name, name_search, description, price_cents, stock, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             RETURNING id, name, description, price_cents, stock, created_at, updated_at",
        )
        .bind(product.name.as_str().to_owned())
        .bind(product.name.search_key())
        .bind(product.description.as_str().to_owned())
        .bind(product.price.cents())
        .bind(product.stock.get())
        .bind(now)
        .fetch_one(&mut *db::acquire_write(&self.pool).await?)
        .await?;
        product_from_row(&row)
    }

    /// Applies the given changes in one statement; `None` if there is no such product.
    ///
    /// `stock` is set, not added to: an admin counting the shelf states what is there. Reserved
    /// units have already left the count, so this never double-counts them.
    pub async fn update_product(
        &self,
        id: ProductId,
        changes: &ProductChanges,
    ) -> Result<Option<Product>, ProductsError> {
        if changes.is_empty() {
            return self.find_product(id).await;
        }
        let row = sqlx::query(
            "UPDATE products SET \
             name = COALESCE($1, name), \
             name_search = COALESCE($2, name_search), \
             description = COALESCE($3, description), \
             price_cents = COALESCE($4, price_cents), \
             stock = COALESCE($5, stock), \
             updated_at = $6 \
             WHERE id = $7 \
             RETURNING id, name, description, price_cents, stock, created_at, updated_at",
        )
        .bind(changes.name.as_ref().map(|name| name.as_str().to_owned()))
        .bind(changes.name.as_ref().map(|name| name.search_key()))
        .bind(
            changes
                .description
                .as_ref()
                .map(|description| description.as_str().to_owned()),
        )
        .bind(changes.price.map(|price| price.cents()))
        .bind(changes.stock.map(|stock| stock.get()))
        .bind(now_millis())
        .bind(id.get())
        .fetch_optional(&mut *db::acquire_write(&self.pool).await?)
        .await?;
        row.as_ref().map(product_from_row).transpose()
    }

    /// Removes a product; `false` if there was none. Reservations that named it keep their
    /// captured name and price.
    pub async fn delete_product(&self, id: ProductId) -> Result<bool, ProductsError> {
        let result = sqlx::query("DELETE FROM products WHERE id = $1")
            .bind(id.get())
            .execute(&mut *db::acquire_write(&self.pool).await?)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}
