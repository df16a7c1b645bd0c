//! Shared building blocks of every microshop service.
//!
//! Only what at least two services need lives here: the problem-details error format, the JSON
//! extractor, the common HTTP layers (health, metrics, request ids, panic guard), server
//! lifecycle, logging, storage bootstrap, access-token verification with the [`AuthUser`]
//! extractor, the vocabulary several services parse alike ([`domain`]) and stored times
//! ([`millis`]). Anything about one service's domain stays in that service's crate.

pub mod auth;
pub mod client;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod files;
pub mod http;
pub mod json;
pub mod jws;
pub mod metrics;
pub mod millis;
pub mod money;
pub mod openapi;
pub mod ops;
pub mod problem;
pub mod redis_url;
pub mod resilience;
pub mod server;
pub mod telemetry;
pub mod traces;

pub use auth::{AuthUser, Claims, Role, Verifier};
pub use json::Json;
pub use problem::Problem;

/// What the binary tells every service about where and how it runs.
#[derive(Debug, Clone)]
pub struct ServiceEnv {
    /// Folder for SQLite files and generated secrets (embedded mode).
    pub data_dir: std::path::PathBuf,
    /// `true` for `microshop up` (one process, SQLite, in-process bus); `false` when a service is
    /// served alone (`microshop serve <service>`) and must be configured explicitly.
    pub embedded: bool,
}

/// Base URLs of the other services, as this process should reach them.
#[derive(Debug, Clone, Default)]
pub struct ServiceUrls {
    pub auth: String,
    pub users: String,
    pub orders: String,
    pub products: String,
    pub payments: String,
    pub notifier: String,
}

/// What the binary shares with every service it starts (see `docs/service-contracts.md`).
#[derive(Clone)]
pub struct Wiring {
    /// Where events go: in-process in embedded mode, Kafka in distributed mode.
    pub bus: std::sync::Arc<dyn events::Bus>,
    /// Access-token verification (JWKS from auth), shared so keys are fetched once per process.
    pub verifier: std::sync::Arc<Verifier>,
    pub urls: ServiceUrls,
    /// The secret that service-to-service calls carry.
    pub internal_token: auth::InternalToken,
    /// Fires when the process stops; background tasks end on it.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl std::fmt::Debug for Wiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wiring")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}
