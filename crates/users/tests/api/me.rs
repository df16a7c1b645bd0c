//! `/users/me` (alias `/users/profile`): the caller's own profile, created from their token if
//! the registration event has not arrived yet.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{alice_details, spawn_app};

#[tokio::test]
async fn me_creates_the_profile_from_the_token_when_the_event_has_not_arrived() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    let me = app.me(&alice).await;

    assert_eq!(me["id"], alice.id.to_string());
    assert_eq!(me["username"], "alice");
    for empty in ["email", "first_name", "last_name", "address", "phone"] {
        assert_eq!(me[empty], Value::Null, "{empty}");
    }
    let listed: Value = app
        .get("/users", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1, "it is stored, not just shown");
}

#[tokio::test]
async fn me_answers_the_existing_profile_unchanged() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let created = app.create_profile(&alice, alice_details()).await;

    assert_eq!(app.me(&alice).await, created);
    assert_eq!(app.me(&alice).await, created);
}

#[tokio::test]
async fn profile_is_an_alias_of_me() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let created = app.create_profile(&alice, alice_details()).await;

    let response = app.get("/users/profile", Some(&alice.token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), created);
    let patched = app
        .patch(
            "/users/profile",
            Some(&alice.token),
            &json!({"first_name": "Alicia"}),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(app.me(&alice).await["first_name"], "Alicia");
}

#[tokio::test]
async fn reading_ones_own_id_also_creates_the_profile() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    let response = app
        .get(&format!("/users/{}", alice.id), Some(&alice.token))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["username"], "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_visits_create_exactly_one_profile() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    let visits = (0..8).map(|_| app.get("/users/me", Some(&alice.token)));
    let responses = futures::future::join_all(visits).await;

    let mut bodies = Vec::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        bodies.push(response.json::<Value>().await.unwrap());
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(app.stored_rows(alice.id).await, 1);
}

#[tokio::test]
async fn patch_me_works_before_the_profile_exists() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    let response = app
        .patch(
            "/users/me",
            Some(&alice.token),
            &json!({"adresse": "5 rue Victor Hugo, Lille"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["address"], "5 rue Victor Hugo, Lille");
    assert_eq!(body["username"], "alice");
}

#[tokio::test]
async fn put_me_replaces_the_details() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .put(
            "/users/me",
            Some(&alice.token),
            &json!({"phone": "0612345678"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["phone"], "0612345678");
    assert_eq!(body["email"], Value::Null);
}

#[tokio::test]
async fn an_admin_has_a_profile_too() {
    let app = spawn_app().await;

    let me = app.me(&app.admin).await;

    assert_eq!(me["username"], "admin");
    assert_eq!(me["id"], app.admin.id.to_string());
}
