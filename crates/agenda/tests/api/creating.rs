//! `POST /events`: any signed-in user organizes an event; the answer is the resource.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{assert_problem, at, event_body, spawn_app};

#[tokio::test]
async fn a_created_event_is_answered_with_its_location_and_every_field() {
    let app = spawn_app().await;
    let body = json!({
        "title": "  Rust meetup ",
        "description": "Talks and pizza",
        "location": "Paris",
        "starts_at": "2026-12-03T19:00:00+01:00",
        "ends_at": "2026-12-03T21:30:00+01:00",
        "visibility": "private",
    });

    let response = app.post_event(Some(&app.alice), &body).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let event: serde_json::Value = response.json().await.unwrap();
    let id = event["id"].as_str().unwrap();
    assert_eq!(Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(location, format!("/events/{id}"));
    assert_eq!(event["title"], "Rust meetup");
    assert_eq!(event["description"], "Talks and pizza");
    assert_eq!(event["location"], "Paris");
    // Offsets are accepted on input; answers are always UTC.
    assert_eq!(event["starts_at"], "2026-12-03T18:00:00Z");
    assert_eq!(event["ends_at"], "2026-12-03T20:30:00Z");
    assert_eq!(event["visibility"], "private");
    assert_eq!(event["organizer_id"], app.alice.id.to_string());
    assert_eq!(event["created_at"], event["updated_at"]);
    let created_at = at(event["created_at"].as_str().unwrap());
    assert!((time::OffsetDateTime::now_utc() - created_at).abs() < time::Duration::seconds(10));
    let mut keys: Vec<_> = event.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "description",
            "ends_at",
            "id",
            "location",
            "organizer_id",
            "starts_at",
            "title",
            "updated_at",
            "visibility"
        ]
    );

    let read = app.get_event(Some(&app.alice), id).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.json::<serde_json::Value>().await.unwrap(), event);
}

#[tokio::test]
async fn an_event_is_public_with_no_description_or_location_unless_given() {
    let app = spawn_app().await;

    let event = app.create(&app.bob, event_body("Picnic", 24)).await;

    assert_eq!(event["visibility"], "public");
    assert_eq!(event["description"], "");
    assert_eq!(event["location"], "");
    assert_eq!(event["organizer_id"], app.bob.id.to_string());
}

#[tokio::test]
async fn organizing_an_event_needs_a_valid_token() {
    let app = spawn_app().await;

    let anonymous = app.post_event(None, &event_body("Picnic", 24)).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "missing_token").await;

    let forged = app
        .client
        .post(app.url("/events"))
        .bearer_auth("not-a-jwt")
        .json(&event_body("Picnic", 24))
        .send()
        .await
        .unwrap();
    assert_problem(forged, StatusCode::UNAUTHORIZED, "invalid_token").await;

    let listing = app.listing(Some(&app.admin), "").await;
    assert_eq!(listing["total"], 0);
}

#[tokio::test]
async fn null_fields_count_as_not_given() {
    let app = spawn_app().await;
    let body = json!({
        "title": "Picnic",
        "starts_at": "2030-06-01T12:00:00Z",
        "ends_at": "2030-06-01T15:00:00Z",
        "description": null,
        "location": null,
        "visibility": null,
    });

    let event = app.create(&app.alice, body).await;

    assert_eq!(event["description"], "");
    assert_eq!(event["location"], "");
    assert_eq!(event["visibility"], "public");
}
