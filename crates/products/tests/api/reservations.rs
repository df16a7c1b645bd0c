//! The internal reservation API orders calls: reserve, confirm, release.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_invalid, assert_problem, spawn_app};

/// Two products: a lamp (2490 cents, stock 10) and a chair (12900 cents, stock 3).
async fn shop() -> (TestApp, i64, i64) {
    let app = spawn_app().await;
    let lamp = app.product("Desk lamp", 2490, 10).await;
    let chair = app.product("Office chair", 12900, 3).await;
    (app, lamp, chair)
}

#[tokio::test]
async fn a_reservation_takes_stock_and_answers_names_and_prices() {
    let (app, lamp, chair) = shop().await;
    let order = Uuid::now_v7();

    let response = app
        .reserve(
            order,
            json!([{"product_id": chair, "quantity": 1}, {"product_id": lamp, "quantity": 2}]),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "order_id": order,
            "status": "reserved",
            "lines": [
                {"product_id": chair, "name": "Office chair", "unit_price_cents": 12900, "quantity": 1},
                {"product_id": lamp, "name": "Desk lamp", "unit_price_cents": 2490, "quantity": 2}
            ]
        })
    );
    assert_eq!(app.stock_of(lamp).await, 8);
    assert_eq!(app.stock_of(chair).await, 2);
}

#[tokio::test]
async fn a_reservation_may_take_the_last_unit() {
    let (app, _, chair) = shop().await;

    let response = app
        .reserve(
            Uuid::now_v7(),
            json!([{"product_id": chair, "quantity": 3}]),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.stock_of(chair).await, 0);
}

#[tokio::test]
async fn insufficient_stock_is_409_naming_the_product_and_reserves_nothing() {
    let (app, lamp, chair) = shop().await;
    let order = Uuid::now_v7();

    let response = app
        .reserve(
            order,
            json!([{"product_id": lamp, "quantity": 2}, {"product_id": chair, "quantity": 4}]),
        )
        .await;

    let body = assert_problem(response, StatusCode::CONFLICT, "insufficient_stock").await;
    assert_eq!(body["product_id"], chair);
    assert_eq!(body["available"], 3);
    assert_eq!(body["requested"], 4);
    assert_eq!(body["errors"][0]["field"], "items[1].quantity");
    assert_eq!(app.stock_of(lamp).await, 10);
    assert_eq!(app.stock_of(chair).await, 3);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reservations")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // Nothing was recorded for the order: it can still reserve what is there.
    let retry = app
        .reserve(order, json!([{"product_id": chair, "quantity": 3}]))
        .await;
    assert_eq!(retry.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_unknown_product_is_422_naming_the_product_and_reserves_nothing() {
    let (app, lamp, _) = shop().await;

    let response = app
        .reserve(
            Uuid::now_v7(),
            json!([{"product_id": lamp, "quantity": 1}, {"product_id": 999, "quantity": 1}]),
        )
        .await;

    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_product",
    )
    .await;
    assert_eq!(body["product_id"], 999);
    assert_eq!(body["errors"][0]["field"], "items[1].product_id");
    assert_eq!(app.stock_of(lamp).await, 10);
}

#[tokio::test]
async fn a_deleted_product_is_unknown() {
    let (app, lamp, _) = shop().await;
    app.delete_as(Some(&app.admin.token), &lamp.to_string())
        .await;

    let response = app
        .reserve(Uuid::now_v7(), json!([{"product_id": lamp, "quantity": 1}]))
        .await;

    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_product",
    )
    .await;
    assert_eq!(body["product_id"], lamp);
}

#[tokio::test]
async fn quantities_must_be_whole_numbers_from_one_to_a_thousand() {
    let (app, lamp, chair) = shop().await;

    for bad in [
        json!(0),
        json!(-1),
        json!(1001),
        json!(1.5),
        json!("2"),
        json!(null),
    ] {
        let items =
            json!([{"product_id": chair, "quantity": 1}, {"product_id": lamp, "quantity": bad}]);
        let response = app.reserve(Uuid::now_v7(), items).await;
        assert_invalid(response, "items[1].quantity").await;
    }
    assert_eq!(app.stock_of(lamp).await, 10);
    assert_eq!(app.stock_of(chair).await, 3);
}

#[tokio::test]
async fn a_reservation_holds_one_to_a_hundred_lines() {
    let (app, lamp, _) = shop().await;

    assert_invalid(app.reserve(Uuid::now_v7(), json!([])).await, "items").await;
    let many: Vec<Value> = (0..101)
        .map(|_| json!({"product_id": lamp, "quantity": 1}))
        .collect();
    assert_invalid(app.reserve(Uuid::now_v7(), json!(many)).await, "items").await;
    assert_eq!(app.stock_of(lamp).await, 10);
}

