//! The auth service's HTTP API, tested against the real service on a real port.
//!
//! Every test starts its own auth on port 0 over a fresh SQLite file in a temporary directory,
//! and talks to it with an ordinary HTTP client, as the gateway and users do. One binary for
//! all areas keeps link time down; each area is a module.
//!
//! The same suite runs on PostgreSQL, as distributed mode stores data, with
//! `MICROSHOP_TEST_DATABASE=postgres` and `MICROSHOP_TEST_POSTGRES_URL` naming a server: each
//! service then gets a fresh database of its own there (`test_support::TestDatabase`).

mod admin;
mod deletion;
mod events;
mod helpers;
mod jwks_and_rotation;
mod login;
mod logout;
mod me;
mod refresh;
mod register;
mod requests;
mod token;
mod verify;
