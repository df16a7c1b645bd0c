//! Cars in the cars database, behind one handle.
//!
//! Queries are runtime SQL over sqlx's `Any` driver with `$N` placeholders, so the same code runs
//! on SQLite (embedded) and PostgreSQL (distributed, Neon included). Ids are UUIDv7 text,
//! timestamps unix milliseconds.
//!
//! Who may see a row is part of every statement ([`Scope`]): a customer's read, update or
//! delete of another user's car finds no row, exactly like an id that does not exist, and a
//! change is one conditional statement, so there is no read-then-write window in which the
//! check and the write could disagree. Listings build their `WHERE` and `ORDER BY` from fixed
//! fragments chosen by the parsed query; values are always bound, never spliced into the SQL.

use platform::AuthUser;
use platform::db;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyPool, AssertSqlSafe, Row};
use uuid::Uuid;

pub use crate::domain::Car;
use crate::domain::{CarChanges, CarDetails, CarFilter, CarQuery, Direction, SortKey};
use crate::error::CarsError;
use platform::millis::from_millis;
pub use platform::millis::now_millis;

/// The cars schema for each engine, applied by [`platform::db::connect`].
pub const MIGRATIONS: db::Migrations = platform::migrations!["0001_cars"];

/// The columns every car query reads.
const COLUMNS: &str = "id, brand, model, year, color, owner_id, created_at, updated_at";

/// Which cars a caller may see and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only the cars this account created (a customer).
    OwnedBy(Uuid),
    /// Every car (an admin).
    All,
}

impl Scope {
    pub fn of(user: &AuthUser) -> Self {
        if user.is_admin() {
            Scope::All
        } else {
            Scope::OwnedBy(user.id)
        }
    }
}

fn uuid_column(row: &AnyRow, column: &str) -> anyhow::Result<Uuid> {
    let text: String = row.try_get(column)?;
    Uuid::parse_str(&text)
        .map_err(|error| anyhow::anyhow!("stored {column} {text:?} is not a UUID: {error}"))
}

