//! What the saga owes other services survives failures: stock reserved for an order that was
//! never stored is handed back, and calls that failed are retried by the sweep.

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{assert_problem, eventually, order_body, spawn};

#[tokio::test]
async fn a_reservation_whose_order_was_never_stored_is_handed_back() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let order_id = Uuid::now_v7();
    stack.reserve(order_id, tea, 4).await;
    assert_eq!(stack.stock(tea).await, 6);
    // What placing an order leaves behind if it dies between reserving and storing: its guard
    // (here already due).
    stack
        .orders_sql(&format!(
            "INSERT INTO saga_commands (id, order_id, kind, attempts, next_attempt_at, created_at) \
             VALUES ('{}', '{order_id}', 'release', 0, 0, 0)",
            Uuid::now_v7()
        ))
        .await;

    let restored = eventually(|| async { (stack.stock(tea).await == 10).then_some(()) }).await;

    assert!(
        restored.is_some(),
        "the sweep released the orphan reservation"
    );
    let db = stack.db("orders").await;
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM saga_commands")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn a_placed_order_leaves_no_owed_call_behind() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack.paid_order(&alice, &[(tea, 1)]).await;
    stack.bank(1.0, "none").await;
    stack.place(&alice, &order_body(&[(tea, 1)])).await;

    let db = stack.db("orders").await;
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM saga_commands")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        pending, 0,
        "guards, confirmations and releases are all done"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_approved_after_the_order_was_cancelled_is_refunded() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    // The bank takes its time, so the order can be cancelled while the charge is in flight.
    stack.bank_with_latency(0.0, 700, "none").await;
    let body = order_body(&[(tea, 2)]);
    let cancel_meanwhile = async {
        let id = eventually(|| async {
            let page: Value = stack.get(&alice, "/orders").await.json().await.unwrap();
            page["items"][0]["id"].as_str().map(str::to_owned)
        })
        .await
        .expect("the order is stored before it is charged");
        assert_eq!(
            stack.cancel(&alice, &id).await.status(),
            StatusCode::NO_CONTENT
        );
        id
    };

    let (response, id) = tokio::join!(stack.place(&alice, &body), cancel_meanwhile);

    let problem = assert_problem(response, StatusCode::CONFLICT, "not_awaiting_payment").await;
    assert_eq!(problem["order_id"], id.as_str());
    assert_eq!(problem["order_status"], "cancelled");
    assert_eq!(stack.payments_of(&id).await, [("refunded".to_owned(), 200)]);
    assert_eq!(stack.stock(tea).await, 10);
    stack.wait_for_events(&id, 2).await;
    assert_eq!(stack.event_types(&id), ["order.created", "order.cancelled"]);
}
