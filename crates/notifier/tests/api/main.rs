//! The notifier's behaviour, tested against the real service on a real port.
//!
//! Every test starts its own notifier on port 0 over a fresh SQLite file in a temporary
//! directory, with an in-process bus it publishes order and agenda events on (as the orders
//! and agenda services' outbox relays do) and tokens minted by test keys the service trusts.
//! One binary for all areas keeps link time down; each area is a module.
//!
//! The same suite runs on PostgreSQL, as distributed mode stores data, with
//! `MICROSHOP_TEST_DATABASE=postgres` and `MICROSHOP_TEST_POSTGRES_URL` naming a server: each
//! service then gets a fresh database of its own there (`test_support::TestDatabase`).

mod agenda;
mod consuming;
mod helpers;
mod inbox;
mod read;
mod stream;
