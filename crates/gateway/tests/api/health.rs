//! The gateway's own health, metrics and home page, and `/health`'s view of every upstream.

use reqwest::Method;
use serde_json::Value;

use crate::support::{FakeUpstream, GatewaySetup, dead_url};

#[tokio::test]
async fn health_reports_every_instance_and_fails_when_one_is_not_ready() {
    let products = FakeUpstream::start("products").await;
    let orders = FakeUpstream::start("orders").await;
    orders.set_ready(false);
    let app = GatewaySetup::new()
        .service("products", &[products.url()])
        .service("orders", &[orders.url()])
        .service("cars", &[dead_url().await])
        .start()
        .await;

    let response = app.get("/health").send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["gateway"]["status"], "up");
    let upstreams = &body["upstreams"];
    assert_eq!(upstreams["products"]["status"], "up");
    assert_eq!(upstreams["products"]["instances"][0]["url"], products.url());
    assert_eq!(upstreams["orders"]["status"], "down");
    assert_eq!(
        upstreams["orders"]["instances"][0]["reason"],
        "not ready (status 503)"
    );
    assert_eq!(upstreams["cars"]["status"], "down");
    assert_eq!(upstreams["cars"]["instances"][0]["reason"], "unreachable");
    // Readiness probes are not traffic.
    assert_eq!(products.requests(), 0);
}

#[tokio::test]
async fn the_public_gets_liveness_and_admins_the_full_report() {
    let orders = FakeUpstream::start("orders").await;
    let app = GatewaySetup::new()
        .service("orders", &[orders.url()])
        .public()
        .start()
        .await;

    let response = app.get("/health").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "live", "service": "gateway"})
    );
    assert_eq!(orders.probes(), 0, "a public /health costs no probe");
    let metrics = app.get("/metrics").send().await.unwrap();
    assert_eq!(metrics.status(), 403);
    let customer = app.authed(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(customer.status(), 403, "a customer is no operator");

    let admin = app.keys.admin_token();
    let response = app.get("/health").bearer_auth(&admin).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["upstreams"]["orders"]["status"], "up", "{body}");
    let metrics = app
        .get("/metrics")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
}

#[tokio::test]
async fn health_is_ok_when_every_instance_is_ready() {
    let first = FakeUpstream::start("hits-a").await;
    let second = FakeUpstream::start("hits-b").await;
    let auth = FakeUpstream::start("auth").await;
    let app = GatewaySetup::new()
        .service("hits", &[first.url(), second.url()])
        .service("auth", &[auth.url()])
        .start()
        .await;

    let response = app.get("/health").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["upstreams"]["hits"]["status"], "up");
    assert_eq!(
        body["upstreams"]["hits"]["instances"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(body["upstreams"]["auth"]["status"], "up");
}

#[tokio::test]
async fn the_gateway_has_its_own_probes_and_bounded_metrics() {
    let upstream = FakeUpstream::start("orders").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let live: Value = app
        .get("/health/live")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["service"], "gateway");
    let ready = app.get("/health/ready").send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let response = app
        .authed(Method::GET, "/orders/0190-unique-id?page=3")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let metrics = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("http_requests_total")
                && line.contains(r#"service="gateway""#)
                && line.contains(r#"route="/orders""#)
                && line.contains(r#"status="200""#)),
        "proxied requests are labelled by prefix"
    );
    assert!(
        !metrics.contains("0190-unique-id"),
        "raw paths stay out of labels"
    );
}

#[tokio::test]
async fn the_home_page_names_microshop() {
    let app = GatewaySetup::new().start().await;
    let response = app.get("/").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("microshop"));
}
