//! Bad input answers 4xx problems naming the field, on every route that takes a body.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, alice_details, assert_invalid_field, assert_problem, spawn_app};

/// Sends `body` with each writing method and expects a 422 naming `field` from all of them.
async fn assert_refused_everywhere(app: &TestApp, body: Value, field: &str) {
    let alice = app.customer("alice");
    let mut create = json!({"username": "someone"});
    crate::helpers::merge(&mut create, body.clone());
    assert_invalid_field(
        app.post("/users", Some(&app.admin.token), &create).await,
        field,
    )
    .await;
    for method in [Method::PATCH, Method::PUT] {
        for path in ["/users/me".to_owned(), format!("/users/{}", alice.id)] {
            let response = app
                .send_json(method.clone(), &path, Some(&alice.token), &body)
                .await;
            assert_invalid_field(response, field).await;
        }
    }
}

#[tokio::test]
async fn a_malformed_email_is_refused_naming_the_field() {
    let app = spawn_app().await;
    for email in ["not-an-email", "a@b", "a b@c.com", "@example.com"] {
        assert_refused_everywhere(&app, json!({ "email": email }), "email").await;
    }
}

#[tokio::test]
async fn a_phone_with_letters_or_a_wrong_digit_count_is_refused_naming_the_field() {
    let app = spawn_app().await;
    for phone in ["call me", "12345", "1234567890123456", "33+612345678"] {
        assert_refused_everywhere(&app, json!({ "phone": phone }), "phone").await;
    }
    assert_refused_everywhere(&app, json!({"téléphone": "abc"}), "phone").await;
}

#[tokio::test]
async fn overlong_names_and_addresses_are_refused_naming_the_field() {
    let app = spawn_app().await;
    assert_refused_everywhere(&app, json!({"first_name": "x".repeat(101)}), "first_name").await;
    assert_refused_everywhere(&app, json!({"last_name": "x".repeat(101)}), "last_name").await;
    assert_refused_everywhere(&app, json!({"nom": "x".repeat(101)}), "last_name").await;
    assert_refused_everywhere(&app, json!({"address": "x".repeat(501)}), "address").await;
    assert_refused_everywhere(&app, json!({"first_name": "a\u{7}b"}), "first_name").await;
}

#[tokio::test]
async fn values_at_the_limits_are_accepted() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    let response = app
        .put(
            "/users/me",
            Some(&alice.token),
            &json!({
                "first_name": "é".repeat(100),
                "last_name": "x".repeat(100),
                "address": "x".repeat(500),
                "phone": "+123456789012345",
                "email": "a@b.co",
            }),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrongly_typed_field_is_422_naming_it() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    assert_invalid_field(
        app.patch("/users/me", Some(&alice.token), &json!({"first_name": 42}))
            .await,
        "first_name",
    )
    .await;
    assert_invalid_field(
        app.post(
            "/users",
            Some(&app.admin.token),
            &json!({"username": ["x"]}),
        )
        .await,
        "username",
    )
    .await;
}

#[tokio::test]
async fn unknown_fields_are_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .patch(
            "/users/me",
            Some(&alice.token),
            &json!({"first_name": "Changed", "is_admin": true}),
        )
        .await;

    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(app.me(&alice).await["first_name"], "Alice");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_and_broken_json_is_400() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    let response = app
        .client
        .patch(app.url("/users/me"))
        .bearer_auth(&alice.token)
        .header("content-type", "text/plain")
        .body("first_name=Alice")
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let response = app
        .client
        .patch(app.url("/users/me"))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{\"first_name\": ")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}
