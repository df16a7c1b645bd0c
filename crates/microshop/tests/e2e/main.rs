//! End-to-end tests of the `microshop` binary and of the whole embedded stack.
//!
//! `binary` runs the real executable (banner, health, signals, exit codes, `--help`);
//! `stack` starts every service in-process on free ports and drives it over HTTP like a client;
//! `metrics` scrapes every service after an order flow; `traces` collects the spans of an order
//! from the running binary; `neighbours` serves services alone
//! and checks they find auth from the port settings; `hardening` attacks it the
//! way a slowloris, a forged `X-Forwarded-For` or another local user would; `problems` follows
//! the `type` of real errors to their pages; `readme` sends the README's examples to the stack
//! as written.

mod binary;
mod deletion;
mod deploy;
mod hardening;
mod metrics;
mod migrations;
mod neighbours;
mod oauth;
mod openapi;
#[cfg(feature = "otlp")]
#[path = "../support/otlp.rs"]
mod otlp;
mod outages;
mod problems;
mod readme;
mod shop;
mod side;
mod stack;
#[cfg(feature = "otlp")]
mod traces;
