//! `GET /auth/me`: the caller's account.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn me_answers_the_callers_account() {
    let app = spawn_app().await;
    let session = app.signed_in("alice").await;

    let response = app.me(&session.access_token).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], session.id.as_str());
    assert_eq!(body["username"], "alice");
    assert_eq!(body["role"], "customer");
    assert!(body["created_at"].is_string());
    let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "id", "role", "username"]);
}

#[tokio::test]
async fn me_without_a_token_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;

    let response = app.client.get(app.url("/auth/me")).send().await.unwrap();

    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn me_for_a_deleted_account_is_401() {
    let app = spawn_app().await;
    let session = app.signed_in("bob").await;
    sqlx::query("DELETE FROM users WHERE username = 'bob'")
        .execute(&app.db().await)
        .await
        .unwrap();

    let response = app.me(&session.access_token).await;

    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn the_registration_and_me_show_the_same_creation_time() {
    let app = spawn_app().await;
    let registered: Value = app
        .register("carol", crate::helpers::PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let (access, _) = app.logged_in("carol", crate::helpers::PASSWORD).await;

    let me: Value = app.me(&access).await.json().await.unwrap();

    assert_eq!(me["created_at"], registered["created_at"]);
}
