//! The behaviour every service inherits from `platform::http::service_app`, checked over real
//! HTTP: problem answers for routing and body errors, the panic guard, request ids, health and
//! metrics, and the `AuthUser` extractor against a real verifier; and the event machinery
//! (outbox relay, idempotent consumers, the in-process bus) over real databases.

mod auth;
mod connections;
mod events;
mod http;
mod resilience;
mod revocations;

use std::net::SocketAddr;

use axum::Router;
use platform::http::{Readiness, service_app};
use tokio_util::sync::CancellationToken;

/// A service built from `routes` with the platform layers, served on a free port.
pub struct TestService {
    pub url: String,
    pub client: reqwest::Client,
    _shutdown: tokio_util::sync::DropGuard,
}

pub async fn spawn(routes: Router, readiness: Readiness) -> TestService {
    spawn_with(
        routes,
        readiness,
        platform::server::ServerOptions::default(),
    )
    .await
}

/// [`spawn`] with server options of the test's choosing.
pub async fn spawn_with(
    routes: Router,
    readiness: Readiness,
    options: platform::server::ServerOptions,
) -> TestService {
    let app = service_app("test", routes, readiness);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    platform::server::spawn_with("test", listener, app, shutdown.clone(), options).unwrap();
    TestService {
        url: format!("http://{addr}"),
        client: platform::client::http_client(),
        _shutdown: shutdown.drop_guard(),
    }
}

impl TestService {
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}
