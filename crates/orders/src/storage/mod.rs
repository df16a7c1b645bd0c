//! Everything orders keeps in its database, behind one handle.
//!
//! Queries are runtime SQL over sqlx's `Any` driver with `$N` placeholders, so the same code runs
//! on SQLite (embedded) and PostgreSQL (distributed). Ids are UUIDv7 text, timestamps unix
//! milliseconds, money integer cents.
//!
//! Concurrency rules, so several requests (and several orders processes) stay correct on one
//! database: every status change is a single conditional `UPDATE … WHERE status = <expected>`
//! whose row count says whether this caller won; the event announcing it ([`platform::events::outbox`])
//! and the follow-up calls it owes other services ([`commands`]) are written in the same
//! transaction, so a crash can lose neither. Every write goes through
//! [`platform::db::begin_write`] or [`platform::db::acquire_write`]: on SQLite the process's
//! writers take turns on the file's writer connection instead of napping on its lock, so keep
//! them short and never wait for another write while holding one.
//!
//! On PostgreSQL the two writes every order makes — storing it, and settling its payment —
//! are each one data-modifying statement (`WITH … INSERT/UPDATE … RETURNING`) instead of a
//! transaction of four to six: a single statement is atomic by itself, so the guarantees are
//! the same, at one round trip (the order path's database time is most of its cost).

pub mod commands;
pub mod idempotency;
mod orders;

use sqlx::AnyPool;

pub use commands::{Command, CommandKind};
pub use idempotency::{Claim, KeyRecord, StoredResponse};
pub use orders::{Page, Transition};
use platform::millis::parse_uuid;
pub use platform::millis::{from_millis, millis, now_millis, to_millis};

/// Orders' schema for each engine, applied by [`platform::db::connect`].
pub const MIGRATIONS: platform::db::Migrations = platform::migrations!["0001_orders"];

/// The orders database.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
    /// PostgreSQL stores an order, or a status change, with its event as one data-modifying
    /// statement; SQLite, as a transaction of several.
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
