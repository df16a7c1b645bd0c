//! `GET/PATCH/PUT /users/{id}`: who may see and change which profile, and how.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{alice_details, assert_problem, spawn_app};

fn parse_time(value: &Value) -> time::OffsetDateTime {
    let text = value.as_str().unwrap();
    assert!(text.ends_with('Z'), "{text} is not UTC");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test]
async fn a_customer_reads_their_own_profile_by_id_with_every_field() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .get(&format!("/users/{}", alice.id), Some(&alice.token))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], alice.id.to_string());
    assert_eq!(body["username"], "alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["first_name"], "Alice");
    assert_eq!(body["last_name"], "Martin");
    assert_eq!(body["address"], "1 rue de la Paix\n75002 Paris");
    assert_eq!(body["phone"], "+33 6 12 34 56 78");
    parse_time(&body["created_at"]);
    parse_time(&body["updated_at"]);
    let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "address",
            "created_at",
            "email",
            "first_name",
            "id",
            "last_name",
            "phone",
            "updated_at",
            "username"
        ]
    );
}

#[tokio::test]
async fn an_admin_reads_any_profile() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .get(&format!("/users/{}", alice.id), Some(&app.admin.token))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "alice");
}

#[tokio::test]
async fn another_users_profile_answers_404_to_every_method_and_stays_unchanged() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let mallory = app.customer("mallory");
    app.create_profile(&alice, alice_details()).await;
    let path = format!("/users/{}", alice.id);
    let token = Some(mallory.token.as_str());

    assert_problem(
        app.get(&path, token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.patch(&path, token, &json!({"first_name": "Pwned"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.put(&path, token, &json!({"first_name": "Pwned"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.delete(&path, token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let after: Value = app
        .get(&path, Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["first_name"], "Alice");
}

#[tokio::test]
async fn another_users_id_looks_exactly_like_an_unknown_one() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let mallory = app.customer("mallory");
    app.create_profile(&alice, alice_details()).await;

    let existing: Value = app
        .get(&format!("/users/{}", alice.id), Some(&mallory.token))
        .await
        .json()
        .await
        .unwrap();
    let unknown: Value = app
        .get(
            &format!("/users/{}", uuid::Uuid::now_v7()),
            Some(&mallory.token),
        )
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(existing, unknown);
}

#[tokio::test]
async fn an_id_that_is_not_a_uuid_is_404() {
    let app = spawn_app().await;

    for path in ["/users/42", "/users/not-an-id"] {
        assert_problem(
            app.get(path, Some(&app.admin.token)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn an_admin_asking_for_an_unknown_id_gets_404() {
    let app = spawn_app().await;

    let response = app
        .get(
            &format!("/users/{}", uuid::Uuid::now_v7()),
            Some(&app.admin.token),
        )
        .await;

    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn every_route_needs_a_token() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();
    let item = format!("/users/{id}");
    let body = json!({"first_name": "X"});

    let responses = [
        app.get("/users", None).await,
        app.post("/users", None, &json!({"username": "zed"})).await,
        app.get(&item, None).await,
        app.patch(&item, None, &body).await,
        app.put(&item, None, &body).await,
        app.delete(&item, None).await,
        app.get("/users/me", None).await,
        app.patch("/users/me", None, &body).await,
        app.put("/users/me", None, &body).await,
        app.delete("/users/me", None).await,
        app.get("/users/profile", None).await,
    ];

    for response in responses {
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
    }
}

#[tokio::test]
async fn a_token_not_signed_by_auth_is_401() {
    let app = spawn_app().await;
    let stranger = test_support::TestKeys::new().user("alice");

    let response = app.get("/users/me", Some(&stranger.token)).await;

    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn patch_changes_only_the_fields_sent() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let before = app.create_profile(&alice, alice_details()).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let response = app
        .patch(
            &format!("/users/{}", alice.id),
            Some(&alice.token),
            &json!({"address": "2 avenue Foch, Lyon"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["address"], "2 avenue Foch, Lyon");
    for unchanged in [
        "email",
        "first_name",
        "last_name",
        "phone",
        "username",
        "created_at",
    ] {
        assert_eq!(after[unchanged], before[unchanged], "{unchanged}");
    }
    assert!(parse_time(&after["updated_at"]) > parse_time(&before["updated_at"]));
    let read: Value = app.me(&alice).await;
    assert_eq!(read, after, "the change is stored");
}

#[tokio::test]
async fn patch_with_null_or_blank_empties_a_detail() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .patch(
            "/users/me",
            Some(&alice.token),
            &json!({"phone": null, "email": "  "}),
        )
        .await;

    let body: Value = response.json().await.unwrap();
    assert_eq!(body["phone"], Value::Null);
    assert_eq!(body["email"], Value::Null);
    assert_eq!(body["first_name"], "Alice");
}

#[tokio::test]
async fn put_replaces_every_editable_field_and_empties_the_absent_ones() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .put(
            &format!("/users/{}", alice.id),
            Some(&alice.token),
            &json!({"first_name": "Alicia", "email": "alicia@example.org"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["first_name"], "Alicia");
    assert_eq!(body["email"], "alicia@example.org");
    assert_eq!(body["last_name"], Value::Null);
    assert_eq!(body["address"], Value::Null);
    assert_eq!(body["phone"], Value::Null);
    assert_eq!(
        body["username"], "alice",
        "the username is not an editable detail"
    );
}

#[tokio::test]
async fn an_admin_edits_another_users_profile() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .patch(
            &format!("/users/{}", alice.id),
            Some(&app.admin.token),
            &json!({"last_name": "Durand"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.me(&alice).await["last_name"], "Durand");
}

#[tokio::test]
async fn a_customer_cannot_change_their_username() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;
    let path = format!("/users/{}", alice.id);

    for response in [
        app.patch(&path, Some(&alice.token), &json!({"username": "queen"}))
            .await,
        app.put(&path, Some(&alice.token), &json!({"username": "queen"}))
            .await,
        app.patch(
            "/users/me",
            Some(&alice.token),
            &json!({"username": "queen"}),
        )
        .await,
    ] {
        let body = assert_problem(response, StatusCode::FORBIDDEN, "username_not_editable").await;
        assert_eq!(body["errors"][0]["field"], "username");
    }
    let me = app.me(&alice).await;
    assert_eq!(me["username"], "alice");
    assert_eq!(
        me["address"], "1 rue de la Paix\n75002 Paris",
        "nothing else changed"
    );
}

#[tokio::test]
async fn a_customer_may_send_back_their_current_username() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .put(
            "/users/me",
            Some(&alice.token),
            &json!({"username": "alice", "first_name": "Alicia"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.me(&alice).await["first_name"], "Alicia");
}

#[tokio::test]
async fn an_admin_can_correct_a_username() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .patch(
            &format!("/users/{}", alice.id),
            Some(&app.admin.token),
            &json!({"username": "alice.m"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.me(&alice).await["username"], "alice.m");
}

#[tokio::test]
async fn the_id_role_and_timestamps_cannot_be_changed() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    for field in ["id", "role", "created_at", "updated_at"] {
        let body = json!({ field: "admin" });
        let response = app.patch("/users/me", Some(&alice.token), &body).await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("unknown field `{field}`")),
            "{problem}"
        );
        let response = app.put("/users/me", Some(&alice.token), &body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(app.me(&alice).await["id"], alice.id.to_string());
}

#[tokio::test]
async fn french_field_names_are_accepted_on_input() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let created = app
        .create_profile(
            &alice,
            json!({
                "nom": "Martin",
                "prénom": "Alice",
                "adresse": "1 rue de la Paix",
                "téléphone": "06 12 34 56 78",
            }),
        )
        .await;
    assert_eq!(created["last_name"], "Martin");
    assert_eq!(created["first_name"], "Alice");
    assert_eq!(created["address"], "1 rue de la Paix");
    assert_eq!(created["phone"], "06 12 34 56 78");

    let patched: Value = app
        .patch(
            "/users/me",
            Some(&alice.token),
            &json!({"prenom": "Alicia", "telephone": "07 00 00 00 00"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["first_name"], "Alicia");
    assert_eq!(patched["phone"], "07 00 00 00 00");

    let replaced: Value = app
        .put(
            "/users/me",
            Some(&alice.token),
            &json!({"nom": "Durand", "adresse": "3 place Bellecour"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["last_name"], "Durand");
    assert_eq!(replaced["address"], "3 place Bellecour");
    assert_eq!(replaced["first_name"], Value::Null);
}

#[tokio::test]
async fn a_field_sent_under_both_its_names_is_rejected() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    let response = app
        .patch(
            "/users/me",
            Some(&alice.token),
            &json!({"nom": "Martin", "last_name": "Durand"}),
        )
        .await;

    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("duplicate field `last_name`"),
        "{problem}"
    );
    assert_eq!(app.me(&alice).await["last_name"], Value::Null);
}
