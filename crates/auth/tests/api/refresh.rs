//! `POST /auth/refresh`: rotation, reuse detection, races and expiry.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_problem, jwt_parts, spawn_app, spawn_app_with, tokens_of};

#[tokio::test]
async fn refreshing_gives_a_new_pair_and_kills_the_old_refresh_token() {
    let app = spawn_app().await;
    let session = app.signed_in("alice").await;

    let response = app.refresh(&session.refresh_token).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let new_refresh = body["refresh_token"].as_str().unwrap();
    let new_access = body["access_token"].as_str().unwrap();
    assert_ne!(new_refresh, session.refresh_token);
    assert_eq!(jwt_parts(new_access).1["sub"], session.id.as_str());
    assert_eq!(app.me(new_access).await.status(), StatusCode::OK);

    let again = app.refresh(&session.refresh_token).await;
    assert_problem(again, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn each_refresh_token_of_a_chain_works_once() {
    let app = spawn_app().await;
    let session = app.signed_in("bob").await;

    let mut token = session.refresh_token;
    for _ in 0..5 {
        let response = app.refresh(&token).await;
        assert_eq!(response.status(), StatusCode::OK);
        token = tokens_of(response).await.1;
    }
}

#[tokio::test]
async fn reusing_a_used_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let session = app.signed_in("carol").await;
    let first = session.refresh_token;
    let (_, second) = tokens_of(app.refresh(&first).await).await;
    let (_, newest) = tokens_of(app.refresh(&second).await).await;

    // The first token comes back: someone else holds a copy of this session.
    let replay = app.refresh(&first).await;

    let body = assert_problem(replay, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    assert!(
        body["detail"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    let newest_response = app.refresh(&newest).await;
    assert_problem(
        newest_response,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
}

#[tokio::test]
async fn reuse_in_one_session_leaves_the_users_other_sessions_alive() {
    let app = spawn_app().await;
    let session = app.signed_in("dave").await;
    let (_, other_device) = app.logged_in("dave", PASSWORD).await;
    app.refresh(&session.refresh_token).await;

    app.refresh(&session.refresh_token).await;

    assert_eq!(app.refresh(&other_device).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_ten_concurrent_refreshes_with_one_token_exactly_one_succeeds() {
    let app = spawn_app().await;
    let session = app.signed_in("erin").await;

    let attempts = (0..10).map(|_| app.refresh(&session.refresh_token));
    let responses = futures::future::join_all(attempts).await;

    let statuses: Vec<_> = responses.iter().map(|response| response.status()).collect();
    let successes = statuses
        .iter()
        .filter(|status| **status == StatusCode::OK)
        .count();
    assert_eq!(successes, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|status| *status == StatusCode::OK || *status == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let issued: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM refresh_tokens")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(issued.0, 2, "the login's token and one successor");
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = spawn_app_with(|config| config.refresh_token_ttl_secs = 1).await;
    let session = app.signed_in("frank").await;

    tokio::time::sleep(Duration::from_millis(1_200)).await;

    let response = app.refresh(&session.refresh_token).await;
    let body = assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_and_malformed_refresh_tokens_are_refused() {
    let app = spawn_app().await;
    let session = app.signed_in("grace").await;

    for token in [
        "A".repeat(43).as_str(),
        "",
        "not a token",
        session.access_token.as_str(),
    ] {
        let response = app.refresh(token).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    }
}

#[tokio::test]
async fn only_the_sha256_of_a_refresh_token_is_stored() {
    let app = spawn_app().await;
    let session = app.signed_in("heidi").await;

    let (hash,): (String,) = sqlx::query_as("SELECT token_hash FROM refresh_tokens")
        .fetch_one(&app.db().await)
        .await
        .unwrap();

    let expected = ring::digest::digest(&ring::digest::SHA256, session.refresh_token.as_bytes());
    let expected: String = expected
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hash, expected);
}

#[tokio::test]
async fn a_refresh_reflects_the_current_role() {
    let app = spawn_app().await;
    let session = app.signed_in("ivan").await;
    sqlx::query("UPDATE users SET role = 'admin' WHERE username = 'ivan'")
        .execute(&app.db().await)
        .await
        .unwrap();

    let (access, _) = tokens_of(app.refresh(&session.refresh_token).await).await;

    assert_eq!(jwt_parts(&access).1["role"], "admin");
}

#[tokio::test]
async fn a_missing_refresh_token_field_is_422() {
    let app = spawn_app().await;

    let response = app.post_json("/auth/refresh", &json!({})).await;

    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "refresh_token");
}
