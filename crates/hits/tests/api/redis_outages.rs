//! Redis going away and coming back: the service starts anyway, answers 503 with `Retry-After`
//! (never a count it did not get from Redis) while Redis cannot be reached, retries a dropped
//! connection, and resumes counting where Redis left off.
//!
//! The unreachable-Redis tests point at a closed port and always run; the others put a
//! [`TcpProxy`] in front of the test Redis (`MICROSHOP_TEST_REDIS_URL`) and take it down and
//! back up.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, header};

use crate::helpers::{RedisKey, TestApp, assert_problem, closed_port_url, spawn_on_redis};
use test_support::proxy::TcpProxy;

/// The longest a visit may take to be refused when Redis is down: the retry budget (2 s) and
/// some slack for a loaded machine.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(3);

/// Expects a visit to be refused as the issue asks: 503, `Retry-After`, no count, in time.
async fn assert_visit_refused(app: &TestApp) {
    let started = Instant::now();
    let response = app.get_hits().await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < REFUSAL_DEADLINE,
        "the visit took {elapsed:?} to be refused"
    );
    assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    let body = assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "counter_unavailable",
    )
    .await;
    assert!(body.get("hits").is_none(), "a count was made up: {body}");
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "internals leaked: {body}"
    );
}

async fn assert_redis_readiness(app: &TestApp, expected: StatusCode, state: &str) {
    let (status, body) = app.readiness().await;
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["checks"]["redis"]["status"], state, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_while_redis_cannot_be_reached_is_a_503_with_retry_after_not_a_count() {
    let url = closed_port_url();
    let app = spawn_on_redis(&url, RedisKey::new(&url)).await;
    assert_visit_refused(&app).await;
    // Still refused, not stuck, on the next visits.
    let visits = futures::future::join_all((0..20).map(|_| assert_visit_refused(&app)));
    tokio::time::timeout(REFUSAL_DEADLINE * 2, visits)
        .await
        .expect("concurrent visits are refused in time too");
}

#[tokio::test]
async fn hits_starts_while_redis_is_down_and_reports_itself_not_ready() {
    let url = closed_port_url();
    let app = spawn_on_redis(&url, RedisKey::new(&url)).await;
    let live = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    assert_redis_readiness(&app, StatusCode::SERVICE_UNAVAILABLE, "down").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counting_resumes_where_it_was_when_redis_comes_back() {
    let Some(redis) = test_support::redis_url(
        "redis_outages::counting_resumes_where_it_was_when_redis_comes_back",
    ) else {
        return;
    };
    let proxy = TcpProxy::for_redis(&redis).await;
    let app = spawn_on_redis(proxy.url(), RedisKey::new(&redis)).await;
    app.visit().await;
    assert_eq!(app.visit().await.hits, 2);
    assert_redis_readiness(&app, StatusCode::OK, "up").await;

    proxy.go_down().await;
    assert_visit_refused(&app).await;
    assert_redis_readiness(&app, StatusCode::SERVICE_UNAVAILABLE, "down").await;

    proxy.come_back().await;
    assert_eq!(
        app.visit().await.hits,
        3,
        "the refused visit was not counted"
    );
    assert_eq!(app.visit().await.hits, 4);
    assert_redis_readiness(&app, StatusCode::OK, "up").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_started_while_redis_was_down_counts_once_redis_is_up() {
    let Some(redis) = test_support::redis_url(
        "redis_outages::hits_started_while_redis_was_down_counts_once_redis_is_up",
    ) else {
        return;
    };
    let proxy = TcpProxy::for_redis(&redis).await;
    proxy.go_down().await;
    let app = spawn_on_redis(proxy.url(), RedisKey::new(&redis)).await;
    assert_visit_refused(&app).await;

    proxy.come_back().await;
    assert_eq!(app.visit().await.hits, 1);
    assert_redis_readiness(&app, StatusCode::OK, "up").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_redis_connection_is_retried_and_the_visit_counted() {
    let Some(redis) = test_support::redis_url(
        "redis_outages::a_dropped_redis_connection_is_retried_and_the_visit_counted",
    ) else {
        return;
    };
    let proxy = TcpProxy::for_redis(&redis).await;
    let app = spawn_on_redis(proxy.url(), RedisKey::new(&redis)).await;
    assert_eq!(app.visit().await.hits, 1);

    // A restarted Redis (or a reaped idle connection): the open connection is dead, a new one
    // works. The first attempt fails on the dead connection; the retry reconnects.
    for expected in 2..=4 {
        proxy.cut_connections().await;
        assert_eq!(app.visit().await.hits, expected);
    }
    // Readiness does not report Redis down for a connection that only needs renewing.
    proxy.cut_connections().await;
    assert_redis_readiness(&app, StatusCode::OK, "up").await;
}

#[tokio::test]
async fn a_redis_key_that_does_not_hold_a_count_is_an_opaque_500() {
    let Some(redis) = test_support::redis_url(
        "redis_outages::a_redis_key_that_does_not_hold_a_count_is_an_opaque_500",
    ) else {
        return;
    };
    let key = RedisKey::new(&redis);
    let name = key.key.clone();
    let mut direct = key.connection();
    let app = spawn_on_redis(&redis, key).await;

    let set = |connection: &mut redis::Connection, command: &str, value: &str| {
        let _: i64 = redis::cmd("DEL").arg(&name).query(connection).unwrap();
        let _: redis::Value = redis::cmd(command)
            .arg(&name)
            .arg(value)
            .query(connection)
            .unwrap();
    };
    // Not a number, a list (WRONGTYPE), and a number no visit count can be.
    for (command, value) in [("SET", "many"), ("LPUSH", "1"), ("SET", "-5")] {
        set(&mut direct, command, value);
        let body = assert_problem(
            app.get_hits().await,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        )
        .await;
        assert!(body.get("hits").is_none(), "{body}");
        assert!(!body.to_string().contains("WRONGTYPE"), "{body}");
    }

    let _: i64 = redis::cmd("DEL").arg(&name).query(&mut direct).unwrap();
    assert_eq!(app.visit().await.hits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_accepts_and_never_answers_gives_prompt_503s_and_counting_resumes() {
    let Some(redis) = test_support::redis_url(
        "redis_outages::a_redis_that_accepts_and_never_answers_gives_prompt_503s_and_counting_resumes",
    ) else {
        return;
    };
    let proxy = TcpProxy::for_redis(&redis).await;
    let app = spawn_on_redis(proxy.url(), RedisKey::new(&redis)).await;
    assert_eq!(app.visit().await.hits, 1);

    // A hung Redis: the open connection and every new one are accepted, nothing comes back.
    proxy.blackhole().await;
    assert_visit_refused(&app).await;
    let visits = futures::future::join_all((0..10).map(|_| assert_visit_refused(&app)));
    tokio::time::timeout(REFUSAL_DEADLINE * 2, visits)
        .await
        .expect("concurrent visits to a hung Redis are refused in time too");
    let started = Instant::now();
    assert_redis_readiness(&app, StatusCode::SERVICE_UNAVAILABLE, "down").await;
    assert!(
        started.elapsed() < REFUSAL_DEADLINE,
        "readiness took {:?} to answer",
        started.elapsed()
    );

    proxy.lift_blackhole().await;
    assert_eq!(
        app.visit().await.hits,
        2,
        "no refused visit was counted, and counting goes on"
    );
    assert_redis_readiness(&app, StatusCode::OK, "up").await;
}
