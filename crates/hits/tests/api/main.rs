//! The hits service's HTTP API, tested against the real service on a real port.
//!
//! Every test starts its own service on port 0. The counting tests run once per backend from
//! one body: on a fresh SQLite file always, on PostgreSQL when `MICROSHOP_TEST_POSTGRES_URL` is
//! set and on Redis when `MICROSHOP_TEST_REDIS_URL` is set (each Redis test under a key of its
//! own, deleted afterwards); without those variables they print why they skip. One binary for
//! all areas keeps link time down; each area is a module.

/// Runs each listed body (an `async fn(TestApp)`) on every backend, as a module named after it
/// with one thin test per backend: `on_sqlite`, `on_postgres`, `on_redis`.
macro_rules! on_every_backend {
    ($($body:ident),+ $(,)?) => {$(
        mod $body {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$body(crate::helpers::sqlite().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                if let Some(app) = crate::helpers::postgres(concat!(module_path!(), "::on_postgres")).await {
                    super::$body(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_redis() {
                if let Some(app) = crate::helpers::redis(concat!(module_path!(), "::on_redis")).await {
                    super::$body(app).await;
                }
            }
        }
    )+};
}

mod counting;
mod helpers;
mod redis_outages;
mod requests;
