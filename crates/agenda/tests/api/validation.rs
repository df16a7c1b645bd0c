//! Bad input is a 422 naming the field (or a 400 for what is not JSON), never a 500, and
//! changes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_invalid, assert_problem, event_body, spawn_app, with};

const START: &str = "2030-06-01T18:00:00Z";

fn body(starts_at: Value, ends_at: Value) -> Value {
    json!({"title": "Rust meetup", "starts_at": starts_at, "ends_at": ends_at})
}

#[tokio::test]
async fn an_event_ending_before_it_starts_is_refused_naming_ends_at() {
    let app = spawn_app().await;

    let response = app
        .post_event(
            Some(&app.alice),
            &body(json!(START), json!("2030-06-01T17:59:59Z")),
        )
        .await;

    let problem = assert_invalid(response, "ends_at").await;
    assert_eq!(problem["errors"][0]["message"], "must be after starts_at");
    assert_eq!(app.listing(Some(&app.admin), "").await["total"], 0);
}

#[tokio::test]
async fn an_event_ending_when_it_starts_is_refused_naming_ends_at() {
    let app = spawn_app().await;

    let same = app
        .post_event(Some(&app.alice), &body(json!(START), json!(START)))
        .await;
    assert_invalid(same, "ends_at").await;

    // The same instant written with another offset is still the same instant.
    let same_elsewhere = app
        .post_event(
            Some(&app.alice),
            &body(json!(START), json!("2030-06-01T20:00:00+02:00")),
        )
        .await;
    assert_invalid(same_elsewhere, "ends_at").await;

    // One millisecond later is enough.
    let response = app
        .post_event(
            Some(&app.alice),
            &body(json!(START), json!("2030-06-01T18:00:00.001Z")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn times_that_are_not_rfc_3339_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let bad = [
        json!("tomorrow"),
        json!("2030-06-01"),
        json!("2030-06-01T18:00:00"),
        json!("01/06/2030 18:00"),
        json!("2030-02-30T18:00:00Z"),
        json!(""),
    ];

    for value in &bad {
        let response = app
            .post_event(Some(&app.alice), &body(value.clone(), json!(START)))
            .await;
        assert_invalid(response, "starts_at").await;
        let response = app
            .post_event(Some(&app.alice), &body(json!(START), value.clone()))
            .await;
        assert_invalid(response, "ends_at").await;
    }
    // Not even a string: the JSON layer names the field too.
    let response = app
        .post_event(Some(&app.alice), &body(json!(1_906_992_000), json!(START)))
        .await;
    assert_invalid(response, "starts_at").await;
    assert_eq!(app.listing(Some(&app.admin), "").await["total"], 0);
}

#[tokio::test]
async fn required_fields_are_named_when_missing() {
    let app = spawn_app().await;
    let full = event_body("Rust meetup", 24);

    for field in ["title", "starts_at", "ends_at"] {
        let response = app
            .post_event(
                Some(&app.alice),
                &with(full.clone(), json!({ field: null })),
            )
            .await;
        let problem = assert_invalid(response, field).await;
        assert_eq!(problem["errors"][0]["message"], "is required");
    }
}

#[tokio::test]
async fn text_fields_are_bounded_and_named() {
    let app = spawn_app().await;
    let full = event_body("Rust meetup", 24);
    let cases = [
        ("title", json!("   ")),
        ("title", json!("x".repeat(201))),
        ("title", json!("two\nlines")),
        ("description", json!("x".repeat(4001))),
        ("location", json!("x".repeat(201))),
        ("visibility", json!("secret")),
        ("visibility", json!("PUBLIC")),
    ];

    for (field, value) in cases {
        let response = app
            .post_event(
                Some(&app.alice),
                &with(full.clone(), json!({ field: value })),
            )
            .await;
        assert_invalid(response, field).await;
    }

    let longest = with(
        full,
        json!({
            "title": "é".repeat(200),
            "description": "x".repeat(4000),
            "location": "y".repeat(200),
        }),
    );
    let response = app.post_event(Some(&app.alice), &longest).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    let app = spawn_app().await;

    for extra in [
        json!({"organizer_id": app.bob.id}),
        json!({"id": "0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b"}),
        json!({"start": START}),
    ] {
        let response = app
            .post_event(
                Some(&app.alice),
                &with(event_body("Rust meetup", 24), extra),
            )
            .await;
        assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_400() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(app.url("/events"))
        .bearer_auth(&app.alice.token)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn an_update_cannot_put_the_end_before_the_start() {
    let app = spawn_app().await;
    let event = app
        .create(
            &app.alice,
            body(json!("2030-06-01T18:00:00Z"), json!("2030-06-01T20:00:00Z")),
        )
        .await;
    let id = event["id"].as_str().unwrap();

    // Only the end moves, to before the stored start.
    let response = app
        .patch_event(
            Some(&app.alice),
            id,
            &json!({"ends_at": "2030-06-01T17:00:00Z"}),
        )
        .await;
    assert_invalid(response, "ends_at").await;

    // Only the start moves, to the stored end: the start is what is wrong.
    let response = app
        .patch_event(
            Some(&app.alice),
            id,
            &json!({"starts_at": "2030-06-01T20:00:00Z"}),
        )
        .await;
    let problem = assert_invalid(response, "starts_at").await;
    assert_eq!(problem["errors"][0]["message"], "must be before ends_at");

    // Both move, inverted.
    let response = app
        .patch_event(
            Some(&app.alice),
            id,
            &json!({"starts_at": "2030-07-01T20:00:00Z", "ends_at": "2030-07-01T19:00:00Z"}),
        )
        .await;
    assert_invalid(response, "ends_at").await;

    // A bad format in an update, and a bad title alongside a good change.
    let response = app
        .patch_event(Some(&app.alice), id, &json!({"starts_at": "soon"}))
        .await;
    assert_invalid(response, "starts_at").await;
    let response = app
        .patch_event(
            Some(&app.alice),
            id,
            &json!({"location": "Lyon", "title": ""}),
        )
        .await;
    assert_invalid(response, "title").await;

    let unchanged: Value = app
        .get_event(Some(&app.alice), id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged, event);

    // Both moving together, in order, past the old end: accepted.
    let response = app
        .patch_event(
            Some(&app.alice),
            id,
            &json!({"starts_at": "2030-06-02T18:00:00Z", "ends_at": "2030-06-02T20:00:00Z"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn listing_parameters_are_checked_and_named() {
    let app = spawn_app().await;
    let long_search = format!("?q={}", "a".repeat(201));
    let cases = [
        ("?from=yesterday", "from"),
        ("?to=2030-06-01", "to"),
        ("?from=2030-06-02T00:00:00Z&to=2030-06-01T00:00:00Z", "to"),
        ("?from=2030-06-01T00:00:00Z&to=2030-06-01T00:00:00Z", "to"),
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=ten", "limit"),
        ("?offset=-1", "offset"),
        (long_search.as_str(), "q"),
    ];

    for (query, field) in cases {
        assert_invalid(app.list(None, query).await, field).await;
    }
}
