//! The same agenda on PostgreSQL (distributed mode): the queries that differ most between
//! engines (the listing's filters, the conditional update and delete with `RETURNING`, the
//! boolean parameters) give the same answers. Skipped, with a note, unless
//! `MICROSHOP_TEST_POSTGRES_URL` names a server.

use agenda::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::PostgresDb;

use crate::helpers::{assert_invalid, assert_problem, spawn_app_with, titles};

#[tokio::test]
async fn on_postgres_visibility_filters_rights_and_announcements_behave_the_same() {
    let Some(database) = PostgresDb::create("agenda on postgres").await else {
        return;
    };
    let app = spawn_app_with(Config {
        database_url: Some(database.url.clone()),
        ..Config::default()
    })
    .await;
    let meetup = app.public_event(&app.alice, "Rust meetup", 24).await;
    let mut cooking = crate::helpers::event_body("Cooking class", 48);
    cooking["description"] = json!("Sauces the colour of RUST");
    app.create(&app.bob, cooking).await;
    let dentist = app.private_event(&app.alice, "Alice's dentist", 30).await;
    app.public_event(&app.bob, "Over", -5).await;

    assert_eq!(app.titles(None, "").await, ["Rust meetup", "Cooking class"]);
    assert_eq!(
        app.titles(Some(&app.alice), "").await,
        ["Rust meetup", "Alice's dentist", "Cooking class"]
    );
    let everything = app
        .listing(
            Some(&app.admin),
            "?from=2000-01-01T00:00:00Z&limit=2&offset=1",
        )
        .await;
    assert_eq!(titles(&everything), ["Rust meetup", "Alice's dentist"]);
    assert_eq!(everything["total"], 4);
    assert_eq!(
        app.titles(None, "?q=rust").await,
        ["Rust meetup", "Cooking class"]
    );
    let hidden = app.get_event(Some(&app.bob), &dentist).await;
    assert_problem(hidden, StatusCode::NOT_FOUND, "not_found").await;

    let refused = app
        .patch_event(Some(&app.bob), &meetup, &json!({"title": "Mine"}))
        .await;
    assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let refused = app
        .patch_event(Some(&app.bob), &dentist, &json!({"title": "Mine"}))
        .await;
    assert_problem(refused, StatusCode::NOT_FOUND, "not_found").await;
    let too_early = app
        .patch_event(
            Some(&app.alice),
            &meetup,
            &json!({"ends_at": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_invalid(too_early, "ends_at").await;
    let updated: Value = app
        .patch_event(Some(&app.admin), &meetup, &json!({"location": "Lyon"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["location"], "Lyon");
    assert_eq!(updated["title"], "Rust meetup");
    let deleted = app.delete_event(Some(&app.alice), &dentist).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app.get_event(Some(&app.alice), &dentist).await;
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;

    let events = app.wait_for_announcements(6).await;
    let kinds: Vec<_> = events.iter().map(|event| event.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "event.created",
            "event.created",
            "event.created",
            "event.created",
            "event.updated",
            "event.cancelled"
        ]
    );
    assert_eq!(events[4].data["actor_username"], "admin");
    assert_eq!(events[5].data["title"], "Alice's dentist");
    drop(app);
    drop(database);
}
