//! Stock under concurrency: many reservations at once never oversell, never go below zero,
//! and retries racing each other count once.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_reservations_against_stock_ten_sell_exactly_ten() {
    let app = spawn_app().await;
    let lamp = app.product("Desk lamp", 2490, 10).await;

    let responses = join_all(
        (0..50).map(|_| app.reserve(Uuid::now_v7(), json!([{"product_id": lamp, "quantity": 1}]))),
    )
    .await;

    let statuses: Vec<StatusCode> = responses.iter().map(|response| response.status()).collect();
    let created = statuses
        .iter()
        .filter(|status| **status == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|status| **status == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, refused), (10, 40), "{statuses:?}");
    assert_eq!(app.stock_of(lamp).await, 0);
    let reserved: i64 = sqlx::query_scalar(
        // SUM of a BIGINT is a NUMERIC on PostgreSQL: back to an integer for both engines.
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM reservation_lines",
    )
    .fetch_one(&app.db().await)
    .await
    .unwrap();
    assert_eq!(reserved, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_taking_two_products_in_opposite_orders_never_oversell() {
    let app = spawn_app().await;
    let lamp = app.product("Desk lamp", 2490, 15).await;
    let chair = app.product("Office chair", 12900, 15).await;

    let responses = join_all((0..40).map(|index| {
        let items = if index % 2 == 0 {
            json!([{"product_id": lamp, "quantity": 1}, {"product_id": chair, "quantity": 1}])
        } else {
            json!([{"product_id": chair, "quantity": 1}, {"product_id": lamp, "quantity": 1}])
        };
        app.reserve(Uuid::now_v7(), items)
    }))
    .await;

    let created = responses
        .iter()
        .filter(|response| response.status() == StatusCode::CREATED)
        .count();
    assert!(
        responses.iter().all(
            |response| [StatusCode::CREATED, StatusCode::CONFLICT].contains(&response.status())
        )
    );
    assert_eq!(created, 15);
    assert_eq!(app.stock_of(lamp).await, 0);
    assert_eq!(app.stock_of(chair).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_repeats_of_one_reservation_take_stock_once() {
    let app = spawn_app().await;
    let lamp = app.product("Desk lamp", 2490, 10).await;
    let order = Uuid::now_v7();

    let responses =
        join_all((0..20).map(|_| app.reserve(order, json!([{"product_id": lamp, "quantity": 3}]))))
            .await;

    let created = responses
        .iter()
        .filter(|response| response.status() == StatusCode::CREATED)
        .count();
    let repeated = responses
        .iter()
        .filter(|response| response.status() == StatusCode::OK)
        .count();
    assert_eq!((created, repeated), (1, 19));
    assert_eq!(app.stock_of(lamp).await, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_releases_give_the_stock_back_once() {
    let app = spawn_app().await;
    let lamp = app.product("Desk lamp", 2490, 10).await;
    let order = Uuid::now_v7();
    app.reserve(order, json!([{"product_id": lamp, "quantity": 6}]))
        .await;
    assert_eq!(app.stock_of(lamp).await, 4);

    let responses = join_all((0..20).map(|_| app.release(order))).await;

    assert!(
        responses
            .iter()
            .all(|response| response.status() == StatusCode::OK)
    );
    assert_eq!(app.stock_of(lamp).await, 10);
}
