//! The payments service's HTTP API, tested against the real service on a real port.
//!
//! Every test starts its own payments on port 0 over a fresh SQLite file in a temporary
//! directory, with test signing keys (admins and customers) and its own internal token, and
//! talks to it with an ordinary HTTP client, as orders and admins do. One binary for all
//! areas keeps link time down; each area is a module.
//!
//! The same suite runs on PostgreSQL, as distributed mode stores data, with
//! `MICROSHOP_TEST_DATABASE=postgres` and `MICROSHOP_TEST_POSTGRES_URL` naming a server: each
//! service then gets a fresh database of its own there (`test_support::TestDatabase`).

mod chaos_settings;
mod charges;
mod helpers;
mod idempotency;
mod internal_only;
mod outages;
mod refunds;
