//! Where the count lives, behind one small trait so the handler does not care.
//!
//! Two backends, chosen at start by configuration:
//! - [`RedisCounter`]: `INCR` on one key, shared by every replica (distributed mode, and the
//!   seed's own design: "Flask + Redis");
//! - [`SqlCounter`]: one row of a `counters` table on SQLite (embedded mode, nothing to install)
//!   or PostgreSQL.
//!
//! Both increment in a single atomic operation on the server and return the value it produced,
//! so concurrent visits always get distinct, consecutive counts and none is lost. Neither ever
//! answers a count it did not get from its store.

mod redis_counter;
mod sql_counter;

use futures::future::BoxFuture;

use crate::domain::Hits;
use crate::error::HitsError;

pub use redis_counter::RedisCounter;
pub use sql_counter::{MIGRATIONS, SqlCounter};

/// A store that counts visits.
pub trait Counter: Send + Sync + std::fmt::Debug + 'static {
    /// The dependency's name in `/health/ready` and in logs (`database`, `redis`).
    fn backend(&self) -> &'static str;

    /// Counts one visit, atomically, and returns the count including it.
    fn increment(&self) -> BoxFuture<'_, Result<Hits, HitsError>>;

    /// One round trip to the store, for readiness; `Err` says why it is not usable.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}
