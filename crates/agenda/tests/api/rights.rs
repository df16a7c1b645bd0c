//! `PATCH` and `DELETE`: the organizer and admins only. Someone else's public event answers
//! 403 (anyone can see it exists); someone else's private event 404 (its existence stays
//! secret); no token 401.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{assert_problem, at, spawn_app};

#[tokio::test]
async fn the_organizer_changes_only_what_they_send() {
    let app = spawn_app().await;
    let mut body = crate::helpers::event_body("Rust meetup", 24);
    body["description"] = json!("Talks");
    body["location"] = json!("Paris");
    let event = app.create(&app.alice, body).await;
    let id = event["id"].as_str().unwrap();

    let response = app
        .patch_event(
            Some(&app.alice),
            id,
            &json!({"title": "Rust meetup #2", "location": "", "visibility": "private"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["title"], "Rust meetup #2");
    assert_eq!(updated["location"], "");
    assert_eq!(updated["visibility"], "private");
    for unchanged in [
        "id",
        "description",
        "starts_at",
        "ends_at",
        "organizer_id",
        "created_at",
    ] {
        assert_eq!(updated[unchanged], event[unchanged], "{unchanged}");
    }
    assert!(
        at(updated["updated_at"].as_str().unwrap()) >= at(event["updated_at"].as_str().unwrap())
    );
    let read: Value = app
        .get_event(Some(&app.alice), id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, updated);
}

#[tokio::test]
async fn another_customer_is_refused_with_403_on_a_public_event_and_it_stays_as_it_was() {
    let app = spawn_app().await;
    let id = app.public_event(&app.alice, "Rust meetup", 24).await;
    let before: Value = app.get_event(None, &id).await.json().await.unwrap();

    let patch = app
        .patch_event(Some(&app.bob), &id, &json!({"title": "Mine now"}))
        .await;
    assert_problem(patch, StatusCode::FORBIDDEN, "forbidden").await;
    // An empty update needs the same rights.
    let empty = app.patch_event(Some(&app.bob), &id, &json!({})).await;
    assert_problem(empty, StatusCode::FORBIDDEN, "forbidden").await;
    let delete = app.delete_event(Some(&app.bob), &id).await;
    assert_problem(delete, StatusCode::FORBIDDEN, "forbidden").await;

    let after: Value = app.get_event(None, &id).await.json().await.unwrap();
    assert_eq!(after, before);
}

#[tokio::test]
async fn another_customer_gets_404_for_a_private_event_like_for_an_unknown_one() {
    let app = spawn_app().await;
    let id = app.private_event(&app.alice, "Alice's dentist", 24).await;
    let unknown = Uuid::now_v7().to_string();

    for target in [&id, &unknown] {
        let patch = app
            .patch_event(Some(&app.bob), target, &json!({"title": "Hi"}))
            .await;
        assert_problem(patch, StatusCode::NOT_FOUND, "not_found").await;
        let empty = app.patch_event(Some(&app.bob), target, &json!({})).await;
        assert_problem(empty, StatusCode::NOT_FOUND, "not_found").await;
        let delete = app.delete_event(Some(&app.bob), target).await;
        assert_problem(delete, StatusCode::NOT_FOUND, "not_found").await;
    }
    let kept: Value = app
        .get_event(Some(&app.alice), &id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["title"], "Alice's dentist");
}

#[tokio::test]
async fn changing_or_cancelling_needs_a_token() {
    let app = spawn_app().await;
    let id = app.public_event(&app.alice, "Rust meetup", 24).await;

    let patch = app.patch_event(None, &id, &json!({"title": "Hi"})).await;
    assert_problem(patch, StatusCode::UNAUTHORIZED, "missing_token").await;
    let delete = app.delete_event(None, &id).await;
    assert_problem(delete, StatusCode::UNAUTHORIZED, "missing_token").await;

    assert_eq!(app.get_event(None, &id).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_admin_changes_and_cancels_anyones_events() {
    let app = spawn_app().await;
    let public = app.public_event(&app.alice, "Rust meetup", 24).await;
    let private = app.private_event(&app.bob, "Bob's surprise", 25).await;

    for id in [&public, &private] {
        let response = app
            .patch_event(Some(&app.admin), id, &json!({"location": "Moved to Lyon"}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let updated: Value = response.json().await.unwrap();
        assert_eq!(updated["location"], "Moved to Lyon");
        // The organizer stays the organizer.
        assert_ne!(updated["organizer_id"], app.admin.id.to_string());
    }
    for id in [&public, &private] {
        let response = app.delete_event(Some(&app.admin), id).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let gone = app.get_event(Some(&app.admin), id).await;
        assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn the_organizer_cancels_their_event_and_it_is_gone() {
    let app = spawn_app().await;
    let id = app.private_event(&app.alice, "Alice's dentist", 24).await;
    let kept = app.public_event(&app.alice, "Rust meetup", 25).await;

    let response = app.delete_event(Some(&app.alice), &id).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    let gone = app.get_event(Some(&app.alice), &id).await;
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
    let again = app.delete_event(Some(&app.alice), &id).await;
    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;
    let patch = app
        .patch_event(Some(&app.alice), &id, &json!({"title": "Back"}))
        .await;
    assert_problem(patch, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.titles(Some(&app.alice), "").await, ["Rust meetup"]);
    assert_eq!(app.get_event(None, &kept).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_empty_update_answers_the_event_unchanged() {
    let app = spawn_app().await;
    let event = app
        .create(&app.alice, crate::helpers::event_body("Rust meetup", 24))
        .await;
    let id = event["id"].as_str().unwrap();

    let response = app.patch_event(Some(&app.alice), id, &json!({})).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), event);
}
