//! A PostgreSQL database that is away, at start or later: the service starts and stays up,
//! says why it is not ready, answers 503 `database_unavailable` (never a 500 or a hang) to what
//! needs the database, and recovers by itself when the database is back.
//!
//! The database sits behind a TCP proxy the test controls: down first (connections refused),
//! then up, then down and up again. Needs `MICROSHOP_TEST_POSTGRES_URL` (skipped with a note
//! otherwise).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::proxy::TcpProxy;

use crate::helpers::{TestApp, assert_problem, spawn_app_over};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_away_at_start_and_later_gives_503s_until_it_is_back() {
    let Some(database) = test_support::PostgresDb::create(
        "a_database_away_at_start_and_later_gives_503s_until_it_is_back",
    )
    .await
    else {
        return;
    };
    let server = reqwest::Url::parse(&database.url).unwrap();
    let proxy = TcpProxy::start(&format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    ))
    .await;
    proxy.go_down().await;
    let mut behind_proxy = server;
    behind_proxy.set_host(Some("127.0.0.1")).unwrap();
    behind_proxy.set_port(Some(proxy.addr().port())).unwrap();

    // The start does not wait for the database.
    let started = Instant::now();
    let app = spawn_app_over(behind_proxy.to_string()).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let live = app.get("/health/live").await;
    assert_eq!(live.status(), StatusCode::OK);
    let (status, ready) = readiness(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    let reason = ready["checks"]["database"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("unavailable: connecting (attempt ")
            && reason.to_lowercase().contains("connection refused"),
        "{reason}"
    );
    let listing = app.list("").await;
    assert_eq!(listing.headers()["retry-after"], "2");
    assert_problem(
        listing,
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
    )
    .await;

    // The database comes back: the service finds it, migrates it, and serves.
    proxy.come_back().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while readiness(&app).await.0 != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "not ready 15 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lamp = app.product("Desk lamp", 2490, 7).await;
    assert_eq!(app.stock_of(lamp).await, 7);

    // Lost again while running: requests fail with a 503 within the pool's timeout, then the
    // service serves again as soon as the database is back, without a restart.
    proxy.go_down().await;
    let asked = Instant::now();
    let listing = app.list("").await;
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(listing.headers()["retry-after"], "2");
    assert_problem(
        listing,
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
    )
    .await;
    assert_eq!(readiness(&app).await.0, StatusCode::SERVICE_UNAVAILABLE);

    proxy.come_back().await;
    assert_eq!(app.stock_of(lamp).await, 7);
    assert_eq!(readiness(&app).await.0, StatusCode::OK);
    let response = app
        .create(&json!({"name": "Office chair", "price_cents": 12900, "stock": 3}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    drop(app);
    drop(database);
}

async fn readiness(app: &TestApp) -> (StatusCode, Value) {
    let response = app.get("/health/ready").await;
    (response.status(), response.json().await.unwrap())
}
