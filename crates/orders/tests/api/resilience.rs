//! Orders → payments through a timeout and a circuit breaker (DESIGN §7): an outage never
//! leaves a client waiting, an open breaker answers at once, and a recovered bank is used again.
//!
//! Timings are measured as the whole HTTP round trip from the test, a loose upper bound of the
//! server-side time: an open breaker must answer `POST /orders/{id}/payment` in well under
//! 50 ms (the breaker itself refuses in microseconds; the rest is the token check, two reads and
//! the loopback round trip of a debug build on a busy machine).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, order_body, spawn_configured};

#[tokio::test]
async fn a_bank_outage_answers_503_payment_unavailable_and_the_order_awaits_payment() {
    let stack = spawn_configured(|_| {}).await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack.bank(0.0, "error").await;

    let response = stack.place(&alice, &order_body(&[(tea, 2)])).await;

    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let problem = assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "payment_unavailable",
    )
    .await;
    let id = problem["order_id"].as_str().unwrap();
    assert_eq!(problem["order"]["status"], "awaiting_payment");
    assert_eq!(stack.order(&alice, id).await["status"], "awaiting_payment");
    assert_eq!(
        stack.stock(tea).await,
        8,
        "the stock stays reserved for the retry"
    );
}

#[tokio::test]
async fn after_the_configured_failures_the_breaker_opens_and_answers_at_once() {
    let stack = spawn_configured(|config| {
        config.breaker_failures = 3;
        config.breaker_open_secs = 30;
    })
    .await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack.bank(0.0, "error").await;
    let problem: Value = stack
        .place(&alice, &order_body(&[(tea, 1)]))
        .await
        .json()
        .await
        .unwrap();
    let id = problem["order_id"].as_str().unwrap().to_owned();
    assert_eq!(
        stack.pay(&alice, &id).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(stack.breakers().await["payments"], "closed", "two failures");
    assert_eq!(
        stack.pay(&alice, &id).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(stack.breakers().await["payments"], "open", "three failures");
    // Even a healthy bank is not asked while the breaker is open.
    stack.bank(0.0, "none").await;

    let mut timings = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let response = stack.pay(&alice, &id).await;
        timings.push(started.elapsed());
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (25..=30).contains(&retry_after),
            "the breaker's remaining time: {retry_after}"
        );
        assert_problem(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "payment_unavailable",
        )
        .await;
    }
    timings.sort();
    assert!(
        timings[3] < Duration::from_millis(50),
        "median round trip {:?}",
        timings[3]
    );
    assert!(
        stack.payments_of(&id).await.is_empty(),
        "nothing reached the bank"
    );
    assert_eq!(
        stack.breakers().await["products"],
        "closed",
        "one breaker per upstream"
    );

    // A new order still reserves and is stored, then answers 503 at once.
    let started = Instant::now();
    let response = stack.place(&alice, &order_body(&[(tea, 1)])).await;
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "payment_unavailable",
    )
    .await;
}

#[tokio::test]
async fn the_breaker_half_opens_and_closes_when_the_bank_recovers() {
    let stack = spawn_configured(|config| {
        config.breaker_failures = 2;
        config.breaker_open_secs = 1;
    })
    .await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack.bank(0.0, "error").await;
    let problem: Value = stack
        .place(&alice, &order_body(&[(tea, 1)]))
        .await
        .json()
        .await
        .unwrap();
    let id = problem["order_id"].as_str().unwrap().to_owned();
    assert_eq!(
        stack.pay(&alice, &id).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(stack.breakers().await["payments"], "open");
    stack.bank(0.0, "none").await;
    assert_eq!(
        stack.pay(&alice, &id).await.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "still open"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(stack.breakers().await["payments"], "half_open");
    let response = stack.pay(&alice, &id).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "paid");
    assert_eq!(stack.breakers().await["payments"], "closed");
    assert_eq!(stack.payments_of(&id).await, [("approved".to_owned(), 100)]);
    assert_eq!(
        stack.paid_order(&alice, &[(tea, 1)]).await["status"],
        "paid"
    );
}

#[tokio::test]
async fn a_hanging_bank_gets_an_answer_within_the_payments_timeout() {
    let stack = spawn_configured(|config| config.payments_timeout_ms = 300).await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack.bank(0.0, "hang").await;

    let started = Instant::now();
    let response = stack.place(&alice, &order_body(&[(tea, 1)])).await;
    let elapsed = started.elapsed();

    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    let problem = assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "payment_unavailable",
    )
    .await;
    let id = problem["order_id"].as_str().unwrap().to_owned();
    assert_eq!(stack.order(&alice, &id).await["status"], "awaiting_payment");

    // Once the bank answers again, the retry pays, with one charge at most.
    stack.bank(0.0, "none").await;
    let response = stack.pay(&alice, &id).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(stack.payments_of(&id).await, [("approved".to_owned(), 100)]);
}
