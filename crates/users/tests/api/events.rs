//! Profiles from auth's `user.registered` events on `user-events`.

use platform::events::{Event, USER_EVENTS, dead_letter_topic};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_user_registered_event_creates_the_profile_with_its_details() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    app.publish_registration(
        &alice,
        json!({
            "email": "alice@example.com",
            "first_name": "Alice",
            "last_name": "Martin",
            "address": "1 rue de la Paix",
        }),
    )
    .await;
    app.settle().await;

    let profile: Value = app
        .get(&format!("/users/{}", alice.id), Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["username"], "alice");
    assert_eq!(profile["email"], "alice@example.com");
    assert_eq!(profile["first_name"], "Alice");
    assert_eq!(profile["last_name"], "Martin");
    assert_eq!(profile["address"], "1 rue de la Paix");
    assert_eq!(profile["phone"], Value::Null);
}

#[tokio::test]
async fn the_same_event_delivered_twice_makes_one_profile_without_error() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let event = app
        .publish_registration(&alice, json!({"first_name": "Alice"}))
        .await;
    app.settle().await;
    let first: Value = app.me(&alice).await;

    app.publish(&event).await;
    app.settle().await;

    assert_eq!(app.stored_rows(alice.id).await, 1);
    assert_eq!(
        app.me(&alice).await,
        first,
        "the redelivery changed nothing"
    );
    assert_eq!(
        app.bus.retained(&dead_letter_topic(USER_EVENTS)),
        0,
        "nothing was rejected"
    );
}

#[tokio::test]
async fn a_redelivered_event_does_not_refill_a_detail_the_user_has_since_emptied() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let event = app
        .publish_registration(&alice, json!({"address": "1 rue de la Paix"}))
        .await;
    app.settle().await;
    let cleared = app
        .patch("/users/me", Some(&alice.token), &json!({"address": null}))
        .await;
    assert_eq!(cleared.status(), StatusCode::OK);

    app.publish(&event).await;
    app.settle().await;

    assert_eq!(app.me(&alice).await["address"], Value::Null);
}

#[tokio::test]
async fn a_late_event_completes_a_profile_created_from_the_token_without_overwriting_it() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.me(&alice).await;
    app.patch(
        "/users/me",
        Some(&alice.token),
        &json!({"first_name": "Ali"}),
    )
    .await;

    app.publish_registration(
        &alice,
        json!({"first_name": "Alice", "email": "alice@example.com", "address": "1 rue de la Paix"}),
    )
    .await;
    app.settle().await;

    let me = app.me(&alice).await;
    assert_eq!(me["first_name"], "Ali", "what the user wrote stands");
    assert_eq!(me["email"], "alice@example.com", "empty details are filled");
    assert_eq!(me["address"], "1 rue de la Paix");
    assert_eq!(app.stored_rows(alice.id).await, 1);
}

#[tokio::test]
async fn events_for_many_users_each_make_a_profile() {
    let app = spawn_app().await;
    let users: Vec<_> = (0..5)
        .map(|index| app.customer(&format!("user{index}")))
        .collect();

    for user in &users {
        app.publish_registration(user, json!({})).await;
    }
    app.settle().await;

    let list: Value = app
        .get("/users", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 5);
}

#[tokio::test]
async fn an_unusable_event_is_parked_on_the_dead_letter_topic_and_the_next_one_still_flows() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let broken = Event::new(
        "/auth",
        "user.registered",
        alice.id.to_string(),
        json!({"user_id": "not-a-uuid", "username": "alice"}),
    );
    app.publish(&broken).await;

    app.publish_registration(&alice, json!({"last_name": "Martin"}))
        .await;
    app.settle().await;

    let parked = app.bus.retained_events(&dead_letter_topic(USER_EVENTS));
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].id, broken.id);
    assert_eq!(app.me(&alice).await["last_name"], "Martin");
}

#[tokio::test]
async fn an_invalid_optional_detail_is_dropped_not_the_whole_profile() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    app.publish_registration(
        &alice,
        json!({"email": "not an email", "first_name": "Alice"}),
    )
    .await;
    app.settle().await;

    let me = app.me(&alice).await;
    assert_eq!(me["email"], Value::Null);
    assert_eq!(me["first_name"], "Alice");
}

#[tokio::test]
async fn other_event_types_are_ignored() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let other = Event::new(
        "/auth",
        "user.renamed",
        alice.id.to_string(),
        json!({"user_id": alice.id, "username": "alice"}),
    );

    app.publish(&other).await;
    app.settle().await;

    assert_eq!(app.stored_rows(alice.id).await, 0);
    assert_eq!(app.bus.retained(&dead_letter_topic(USER_EVENTS)), 0);
}
