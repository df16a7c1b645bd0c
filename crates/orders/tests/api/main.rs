//! The orders service's HTTP API, tested against the real service on a real port, with the real
//! products and payments services beside it (and users where profiles matter).
//!
//! Every test starts its own stack on port 0 over fresh SQLite files in a temporary directory.
//! One binary for all areas keeps link time down; each area is a module.
//!
//! The same suite runs on PostgreSQL, as distributed mode stores data, with
//! `MICROSHOP_TEST_DATABASE=postgres` and `MICROSHOP_TEST_POSTGRES_URL` naming a server: each
//! service then gets a fresh database of its own there (`test_support::TestDatabase`).

mod admin;
mod cancel;
mod concurrency;
mod events;
mod expiry;
mod health;
mod helpers;
mod idempotency;
mod payment;
mod placing;
mod recovery;
mod resilience;
mod validation;
mod visibility;