#[tokio::test]
async fn malformed_reservation_requests_are_422_naming_the_field() {
    let (app, lamp, _) = shop().await;

    for (body, field) in [
        (
            json!({"order_id": "order-1", "items": [{"product_id": lamp, "quantity": 1}]}),
            "order_id",
        ),
        (
            json!({"items": [{"product_id": lamp, "quantity": 1}]}),
            "order_id",
        ),
        (json!({"order_id": Uuid::now_v7()}), "items"),
        (
            json!({"order_id": Uuid::now_v7(), "items": [{"product_id": "1", "quantity": 1}]}),
            "items[0].product_id",
        ),
        (
            json!({"order_id": Uuid::now_v7(), "items": [{"product_id": 0, "quantity": 1}]}),
            "items[0].product_id",
        ),
    ] {
        let response = app
            .internal_post("/internal/reservations", Some(&body))
            .await;
        assert_invalid(response, field).await;
    }
    let with_price = json!({
        "order_id": Uuid::now_v7(),
        "items": [{"product_id": lamp, "quantity": 1, "unit_price_cents": 1}]
    });
    let response = app
        .internal_post("/internal/reservations", Some(&with_price))
        .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(app.stock_of(lamp).await, 10);
}

#[tokio::test]
async fn lines_for_the_same_product_are_merged() {
    let (app, lamp, chair) = shop().await;

    let response = app
        .reserve(
            Uuid::now_v7(),
            json!([
                {"product_id": lamp, "quantity": 2},
                {"product_id": chair, "quantity": 1},
                {"product_id": lamp, "quantity": 3}
            ]),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let lines = body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["product_id"], lamp);
    assert_eq!(lines[0]["quantity"], 5);
    assert_eq!(app.stock_of(lamp).await, 5);
}

#[tokio::test]
async fn merged_lines_over_a_thousand_are_refused() {
    let (app, lamp, _) = shop().await;

    let response = app
        .reserve(
            Uuid::now_v7(),
            json!([{"product_id": lamp, "quantity": 600}, {"product_id": lamp, "quantity": 401}]),
        )
        .await;

    assert_invalid(response, "items[1].quantity").await;
}

#[tokio::test]
async fn a_repeated_reservation_returns_the_stored_one_and_takes_nothing_more() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    let items = json!([{"product_id": lamp, "quantity": 2}]);
    let first: Value = app
        .reserve(order, items.clone())
        .await
        .json()
        .await
        .unwrap();

    let repeat = app.reserve(order, items).await;

    assert_eq!(repeat.status(), StatusCode::OK);
    assert_eq!(repeat.json::<Value>().await.unwrap(), first);
    assert_eq!(app.stock_of(lamp).await, 8);
}

#[tokio::test]
async fn a_repeat_with_other_lines_still_returns_the_stored_reservation() {
    let (app, lamp, chair) = shop().await;
    let order = Uuid::now_v7();
    let first: Value = app
        .reserve(order, json!([{"product_id": lamp, "quantity": 2}]))
        .await
        .json()
        .await
        .unwrap();

    let repeat = app
        .reserve(order, json!([{"product_id": chair, "quantity": 3}]))
        .await;

    assert_eq!(repeat.status(), StatusCode::OK);
    assert_eq!(repeat.json::<Value>().await.unwrap(), first);
    assert_eq!(app.stock_of(lamp).await, 8);
    assert_eq!(app.stock_of(chair).await, 3);
}

#[tokio::test]
async fn reserved_lines_keep_the_price_and_name_they_were_reserved_at() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(order, json!([{"product_id": lamp, "quantity": 1}]))
        .await;
    app.patch(lamp, &json!({"name": "Renamed lamp", "price_cents": 9999}))
        .await;

    let repeat: Value = app
        .reserve(order, json!([{"product_id": lamp, "quantity": 1}]))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(repeat["lines"][0]["unit_price_cents"], 2490);
    assert_eq!(repeat["lines"][0]["name"], "Desk lamp");
}

#[tokio::test]
async fn an_order_id_is_the_same_whatever_its_spelling() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(order, json!([{"product_id": lamp, "quantity": 1}]))
        .await;

    let body = json!({
        "order_id": order.simple().to_string().to_uppercase(),
        "items": [{"product_id": lamp, "quantity": 1}]
    });
    let repeat = app
        .internal_post("/internal/reservations", Some(&body))
        .await;

    assert_eq!(repeat.status(), StatusCode::OK);
    assert_eq!(app.stock_of(lamp).await, 9);
}

#[tokio::test]
async fn confirming_marks_the_reservation_confirmed_and_keeps_the_stock_taken() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(order, json!([{"product_id": lamp, "quantity": 2}]))
        .await;

    let response = app.confirm(order).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"order_id": order, "status": "confirmed"})
    );
    assert_eq!(app.stock_of(lamp).await, 8);
    let stored: Value = app
        .reserve(order, json!([{"product_id": lamp, "quantity": 2}]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["status"], "confirmed");
}

