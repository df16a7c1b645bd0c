//! The agenda's HTTP API, tested against the real service on a real port.
//!
//! Every test starts its own agenda on port 0 over a fresh SQLite file in a temporary
//! directory, with tokens minted by test keys the service trusts and the in-process bus its
//! outbox relay publishes on. One binary for all areas keeps link time down; each area is a
//! module.

mod announcements;
mod creating;
mod helpers;
mod listing;
mod notifier;
mod postgres;
mod rights;
mod validation;
mod visibility;
