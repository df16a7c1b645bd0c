//! Orders left awaiting payment expire: cancelled, stock released, announced.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{eventually, order_body, spawn_configured};

#[tokio::test]
async fn an_order_left_unpaid_past_the_payment_timeout_is_cancelled_and_its_stock_released() {
    let stack = spawn_configured(|config| config.payment_timeout_secs = 1).await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack.bank(0.0, "error").await;
    let unpaid: Value = stack
        .place(&alice, &order_body(&[(tea, 3)]))
        .await
        .json()
        .await
        .unwrap();
    let id = unpaid["order_id"].as_str().unwrap().to_owned();
    assert_eq!(stack.stock(tea).await, 7);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stack.order(&alice, &id).await["status"],
        "awaiting_payment",
        "not yet"
    );

    let expired = eventually(|| async {
        let order = stack.order(&alice, &id).await;
        (order["status"] == "cancelled").then_some(())
    })
    .await;

    assert!(expired.is_some(), "the order expired");
    // The release is owed by the cancellation and sent right after its commit.
    let restored = eventually(|| async { (stack.stock(tea).await == 10).then_some(()) }).await;
    assert!(
        restored.is_some(),
        "stock released: {}",
        stack.stock(tea).await
    );
    let events = stack.wait_for_events(&id, 2).await;
    assert_eq!(events[1].kind, "order.cancelled");
    assert_eq!(events[1].data["reason"], "payment_timeout");
    assert_eq!(events[1].data["status"], "cancelled");
    // A late retry finds nothing to pay.
    stack.bank(0.0, "none").await;
    assert_eq!(stack.pay(&alice, &id).await.status(), 409);
    assert!(stack.payments_of(&id).await.is_empty());
}

#[tokio::test]
async fn paid_orders_never_expire() {
    let stack = spawn_configured(|config| config.payment_timeout_secs = 1).await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 1)]).await;
    let id = order["id"].as_str().unwrap();

    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert_eq!(stack.order(&alice, id).await["status"], "paid");
    assert_eq!(stack.stock(tea).await, 9);
}
