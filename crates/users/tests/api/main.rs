//! The users service's HTTP API and event consumption, tested against the real service.
//!
//! Every test starts its own users service on port 0 over a fresh SQLite file in a temporary
//! directory, with the wiring the binary gives it (an in-process bus, a verifier trusting test
//! keys, an internal token), and talks to it over HTTP as the gateway and orders do. One binary
//! for all areas keeps link time down; each area is a module.
//!
//! The same suite runs on PostgreSQL, as distributed mode stores data, with
//! `MICROSHOP_TEST_DATABASE=postgres` and `MICROSHOP_TEST_POSTGRES_URL` naming a server: each
//! service then gets a fresh database of its own there (`test_support::TestDatabase`).

mod admin;
mod deletion;
mod events;
mod helpers;
mod internal;
mod me;
mod postgres;
mod profiles;
mod validation;
