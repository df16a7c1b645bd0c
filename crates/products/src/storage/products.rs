//! The catalogue: listing (search, category), the categories, and the admin's create, update
//! and delete.

use platform::db;
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{Storage, from_millis, now_millis};
use crate::domain::{NewProduct, ProductChanges, ProductId, ProductQuery};
use crate::error::ProductsError;

/// The columns a [`Product`] is read from, as one literal (sqlx takes only static SQL).
macro_rules! product_columns {
    () => {
        "id, name, description, category, image, price_cents, stock, created_at, updated_at"
    };
}

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub category: Option<String>,
    pub image: Option<String>,
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
        category: row.try_get("category")?,
        image: row.try_get("image")?,
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
        /// The page's query and the count's, for one `WHERE` clause whose placeholders come
        /// first; `$limit` and `$offset` are the two after them.
        macro_rules! listing {
            ($filter:literal, $limit:literal, $offset:literal) => {
                (
                    concat!(
                        "SELECT ",
                        product_columns!(),
                        " FROM products ",
                        $filter,
                        " ORDER BY id LIMIT ",
                        $limit,
                        " OFFSET ",
                        $offset
                    ),
                    concat!("SELECT COUNT(*) FROM products ", $filter),
                )
            };
        }
        let pattern = query.search.as_ref().map(|term| term.like_pattern());
        let category = query.category.as_ref().map(|category| category.as_str());
        let ((select, count), filters) = match (pattern.as_deref(), category) {
            (None, None) => (listing!("", "$1", "$2"), vec![]),
            (Some(pattern), None) => (
                listing!("WHERE name_search LIKE $1 ESCAPE '\\'", "$2", "$3"),
                vec![pattern],
            ),
            (None, Some(category)) => (listing!("WHERE category = $1", "$2", "$3"), vec![category]),
            (Some(pattern), Some(category)) => (
                listing!(
                    "WHERE name_search LIKE $1 ESCAPE '\\' AND category = $2",
                    "$3",
                    "$4"
                ),
                vec![pattern, category],
            ),
        };
        let page = query.page;
        let mut rows = sqlx::query(select);
        let mut total = sqlx::query_scalar(count);
        for filter in filters {
            rows = rows.bind(filter.to_owned());
            total = total.bind(filter.to_owned());
        }
        let rows = rows
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = total.fetch_one(&self.pool).await?;
        let products = rows
            .iter()
            .map(product_from_row)
            .collect::<Result<_, _>>()?;
        Ok((products, total))
    }

    /// Every category some product is in, by name, with its number of products.
    pub async fn categories(&self) -> Result<Vec<(String, i64)>, ProductsError> {
        let rows = sqlx::query(
            "SELECT category, COUNT(*) AS products FROM products \
             WHERE category IS NOT NULL GROUP BY category ORDER BY category",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("category")?, row.try_get("products")?)))
            .collect()
    }

    pub async fn find_product(&self, id: ProductId) -> Result<Option<Product>, ProductsError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE id = $1"
        ))
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(product_from_row).transpose()
    }

    pub async fn create_product(&self, product: &NewProduct) -> Result<Product, ProductsError> {
        let now = now_millis();
        let row = sqlx::query(concat!(
            "INSERT INTO products \
             (name, name_search, description, category, image, price_cents, stock, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
            product_columns!()
        ))
        .bind(product.name.as_str().to_owned())
        .bind(product.name.search_key())
        .bind(product.description.as_str().to_owned())
        .bind(
            product
                .category
                .as_ref()
                .map(|category| category.as_str().to_owned()),
        )
        .bind(
            product
                .image
                .as_ref()
                .map(|image| image.as_str().to_owned()),
        )
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
    /// units have already left the count, so this never double-counts them. A category or image
    /// removed is bound as `''`, which `NULLIF` turns into NULL; one not given is NULL, which
    /// `COALESCE` turns into the current value.
    pub async fn update_product(
        &self,
        id: ProductId,
        changes: &ProductChanges,
    ) -> Result<Option<Product>, ProductsError> {
        if changes.is_empty() {
            return self.find_product(id).await;
        }
        let row = sqlx::query(concat!(
            "UPDATE products SET \
             name = COALESCE($1, name), \
             name_search = COALESCE($2, name_search), \
             description = COALESCE($3, description), \
             price_cents = COALESCE($4, price_cents), \
             stock = COALESCE($5, stock), \
             updated_at = $6, \
             category = NULLIF(COALESCE($8, category), ''), \
             image = NULLIF(COALESCE($9, image), '') \
             WHERE id = $7 \
             RETURNING ",
            product_columns!()
        ))
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
        .bind(clearable(changes.category.as_ref(), |category| {
            category.as_str()
        }))
        .bind(clearable(changes.image.as_ref(), |image| image.as_str()))
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

/// A change to a nullable column as [`Storage::update_product`] binds it: not given → NULL,
/// removed → `''`, set → the value.
fn clearable<T>(change: Option<&Option<T>>, text: impl Fn(&T) -> &str) -> Option<String> {
    change.map(|value| value.as_ref().map(&text).unwrap_or_default().to_owned())
}
