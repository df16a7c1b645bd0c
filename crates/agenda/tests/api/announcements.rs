//! Every change is announced on `agenda-events` through the outbox: `event.created`,
//! `event.updated`, `event.cancelled`, keyed by the event id, carrying the event resource with
//! the organizer's and the acting user's usernames. Refused changes announce nothing.

use platform::events::Event;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|event| event.kind.as_str()).collect()
}

#[tokio::test]
async fn creating_updating_and_cancelling_are_announced_in_order() {
    let app = spawn_app().await;
    let created = app
        .create(
            &app.alice,
            json!({
                "title": "Rust meetup",
                "location": "Paris",
                "starts_at": "2030-12-03T18:00:00Z",
                "ends_at": "2030-12-03T20:00:00Z",
            }),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let updated: Value = app
        .patch_event(Some(&app.alice), id, &json!({"title": "Rust meetup #2"}))
        .await
        .json()
        .await
        .unwrap();
    let response = app.delete_event(Some(&app.alice), id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let events = app.wait_for_announcements(3).await;

    assert_eq!(
        kinds(&events),
        ["event.created", "event.updated", "event.cancelled"]
    );
    let with_names = |resource: &Value| {
        let mut data = resource.clone();
        data["organizer_username"] = json!("alice");
        data["actor_username"] = json!("alice");
        data
    };
    assert_eq!(events[0].data, with_names(&created));
    assert_eq!(events[1].data, with_names(&updated));
    // A cancelled event is announced with its last state.
    assert_eq!(events[2].data, with_names(&updated));
    for event in &events {
        assert_eq!(event.source, "/agenda");
        assert_eq!(event.subject, id);
        assert_eq!(event.specversion, "1.0");
    }
    let ids: std::collections::HashSet<_> = events.iter().map(|event| &event.id).collect();
    assert_eq!(ids.len(), 3, "every announcement has its own id");
}

#[tokio::test]
async fn an_admins_change_names_the_admin_as_actor_and_keeps_the_organizer() {
    let app = spawn_app().await;
    let id = app.private_event(&app.alice, "Alice's dentist", 24).await;

    let response = app
        .patch_event(Some(&app.admin), &id, &json!({"location": "Lyon"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.delete_event(Some(&app.admin), &id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let events = app.wait_for_announcements(3).await;
    for event in &events[1..] {
        assert_eq!(event.data["organizer_username"], "alice");
        assert_eq!(event.data["organizer_id"], app.alice.id.to_string());
        assert_eq!(event.data["actor_username"], "admin");
        assert_eq!(event.data["visibility"], "private");
    }
}

#[tokio::test]
async fn refused_and_empty_changes_announce_nothing() {
    let app = spawn_app().await;
    let id = app.public_event(&app.alice, "Rust meetup", 24).await;

    let refused = [
        app.patch_event(Some(&app.bob), &id, &json!({"title": "Mine"}))
            .await,
        app.delete_event(Some(&app.bob), &id).await,
        app.patch_event(
            Some(&app.alice),
            &id,
            &json!({"ends_at": "2000-01-01T00:00:00Z"}),
        )
        .await,
        app.post_event(Some(&app.alice), &json!({"title": "No times"}))
            .await,
    ];
    for response in refused {
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    let empty = app.patch_event(Some(&app.alice), &id, &json!({})).await;
    assert_eq!(empty.status(), StatusCode::OK);
    // A later change goes out after anything that could have been queued before it.
    app.patch_event(Some(&app.alice), &id, &json!({"location": "Paris"}))
        .await;

    let events = app.wait_for_announcements(2).await;
    assert_eq!(kinds(&events), ["event.created", "event.updated"]);
    assert_eq!(events[1].data["location"], "Paris");
}

#[tokio::test]
async fn readiness_checks_the_database_and_the_bus() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["service"], "agenda");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["checks"]["bus"]["status"], "up");
}
