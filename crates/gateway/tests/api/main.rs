//! The gateway's integration tests: one binary (link time), one module per concern.

mod balancing;
mod breakers;
mod failures;
mod health;
mod limits;
mod proxying;
mod rate_limits;
mod support;
mod tokens;
mod web;
