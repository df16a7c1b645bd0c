//! The products service's HTTP API, tested against the real service on a real port.
//!
//! Every test starts its own products service on port 0 over a fresh SQLite file in a temporary
//! directory, with tokens minted by `test-support` keys its verifier trusts, and talks to it
//! with an ordinary HTTP client, as the gateway and orders do. One binary for all areas keeps
//! link time down; each area is a module.

mod admin;
mod catalogue;
mod concurrency;
mod helpers;
mod postgres;
mod reservations;
mod seed;
