//! A service that is down, slow or missing: the client gets an honest problem, never a 200 or
//! a 500.

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::support::{FakeUpstream, GatewaySetup, assert_problem, dead_url};

#[tokio::test]
async fn a_down_service_answers_503_with_retry_after() {
    let app = GatewaySetup::new()
        .service("orders", &[dead_url().await])
        .start()
        .await;

    let response = app.authed(Method::GET, "/orders").send().await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let body = assert_problem(response, 503, "service_unavailable").await;
    assert_eq!(body["service"], "orders");

    // The seeds' worst bug: an order "placed" while orders was down.
    let response = app
        .authed(Method::POST, "/orders")
        .json(&serde_json::json!({"items": [{"product_id": 1, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 503, "service_unavailable").await;
}

#[tokio::test]
async fn a_slow_service_answers_504() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()])
        .upstream_timeout(Duration::from_millis(300))
        .start()
        .await;

    let started = Instant::now();
    let response = app.get("/products/slow").send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let body = assert_problem(response, 504, "gateway_timeout").await;
    assert_eq!(body["service"], "products");
}

#[tokio::test]
async fn a_service_without_instances_answers_404() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::new()
        .service("products", &[upstream.url()])
        .start()
        .await;

    let response = app.get("/hits").send().await.unwrap();
    assert_problem(response, 404, "not_found").await;
    let response = app.authed(Method::GET, "/cars/1").send().await.unwrap();
    assert_problem(response, 404, "not_found").await;
    // A private route still asks for a token first: nothing is revealed to strangers.
    let response = app.get("/cars/1").send().await.unwrap();
    assert_problem(response, 401, "missing_token").await;
    let response = app.get("/nothing-here").send().await.unwrap();
    assert_problem(response, 404, "not_found").await;
    let response = app.get("/productsx").send().await.unwrap();
    assert_problem(response, 404, "not_found").await;
}

#[tokio::test]
async fn trace_is_never_forwarded() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let response = app.authed(Method::TRACE, "/products").send().await.unwrap();
    assert_problem(response, 405, "method_not_allowed").await;
    assert_eq!(upstream.requests(), 0);
}