fn car_from_row(row: &AnyRow) -> anyhow::Result<Car> {
    Ok(Car {
        id: uuid_column(row, "id")?,
        brand: row.try_get("brand")?,
        model: row.try_get("model")?,
        year: row.try_get("year")?,
        color: row.try_get("color")?,
        owner_id: uuid_column(row, "owner_id")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}

/// A value bound to a placeholder; only the types the `Any` driver carries to both engines.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Int(i64),
}

/// SQL assembled from fixed fragments, with its values numbered `$1`, `$2`… in order.
#[derive(Debug, Default)]
struct Statement {
    values: Vec<Value>,
}

impl Statement {
    /// Takes `value` and returns its placeholder.
    fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// `column = $n` for each of `pairs`.
    fn equalities(&mut self, pairs: Vec<(&'static str, Value)>) -> Vec<String> {
        pairs
            .into_iter()
            .map(|(column, value)| format!("{column} = {}", self.bind(value)))
            .collect()
    }

    /// The conditions of `scope`, to be joined with `AND`.
    fn scope(&mut self, scope: Scope) -> Vec<String> {
        match scope {
            Scope::All => Vec::new(),
            Scope::OwnedBy(owner) => {
                self.equalities(vec![("owner_id", Value::Text(owner.to_string()))])
            }
        }
    }

    fn query(&self, sql: String) -> sqlx::query::Query<'_, Any, AnyArguments> {
        let query = sqlx::query(AssertSqlSafe(sql));
        self.values.iter().fold(query, |query, value| match value {
            Value::Text(text) => query.bind(text.clone()),
            Value::Int(int) => query.bind(*int),
        })
    }
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// The filter's equalities, on the lowercased key columns for text.
fn filter_conditions(filter: &CarFilter) -> Vec<(&'static str, Value)> {
    let mut pairs = Vec::new();
    if let Some(brand) = &filter.brand {
        pairs.push(("brand_key", Value::Text(brand.key())));
    }
    if let Some(model) = &filter.model {
        pairs.push(("model_key", Value::Text(model.key())));
    }
    if let Some(year) = filter.year {
        pairs.push(("year", Value::Int(year.value())));
    }
    if let Some(color) = &filter.color {
        pairs.push(("color_key", Value::Text(color.key())));
    }
    pairs
}

/// The `ORDER BY` of a listing: the requested keys, then creation order and the id, so every
/// order is total and pages never overlap or skip a car.
fn order_by(query: &CarQuery) -> String {
    let keyword = |direction| match direction {
        Direction::Ascending => "ASC",
        Direction::Descending => "DESC",
    };
    let mut terms = Vec::new();
    let mut creation = None;
    for &(key, direction) in query.sort.keys() {
        let column = match key {
            SortKey::Brand => "brand_key",
            SortKey::Model => "model_key",
            SortKey::Year => "year",
            SortKey::Color => "color_key",
            SortKey::CreatedAt => {
                creation = Some(direction);
                "created_at"
            }
        };
        terms.push(format!("{column} {}", keyword(direction)));
    }
    match creation {
        // Ids are UUIDv7, so they follow creation order within one millisecond.
        Some(direction) => terms.push(format!("id {}", keyword(direction))),
        None => terms.push("created_at ASC, id ASC".to_owned()),
    }
    format!(" ORDER BY {}", terms.join(", "))
}

/// The cars database.
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
        let pool = db::connect(url, pool_size, MIGRATIONS).await?;
        Ok(Self::new(pool))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Stores a new car owned by `owner`.
    pub async fn insert(&self, owner: Uuid, details: &CarDetails) -> Result<Car, CarsError> {
        let now = now_millis();
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO cars (id, brand, model, year, color, brand_key, model_key, color_key, \
             owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(id.to_string())
        .bind(details.brand.as_str().to_owned())
        .bind(details.model.as_str().to_owned())
        .bind(details.year.value())
        .bind(details.color.as_str().to_owned())
        .bind(details.brand.key())
        .bind(details.model.key())
        .bind(details.color.key())
        .bind(owner.to_string())
        .bind(now)
        .execute(&mut *db::acquire_write(&self.pool).await?)
        .await?;
        let at = from_millis(now)?;
        Ok(Car {
            id,
            brand: details.brand.as_str().to_owned(),
            model: details.model.as_str().to_owned(),
            year: details.year.value(),
            color: details.color.as_str().to_owned(),
            owner_id: owner,
            created_at: at,
            updated_at: at,
        })
    }

    /// The car `id`, if `scope` may see it.
    pub async fn find(&self, id: Uuid, scope: Scope) -> Result<Option<Car>, CarsError> {
        let mut statement = Statement::default();
        let mut conditions = statement.equalities(vec![("id", Value::Text(id.to_string()))]);
        conditions.extend(statement.scope(scope));
        let sql = format!("SELECT {COLUMNS} FROM cars{}", where_clause(&conditions));
        let row = statement.query(sql).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(car_from_row).transpose()?)
    }

    /// One page of the cars `scope` may see that match the query, and how many match in all.
    pub async fn list(&self, scope: Scope, query: &CarQuery) -> Result<(Vec<Car>, i64), CarsError> {
        let mut statement = Statement::default();
        let mut conditions = statement.scope(scope);
        conditions.extend(statement.equalities(filter_conditions(&query.filter)));
        let filter = where_clause(&conditions);
        let count_sql = format!("SELECT COUNT(*) FROM cars{filter}");
        let total: i64 = statement
            .query(count_sql)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let limit = statement.bind(Value::Int(query.page.limit()));
        let offset = statement.bind(Value::Int(query.page.offset()));
        let sql = format!(
            "SELECT {COLUMNS} FROM cars{filter}{} LIMIT {limit} OFFSET {offset}",
            order_by(query)
        );
        let rows = statement.query(sql).fetch_all(&self.pool).await?;
        let cars = rows
            .iter()
            .map(car_from_row)
            .collect::<anyhow::Result<_>>()?;
        Ok((cars, total))
    }

    /// Applies `changes` to the car `id` if `scope` may change it; the car as it now is, or
    /// `None` when there is no such car for this caller. Nothing to change is a plain read.
    pub async fn update(
        &self,
        id: Uuid,
        scope: Scope,
        changes: &CarChanges,
    ) -> Result<Option<Car>, CarsError> {
        if changes.is_empty() {
            return self.find(id, scope).await;
        }
        let mut assignments = Vec::new();
        if let Some(brand) = &changes.brand {
            assignments.push(("brand", Value::Text(brand.as_str().to_owned())));
            assignments.push(("brand_key", Value::Text(brand.key())));
        }
        if let Some(model) = &changes.model {
            assignments.push(("model", Value::Text(model.as_str().to_owned())));
            assignments.push(("model_key", Value::Text(model.key())));
        }
        if let Some(year) = changes.year {
            assignments.push(("year", Value::Int(year.value())));
        }
        if let Some(color) = &changes.color {
            assignments.push(("color", Value::Text(color.as_str().to_owned())));
            assignments.push(("color_key", Value::Text(color.key())));
        }
        assignments.push(("updated_at", Value::Int(now_millis())));
        let mut statement = Statement::default();
        let set = statement.equalities(assignments).join(", ");
        let mut conditions = statement.equalities(vec![("id", Value::Text(id.to_string()))]);
        conditions.extend(statement.scope(scope));
        let sql = format!(
            "UPDATE cars SET {set}{} RETURNING {COLUMNS}",
            where_clause(&conditions)
        );
        let row = statement
            .query(sql)
            .fetch_optional(&mut *db::acquire_write(&self.pool).await?)
            .await?;
        Ok(row.as_ref().map(car_from_row).transpose()?)
    }

    /// Deletes the car `id` if `scope` may; `false` when there is no such car for this caller.
    pub async fn delete(&self, id: Uuid, scope: Scope) -> Result<bool, CarsError> {
        let mut statement = Statement::default();
        let mut conditions = statement.equalities(vec![("id", Value::Text(id.to_string()))]);
        conditions.extend(statement.scope(scope));
        let sql = format!("DELETE FROM cars{}", where_clause(&conditions));
        let result = statement
            .query(sql)
            .execute(&mut *db::acquire_write(&self.pool).await?)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Brand, Sort, Year};

    fn query_sorted_by(sort: &str) -> CarQuery {
        CarQuery {
            sort: Sort::parse(sort).unwrap(),
            ..CarQuery::default()
        }
    }

    #[test]
    fn every_order_ends_in_a_total_tie_breaker() {
        assert_eq!(
            order_by(&CarQuery::default()),
            " ORDER BY created_at ASC, id ASC"
        );
        assert_eq!(
            order_by(&query_sorted_by("-created_at")),
            " ORDER BY created_at DESC, id DESC"
        );
        assert_eq!(
            order_by(&query_sorted_by("brand,-year")),
            " ORDER BY brand_key ASC, year DESC, created_at ASC, id ASC"
        );
    }

    #[test]
    fn filter_values_are_bound_never_spliced_into_the_sql() {
        let filter = CarFilter {
            brand: Some(Brand::parse("x' OR '1'='1").unwrap()),
            year: Some(Year::parse(2020).unwrap()),
            ..CarFilter::default()
        };
        let mut statement = Statement::default();
        let mut conditions = statement.scope(Scope::OwnedBy(Uuid::nil()));
        conditions.extend(statement.equalities(filter_conditions(&filter)));

        assert_eq!(
            where_clause(&conditions),
            " WHERE owner_id = $1 AND brand_key = $2 AND year = $3"
        );
        assert_eq!(statement.values.len(), 3);
        assert!(where_clause(&Statement::default().scope(Scope::All)).is_empty());
    }
}
