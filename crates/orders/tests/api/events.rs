//! Every status change puts its event on `order-events`, through the outbox.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, order_body, spawn, spawn_with};

#[tokio::test]
async fn a_paid_order_announces_created_then_paid_with_the_contracts_payload() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 1250, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 2)]).await;
    let id = order["id"].as_str().unwrap();

    let events = stack.wait_for_events(id, 2).await;

    assert_eq!(stack.event_types(id), ["order.created", "order.paid"]);
    let created = &events[0];
    assert_eq!(created.source, "/orders");
    assert_eq!(created.subject, id);
    assert_eq!(created.specversion, "1.0");
    assert_eq!(
        created.data,
        json!({
            "order_id": id,
            "user_id": alice.id,
            "username": "alice",
            "status": "awaiting_payment",
            "total_cents": 2500,
            "items": order["items"],
        })
    );
    assert_eq!(events[1].data["status"], "paid");
    assert!(events[1].data.get("reason").is_none());
}

#[tokio::test]
async fn a_declined_order_announces_payment_failed_with_its_reason() {
    let stack = spawn_with(Options {
        decline_rate: 1.0,
        ..Options::default()
    })
    .await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let problem: Value = stack
        .place(&alice, &order_body(&[(tea, 1)]))
        .await
        .json()
        .await
        .unwrap();
    let id = problem["order_id"].as_str().unwrap();

    let events = stack.wait_for_events(id, 2).await;

    assert_eq!(
        stack.event_types(id),
        ["order.created", "order.payment_failed"]
    );
    assert_eq!(events[1].data["reason"], "payment_declined");
    assert_eq!(events[1].data["status"], "payment_failed");
}

#[tokio::test]
async fn an_order_the_bank_could_not_charge_has_only_its_created_event() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack.bank(0.0, "error").await;
    let response = stack.place(&alice, &order_body(&[(tea, 1)])).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = response.json().await.unwrap();
    let id = problem["order_id"].as_str().unwrap();

    stack.wait_for_events(id, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    assert_eq!(stack.event_types(id), ["order.created"]);
}

#[tokio::test]
async fn nothing_is_announced_for_an_order_that_was_refused() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 1).await;
    let alice = stack.customer("alice");

    let response = stack.place(&alice, &order_body(&[(tea, 2)])).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let db = stack.db("orders").await;
    let outbox: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(outbox, 0);
}
