//! Bad input answers a 4xx problem naming the field, on every route that takes it, and changes
//! nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_invalid_field, assert_problem, car_path, merge, peugeot, without,
};

on_every_backend!(
    years_before_1886_or_after_next_year_are_refused_naming_year,
    years_at_the_bounds_are_accepted,
    a_year_that_is_not_a_whole_number_is_refused_naming_year,
    blank_text_fields_are_refused_naming_the_field,
    text_fields_over_64_characters_are_refused_naming_the_field,
    text_fields_of_1_to_64_characters_after_trimming_are_accepted,
    control_characters_in_text_fields_are_refused,
    text_fields_that_are_not_strings_are_refused_naming_the_field,
    create_and_replace_need_all_four_fields,
    unknown_fields_are_refused_naming_them,
    null_in_a_patch_is_refused_naming_the_field,
    a_body_that_is_not_an_object_is_refused,
    broken_json_is_400_and_a_body_that_is_not_json_is_415,
    bad_listing_parameters_are_refused_naming_the_parameter,
);

/// The latest model year accepted today.
fn next_year() -> i64 {
    i64::from(time::OffsetDateTime::now_utc().year()) + 1
}

/// Sends `change` in a create (over a valid body), a replacement (likewise) and a patch (alone);
/// expects a 422 naming `field` from each, and the stored car untouched.
async fn refused_on_every_write(app: &TestApp, change: Value, field: &str) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    let path = car_path(&car["id"]);
    let mut full = peugeot();
    merge(&mut full, change.clone());

    assert_invalid_field(app.post("/cars", &alice, &full).await, field).await;
    assert_invalid_field(app.put(&path, &alice, &full).await, field).await;
    assert_invalid_field(app.patch(&path, &alice, &change).await, field).await;

    assert_eq!(app.read_car(&alice, &car["id"]).await, car, "{change}");
    assert_eq!(app.list(&alice, "").await["total"], 1, "{change}");
    app.delete(&path, &alice).await;
}

/// Sends `change` as a create, a replacement and a patch; expects each to be accepted.
async fn accepted_on_every_write(app: &TestApp, change: Value) {
    let alice = app.customer("alice");
    let mut full = peugeot();
    merge(&mut full, change.clone());
    let car = app.create_car(&alice, &full).await;
    let path = car_path(&car["id"]);
    assert_eq!(app.put(&path, &alice, &full).await.status(), StatusCode::OK);
    assert_eq!(
        app.patch(&path, &alice, &change).await.status(),
        StatusCode::OK
    );
}

async fn years_before_1886_or_after_next_year_are_refused_naming_year(app: TestApp) {
    for year in [1885, next_year() + 1, 0, -2020, 9999] {
        let body = refused_body(&app, json!({ "year": year })).await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("1886 to {}", next_year())),
            "{body}"
        );
        refused_on_every_write(&app, json!({ "year": year }), "year").await;
    }
}

/// The problem a create with `change` gets.
async fn refused_body(app: &TestApp, change: Value) -> Value {
    let mut full = peugeot();
    merge(&mut full, change);
    let alice = app.customer("alice");
    app.post("/cars", &alice, &full).await.json().await.unwrap()
}

async fn years_at_the_bounds_are_accepted(app: TestApp) {
    for year in [1886, next_year()] {
        accepted_on_every_write(&app, json!({ "year": year })).await;
    }
}

async fn a_year_that_is_not_a_whole_number_is_refused_naming_year(app: TestApp) {
    for year in [
        json!("2020"),
        json!(2020.5),
        json!(2020.0),
        json!(true),
        json!(null),
    ] {
        refused_on_every_write(&app, json!({ "year": year }), "year").await;
    }
}

async fn blank_text_fields_are_refused_naming_the_field(app: TestApp) {
    for field in ["brand", "model", "color"] {
        for blank in ["", "   ", "\t\n"] {
            refused_on_every_write(&app, json!({ field: blank }), field).await;
        }
    }
}

async fn text_fields_over_64_characters_are_refused_naming_the_field(app: TestApp) {
    for field in ["brand", "model", "color"] {
        refused_on_every_write(&app, json!({ field: "x".repeat(65) }), field).await;
        refused_on_every_write(&app, json!({ field: "é".repeat(65) }), field).await;
    }
}

async fn text_fields_of_1_to_64_characters_after_trimming_are_accepted(app: TestApp) {
    let padded = format!("  {}  ", "é".repeat(64));
    for field in ["brand", "model", "color"] {
        accepted_on_every_write(&app, json!({ field: "x" })).await;
        accepted_on_every_write(&app, json!({ field: padded })).await;
    }
}

