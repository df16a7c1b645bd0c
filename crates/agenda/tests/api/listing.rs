//! `GET /events`: soonest first, events that have ended hidden unless `from` asks for them,
//! `from`/`to` bounds on the start, a case-insensitive search, and pages with a total.

use serde_json::{Value, json};

use crate::helpers::{event_body, spawn_app, titles};

fn fixed(title: &str, starts_at: &str, ends_at: &str) -> Value {
    json!({"title": title, "starts_at": starts_at, "ends_at": ends_at})
}

#[tokio::test]
async fn upcoming_events_come_soonest_first_and_ended_ones_are_hidden() {
    let app = spawn_app().await;
    app.public_event(&app.alice, "In two days", 48).await;
    app.public_event(&app.bob, "Tomorrow", 24).await;
    app.public_event(&app.alice, "In three days", 72).await;
    // Started five hours ago, ended three hours ago.
    app.public_event(&app.alice, "Over", -5).await;
    // Started an hour ago, ends in an hour: still worth listing.
    app.public_event(&app.bob, "Under way", -1).await;

    let listing = app.listing(None, "").await;

    assert_eq!(
        titles(&listing),
        ["Under way", "Tomorrow", "In two days", "In three days"]
    );
    assert_eq!(listing["total"], 4);
}

#[tokio::test]
async fn events_starting_together_keep_their_creation_order() {
    let app = spawn_app().await;
    let at = ("2030-06-01T10:00:00Z", "2030-06-01T11:00:00Z");
    for title in ["First", "Second", "Third"] {
        app.create(&app.alice, fixed(title, at.0, at.1)).await;
    }

    assert_eq!(app.titles(None, "").await, ["First", "Second", "Third"]);
}

#[tokio::test]
async fn from_and_to_bound_the_start_from_inclusive_to_exclusive() {
    let app = spawn_app().await;
    for (title, starts_at, ends_at) in [
        ("Long ago", "2020-01-01T10:00:00Z", "2020-01-01T12:00:00Z"),
        ("June 1", "2030-06-01T10:00:00Z", "2030-06-01T12:00:00Z"),
        ("June 2", "2030-06-02T10:00:00Z", "2030-06-02T12:00:00Z"),
        ("June 3", "2030-06-03T10:00:00Z", "2030-06-03T12:00:00Z"),
    ] {
        app.create(&app.alice, fixed(title, starts_at, ends_at))
            .await;
    }

    assert_eq!(
        app.titles(None, "?from=2030-06-02T10:00:00Z").await,
        ["June 2", "June 3"]
    );
    // `from` replaces the "not ended yet" default, so the past can be listed.
    assert_eq!(
        app.titles(None, "?from=2000-01-01T00:00:00Z").await,
        ["Long ago", "June 1", "June 2", "June 3"]
    );
    // `to` alone keeps the default: upcoming events starting before it.
    assert_eq!(
        app.titles(None, "?to=2030-06-02T10:00:00Z").await,
        ["June 1"]
    );
    let window = app
        .listing(
            None,
            "?from=2000-01-01T00:00:00Z&to=2030-06-02T10:00:00.001Z",
        )
        .await;
    assert_eq!(titles(&window), ["Long ago", "June 1", "June 2"]);
    assert_eq!(window["total"], 3);
    // Offsets work in bounds too (a `+` must be percent-encoded in a URL).
    assert_eq!(
        app.titles(None, "?from=2030-06-02T12:00:00%2B02:00").await,
        ["June 2", "June 3"]
    );
}

#[tokio::test]
async fn the_search_finds_titles_and_descriptions_ignoring_case() {
    let app = spawn_app().await;
    app.create(&app.alice, event_body("Rust meetup", 24)).await;
    let mut cooking = event_body("Cooking class", 25);
    cooking["description"] = json!("Sauces the colour of RUST");
    app.create(&app.bob, cooking).await;
    app.create(&app.bob, event_body("Fête de la musique", 26))
        .await;
    app.create(&app.bob, event_body("100% fun", 27)).await;
    app.private_event(&app.alice, "Private rust club", 28).await;

    assert_eq!(
        app.titles(None, "?q=rust").await,
        ["Rust meetup", "Cooking class"]
    );
    assert_eq!(app.titles(None, "?q=MEETUP").await, ["Rust meetup"]);
    assert_eq!(
        app.titles(None, "?q=F%C3%8ATE").await,
        ["Fête de la musique"]
    );
    // Wildcards are literal characters.
    assert_eq!(app.titles(None, "?q=%25").await, ["100% fun"]);
    assert_eq!(app.titles(None, "?q=_").await, Vec::<String>::new());
    // The search never widens what the caller may see.
    assert_eq!(
        app.titles(Some(&app.alice), "?q=rust").await,
        ["Rust meetup", "Cooking class", "Private rust club"]
    );
    let listing = app.listing(None, "?q=rust&limit=1").await;
    assert_eq!(listing["total"], 2);
    // A blank search is no search.
    assert_eq!(app.listing(None, "?q=%20%20").await["total"], 4);
}

#[tokio::test]
async fn listings_come_in_pages_with_the_total() {
    let app = spawn_app().await;
    for day in 1..=5 {
        app.public_event(&app.alice, &format!("Day {day}"), day * 24)
            .await;
    }

    let first = app.listing(None, "?limit=2").await;
    assert_eq!(titles(&first), ["Day 1", "Day 2"]);
    assert_eq!(
        (&first["total"], &first["limit"], &first["offset"]),
        (&json!(5), &json!(2), &json!(0))
    );
    let second = app.listing(None, "?limit=2&offset=2").await;
    assert_eq!(titles(&second), ["Day 3", "Day 4"]);
    assert_eq!(second["offset"], 2);
    assert_eq!(app.titles(None, "?limit=2&offset=4").await, ["Day 5"]);
    let beyond = app.listing(None, "?offset=10").await;
    assert!(titles(&beyond).is_empty());
    assert_eq!(beyond["total"], 5);
    let default = app.listing(None, "").await;
    assert_eq!(
        (&default["limit"], &default["offset"]),
        (&json!(20), &json!(0))
    );
}
