//! `DELETE /users/{id}` and `/users/me`: self or admin, and final.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{alice_details, assert_problem, spawn_app};

#[tokio::test]
async fn a_user_deletes_their_own_profile() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .delete(&format!("/users/{}", alice.id), Some(&alice.token))
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/users/me", Some(&alice.token)).await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
    assert_problem(
        app.get(&format!("/users/{}", alice.id), Some(&app.admin.token))
            .await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
}

#[tokio::test]
async fn delete_me_deletes_the_callers_profile() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app.delete("/users/me", Some(&alice.token)).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/users/me", Some(&alice.token)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_admin_deletes_any_profile() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .delete(&format!("/users/{}", alice.id), Some(&app.admin.token))
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/users/me", Some(&alice.token)).await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
}

#[tokio::test]
async fn a_customer_cannot_delete_someone_else() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let mallory = app.customer("mallory");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .delete(&format!("/users/{}", alice.id), Some(&mallory.token))
        .await;

    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.me(&alice).await["first_name"], "Alice");
}

#[tokio::test]
async fn deleting_twice_or_an_unknown_id_is_404() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;
    let path = format!("/users/{}", alice.id);
    app.delete(&path, Some(&app.admin.token)).await;

    assert_problem(
        app.delete(&path, Some(&app.admin.token)).await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
    assert_problem(
        app.delete(&path, Some(&alice.token)).await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
    assert_problem(
        app.delete(
            &format!("/users/{}", uuid::Uuid::now_v7()),
            Some(&app.admin.token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_late_registration_event_does_not_bring_a_deleted_profile_back() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;
    app.delete("/users/me", Some(&alice.token)).await;

    app.publish_registration(&alice, json!({"first_name": "Alice"}))
        .await;
    app.settle().await;

    assert_problem(
        app.get("/users/me", Some(&alice.token)).await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
    let list: serde_json::Value = app
        .get("/users", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn deleting_ones_profile_before_the_event_arrives_is_final_too() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    let response = app.delete("/users/me", Some(&alice.token)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.publish_registration(&alice, json!({"first_name": "Alice"}))
        .await;
    app.settle().await;

    assert_problem(
        app.get("/users/me", Some(&alice.token)).await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
}

#[tokio::test]
async fn a_deleted_profile_can_be_neither_edited_nor_recreated() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;
    app.delete("/users/me", Some(&alice.token)).await;

    assert_problem(
        app.patch(
            "/users/me",
            Some(&alice.token),
            &json!({"first_name": "Back"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
    assert_problem(
        app.put(
            &format!("/users/{}", alice.id),
            Some(&app.admin.token),
            &json!({"first_name": "Back"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "profile_deleted",
    )
    .await;
    assert_problem(
        app.post(
            "/users",
            Some(&app.admin.token),
            &json!({"id": alice.id, "username": "alice"}),
        )
        .await,
        StatusCode::CONFLICT,
        "profile_deleted",
    )
    .await;
}

#[tokio::test]
async fn deletion_erases_the_personal_details_and_keeps_only_a_tombstone() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    app.delete("/users/me", Some(&alice.token)).await;

    assert_eq!(app.stored_rows(alice.id).await, 1, "the tombstone stays");
    assert_eq!(app.stored_personal_details(alice.id).await, 0);
}

#[tokio::test]
async fn deleting_ones_profile_announces_user_deleted_through_the_outbox() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app.delete("/users/me", Some(&alice.token)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let rows = app.outbox_rows(alice.id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (topic, payload) = &rows[0];
    assert_eq!(topic, platform::events::USER_EVENTS);
    assert_eq!(payload["type"], "user.deleted");
    let events = app.deletions_published(alice.id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.source, "/users");
    assert_eq!(event.subject, alice.id.to_string());
    assert_eq!(event.data["user_id"], alice.id.to_string());
    assert_eq!(event.data["deleted_by"], alice.id.to_string());
    let deleted_at = event.data["deleted_at"].as_str().unwrap();
    time::OffsetDateTime::parse(deleted_at, &time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time");
    assert_eq!(
        event.data.as_object().unwrap().len(),
        3,
        "no personal detail"
    );
}

#[tokio::test]
async fn an_admins_deletion_is_announced_with_the_admin_as_its_author() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .delete(&format!("/users/{}", alice.id), Some(&app.admin.token))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let events = app.deletions_published(alice.id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["deleted_by"], app.admin.id.to_string());
}

#[tokio::test]
async fn deleting_before_the_registration_arrived_is_announced_too() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    let response = app.delete("/users/me", Some(&alice.token)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(app.deletions_published(alice.id).await.len(), 1);
}

#[tokio::test]
async fn a_refused_or_repeated_deletion_announces_nothing() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let mallory = app.customer("mallory");
    app.create_profile(&alice, alice_details()).await;

    let refused = app
        .delete(&format!("/users/{}", alice.id), Some(&mallory.token))
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert!(app.outbox_rows(alice.id).await.is_empty());

    assert_eq!(
        app.delete("/users/me", Some(&alice.token)).await.status(),
        StatusCode::NO_CONTENT
    );
    let again = app
        .delete(&format!("/users/{}", alice.id), Some(&app.admin.token))
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    assert_eq!(app.outbox_rows(alice.id).await.len(), 1);
    assert_eq!(app.deletions_published(alice.id).await.len(), 1);
}
