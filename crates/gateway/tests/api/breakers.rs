//! Circuit breakers, one per instance: a failing instance stops getting traffic, a service whose
//! instances all fail is answered for at once, a recovered instance rejoins, and an HTTP answer,
//! whatever its status, never counts as a failure.

use std::time::{Duration, Instant};

use bytes::Bytes;

use reqwest::Method;
use serde_json::Value;

use crate::support::{FakeUpstream, GatewaySetup, TestGateway, assert_problem};

/// The instance entry of `url` in `/health`'s report of `service`.
fn instance_health<'a>(health: &'a Value, service: &str, url: &str) -> &'a Value {
    health["upstreams"][service]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|instance| instance["url"] == url)
        .unwrap_or_else(|| panic!("{url} not in {health}"))
}

/// The `circuit_breaker_state` gauge of `upstream`, if exported.
fn breaker_gauge(metrics: &str, upstream: &str) -> Option<f64> {
    let label = format!(r#"upstream="{upstream}""#);
    metrics
        .lines()
        .find(|line| line.starts_with("circuit_breaker_state{") && line.contains(&label))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

/// Sends `count` public requests, returning their statuses.
async fn hit(app: &TestGateway, count: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(count);
    for _ in 0..count {
        let response = app.get("/hits").send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn a_failing_instance_gets_no_more_requests_once_its_breaker_opens() {
    let alive = FakeUpstream::start("hits-a").await;
    let broken = FakeUpstream::start_broken("hits-b").await;
    let app = GatewaySetup::new()
        .service("hits", &[alive.url(), broken.url()])
        .breaker(3, 30)
        .start()
        .await;

    let statuses = hit(&app, 20).await;

    // Turns alternate until the third failure opens the broken instance's breaker; each of those
    // requests had reached it, so it is answered 502, never replayed elsewhere.
    assert_eq!(broken.dropped_connections(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 502).count(), 3);
    assert!(
        statuses[6..].iter().all(|status| *status == 200),
        "{statuses:?}"
    );
    assert_eq!(alive.requests(), 17);

    let statuses = hit(&app, 10).await;
    assert!(statuses.iter().all(|status| *status == 200));
    assert_eq!(broken.dropped_connections(), 3, "no attempt while open");
    assert_eq!(alive.requests(), 27);
}

#[tokio::test]
async fn health_and_metrics_show_each_instance_breaker() {
    let alive = FakeUpstream::start("hits-a").await;
    let broken = FakeUpstream::start_broken("hits-b").await;
    let app = GatewaySetup::new()
        .service("hits", &[alive.url(), broken.url()])
        .breaker(2, 30)
        .start()
        .await;

    let health = app.health().await;
    assert_eq!(
        instance_health(&health, "hits", &alive.url())["breaker"],
        "closed"
    );
    assert_eq!(
        instance_health(&health, "hits", &broken.url())["breaker"],
        "closed"
    );

    hit(&app, 4).await;

    let health = app.health().await;
    let alive_report = instance_health(&health, "hits", &alive.url());
    assert_eq!(alive_report["status"], "up");
    assert_eq!(alive_report["breaker"], "closed");
    let broken_report = instance_health(&health, "hits", &broken.url());
    assert_eq!(broken_report["status"], "down");
    assert_eq!(broken_report["breaker"], "open");
    assert_eq!(health["upstreams"]["hits"]["status"], "degraded");

    let metrics = app.metrics().await;
    let alive_name = format!("hits@{}", alive.url());
    let broken_name = format!("hits@{}", broken.url());
    assert_eq!(breaker_gauge(&metrics, &alive_name), Some(0.0), "{metrics}");
    assert_eq!(
        breaker_gauge(&metrics, &broken_name),
        Some(1.0),
        "{metrics}"
    );
}

#[tokio::test]
async fn when_every_instance_is_open_the_gateway_answers_503_at_once_with_retry_after() {
    let first = FakeUpstream::start_broken("orders-a").await;
    let second = FakeUpstream::start_broken("orders-b").await;
    let app = GatewaySetup::new()
        .service("orders", &[first.url(), second.url()])
        .breaker(2, 30)
        .start()
        .await;

    for _ in 0..4 {
        let response = app.authed(Method::GET, "/orders").send().await.unwrap();
        assert_problem(response, 502, "bad_gateway").await;
    }
    let attempts = first.dropped_connections() + second.dropped_connections();
    assert_eq!(attempts, 4);

    // A large body too: the client still gets to read the answer (the unsent body is drained).
    let large = format!(r#"{{"note": "{}"}}"#, "x".repeat(600 * 1024));
    for (method, body) in [
        (Method::GET, String::new()),
        (
            Method::POST,
            r#"{"items": [{"product_id": 1, "quantity": 1}]}"#.to_owned(),
        ),
        (Method::POST, large),
    ] {
        let request = app
            .authed(method, "/orders")
            .header("content-type", "application/json")
            .body(body);
        let started = Instant::now();
        let response = request.send().await.unwrap();
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(50), "{elapsed:?}");
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((29..=30).contains(&retry_after), "{retry_after}");
        let body = assert_problem(response, 503, "service_unavailable").await;
        assert_eq!(body["service"], "orders");
        assert_eq!(body["reason"], "circuit_open");
    }
    let attempts_after = first.dropped_connections() + second.dropped_connections();
    assert_eq!(
        attempts_after, attempts,
        "nothing is sent while every breaker is open"
    );

    let health = app.health().await;
    assert_eq!(health["upstreams"]["orders"]["status"], "down");
}

#[tokio::test]
async fn a_recovered_instance_is_probed_once_the_open_time_is_over_and_rejoins() {
    let alive = FakeUpstream::start("hits-a").await;
    let flaky = FakeUpstream::start_broken("hits-b").await;
    let app = GatewaySetup::new()
        .service("hits", &[alive.url(), flaky.url()])
        .breaker(2, 1)
        .start()
        .await;

    hit(&app, 4).await;
    let opened = Instant::now();
    assert_eq!(flaky.dropped_connections(), 2);
    flaky.set_broken(false);

    // Recovered, but the breaker keeps it out until the open time is over.
    let statuses = hit(&app, 6).await;
    assert!(statuses.iter().all(|status| *status == 200));
    assert!(
        opened.elapsed() < Duration::from_millis(900),
        "too slow to tell"
    );
    assert_eq!(flaky.requests(), 0);

    tokio::time::sleep(Duration::from_millis(1100).saturating_sub(opened.elapsed())).await;
    let health = app.health().await;
    assert_eq!(
        instance_health(&health, "hits", &flaky.url())["breaker"],
        "half_open"
    );

    let statuses = hit(&app, 6).await;
    assert!(statuses.iter().all(|status| *status == 200));
    assert_eq!(flaky.requests(), 3, "the probe and then its turns");
    let health = app.health().await;
    assert_eq!(
        instance_health(&health, "hits", &flaky.url())["breaker"],
        "closed"
    );
    assert_eq!(health["upstreams"]["hits"]["status"], "up");
}

#[tokio::test]
async fn an_error_answered_by_the_service_does_not_open_its_breaker() {
    let orders = FakeUpstream::start("orders").await;
    let app = GatewaySetup::new()
        .service("orders", &[orders.url()])
        .breaker(2, 30)
        .start()
        .await;

    for _ in 0..6 {
        let response = app
            .authed(Method::POST, "/orders/unavailable")
            .send()
            .await
            .unwrap();
        // The service's own problem, passed through untouched.
        assert_problem(response, 503, "payment_unavailable").await;
    }
    assert_eq!(orders.requests(), 6);

    let health = app.health().await;
    assert_eq!(
        instance_health(&health, "orders", &orders.url())["breaker"],
        "closed"
    );
    assert_eq!(health["upstreams"]["orders"]["status"], "up");
}

#[tokio::test]
async fn a_body_request_skips_an_open_instance_without_losing_its_body() {
    let alive = FakeUpstream::start("orders-a").await;
    let broken = FakeUpstream::start_broken("orders-b").await;
    let app = GatewaySetup::new()
        .service("orders", &[alive.url(), broken.url()])
        .breaker(1, 30)
        .start()
        .await;
    // Open the broken instance's breaker: its turn comes second.
    app.authed(Method::GET, "/orders").send().await.unwrap();
    let response = app.authed(Method::GET, "/orders").send().await.unwrap();
    assert_eq!(response.status(), 502);

    for _ in 0..4 {
        let echo = app
            .echo(app.authed(Method::POST, "/orders").body("x".repeat(1000)))
            .await;
        assert_eq!(echo.0["instance"], "orders-a");
        assert_eq!(echo.0["body_len"], 1000);
    }
    assert_eq!(broken.dropped_connections(), 1);
}

#[tokio::test]
async fn a_client_breaking_off_its_upload_does_not_count_against_the_service() {
    let orders = FakeUpstream::start("orders").await;
    let app = GatewaySetup::new()
        .service("orders", &[orders.url()])
        .breaker(1, 30)
        .start()
        .await;

    for _ in 0..2 {
        let (chunks, receiver) =
            futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
        let request = app
            .authed(Method::POST, "/orders/upload-gated")
            .body(reqwest::Body::wrap_stream(receiver));
        let sending = tokio::spawn(request.send());
        chunks
            .unbounded_send(Ok(Bytes::from(vec![1u8; 4096])))
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), orders.first_chunk_seen())
            .await
            .expect("the upload reaches the service");
        // The client gives up half-way: its connection goes away mid-body.
        chunks
            .unbounded_send(Err(std::io::Error::other("client gave up")))
            .unwrap();
        assert!(sending.await.unwrap().is_err());
    }

    let echo = app.echo(app.authed(Method::GET, "/orders")).await;
    assert_eq!(echo.0["instance"], "orders");
    let health = app.health().await;
    assert_eq!(
        instance_health(&health, "orders", &orders.url())["breaker"],
        "closed"
    );
}

#[tokio::test]
async fn a_timeout_while_the_client_is_still_uploading_does_not_count_against_the_service() {
    let orders = FakeUpstream::start("orders").await;
    let app = GatewaySetup::new()
        .service("orders", &[orders.url()])
        .breaker(1, 30)
        .upstream_timeout(Duration::from_millis(300))
        .start()
        .await;

    let (chunks, receiver) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
    let request = app
        .authed(Method::POST, "/orders/upload-gated")
        .body(reqwest::Body::wrap_stream(receiver));
    let sending = tokio::spawn(request.send());
    chunks
        .unbounded_send(Ok(Bytes::from(vec![1u8; 4096])))
        .unwrap();
    // The rest of the body never comes within the timeout.
    let response = sending.await.unwrap().unwrap();
    assert_problem(response, 504, "gateway_timeout").await;
    drop(chunks);

    let health = app.health().await;
    assert_eq!(
        instance_health(&health, "orders", &orders.url())["breaker"],
        "closed"
    );

    // A service that is slow itself, with the whole request sent, does count.
    let response = app
        .authed(Method::GET, "/orders/slow")
        .send()
        .await
        .unwrap();
    assert_problem(response, 504, "gateway_timeout").await;
    let health = app.health().await;
    assert_eq!(
        instance_health(&health, "orders", &orders.url())["breaker"],
        "open"
    );
}

#[tokio::test]
async fn clients_that_give_up_before_the_answer_do_not_open_the_breaker() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::new()
        .service("products", &[upstream.url()])
        .breaker(3, 30)
        .start()
        .await;
    // Ten clients give up on a slow answer (as a load generator stopping, or a browser
    // navigating away, does); the instance did nothing wrong.
    let impatient = platform::client::http_builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    for _ in 0..10 {
        let outcome = impatient.get(app.url("/products/slow")).send().await;
        assert!(outcome.is_err(), "the client gave up");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..5 {
        let response = app.get("/products/fast").send().await.unwrap();
        assert_eq!(response.status(), 200, "the breaker stayed closed");
    }
    let health = app.health().await;
    assert_eq!(
        instance_health(&health, "products", &upstream.url())["breaker"],
        "closed"
    );
}
