//! The same service on PostgreSQL (distributed mode's engine): the queries and migrations are
//! written once for both engines, and this checks the PostgreSQL half end to end.
//!
//! Needs a server: set `MICROSHOP_TEST_POSTGRES_URL` (an admin connection such as
//! `postgres://postgres@127.0.0.1:5432/postgres`; CI does); skipped with a note otherwise. Each
//! test creates its own database and drops it afterwards.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{alice_details, assert_problem, spawn_app_on};

#[tokio::test]
async fn every_storage_path_works_on_postgres() {
    let Some(database) =
        test_support::PostgresDb::create("every_storage_path_works_on_postgres").await
    else {
        return;
    };
    let app = spawn_app_on(Some(database.url.clone())).await;
    let alice = app.customer("alice");
    let bob = app.customer("bobby");

    // Created from the token, then completed by the event, which a redelivery does not repeat.
    assert_eq!(app.me(&alice).await["email"], Value::Null);
    let event = app
        .publish_registration(&alice, json!({"email": "alice@example.com"}))
        .await;
    app.settle().await;
    app.publish(&event).await;
    app.settle().await;
    assert_eq!(app.me(&alice).await["email"], "alice@example.com");

    // Admin creation, conflicts, partial and full updates.
    app.create_profile(&bob, alice_details()).await;
    assert_problem(
        app.post(
            "/users",
            Some(&app.admin.token),
            &json!({"id": bob.id, "username": "bobby"}),
        )
        .await,
        StatusCode::CONFLICT,
        "profile_exists",
    )
    .await;
    let patched: Value = app
        .patch(
            "/users/me",
            Some(&bob.token),
            &json!({"phone": null, "nom": "Durand"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["phone"], Value::Null);
    assert_eq!(patched["last_name"], "Durand");
    assert_eq!(patched["first_name"], "Alice");
    let replaced: Value = app
        .put("/users/me", Some(&bob.token), &json!({"first_name": "Bob"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["last_name"], Value::Null);

    // Paging and the total.
    let page: Value = app
        .get("/users?limit=1&offset=1", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // Deletion is final, before and after the event.
    assert_eq!(
        app.delete("/users/me", Some(&alice.token)).await.status(),
        StatusCode::NO_CONTENT
    );
    app.publish_registration(&alice, json!({})).await;
    app.settle().await;
    assert_problem(
        app.get("/users/me", Some(&alice.token)).await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
    let carol = app.customer("carol");
    assert_eq!(
        app.delete("/users/me", Some(&carol.token)).await.status(),
        StatusCode::NO_CONTENT
    );
    app.publish_registration(&carol, json!({})).await;
    app.settle().await;
    assert_eq!(
        app.get("/users/me", Some(&carol.token)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get_internal(bob.id).await.status(), StatusCode::OK);

    drop(app);
    drop(database);
}
