//! `Idempotency-Key` on `POST /orders`: a repeat returns the first answer and creates nothing.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Options, assert_problem, first_field, order_body, spawn, spawn_with};

#[tokio::test]
async fn the_same_key_twice_makes_one_order_and_one_charge() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 1250, 10).await;
    let alice = stack.customer("alice");
    let body = order_body(&[(tea, 2)]);

    let first = stack.place_with_key(&alice, "key-1", &body).await;
    let first_status = first.status();
    let first_location = first.headers()["location"].clone();
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first_body = first.text().await.unwrap();
    let second = stack.place_with_key(&alice, "key-1", &body).await;

    assert_eq!(first_status, StatusCode::CREATED);
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["location"], first_location);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.headers()["content-type"], "application/json");
    assert_eq!(second.text().await.unwrap(), first_body);
    let order: Value = serde_json::from_str(&first_body).unwrap();
    assert_eq!(stack.orders_stored().await, 1);
    assert_eq!(
        stack.payments_of(order["id"].as_str().unwrap()).await.len(),
        1
    );
    assert_eq!(stack.stock(tea).await, 8);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_order() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 100).await;
    let alice = stack.customer("alice");
    let body = order_body(&[(tea, 1)]);

    let responses = join_all((0..10).map(|_| stack.place_with_key(&alice, "same", &body))).await;

    let mut bodies = Vec::new();
    for response in responses {
        // Duplicates wait for the first answer (they never time out here).
        assert_eq!(response.status(), StatusCode::CREATED);
        bodies.push(response.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(stack.orders_stored().await, 1);
    assert_eq!(stack.stock(tea).await, 99);
}

#[tokio::test]
async fn a_declined_order_is_replayed_as_the_same_402_without_a_second_charge() {
    let stack = spawn_with(Options {
        decline_rate: 1.0,
        ..Options::default()
    })
    .await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let body = order_body(&[(tea, 1)]);

    let first = stack.place_with_key(&alice, "k", &body).await;
    assert_eq!(first.status(), StatusCode::PAYMENT_REQUIRED);
    let first_body = first.text().await.unwrap();
    stack.bank(0.0, "none").await;
    let second = stack.place_with_key(&alice, "k", &body).await;

    assert_eq!(second.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(second.headers()["content-type"], "application/problem+json");
    assert_eq!(second.text().await.unwrap(), first_body);
    let problem: Value = serde_json::from_str(&first_body).unwrap();
    assert_eq!(
        stack
            .payments_of(problem["order_id"].as_str().unwrap())
            .await
            .len(),
        1
    );
    assert_eq!(stack.orders_stored().await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let first = stack
        .place_with_key(&alice, "k", &order_body(&[(tea, 1)]))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);

    let response = stack
        .place_with_key(&alice, "k", &order_body(&[(tea, 2)]))
        .await;

    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(first_field(&problem), "Idempotency-Key");
    assert_eq!(stack.orders_stored().await, 1);
    assert_eq!(stack.stock(tea).await, 9);
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let bob = stack.customer("bob");
    let body = order_body(&[(tea, 1)]);

    let for_alice: Value = stack
        .place_with_key(&alice, "k", &body)
        .await
        .json()
        .await
        .unwrap();
    let response = stack.place_with_key(&bob, "k", &body).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let for_bob: Value = response.json().await.unwrap();
    assert_ne!(for_alice["id"], for_bob["id"]);
    assert_eq!(for_bob["user_id"], bob.id.to_string());
    assert_eq!(stack.orders_stored().await, 2);
}

#[tokio::test]
async fn a_request_that_created_nothing_does_not_keep_its_key() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 1).await;
    let alice = stack.customer("alice");
    let body = order_body(&[(tea, 2)]);
    assert_eq!(
        stack.place_with_key(&alice, "k", &body).await.status(),
        StatusCode::CONFLICT
    );
    stack.set_stock(tea, 5).await;

    let response = stack.place_with_key(&alice, "k", &body).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(stack.stock(tea).await, 3);
}

#[tokio::test]
async fn a_malformed_key_is_refused_naming_the_header() {
    let stack = spawn().await;
    let alice = stack.customer("alice");

    let problem = assert_problem(
        stack
            .place_with_key(&alice, &"k".repeat(256), &order_body(&[(1, 1)]))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(first_field(&problem), "Idempotency-Key");
}

#[tokio::test]
async fn a_key_whose_request_died_after_storing_its_order_answers_that_order() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let body = order_body(&[(tea, 1)]);
    let first: Value = stack
        .place_with_key(&alice, "k", &body)
        .await
        .json()
        .await
        .unwrap();
    // What a crash between storing the order and recording the answer leaves: a stale claim.
    stack
        .orders_sql("UPDATE idempotency_keys SET response = NULL, created_at = created_at - 600000")
        .await;

    let response = stack.place_with_key(&alice, "k", &body).await;

    assert_eq!(response.status(), StatusCode::OK);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["id"], first["id"]);
    assert_eq!(order["status"], "paid");
    assert_eq!(stack.orders_stored().await, 1);
}

#[tokio::test]
async fn a_key_whose_request_died_before_storing_anything_is_taken_over() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let body = order_body(&[(tea, 1)]);
    let first: Value = stack
        .place_with_key(&alice, "k", &body)
        .await
        .json()
        .await
        .unwrap();
    // A claim left by a request that died before it stored an order.
    stack
        .orders_sql(
            "UPDATE idempotency_keys SET response = NULL, order_id = NULL, \
             created_at = created_at - 600000",
        )
        .await;

    let response = stack.place_with_key(&alice, "k", &body).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["id"], first["id"]);
    let third: Value = stack
        .place_with_key(&alice, "k", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(third["id"], second["id"], "the new claim holds");
}

#[tokio::test]
async fn a_duplicate_of_a_request_still_in_progress_waits_then_gets_409() {
    let stack = crate::helpers::spawn_configured(|config| {
        // Waits are bounded by the upstream timeouts: here 0.1 + 3 × 0.1 + 1 s.
        config.payments_timeout_ms = 100;
        config.upstream_timeout_ms = 100;
    })
    .await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let body = order_body(&[(tea, 1)]);
    stack.place_with_key(&alice, "k", &body).await;
    // A claim as a request still working holds it: fresh, no order yet, no answer.
    stack
        .orders_sql("UPDATE idempotency_keys SET response = NULL, order_id = NULL")
        .await;

    let started = std::time::Instant::now();
    let response = stack.place_with_key(&alice, "k", &body).await;

    assert!(started.elapsed() >= std::time::Duration::from_millis(1400));
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::CONFLICT, "request_in_progress").await;
    assert_eq!(stack.orders_stored().await, 1);
}
