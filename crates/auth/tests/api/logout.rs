//! `POST /auth/logout`: ends the caller's session, and nobody else's.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_problem, spawn_app, tokens_of};

#[tokio::test]
async fn logging_out_revokes_the_refresh_token_family() {
    let app = spawn_app().await;
    let session = app.signed_in("alice").await;
    let (access, latest) = tokens_of(app.refresh(&session.refresh_token).await).await;

    let response = app.logout(&access, &latest).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = app.refresh(&latest).await;
    let body = assert_problem(after, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    assert!(body["detail"].as_str().unwrap().contains("ended"), "{body}");
}

#[tokio::test]
async fn logging_out_one_session_keeps_the_others() {
    let app = spawn_app().await;
    let session = app.signed_in("bob").await;
    let (_, other_device) = app.logged_in("bob", PASSWORD).await;

    app.logout(&session.access_token, &session.refresh_token)
        .await;

    assert_eq!(app.refresh(&other_device).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn logging_out_with_someone_elses_refresh_token_changes_nothing() {
    let app = spawn_app().await;
    let mallory = app.signed_in("mallory").await;
    let victim = app.signed_in("victim").await;

    let response = app
        .logout(&mallory.access_token, &victim.refresh_token)
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.refresh(&victim.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn logging_out_with_an_unknown_token_is_still_204() {
    let app = spawn_app().await;
    let session = app.signed_in("carol").await;

    for token in ["A".repeat(43).as_str(), "garbage"] {
        let response = app.logout(&session.access_token, token).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(
        app.refresh(&session.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn logging_out_twice_is_harmless() {
    let app = spawn_app().await;
    let session = app.signed_in("dave").await;

    for _ in 0..2 {
        let response = app
            .logout(&session.access_token, &session.refresh_token)
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn logging_out_needs_an_access_token() {
    let app = spawn_app().await;
    let session = app.signed_in("erin").await;

    let response = app
        .post_json(
            "/auth/logout",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await;

    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
    assert_eq!(
        app.refresh(&session.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token_for_logout() {
    let app = spawn_app().await;
    let session = app.signed_in("frank").await;

    let response = app
        .logout(&session.refresh_token, &session.refresh_token)
        .await;

    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_eq!(
        app.refresh(&session.refresh_token).await.status(),
        StatusCode::OK
    );
}
