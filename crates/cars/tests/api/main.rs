//! The cars service's HTTP API, tested against the real service on a real port.
//!
//! Every test starts its own cars service on port 0, with the wiring the binary gives it (a
//! verifier trusting test keys), and talks to it over HTTP as the gateway does. Each test body
//! runs once per database backend: a fresh SQLite file always, and, when
//! `MICROSHOP_TEST_POSTGRES_URL` names a server, a fresh PostgreSQL database reached as
//! configured by default and again with `sslmode=require` (how a Neon URL connects). Without
//! that variable the PostgreSQL runs print why they are skipped and pass. One binary for all
//! areas keeps link time down; each area is a module.

/// Declares, for each listed `async fn name(app: TestApp)` of the calling module, a module
/// `name` with one `#[tokio::test]` per backend: `on_sqlite`, `on_postgres`,
/// `on_postgres_with_tls`. The body is written once; only these wrappers are repeated.
macro_rules! on_every_backend {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            use crate::helpers::{Backend, TestApp};

            async fn run(backend: Backend) {
                let name = concat!(module_path!(), "::", stringify!($test));
                if let Some(app) = TestApp::spawn(backend, name).await {
                    super::$test(app).await;
                }
            }

            #[tokio::test]
            async fn on_sqlite() {
                run(Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                run(Backend::Postgres).await;
            }

            #[tokio::test]
            async fn on_postgres_with_tls() {
                run(Backend::PostgresTls).await;
            }
        }
    )+};
}

mod aliases;
mod crud;
mod health;
mod helpers;
mod listing;
mod ownership;
mod postgres_tls;
mod tokens;
mod validation;
