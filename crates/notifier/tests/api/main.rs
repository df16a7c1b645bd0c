//! The notifier's behaviour, tested against the real service on a real port.
//!
//! Every test starts its own notifier on port 0 over a fresh SQLite file in a temporary
//! directory, with an in-process bus it publishes order events on (as the orders service's
//! outbox relay does) and tokens minted by test keys the service trusts. One binary for all
//! areas keeps link time down; each area is a module.

mod consuming;
mod helpers;
mod inbox;
mod read;
mod stream;
