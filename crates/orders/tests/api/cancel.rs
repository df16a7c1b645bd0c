//! `DELETE /orders/{id}`: cancel, release the stock, refund if paid.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, eventually, order_body, spawn};

#[tokio::test]
async fn cancelling_a_paid_order_refunds_it_and_restores_the_stock() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 1250, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 3)]).await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(stack.stock(tea).await, 7);

    let response = stack.cancel(&alice, id).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(stack.order(&alice, id).await["status"], "cancelled");
    assert_eq!(stack.stock(tea).await, 10);
    assert_eq!(stack.payments_of(id).await, [("refunded".to_owned(), 3750)]);
    let events = stack.wait_for_events(id, 3).await;
    assert_eq!(events[2].kind, "order.cancelled");
    assert_eq!(events[2].data["reason"], "cancelled_by_customer");
}

#[tokio::test]
async fn cancelling_a_cancelled_order_is_a_harmless_204() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 3)]).await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(
        stack.cancel(&alice, id).await.status(),
        StatusCode::NO_CONTENT
    );

    let again = stack.cancel(&alice, id).await;

    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(stack.stock(tea).await, 10, "stock comes back once");
    stack.wait_for_events(id, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(stack.event_types(id).len(), 3, "no second order.cancelled");
}

#[tokio::test]
async fn cancelling_an_unpaid_order_releases_its_stock_without_a_refund() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack.bank(0.0, "error").await;
    let unpaid: Value = stack
        .place(&alice, &order_body(&[(tea, 4)]))
        .await
        .json()
        .await
        .unwrap();
    let id = unpaid["order_id"].as_str().unwrap();
    assert_eq!(stack.stock(tea).await, 6);

    assert_eq!(
        stack.cancel(&alice, id).await.status(),
        StatusCode::NO_CONTENT
    );

    assert_eq!(stack.stock(tea).await, 10);
    assert!(stack.payments_of(id).await.is_empty());
}

#[tokio::test]
async fn a_refund_the_bank_could_not_take_is_retried_until_it_can() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    stack.bank(0.0, "error").await;

    assert_eq!(
        stack.cancel(&alice, &id).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(stack.payments_of(&id).await, [("approved".to_owned(), 100)]);
    stack.bank(0.0, "none").await;

    let refunded = eventually(|| async {
        let payments = stack.payments_of(&id).await;
        (payments == [("refunded".to_owned(), 100)]).then_some(())
    })
    .await;
    assert!(refunded.is_some(), "the sweep retries the refund");
}

#[tokio::test]
async fn a_shipped_order_cannot_be_cancelled() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 1)]).await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(
        stack.set_status(&stack.admin, id, "shipped").await.status(),
        StatusCode::OK
    );

    let problem = assert_problem(
        stack.cancel(&alice, id).await,
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;

    assert_eq!(problem["order_status"], "shipped");
    assert_eq!(stack.stock(tea).await, 9);
}

#[tokio::test]
async fn an_admin_may_cancel_anyones_order() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 2)]).await;
    let id = order["id"].as_str().unwrap();

    assert_eq!(
        stack.cancel(&stack.admin, id).await.status(),
        StatusCode::NO_CONTENT
    );

    assert_eq!(stack.stock(tea).await, 10);
    let events = stack.wait_for_events(id, 3).await;
    assert_eq!(events[2].data["reason"], "cancelled_by_admin");
    assert_eq!(
        events[2].data["username"], "alice",
        "events name the order's owner"
    );
}
