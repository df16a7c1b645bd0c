//! Shared building blocks of every microshop service.
//!
//! Only what at least two services need lives here: the problem-details error format, the JSON
//! extractor, the common HTTP layers (health, metrics, request ids, panic guard), server
//! lifecycle, logging, storage bootstrap, and access-token verification with the [`AuthUser`]
//! extractor. Anything about one service's domain stays in that service's crate.

pub mod auth;
pub mod db;
pub mod http;
pub mod json;
pub mod metrics;
pub mod problem;
pub mod server;
pub mod telemetry;

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