async fn control_characters_in_text_fields_are_refused(app: TestApp) {
    for field in ["brand", "model", "color"] {
        refused_on_every_write(&app, json!({ field: "bleu\nnuit" }), field).await;
        refused_on_every_write(&app, json!({ field: "a\u{7}b" }), field).await;
    }
}

async fn text_fields_that_are_not_strings_are_refused_naming_the_field(app: TestApp) {
    for field in ["brand", "model", "color"] {
        for value in [
            json!(208),
            json!(["bleu"]),
            json!({"name": "x"}),
            json!(false),
        ] {
            refused_on_every_write(&app, json!({ field: value }), field).await;
        }
    }
}

async fn create_and_replace_need_all_four_fields(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    let path = car_path(&car["id"]);

    for field in ["brand", "model", "year", "color"] {
        let body = without(&peugeot(), field);
        assert_invalid_field(app.post("/cars", &alice, &body).await, field).await;
        assert_invalid_field(app.put(&path, &alice, &body).await, field).await;
    }
    assert_invalid_field(app.post("/cars", &alice, &json!({})).await, "brand").await;
    assert_eq!(app.read_car(&alice, &car["id"]).await, car);
    assert_eq!(app.list(&alice, "").await["total"], 1);
}

async fn unknown_fields_are_refused_naming_them(app: TestApp) {
    for field in ["owner_id", "id", "colour", "created_at", "price"] {
        refused_on_every_write(&app, json!({ field: "x" }), field).await;
    }
}

async fn null_in_a_patch_is_refused_naming_the_field(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;

    for field in ["brand", "model", "year", "color"] {
        let response = app
            .patch(&car_path(&car["id"]), &alice, &json!({ field: null }))
            .await;
        assert_invalid_field(response, field).await;
    }
    assert_eq!(app.read_car(&alice, &car["id"]).await, car);
}

async fn a_body_that_is_not_an_object_is_refused(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    let path = car_path(&car["id"]);

    let positional = json!(["Peugeot", "208", 2020, "bleu"]);
    for body in [
        json!([]),
        positional,
        json!("Peugeot"),
        json!(null),
        json!(2020),
    ] {
        let post = app.post("/cars", &alice, &body).await;
        assert_problem(post, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let put = app.put(&path, &alice, &body).await;
        assert_problem(put, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let patch = app.patch(&path, &alice, &body).await;
        assert_problem(patch, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    assert_eq!(app.read_car(&alice, &car["id"]).await, car);
}

async fn broken_json_is_400_and_a_body_that_is_not_json_is_415(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    let path = car_path(&car["id"]);

    for (method, path) in [
        (Method::POST, "/cars".to_owned()),
        (Method::PUT, path.clone()),
        (Method::PATCH, path.clone()),
    ] {
        let broken = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth(&alice.token)
            .header("content-type", "application/json")
            .body(r#"{"brand": "Peugeot""#)
            .send()
            .await
            .unwrap();
        assert_problem(broken, StatusCode::BAD_REQUEST, "malformed_json").await;
        let form = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(&alice.token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("brand=Peugeot&model=208&year=2020&color=bleu")
            .send()
            .await
            .unwrap();
        assert_problem(
            form,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    assert_eq!(app.read_car(&alice, &car["id"]).await, car);
}

async fn bad_listing_parameters_are_refused_naming_the_parameter(app: TestApp) {
    let alice = app.customer("alice");
    let cases = [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=1.5", "offset"),
        ("?sort=price", "sort"),
        ("?sort=-id", "sort"),
        ("?sort=year,-year", "sort"),
        ("?sort=year,", "sort"),
        ("?year=recent", "year"),
        ("?year=1700", "year"),
        ("?annee=soon", "annee"),
        ("?color=bleu%0Anuit", "color"),
        ("?limit=5&limit=6", "limit"),
        ("?brand=Peugeot&marque=Renault", "marque"),
    ];
    let long = format!("?model={}", "x".repeat(65));

    for (query, parameter) in cases.iter().copied().chain([(long.as_str(), "model")]) {
        let response = app.get(&format!("/cars{query}"), &alice).await;
        assert_invalid_field(response, parameter).await;
    }
    let body = assert_invalid_field(app.get("/cars?sort=price", &alice).await, "sort").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        ["brand", "model", "year", "color", "created_at"]
            .iter()
            .all(|key| detail.contains(key)),
        "the error lists the allowed keys: {detail}"
    );
}
