//! The products service's HTTP API, tested against the real service on a real port.
//!
//! Every test starts its own products service on port 0 over a fresh SQLite file in a temporary
//! directory, with tokens minted by `test-support` keys its verifier trusts, and talks to it
//! with an ordinary HTTP client, as the gateway and orders do. One binary for all areas keeps
//! link time down; each area is a module.
//!
//! The same suite runs on PostgreSQL, as distributed mode stores data, with
//! `MICROSHOP_TEST_DATABASE=postgres` and `MICROSHOP_TEST_POSTGRES_URL` naming a server: each
//! service then gets a fresh database of its own there (`test_support::TestDatabase`).

mod admin;
mod catalogue;
mod concurrency;
mod database_outage;
mod helpers;
mod postgres;
mod reservations;
mod seed;
