//! Consuming `agenda-events`: each announcement of the agenda becomes one notification for the
//! event's organizer, exactly once, with unusable payloads parked on the dead-letter topic.
//! Order handling is untouched (see `consuming`).

use platform::events::{AGENDA_EVENTS, Bus, Event};
use serde_json::{Value, json};
use test_support::TestUser;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

/// An announcement as the agenda publishes it, for `organizer`'s event `id`.
fn agenda_event(kind: &str, organizer: &TestUser, id: Uuid) -> Event {
    Event::new(
        "/agenda",
        kind,
        id.to_string(),
        json!({
            "id": id,
            "title": "Rust meetup",
            "description": "Talks and pizza",
            "starts_at": "2026-12-03T18:00:00Z",
            "ends_at": "2026-12-03T20:00:00Z",
            "location": "Paris",
            "visibility": "private",
            "organizer_id": organizer.id,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "organizer_username": organizer.username,
            "actor_username": organizer.username,
        }),
    )
}

async fn publish(app: &TestApp, event: &Event) {
    app.bus
        .publish(AGENDA_EVENTS, &event.subject, event)
        .await
        .expect("the memory bus accepts events");
}

#[tokio::test]
async fn an_agenda_event_becomes_one_notification_for_its_organizer() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    let id = Uuid::now_v7();

    publish(&app, &agenda_event("event.created", &alice, id)).await;

    let inbox = app.wait_for_inbox(&alice, 1).await;
    let notification = &inbox.items[0];
    assert_eq!(notification["user_id"], alice.id.to_string());
    assert_eq!(notification["kind"], "event.created");
    assert_eq!(notification["agenda_event_id"], id.to_string());
    assert_eq!(
        notification["message"],
        format!("event {id} \"Rust meetup\" created by alice: 2026-12-03 18:00 UTC at Paris")
    );
    assert_eq!(notification["title"], "Rust meetup");
    assert_eq!(notification["read"], false);
    let mut keys: Vec<_> = notification.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "agenda_event_id",
            "created_at",
            "id",
            "kind",
            "message",
            "read",
            "title",
            "user_id"
        ]
    );
    assert_eq!(app.inbox(&bob).await.total, 0);
}

#[tokio::test]
async fn the_same_agenda_event_delivered_twice_gives_one_notification() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let event = agenda_event("event.updated", &alice, Uuid::now_v7());

    publish(&app, &event).await;
    publish(&app, &event).await;
    // Events are processed in order: once this one is in, the duplicate was handled.
    let marker = agenda_event("event.created", &alice, Uuid::now_v7());
    publish(&app, &marker).await;

    let inbox = app.wait_for_inbox(&alice, 2).await;
    assert_eq!(inbox.total, 2);
    let subjects: Vec<_> = inbox
        .items
        .iter()
        .map(|item| item["agenda_event_id"].clone())
        .collect();
    assert_eq!(subjects, [json!(marker.subject), json!(event.subject)]);
}

#[tokio::test]
async fn created_updated_and_cancelled_each_read_as_their_own_line() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let id = Uuid::now_v7();
    let mut cancelled = agenda_event("event.cancelled", &alice, id);
    cancelled.data["actor_username"] = json!("admin");

    publish(&app, &agenda_event("event.created", &alice, id)).await;
    publish(&app, &agenda_event("event.updated", &alice, id)).await;
    publish(&app, &cancelled).await;

    let inbox = app.wait_for_inbox(&alice, 3).await;
    assert_eq!(
        inbox.messages(),
        [
            format!("event {id} \"Rust meetup\" cancelled by admin: 2026-12-03 18:00 UTC at Paris"),
            format!("event {id} \"Rust meetup\" updated by alice: 2026-12-03 18:00 UTC at Paris"),
            format!("event {id} \"Rust meetup\" created by alice: 2026-12-03 18:00 UTC at Paris"),
        ]
    );
    let kinds: Vec<_> = inbox
        .items
        .iter()
        .map(|item| item["kind"].clone())
        .collect();
    assert_eq!(kinds, ["event.cancelled", "event.updated", "event.created"]);
}

#[tokio::test]
async fn agenda_and_order_notifications_share_the_inbox() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    app.publish(&crate::helpers::order_event("order.paid", &alice))
        .await;
    app.wait_for_inbox(&alice, 1).await;
    publish(&app, &agenda_event("event.created", &alice, Uuid::now_v7())).await;

    let inbox = app.wait_for_inbox(&alice, 2).await;
    assert!(inbox.items[0].get("order_id").is_none());
    assert!(inbox.items[0]["agenda_event_id"].is_string());
    assert!(inbox.items[1].get("agenda_event_id").is_none());
    assert!(inbox.items[1]["order_id"].is_string());
}

#[tokio::test]
async fn an_agenda_notification_reaches_the_organizers_open_stream() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut stream = app.stream(&alice).await;
    let id = Uuid::now_v7();

    publish(&app, &agenda_event("event.created", &alice, id)).await;

    let frame = stream.next_notification().await;
    let pushed: Value = frame.json();
    assert_eq!(pushed["agenda_event_id"], id.to_string());
    assert_eq!(pushed["kind"], "event.created");
}

#[tokio::test]
async fn an_unusable_agenda_payload_is_parked_and_later_events_still_flow() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut bad = agenda_event("event.created", &alice, Uuid::now_v7());
    bad.data["starts_at"] = json!("soon");
    let mut anonymous = agenda_event("event.created", &alice, Uuid::now_v7());
    anonymous.data["organizer_id"] = json!("nobody");

    publish(&app, &bad).await;
    publish(&app, &anonymous).await;
    let good = agenda_event("event.updated", &alice, Uuid::now_v7());
    publish(&app, &good).await;

    let inbox = app.wait_for_inbox(&alice, 1).await;
    assert_eq!(inbox.items[0]["agenda_event_id"], good.subject);
    assert_eq!(app.bus.retained("agenda-events.dlq"), 2);
}
