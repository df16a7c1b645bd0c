//! `GET /notifications`: the caller's own notifications, newest first, paginated.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, order_event, spawn_app};

#[tokio::test]
async fn notifications_are_listed_newest_first_with_pagination() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut orders = Vec::new();
    for _ in 0..5 {
        let event = order_event("order.created", &alice);
        orders.push(event.subject.clone());
        app.publish(&event).await;
    }
    app.wait_for_inbox(&alice, 5).await;

    let response = app.list(&alice, "?limit=2&offset=1").await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["total"], 5);
    assert_eq!(body["limit"], 2);
    assert_eq!(body["offset"], 1);
    let listed: Vec<_> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["order_id"].clone())
        .collect();
    assert_eq!(listed, [json!(orders[3]), json!(orders[2])]);
}

#[tokio::test]
async fn the_default_page_is_twenty_and_the_total_counts_everything() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    for _ in 0..21 {
        app.publish(&order_event("order.paid", &alice)).await;
    }
    app.wait_for_inbox(&alice, 21).await;

    let body: Value = app.list(&alice, "").await.json().await.unwrap();

    assert_eq!(body["items"].as_array().unwrap().len(), 20);
    assert_eq!(body["total"], 21);
    assert_eq!(body["limit"], 20);
    assert_eq!(body["offset"], 0);
    let past_the_end: Value = app.list(&alice, "?offset=21").await.json().await.unwrap();
    assert_eq!(past_the_end["items"], json!([]));
    assert_eq!(past_the_end["total"], 21);
}

#[tokio::test]
async fn another_user_sees_none_of_them() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    app.publish(&order_event("order.created", &alice)).await;
    app.publish(&order_event("order.created", &bob)).await;
    app.wait_for_inbox(&alice, 1).await;

    let inbox = app.wait_for_inbox(&bob, 1).await;

    assert_eq!(inbox.total, 1);
    assert!(inbox.messages()[0].contains("created by bob"));
}

#[tokio::test]
async fn an_admin_sees_only_their_own_inbox() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let admin = app.keys.admin();
    app.publish(&order_event("order.created", &alice)).await;
    app.publish(&order_event("order.created", &admin)).await;
    app.wait_for_inbox(&alice, 1).await;

    let inbox = app.wait_for_inbox(&admin, 1).await;

    assert_eq!(inbox.total, 1);
    assert_eq!(inbox.items[0]["user_id"], admin.id.to_string());
}

#[tokio::test]
async fn a_bad_limit_or_offset_is_422_naming_the_field() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=1.5", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=x", "offset"),
    ] {
        let response = app.list(&alice, query).await;
        let body = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn listing_without_a_token_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/notifications"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn listing_with_a_token_from_unknown_keys_is_401() {
    let app = spawn_app().await;
    let stranger = test_support::TestKeys::new().user("mallory");

    let response = app.list(&stranger, "").await;

    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}
