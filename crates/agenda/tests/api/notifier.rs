//! The agenda's announcements reach the real notifier: started beside the agenda on the same
//! in-process bus (as `microshop up` runs them), it turns each change into one notification
//! for the organizer, with the line the seed asks it to print.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use test_support::{PostgresDb, TestUser};

use crate::helpers::{TestApp, event_body, spawn_app, spawn_app_with};

/// Starts the notifier on the agenda's wiring; returns its base URL.
async fn start_notifier(app: &TestApp) -> String {
    start_notifier_with(app, notifier::Config::default()).await
}

async fn start_notifier_with(app: &TestApp, config: notifier::Config) -> String {
    let router = notifier::app(&config, &app.env, &app.wiring)
        .await
        .expect("the notifier starts");
    let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
    let running =
        platform::server::spawn("notifier", listener, router, app.wiring.shutdown.clone()).unwrap();
    format!("http://{}", running.addr)
}

/// `user`'s notification messages, newest first, once there are `count` of them (within 5 s).
async fn messages(app: &TestApp, notifier: &str, user: &TestUser, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let response = app
            .client
            .get(format!("{notifier}/notifications"))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let inbox: Value = response.json().await.unwrap();
        let items = inbox["items"].as_array().unwrap().clone();
        if items.len() >= count {
            assert_eq!(items.len(), count, "{items:?}");
            return items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} notifications after 5 s, expected {count}",
            items.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_organizer_is_notified_of_each_change_even_one_an_admin_made() {
    let app = spawn_app().await;
    let notifier = start_notifier(&app).await;
    let event = app
        .create(
            &app.alice,
            json!({
                "title": "Rust meetup",
                "location": "Paris",
                "starts_at": "2030-12-03T18:00:00Z",
                "ends_at": "2030-12-03T20:00:00Z",
                "visibility": "private",
            }),
        )
        .await;
    let id = event["id"].as_str().unwrap();
    let response = app
        .patch_event(
            Some(&app.alice),
            id,
            &json!({"starts_at": "2030-12-03T19:00:00+00:00"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.delete_event(Some(&app.admin), id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let inbox = messages(&app, &notifier, &app.alice, 3).await;

    let lines: Vec<_> = inbox.iter().map(|item| item["message"].clone()).collect();
    assert_eq!(
        lines,
        [
            format!("event {id} \"Rust meetup\" cancelled by admin: 2030-12-03 19:00 UTC at Paris"),
            format!("event {id} \"Rust meetup\" updated by alice: 2030-12-03 19:00 UTC at Paris"),
            format!("event {id} \"Rust meetup\" created by alice: 2030-12-03 18:00 UTC at Paris"),
        ]
    );
    for item in &inbox {
        assert_eq!(item["agenda_event_id"], id);
        assert_eq!(item["user_id"], app.alice.id.to_string());
    }
    // Nobody else is notified, not even the admin who cancelled.
    assert!(messages(&app, &notifier, &app.admin, 0).await.is_empty());
}

#[tokio::test]
async fn on_postgres_the_organizer_is_notified_once_per_change() {
    let Some(agenda_db) = PostgresDb::create("agenda and notifier on postgres").await else {
        return;
    };
    let Some(notifier_db) = PostgresDb::create("agenda and notifier on postgres").await else {
        return;
    };
    let app = spawn_app_with(agenda::Config {
        database_url: Some(agenda_db.url.clone()),
        ..agenda::Config::default()
    })
    .await;
    let notifier = start_notifier_with(
        &app,
        notifier::Config {
            database_url: Some(notifier_db.url.clone()),
            ..notifier::Config::default()
        },
    )
    .await;
    let event = app.create(&app.bob, event_body("Picnic", 24)).await;
    let id = event["id"].as_str().unwrap();
    let response = app.delete_event(Some(&app.bob), id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let inbox = messages(&app, &notifier, &app.bob, 2).await;

    let kinds: Vec<_> = inbox.iter().map(|item| item["kind"].clone()).collect();
    assert_eq!(kinds, ["event.cancelled", "event.created"]);
    assert!(
        inbox[0]["message"]
            .as_str()
            .unwrap()
            .contains("\"Picnic\" cancelled by bob")
    );
    assert!(inbox[0].get("order_id").is_none());
    drop(app);
    drop((agenda_db, notifier_db));
}
