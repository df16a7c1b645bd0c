//! Who sees what: public events for everyone, private ones for their organizer and admins, and
//! someone else's private event is as absent as an unknown id.

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn without_a_token_only_public_events_are_listed() {
    let app = spawn_app().await;
    app.public_event(&app.alice, "Alice's party", 24).await;
    app.private_event(&app.alice, "Alice's dentist", 25).await;
    app.public_event(&app.bob, "Bob's talk", 26).await;

    let listing = app.listing(None, "").await;

    assert_eq!(
        crate::helpers::titles(&listing),
        ["Alice's party", "Bob's talk"]
    );
    assert_eq!(listing["total"], 2);
}

#[tokio::test]
async fn a_customer_also_sees_their_own_private_events_and_no_one_elses() {
    let app = spawn_app().await;
    app.public_event(&app.alice, "Alice's party", 24).await;
    app.private_event(&app.alice, "Alice's dentist", 25).await;
    app.private_event(&app.bob, "Bob's surprise", 26).await;

    assert_eq!(
        app.titles(Some(&app.alice), "").await,
        ["Alice's party", "Alice's dentist"]
    );
    assert_eq!(
        app.titles(Some(&app.bob), "").await,
        ["Alice's party", "Bob's surprise"]
    );
    let listing = app.listing(Some(&app.bob), "").await;
    assert_eq!(listing["total"], 2);
}

#[tokio::test]
async fn an_admin_sees_every_event() {
    let app = spawn_app().await;
    app.public_event(&app.alice, "Alice's party", 24).await;
    app.private_event(&app.alice, "Alice's dentist", 25).await;
    app.private_event(&app.bob, "Bob's surprise", 26).await;

    let listing = app.listing(Some(&app.admin), "").await;

    assert_eq!(
        crate::helpers::titles(&listing),
        ["Alice's party", "Alice's dentist", "Bob's surprise"]
    );
    assert_eq!(listing["total"], 3);
}

#[tokio::test]
async fn a_public_event_is_readable_by_anyone() {
    let app = spawn_app().await;
    let id = app.public_event(&app.alice, "Alice's party", 24).await;

    for user in [None, Some(&app.bob), Some(&app.alice), Some(&app.admin)] {
        let response = app.get_event(user, &id).await;
        assert_eq!(response.status(), StatusCode::OK);
        let event: Value = response.json().await.unwrap();
        assert_eq!(event["title"], "Alice's party");
    }
}

#[tokio::test]
async fn a_private_event_is_readable_by_its_organizer_and_admins_only() {
    let app = spawn_app().await;
    let id = app.private_event(&app.alice, "Alice's dentist", 24).await;

    for user in [Some(&app.alice), Some(&app.admin)] {
        assert_eq!(app.get_event(user, &id).await.status(), StatusCode::OK);
    }
    for user in [None, Some(&app.bob)] {
        let response = app.get_event(user, &id).await;
        let hidden = assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        // Exactly the answer an unknown id gets: nothing tells the event exists.
        let unknown = app
            .get_event(user, &Uuid::now_v7().to_string())
            .await
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(hidden, unknown);
    }
}

#[tokio::test]
async fn ids_that_are_not_uuids_match_nothing() {
    let app = spawn_app().await;

    for id in ["42", "not-an-id", "0193"] {
        let response = app.get_event(None, id).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn a_bad_token_is_refused_even_where_none_is_needed() {
    let app = spawn_app().await;
    let id = app.public_event(&app.alice, "Alice's party", 24).await;

    for path in ["/events".to_owned(), format!("/events/{id}")] {
        let response = app
            .client
            .get(app.url(&path))
            .bearer_auth("forged.token.value")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
}

#[tokio::test]
async fn making_a_private_event_public_shows_it_to_everyone() {
    let app = spawn_app().await;
    let id = app.private_event(&app.alice, "Alice's party", 24).await;
    assert!(app.titles(None, "").await.is_empty());

    let response = app
        .patch_event(
            Some(&app.alice),
            &id,
            &serde_json::json!({"visibility": "public"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    assert_eq!(app.titles(None, "").await, ["Alice's party"]);
    assert_eq!(app.get_event(None, &id).await.status(), StatusCode::OK);
}
