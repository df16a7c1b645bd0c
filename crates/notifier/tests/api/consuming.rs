//! Consuming `order-events`: one notification per event for the order's owner, exactly once,
//! with unusable payloads parked on the dead-letter topic.

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{order_event, order_event_for, spawn_app};

#[tokio::test]
async fn an_order_event_becomes_a_notification_for_the_orders_owner() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let event = order_event("order.created", &alice);

    app.publish(&event).await;

    let inbox = app.wait_for_inbox(&alice, 1).await;
    let notification = &inbox.items[0];
    assert_eq!(notification["user_id"], alice.id.to_string());
    assert_eq!(notification["order_id"], event.subject);
    assert_eq!(notification["kind"], "order.created");
    assert_eq!(
        notification["message"],
        format!(
            "order {} created by alice: 3 items, 25.00 EUR",
            event.subject
        )
    );
    assert_eq!(notification["total_cents"], 2500);
    assert_eq!(notification["read"], false);
    let created_at = notification["created_at"].as_str().unwrap();
    time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
        .expect("created_at is RFC 3339");
    assert!(created_at.ends_with('Z'), "{created_at} is not UTC");
    Uuid::parse_str(notification["id"].as_str().unwrap()).expect("the id is a UUID");
    let mut keys: Vec<_> = notification.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "id",
            "kind",
            "message",
            "order_id",
            "read",
            "total_cents",
            "user_id"
        ]
    );
}

#[tokio::test]
async fn each_order_event_type_reads_as_its_own_line() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let order = Uuid::now_v7();
    let mut failed = order_event_for("order.payment_failed", &alice, order);
    failed.data["reason"] = json!("payment_declined");
    let mut cancelled = order_event_for("order.cancelled", &alice, order);
    cancelled.data["reason"] = json!("cancelled_by_customer");

    app.publish(&order_event_for("order.created", &alice, order))
        .await;
    app.publish(&failed).await;
    app.publish(&order_event_for("order.paid", &alice, order))
        .await;
    app.publish(&cancelled).await;

    let inbox = app.wait_for_inbox(&alice, 4).await;
    assert_eq!(
        inbox.messages(),
        [
            format!("order {order} cancelled by alice"),
            format!("order {order} paid by alice: 25.00 EUR"),
            format!("order {order} payment failed for alice: 25.00 EUR (payment declined)"),
            format!("order {order} created by alice: 3 items, 25.00 EUR"),
        ]
    );
    let kinds: Vec<_> = inbox
        .items
        .iter()
        .map(|item| item["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "order.cancelled",
            "order.paid",
            "order.payment_failed",
            "order.created"
        ]
    );
    // What a client needs to write its own sentence: the total and the reason code.
    let details: Vec<_> = inbox
        .items
        .iter()
        .map(|item| (item["total_cents"].clone(), item["reason"].clone()))
        .collect();
    assert_eq!(
        details,
        [
            (json!(2500), json!("cancelled_by_customer")),
            (json!(2500), json!(null)),
            (json!(2500), json!("payment_declined")),
            (json!(2500), json!(null)),
        ]
    );
}

#[tokio::test]
async fn the_same_event_delivered_twice_gives_one_notification() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let event = order_event("order.paid", &alice);

    app.publish(&event).await;
    app.publish(&event).await;
    // Events are processed in order: once this one is in, the duplicate was handled.
    let marker = order_event("order.created", &alice);
    app.publish(&marker).await;

    let inbox = app.wait_for_inbox(&alice, 2).await;
    assert_eq!(inbox.total, 2);
    let orders: Vec<_> = inbox
        .items
        .iter()
        .map(|item| item["order_id"].clone())
        .collect();
    assert_eq!(orders, [json!(marker.subject), json!(event.subject)]);
}

#[tokio::test]
async fn an_event_redelivered_after_a_restart_is_still_processed_once() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let event = order_event("order.paid", &alice);
    app.publish(&event).await;
    app.wait_for_inbox(&alice, 1).await;

    let app = app.restart().await;
    app.publish(&event).await;
    app.publish(&order_event("order.created", &alice)).await;

    let inbox = app.wait_for_inbox(&alice, 2).await;
    let paid = inbox
        .items
        .iter()
        .filter(|item| item["order_id"] == json!(event.subject))
        .count();
    assert_eq!(paid, 1);
}

#[tokio::test]
async fn an_unusable_payload_is_parked_on_the_dead_letter_topic_and_later_events_still_flow() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut bad = order_event("order.created", &alice);
    bad.data["total_cents"] = json!("a lot");

    app.publish(&bad).await;
    let good = order_event("order.paid", &alice);
    app.publish(&good).await;

    let inbox = app.wait_for_inbox(&alice, 1).await;
    assert_eq!(inbox.items[0]["order_id"], good.subject);
    assert_eq!(app.bus.retained("order-events.dlq"), 1);
}

#[tokio::test]
async fn payloads_missing_what_a_notification_needs_are_all_parked() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let payloads = [
        json!("not an object"),
        json!({"order_id": Uuid::now_v7(), "user_id": alice.id}),
        json!({"order_id": "nope", "user_id": alice.id, "username": "alice", "total_cents": 1, "items": []}),
        json!({"order_id": Uuid::now_v7(), "user_id": alice.id, "username": "alice", "total_cents": -5, "items": []}),
    ];
    for payload in &payloads {
        let mut event = order_event("order.created", &alice);
        event.data = payload.clone();
        app.publish(&event).await;
    }
    app.publish(&order_event("order.paid", &alice)).await;

    app.wait_for_inbox(&alice, 1).await;
    assert_eq!(app.bus.retained("order-events.dlq"), payloads.len());
}

#[tokio::test]
async fn an_unknown_order_event_type_still_notifies_with_its_status() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut event = order_event("order.returned", &alice);
    event.data["status"] = json!("returned");

    app.publish(&event).await;

    let inbox = app.wait_for_inbox(&alice, 1).await;
    assert_eq!(inbox.items[0]["kind"], "order.returned");
    assert_eq!(
        inbox.items[0]["message"],
        format!(
            "order {} is now returned for alice: 25.00 EUR",
            event.subject
        )
    );
}

#[tokio::test]
async fn readiness_checks_the_database_and_the_bus() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["service"], "notifier");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["checks"]["bus"]["status"], "up");
}
