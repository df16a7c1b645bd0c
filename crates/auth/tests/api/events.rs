//! `user.registered` on `user-events`: every account creation is announced, once, through the
//! outbox, with the details the users service needs for the profile.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn registering_publishes_exactly_one_user_registered_with_the_profile_fields() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            "/auth/register",
            &json!({
                "username": "alice",
                "password": PASSWORD,
                "email": "alice@example.com",
                "prénom": "Alice",
                "nom": "Martin",
                "adresse": "1 rue de la Paix\n75002 Paris",
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let events = app.registrations_of(&id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.specversion, "1.0");
    assert_eq!(event.source, "/auth");
    assert_eq!(event.kind, "user.registered");
    assert_eq!(event.subject, id);
    assert_eq!(event.datacontenttype, "application/json");
    assert_eq!(
        event.data,
        json!({
            "user_id": id,
            "username": "alice",
            "email": "alice@example.com",
            "first_name": "Alice",
            "last_name": "Martin",
            "address": "1 rue de la Paix\n75002 Paris",
        })
    );
}

#[tokio::test]
async fn details_not_given_at_registration_are_null_in_the_event() {
    let app = spawn_app().await;

    let response = app.register("bob", PASSWORD).await;
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let events = app.registrations_of(&id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].data,
        json!({
            "user_id": id,
            "username": "bob",
            "email": null,
            "first_name": null,
            "last_name": null,
            "address": null,
        })
    );
}

#[tokio::test]
async fn a_refused_registration_publishes_nothing() {
    let app = spawn_app().await;
    app.register("carol", PASSWORD).await;
    let before = app.published_user_events().await.len();

    let taken = app.register("CAROL", PASSWORD).await;
    let invalid = app.register("x", PASSWORD).await;

    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.published_user_events().await.len(), before);
}

#[tokio::test]
async fn the_event_is_stored_in_the_outbox_with_the_account() {
    let app = spawn_app().await;

    let response = app.register("dave", PASSWORD).await;
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let db = app.db().await;
    let (topic, key, payload): (String, String, String) =
        sqlx::query_as("SELECT topic, key, payload FROM outbox WHERE key = $1")
            .bind(&id)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(topic, "user-events");
    assert_eq!(key, id);
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["type"], "user.registered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_racing_registrations_of_one_name_announce_one_account() {
    let app = spawn_app().await;

    let (first, second) = tokio::join!(
        app.register("erin", PASSWORD),
        app.register("ERIN", PASSWORD)
    );

    let winner = if first.status() == StatusCode::CREATED {
        first
    } else {
        second
    };
    let id = winner.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let erins: Vec<_> = app
        .published_user_events()
        .await
        .into_iter()
        .filter(|event| {
            event.data["username"]
                .as_str()
                .is_some_and(|name| name.eq_ignore_ascii_case("erin"))
        })
        .collect();
    assert_eq!(erins.len(), 1);
    assert_eq!(erins[0].subject, id);
}

#[tokio::test]
async fn the_admin_account_created_at_first_start_is_announced_too() {
    let app = spawn_app().await;

    let events = app.published_user_events().await;

    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, "user.registered");
    assert_eq!(events[0].data["username"], "admin");
    let (access, _) = app.logged_in("admin", &app.admin_password()).await;
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(events[0].subject, me["id"].as_str().unwrap());
}

#[tokio::test]
async fn a_restart_announces_nothing_again() {
    let app = spawn_app().await;
    app.register("frank", PASSWORD).await;
    let before = app.published_user_events().await.len();

    let restarted = app.spawn_sibling().await;
    restarted.register("grace", PASSWORD).await;

    assert_eq!(restarted.published_user_events().await.len(), before + 1);
}
