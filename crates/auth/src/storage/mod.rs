//! Everything auth keeps in its database, behind one handle.
//!
//! Queries are runtime SQL over sqlx's `Any` driver with `$N` placeholders, so the same code runs
//! on SQLite (embedded) and PostgreSQL (distributed). Ids are UUIDv7 text and timestamps unix
//! milliseconds; conversion to API types happens here so no caller sees a raw row. The places
//! where concurrency matters (refresh-token rotation, key rotation) are single conditional
//! statements or transactions, so several auth processes on one database stay correct.

mod keys;
mod sessions;
mod throttle;
mod users;

use sqlx::AnyPool;

pub use keys::StoredKey;
use platform::millis::parse_uuid;
pub use platform::millis::{from_millis, millis, now_millis, to_millis};
pub use sessions::{Consumed, RefreshTokenState};
pub use users::{Account, Credentials};

/// Auth's schema for each engine, applied by [`platform::db::connect`].
pub const MIGRATIONS: platform::db::Migrations = platform::migrations![
    "0001_auth",
    "0002_outbox",
    "0003_registration_throttle",
    "0004_account_deletion"
];

/// The auth database.
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
}
