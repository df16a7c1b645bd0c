//! `POST /notifications/{id}/read`: marking one of one's own notifications read.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, order_event, spawn_app};

#[tokio::test]
async fn a_notification_marked_read_shows_as_read() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    app.publish(&order_event("order.paid", &alice)).await;
    let inbox = app.wait_for_inbox(&alice, 1).await;
    let id = inbox.items[0]["id"].as_str().unwrap().to_owned();

    let response = app.mark_read(&alice, &id).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["read"], true);
    assert_eq!(app.inbox(&alice).await.items[0]["read"], true);
    // Marking again changes nothing.
    let again: Value = app.mark_read(&alice, &id).await.json().await.unwrap();
    assert_eq!(again, body);
}

#[tokio::test]
async fn another_users_notification_is_404_and_stays_unread() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    app.publish(&order_event("order.paid", &alice)).await;
    let inbox = app.wait_for_inbox(&alice, 1).await;
    let id = inbox.items[0]["id"].as_str().unwrap().to_owned();

    let response = app.mark_read(&bob, &id).await;

    assert_problem(response, StatusCode::NOT_FOUND, "notification_not_found").await;
    assert_eq!(app.inbox(&alice).await.items[0]["read"], false);
}

#[tokio::test]
async fn an_unknown_or_malformed_id_is_404() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    for id in [uuid::Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
        let response = app.mark_read(&alice, &id).await;
        assert_problem(response, StatusCode::NOT_FOUND, "notification_not_found").await;
    }
}

#[tokio::test]
async fn marking_read_without_a_token_is_401() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(app.url(&format!("/notifications/{}/read", uuid::Uuid::now_v7())))
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
}
