//! `PATCH /orders/{id}`: admins move orders along the legal transitions only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, first_field, order_body, spawn};

#[tokio::test]
async fn an_admin_ships_then_delivers_a_paid_order() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 1)]).await;
    let id = order["id"].as_str().unwrap();

    let shipped = stack.set_status(&stack.admin, id, "shipped").await;
    assert_eq!(shipped.status(), StatusCode::OK);
    let shipped: Value = shipped.json().await.unwrap();
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(shipped["items"], order["items"]);

    let delivered: Value = stack
        .set_status(&stack.admin, id, "delivered")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(stack.order(&alice, id).await["status"], "delivered");
    stack.wait_for_events(id, 4).await;
    assert_eq!(
        stack.event_types(id),
        [
            "order.created",
            "order.paid",
            "order.shipped",
            "order.delivered"
        ]
    );
}

#[tokio::test]
async fn illegal_transitions_are_409_and_change_nothing() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let paid = stack.paid_order(&alice, &[(tea, 1)]).await;
    let paid_id = paid["id"].as_str().unwrap();
    stack.bank(0.0, "error").await;
    let unpaid: Value = stack
        .place(&alice, &order_body(&[(tea, 1)]))
        .await
        .json()
        .await
        .unwrap();
    let unpaid_id = unpaid["order_id"].as_str().unwrap();

    for (id, status) in [
        (unpaid_id, "shipped"),
        (unpaid_id, "paid"),
        (unpaid_id, "delivered"),
        (paid_id, "delivered"),
        (paid_id, "awaiting_payment"),
        (paid_id, "payment_failed"),
    ] {
        let problem = assert_problem(
            stack.set_status(&stack.admin, id, status).await,
            StatusCode::CONFLICT,
            "illegal_transition",
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().contains(status),
            "{problem}"
        );
    }
    assert_eq!(
        stack.order(&alice, unpaid_id).await["status"],
        "awaiting_payment"
    );
    assert_eq!(stack.order(&alice, paid_id).await["status"], "paid");
}

#[tokio::test]
async fn nothing_leaves_delivered_or_cancelled() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let delivered = stack.paid_order(&alice, &[(tea, 1)]).await;
    let delivered = delivered["id"].as_str().unwrap();
    stack.set_status(&stack.admin, delivered, "shipped").await;
    stack.set_status(&stack.admin, delivered, "delivered").await;
    let cancelled = stack.paid_order(&alice, &[(tea, 1)]).await;
    let cancelled = cancelled["id"].as_str().unwrap();
    stack.cancel(&alice, cancelled).await;

    for (id, status) in [
        (delivered, "cancelled"),
        (delivered, "shipped"),
        (cancelled, "shipped"),
        (cancelled, "paid"),
    ] {
        assert_problem(
            stack.set_status(&stack.admin, id, status).await,
            StatusCode::CONFLICT,
            "illegal_transition",
        )
        .await;
    }
}

#[tokio::test]
async fn setting_the_current_status_again_is_a_harmless_200() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 1)]).await;
    let id = order["id"].as_str().unwrap();
    stack.set_status(&stack.admin, id, "shipped").await;

    let again = stack.set_status(&stack.admin, id, "shipped").await;

    assert_eq!(again.status(), StatusCode::OK);
    stack.wait_for_events(id, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(stack.event_types(id).len(), 3, "no event for a no-op");
}

#[tokio::test]
async fn an_admin_cancelling_by_patch_releases_and_refunds() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 900, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 2)]).await;
    let id = order["id"].as_str().unwrap();

    let response = stack.set_status(&stack.admin, id, "cancelled").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap()["status"],
        "cancelled"
    );
    assert_eq!(stack.stock(tea).await, 10);
    assert_eq!(stack.payments_of(id).await, [("refunded".to_owned(), 1800)]);
}

#[tokio::test]
async fn customers_may_not_set_a_status() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 1)]).await;
    let id = order["id"].as_str().unwrap();

    assert_problem(
        stack.set_status(&alice, id, "shipped").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(stack.order(&alice, id).await["status"], "paid");
}

#[tokio::test]
async fn an_unknown_status_or_body_is_422_naming_the_field() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let order = stack.paid_order(&alice, &[(tea, 1)]).await;
    let id = order["id"].as_str().unwrap();

    let problem = assert_problem(
        stack.set_status(&stack.admin, id, "refunded").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(first_field(&problem), "status");

    let response = stack
        .client
        .patch(stack.url(&format!("/orders/{id}")))
        .bearer_auth(&stack.admin.token)
        .json(&json!({"status": "shipped", "total_cents": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(stack.order(&alice, id).await["status"], "paid");
}
