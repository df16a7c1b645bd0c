//! `POST /auth/register` and its alias `/auth/signup`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn registering_answers_201_with_the_account_and_its_location() {
    let app = spawn_app().await;

    let response = app.register("alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(location, format!("/users/{id}"));
    assert_eq!(body["username"], "alice");
    assert_eq!(body["role"], "customer");
    let created_at = body["created_at"].as_str().unwrap();
    let parsed =
        time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
            .unwrap();
    assert!(created_at.ends_with('Z'), "{created_at} is not UTC");
    assert!(
        (time::OffsetDateTime::now_utc() - parsed)
            .whole_seconds()
            .abs()
            < 60
    );
    let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "id", "role", "username"]);
}

#[tokio::test]
async fn signup_is_an_alias_of_register() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            "/auth/signup",
            &json!({"username": "bob", "password": PASSWORD}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.login("bob", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_optional_profile_fields_are_kept_for_the_users_service() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            "/auth/register",
            &json!({
                "username": "carol",
                "password": PASSWORD,
                "email": "carol@example.com",
                "prénom": "Carol",
                "nom": "Doe",
                "adresse": "1 rue de la Paix\n75002 Paris",
            }),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert!(
        body.get("email").is_none(),
        "profile details are not echoed"
    );
    let row: (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT email, first_name, last_name, address FROM users WHERE username = 'carol'",
    )
    .fetch_one(&app.db().await)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            Some("carol@example.com".into()),
            Some("Carol".into()),
            Some("Doe".into()),
            Some("1 rue de la Paix\n75002 Paris".into())
        )
    );
}

#[tokio::test]
async fn blank_optional_fields_are_treated_as_absent() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            "/auth/register",
            &json!({"username": "dave", "password": PASSWORD, "email": "", "first_name": "  ", "address": null}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_username_taken_in_any_case_is_a_409() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("Erin", PASSWORD).await.status(),
        StatusCode::CREATED
    );

    for again in ["Erin", "erin", "ERIN"] {
        let response = app.register(again, PASSWORD).await;
        assert_problem(response, StatusCode::CONFLICT, "username_taken").await;
    }
}

#[tokio::test]
async fn the_admin_username_is_taken_from_the_start() {
    let app = spawn_app().await;

    let response = app.register("Admin", PASSWORD).await;

    assert_problem(response, StatusCode::CONFLICT, "username_taken").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_racing_registrations_of_one_name_create_one_account() {
    let app = spawn_app().await;

    let (first, second) = tokio::join!(
        app.register("frank", PASSWORD),
        app.register("FRANK", PASSWORD)
    );

    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    let count: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE username_lower = 'frank'")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(count.0, 1);
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes_with_owasp_parameters() {
    let app = spawn_app().await;
    app.register("grace", PASSWORD).await;

    let (hash,): (String,) =
        sqlx::query_as("SELECT password_hash FROM users WHERE username = 'grace'")
            .fetch_one(&app.db().await)
            .await
            .unwrap();

    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

/// Sends `body` to register and expects a 422 naming `field`.
async fn assert_rejected_field(app: &TestApp, body: Value, field: &str) {
    let response = app.post_json("/auth/register", &body).await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], field, "{problem}");
}

#[tokio::test]
async fn usernames_of_bad_length_or_characters_are_rejected_naming_the_field() {
    let app = spawn_app().await;
    for username in [
        "ab",
        "a".repeat(33).as_str(),
        "has space",
        "émile",
        "semi;colon",
        "",
    ] {
        assert_rejected_field(
            &app,
            json!({"username": username, "password": PASSWORD}),
            "username",
        )
        .await;
    }
}

#[tokio::test]
async fn usernames_at_the_length_limits_are_accepted() {
    let app = spawn_app().await;
    for username in ["abc", "a.b-c_1", &"z".repeat(32)] {
        assert_eq!(
            app.register(username, PASSWORD).await.status(),
            StatusCode::CREATED,
            "{username}"
        );
    }
}

#[tokio::test]
async fn passwords_shorter_than_8_or_longer_than_128_characters_are_rejected() {
    let app = spawn_app().await;
    for password in ["short", "1234567", &"p".repeat(129)] {
        assert_rejected_field(
            &app,
            json!({"username": "henry", "password": password}),
            "password",
        )
        .await;
    }
    assert_eq!(
        app.register("henry", "12345678").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.register("henry2", &"p".repeat(128)).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_malformed_email_is_rejected_naming_the_field() {
    let app = spawn_app().await;
    for email in ["not-an-email", "a@b", "a b@c.com", "@example.com"] {
        assert_rejected_field(
            &app,
            json!({"username": "ivan", "password": PASSWORD, "email": email}),
            "email",
        )
        .await;
    }
}

#[tokio::test]
async fn overlong_names_and_addresses_are_rejected_naming_the_field() {
    let app = spawn_app().await;
    assert_rejected_field(
        &app,
        json!({"username": "judy", "password": PASSWORD, "first_name": "x".repeat(101)}),
        "first_name",
    )
    .await;
    assert_rejected_field(
        &app,
        json!({"username": "judy", "password": PASSWORD, "last_name": "x".repeat(101)}),
        "last_name",
    )
    .await;
    assert_rejected_field(
        &app,
        json!({"username": "judy", "password": PASSWORD, "address": "x".repeat(501)}),
        "address",
    )
    .await;
}

#[tokio::test]
async fn missing_and_mistyped_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    assert_rejected_field(&app, json!({"username": "kim"}), "password").await;
    assert_rejected_field(&app, json!({"password": PASSWORD}), "username").await;
    assert_rejected_field(
        &app,
        json!({"username": 42, "password": PASSWORD}),
        "username",
    )
    .await;
}

#[tokio::test]
async fn unknown_fields_are_rejected() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            "/auth/register",
            &json!({"username": "leo", "password": PASSWORD, "role": "admin"}),
        )
        .await;

    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        app.login("leo", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "no account was created"
    );
}

#[tokio::test]
async fn registrations_are_limited_per_address_and_hour() {
    let app = spawn_app_with(|config| config.registrations_per_hour = 3).await;
    for name in ["reg1", "reg2", "reg3"] {
        assert_eq!(
            app.register_from(name, "203.0.113.1").await.status(),
            StatusCode::CREATED
        );
    }
    let refused = app.register_from("reg4", "203.0.113.1").await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3590..=3600).contains(&retry_after), "{retry_after}");
    assert_problem(
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_registrations",
    )
    .await;
    // Nothing was created.
    assert_eq!(
        app.login("reg4", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Another address has its own allowance; a sibling process counts the same.
    assert_eq!(
        app.register_from("reg5", "203.0.113.2").await.status(),
        StatusCode::CREATED
    );
    let sibling = app.spawn_sibling().await;
    assert_eq!(
        sibling.register_from("reg6", "203.0.113.1").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Invalid requests are refused for what they are and do not count.
    let invalid = app
        .client
        .post(app.url("/auth/register"))
        .json(&json!({"username": "x", "password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
