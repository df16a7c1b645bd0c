//! The bank's answer: a declined charge releases the stock; `POST /orders/{id}/payment` retries
//! only an order awaiting payment.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Options, assert_problem, order_body, spawn, spawn_with};

#[tokio::test]
async fn a_declined_payment_answers_402_with_the_order_and_releases_the_stock() {
    let stack = spawn_with(Options {
        decline_rate: 1.0,
        ..Options::default()
    })
    .await;
    let tea = stack.product("Tea", 1250, 10).await;
    let alice = stack.customer("alice");

    let response = stack.place(&alice, &order_body(&[(tea, 4)])).await;

    let problem = assert_problem(response, StatusCode::PAYMENT_REQUIRED, "payment_declined").await;
    let id = problem["order_id"].as_str().unwrap().to_owned();
    assert_eq!(problem["order"]["id"], id.as_str());
    assert_eq!(problem["order"]["status"], "payment_failed");
    assert_eq!(problem["order"]["total_cents"], 5000);
    assert_eq!(stack.stock(tea).await, 10);
    assert_eq!(stack.order(&alice, &id).await["status"], "payment_failed");
    assert_eq!(
        stack.payments_of(&id).await,
        [("declined".to_owned(), 5000)]
    );
}

#[tokio::test]
async fn retrying_the_payment_of_a_paid_or_failed_order_is_409() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 1)]).await;
    let id = order["id"].as_str().unwrap();

    let problem = assert_problem(
        stack.pay(&alice, id).await,
        StatusCode::CONFLICT,
        "not_awaiting_payment",
    )
    .await;
    assert_eq!(problem["order_status"], "paid");
    assert_eq!(stack.payments_of(id).await.len(), 1, "no second charge");

    stack.bank(1.0, "none").await;
    let declined = stack.place(&alice, &order_body(&[(tea, 1)])).await;
    let declined: Value = declined.json().await.unwrap();
    let declined_id = declined["order_id"].as_str().unwrap();
    assert_problem(
        stack.pay(&alice, declined_id).await,
        StatusCode::CONFLICT,
        "not_awaiting_payment",
    )
    .await;
}

#[tokio::test]
async fn an_order_left_unpaid_by_an_outage_is_paid_by_a_retry_with_the_same_bank_key() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 700, 10).await;
    let alice = stack.customer("alice");
    stack.bank(0.0, "error").await;
    let unavailable: Value = stack
        .place(&alice, &order_body(&[(tea, 1)]))
        .await
        .json()
        .await
        .unwrap();
    let id = unavailable["order_id"].as_str().unwrap().to_owned();
    stack.bank(0.0, "none").await;

    let response = stack.pay(&alice, &id).await;

    assert_eq!(response.status(), StatusCode::OK);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "paid");
    assert_eq!(stack.payments_of(&id).await, [("approved".to_owned(), 700)]);
    assert_eq!(stack.stock(tea).await, 9);
    // Repeated retries never charge again.
    assert_eq!(stack.pay(&alice, &id).await.status(), StatusCode::CONFLICT);
    assert_eq!(stack.payments_of(&id).await.len(), 1);
}

#[tokio::test]
async fn an_admin_may_retry_anyones_payment_but_another_customer_gets_404() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 700, 10).await;
    let alice = stack.customer("alice");
    let mallory = stack.customer("mallory");
    stack.bank(0.0, "error").await;
    let unavailable: Value = stack
        .place(&alice, &order_body(&[(tea, 1)]))
        .await
        .json()
        .await
        .unwrap();
    let id = unavailable["order_id"].as_str().unwrap().to_owned();
    stack.bank(0.0, "none").await;

    assert_problem(
        stack.pay(&mallory, &id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let response = stack.pay(&stack.admin, &id).await;
    assert_eq!(response.status(), StatusCode::OK);
}
