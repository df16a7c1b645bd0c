//! `GET /internal/users/{id}`: profiles for other services, behind the internal token.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{alice_details, assert_problem, spawn_app};

#[tokio::test]
async fn another_service_reads_a_profile_with_the_internal_token() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let created = app.create_profile(&alice, alice_details()).await;

    let response = app.get_internal(alice.id).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, created);
    assert_eq!(body["address"], "1 rue de la Paix\n75002 Paris");
}

#[tokio::test]
async fn without_the_internal_token_the_route_does_not_exist() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;
    let path = format!("/internal/users/{}", alice.id);

    assert_problem(
        app.get(&path, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(&path, Some(&app.admin.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let wrong = app
        .client
        .get(app.url(&path))
        .header(platform::auth::INTERNAL_TOKEN_HEADER, "guessed")
        .send()
        .await
        .unwrap();
    assert_problem(wrong, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn an_unknown_or_deleted_profile_is_404_and_is_not_created() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    assert_eq!(
        app.get_internal(alice.id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.stored_rows(alice.id).await, 0);

    app.create_profile(&alice, alice_details()).await;
    app.delete("/users/me", Some(&alice.token)).await;
    assert_eq!(
        app.get_internal(alice.id).await.status(),
        StatusCode::NOT_FOUND
    );
}
