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

use crate::helpers::{TestApp, assert_problem, spawn_app_over, spawn_app_over_with_limits};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_away_at_start_and_later_gives_503s_until_it_is_back() {
    let Some(database) = test_support::PostgresDb::create(
        "a_database_away_at_start_and_later_gives_503s_until_it_is_back",
    )
    .await
    else {
        return;
    };
    let (proxy, behind_proxy) = behind_a_proxy(&database).await;
    proxy.go_down().await;

    // The start does not wait for the database.
    let started = Instant::now();
    let app = spawn_app_over(behind_proxy.clone()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_accepts_and_never_answers_gives_503s_not_hangs() {
    let Some(database) = test_support::PostgresDb::create(
        "a_database_that_accepts_and_never_answers_gives_503s_not_hangs",
    )
    .await
    else {
        return;
    };
    let (proxy, behind_proxy) = behind_a_proxy(&database).await;
    let app = spawn_app_over(behind_proxy.clone()).await;
    until_ready(&app).await;
    let lamp = app.product("Desk lamp", 2490, 7).await;

    // Connections open and new ones accepted, but not a byte comes back.
    proxy.blackhole().await;
    for _ in 0..3 {
        let asked = Instant::now();
        let listing = app.list("").await;
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "a request waited {:?} on a silent database",
            asked.elapsed()
        );
        assert_problem(
            listing,
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
        )
        .await;
    }
    let asked = Instant::now();
    assert_eq!(readiness(&app).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);

    // Back: served again without a restart.
    proxy.lift_blackhole().await;
    until_served_again(&app, lamp).await;
    drop(app);
    drop(database);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_in_flight_when_the_database_goes_silent_is_answered_at_the_response_timeout() {
    let Some(database) = test_support::PostgresDb::create(
        "a_query_in_flight_when_the_database_goes_silent_is_answered_at_the_response_timeout",
    )
    .await
    else {
        return;
    };
    let (proxy, behind_proxy) = behind_a_proxy(&database).await;
    let limits = platform::server::ConnectionLimits {
        response: Duration::from_secs(3),
        ..Default::default()
    };
    let app = spawn_app_over_with_limits(behind_proxy, limits).await;
    until_ready(&app).await;
    let lamp = app.product("Desk lamp", 2490, 7).await;

    // Hold the service's next query in flight: a lock taken directly (not through the proxy)
    // makes it wait inside PostgreSQL.
    let mut locker = <sqlx::PgConnection as sqlx::Connection>::connect(&database.url)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let asked = Instant::now();
    let in_flight = {
        let client = app.client.clone();
        let url = app.url(&format!("/products/{lamp}"));
        tokio::spawn(async move { client.get(url).send().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The database goes silent with the query sent: its answer never comes back.
    proxy.blackhole().await;
    sqlx::raw_sql("COMMIT").execute(&mut locker).await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the request in flight is answered, not left hanging")
        .unwrap();
    let waited = asked.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(6),
        "answered after {waited:?}"
    );
    assert_eq!(response.headers()["retry-after"], "5");
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "response_timeout",
    )
    .await;

    // The connection the dropped request held does not poison the pool once it is back.
    proxy.lift_blackhole().await;
    until_served_again(&app, lamp).await;
}

/// A TCP proxy in front of `database`'s server, and the database's URL through it.
async fn behind_a_proxy(database: &test_support::PostgresDb) -> (TcpProxy, String) {
    let server = reqwest::Url::parse(&database.url).unwrap();
    let proxy = TcpProxy::start(&format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    ))
    .await;
    let mut behind_proxy = server;
    behind_proxy.set_host(Some("127.0.0.1")).unwrap();
    behind_proxy.set_port(Some(proxy.addr().port())).unwrap();
    (proxy, behind_proxy.to_string())
}

async fn until_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while readiness(app).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `product` is served again, without a restart.
async fn until_served_again(app: &TestApp, product: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = app.get(&format!("/products/{product}")).await;
        if response.status() == StatusCode::OK {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not serving after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