#[tokio::test]
async fn confirming_twice_is_harmless() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(order, json!([{"product_id": lamp, "quantity": 2}]))
        .await;
    app.confirm(order).await;

    let again = app.confirm(order).await;

    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "confirmed");
    assert_eq!(app.stock_of(lamp).await, 8);
}

#[tokio::test]
async fn confirming_an_unknown_reservation_is_404() {
    let app = spawn_app().await;

    let unknown = app.confirm(Uuid::now_v7()).await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let not_a_uuid = app
        .internal_post("/internal/reservations/42/confirm", None)
        .await;
    assert_problem(not_a_uuid, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn confirming_a_released_reservation_is_409() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(order, json!([{"product_id": lamp, "quantity": 2}]))
        .await;
    app.release(order).await;

    let response = app.confirm(order).await;

    let body = assert_problem(response, StatusCode::CONFLICT, "reservation_released").await;
    assert_eq!(body["order_id"], order.to_string());
    assert_eq!(app.stock_of(lamp).await, 10);
}

#[tokio::test]
async fn releasing_gives_the_stock_back() {
    let (app, lamp, chair) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(
        order,
        json!([{"product_id": lamp, "quantity": 4}, {"product_id": chair, "quantity": 3}]),
    )
    .await;

    let response = app.release(order).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"order_id": order, "status": "released"})
    );
    assert_eq!(app.stock_of(lamp).await, 10);
    assert_eq!(app.stock_of(chair).await, 3);
}

#[tokio::test]
async fn releasing_twice_gives_the_stock_back_once() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(order, json!([{"product_id": lamp, "quantity": 4}]))
        .await;

    let first = app.release(order).await;
    let second = app.release(order).await;

    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.json::<Value>().await.unwrap()["status"], "released");
    assert_eq!(app.stock_of(lamp).await, 10);
}

#[tokio::test]
async fn releasing_a_confirmed_reservation_gives_the_stock_back() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(order, json!([{"product_id": lamp, "quantity": 4}]))
        .await;
    app.confirm(order).await;

    let response = app.release(order).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.stock_of(lamp).await, 10);
}

#[tokio::test]
async fn a_released_reservation_is_not_reserved_again_by_a_repeat() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    let items = json!([{"product_id": lamp, "quantity": 4}]);
    app.reserve(order, items.clone()).await;
    app.release(order).await;

    let repeat = app.reserve(order, items).await;

    assert_eq!(repeat.status(), StatusCode::OK);
    assert_eq!(repeat.json::<Value>().await.unwrap()["status"], "released");
    assert_eq!(app.stock_of(lamp).await, 10);
}

#[tokio::test]
async fn a_release_before_the_reserve_makes_the_late_reserve_take_nothing() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();

    let release = app.release(order).await;
    let late = app
        .reserve(order, json!([{"product_id": lamp, "quantity": 4}]))
        .await;

    assert_eq!(release.status(), StatusCode::OK);
    assert_eq!(late.status(), StatusCode::OK);
    let body: Value = late.json().await.unwrap();
    assert_eq!(body["status"], "released");
    assert_eq!(body["lines"], json!([]));
    assert_eq!(app.stock_of(lamp).await, 10);
}

#[tokio::test]
async fn releasing_skips_products_deleted_meanwhile() {
    let (app, lamp, chair) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(
        order,
        json!([{"product_id": lamp, "quantity": 4}, {"product_id": chair, "quantity": 1}]),
    )
    .await;
    app.delete_as(Some(&app.admin.token), &chair.to_string())
        .await;

    let response = app.release(order).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.stock_of(lamp).await, 10);
}

#[tokio::test]
async fn internal_routes_do_not_exist_without_the_internal_token() {
    let (app, lamp, _) = shop().await;
    let order = Uuid::now_v7();
    app.reserve(order, json!([{"product_id": lamp, "quantity": 1}]))
        .await;
    let body = json!({"order_id": Uuid::now_v7(), "items": [{"product_id": lamp, "quantity": 1}]});

    for token in [None, Some("wrong"), Some("")] {
        for (path, body) in [
            ("/internal/reservations".to_owned(), Some(&body)),
            (format!("/internal/reservations/{order}/confirm"), None),
            (format!("/internal/reservations/{order}/release"), None),
        ] {
            let response = app.internal_post_with(token, &path, body).await;
            assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        }
    }
    // An admin's access token is not the internal token either.
    let response = app
        .client
        .post(app.url(&format!("/internal/reservations/{order}/release")))
        .bearer_auth(&app.admin.token)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.stock_of(lamp).await, 9);
}

#[tokio::test]
async fn a_wrong_internal_token_is_404_even_with_a_bad_body() {
    let app = spawn_app().await;

    let response = app
        .internal_post_with(
            Some("wrong"),
            "/internal/reservations",
            Some(&json!({"nonsense": true})),
        )
        .await;

    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}
