//! Everything products keeps in its database, behind one handle.
//!
//! Queries are runtime SQL over sqlx's `Any` driver with `$N` placeholders, so the same code runs
//! on SQLite (embedded) and PostgreSQL (distributed). Timestamps are unix milliseconds and money
//! integer cents; rows become API-ready types here so no caller sees a raw row. Stock changes
//! are conditional `UPDATE`s inside short transactions, never read-then-write, so any number of
//! concurrent requests and service replicas keep stock exact and never below zero.

mod catalogue;
mod products;
mod reservations;

use sqlx::AnyPool;

pub use catalogue::SEED_CATALOGUE;
use platform::millis::{from_millis, now_millis};
pub use products::Product;
pub use reservations::{Reservation, Reserved, ReservedLine};

/// The products schema for each engine, applied by [`platform::db::connect`].
pub const MIGRATIONS: platform::db::Migrations =
    platform::migrations!["0001_products", "0002_categories_and_images"];

/// The products database.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
    /// PostgreSQL takes a reservation's stock and writes its line in one statement (see
    /// [`Storage::reserve`]); SQLite, in two.
    postgres: bool,
}

impl Storage {
    pub fn new(pool: AnyPool) -> Self {
        let url = pool.connect_options().database_url.to_string();
        let postgres = platform::db::Engine::of(&url).ok() == Some(platform::db::Engine::Postgres);
        Self { pool, postgres }
    }

    /// Opens the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let pool = platform::db::connect(url, pool_size, MIGRATIONS).await?;
        Ok(Self::new(pool))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}
