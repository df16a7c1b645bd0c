//! The same service on PostgreSQL, as distributed mode runs it: the schema in
//! `migrations/postgres`, the queries, and the concurrency guarantees. Runs against
//! `MICROSHOP_TEST_POSTGRES_URL` (default: the local server) in a database of its own; skipped,
//! with a note, when no server answers.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{assert_invalid, assert_problem, ids, spawn_postgres_app};

#[tokio::test]
async fn the_catalogue_is_seeded_searched_and_paged_on_postgres() {
    let Some((app, database)) = spawn_postgres_app(|config| config.seed_catalogue = true).await
    else {
        return;
    };

    let all = app.listed("").await;
    let page = app.listed("?limit=2&offset=4").await;
    let found = app.listed("?q=MOUSE").await;
    let restarted = app.restart_with(|_| {}).await;

    assert_eq!(all["total"], 6);
    assert_eq!(ids(&all), [1, 2, 3, 4, 5, 6]);
    assert_eq!(ids(&page), [5, 6]);
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["name"], "Wireless mouse");
    assert_eq!(restarted.listed("").await["total"], 6);
    drop(restarted);
    database.drop(app).await;
}

#[tokio::test]
async fn an_admin_creates_patches_and_deletes_on_postgres() {
    let Some((app, database)) = spawn_postgres_app(|_| {}).await else {
        return;
    };

    let created = app
        .create(&json!({"nom": "Lampe", "description": "Chaude", "prix": 24.9, "stock": 7}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let patched: Value = app
        .patch(id, &json!({"price_cents": 1990}))
        .await
        .json()
        .await
        .unwrap();
    let invalid = app.patch(id, &json!({"prix": 1.234})).await;
    let deleted = app.delete_as(Some(&app.admin.token), &id.to_string()).await;

    assert_eq!(
        (
            &patched["name"],
            &patched["description"],
            &patched["price_cents"],
            &patched["stock"]
        ),
        (&json!("Lampe"), &json!("Chaude"), &json!(1990), &json!(7))
    );
    assert_invalid(invalid, "prix").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(&format!("/products/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    database.drop(app).await;
}

#[tokio::test]
async fn reservations_work_the_same_on_postgres() {
    let Some((app, database)) = spawn_postgres_app(|_| {}).await else {
        return;
    };
    let lamp = app.product("Desk lamp", 2490, 10).await;
    let chair = app.product("Office chair", 12900, 3).await;
    let order = Uuid::now_v7();
    let items = json!([{"product_id": chair, "quantity": 1}, {"product_id": lamp, "quantity": 2}]);

    let reserved = app.reserve(order, items.clone()).await;
    let repeat = app.reserve(order, items).await;
    let short = app
        .reserve(
            Uuid::now_v7(),
            json!([{"product_id": chair, "quantity": 3}]),
        )
        .await;
    let unknown = app
        .reserve(Uuid::now_v7(), json!([{"product_id": 999, "quantity": 1}]))
        .await;
    let confirmed = app.confirm(order).await;
    let stock_while_confirmed = app.stock_of(lamp).await;
    let released = app.release(order).await;
    let released_again = app.release(order).await;
    let early_release = Uuid::now_v7();
    app.release(early_release).await;
    let late = app
        .reserve(early_release, json!([{"product_id": lamp, "quantity": 1}]))
        .await;

    assert_eq!(reserved.status(), StatusCode::CREATED);
    let body: Value = reserved.json().await.unwrap();
    assert_eq!(body["lines"][0]["name"], "Office chair");
    assert_eq!(body["lines"][1]["unit_price_cents"], 2490);
    assert_eq!(repeat.status(), StatusCode::OK);
    let short = assert_problem(short, StatusCode::CONFLICT, "insufficient_stock").await;
    assert_eq!(short["product_id"], chair);
    assert_eq!(short["available"], 2);
    let unknown =
        assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY, "unknown_product").await;
    assert_eq!(unknown["product_id"], 999);
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(stock_while_confirmed, 8);
    assert_eq!(released.status(), StatusCode::OK);
    assert_eq!(released_again.status(), StatusCode::OK);
    assert_eq!(late.status(), StatusCode::OK);
    assert_eq!(late.json::<Value>().await.unwrap()["status"], "released");
    assert_eq!(app.stock_of(lamp).await, 10);
    assert_eq!(app.stock_of(chair).await, 3);
    database.drop(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_never_oversell_on_postgres() {
    let Some((app, database)) = spawn_postgres_app(|_| {}).await else {
        return;
    };
    let lamp = app.product("Desk lamp", 2490, 10).await;
    let chair = app.product("Office chair", 12900, 15).await;
    let shelf = app.product("Shelf", 4900, 15).await;
    let order = Uuid::now_v7();

    let singles = join_all(
        (0..50).map(|_| app.reserve(Uuid::now_v7(), json!([{"product_id": lamp, "quantity": 1}]))),
    )
    .await;
    // Opposite line orders must not deadlock.
    let pairs = join_all((0..40).map(|index| {
        let items = if index % 2 == 0 {
            json!([{"product_id": chair, "quantity": 1}, {"product_id": shelf, "quantity": 1}])
        } else {
            json!([{"product_id": shelf, "quantity": 1}, {"product_id": chair, "quantity": 1}])
        };
        app.reserve(Uuid::now_v7(), items)
    }))
    .await;
    let repeats =
        join_all((0..20).map(|_| app.reserve(order, json!([{"product_id": lamp, "quantity": 1}]))))
            .await;

    let count = |responses: &[reqwest::Response], status: StatusCode| {
        responses
            .iter()
            .filter(|response| response.status() == status)
            .count()
    };
    assert_eq!(count(&singles, StatusCode::CREATED), 10);
    assert_eq!(count(&singles, StatusCode::CONFLICT), 40);
    assert_eq!(count(&pairs, StatusCode::CREATED), 15);
    assert_eq!(count(&pairs, StatusCode::CONFLICT), 25);
    // The lamp is sold out: every racing repeat of the one order is refused, none half-applied.
    assert_eq!(count(&repeats, StatusCode::CONFLICT), 20);
    assert_eq!(app.stock_of(lamp).await, 0);
    assert_eq!(app.stock_of(chair).await, 0);
    assert_eq!(app.stock_of(shelf).await, 0);
    database.drop(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_repeats_and_releases_count_once_on_postgres() {
    let Some((app, database)) = spawn_postgres_app(|_| {}).await else {
        return;
    };
    let lamp = app.product("Desk lamp", 2490, 10).await;
    let order = Uuid::now_v7();

    let reserves =
        join_all((0..20).map(|_| app.reserve(order, json!([{"product_id": lamp, "quantity": 3}]))))
            .await;
    let stock_reserved = app.stock_of(lamp).await;
    let releases = join_all((0..20).map(|_| app.release(order))).await;

    let created = reserves
        .iter()
        .filter(|response| response.status() == StatusCode::CREATED)
        .count();
    let repeated = reserves
        .iter()
        .filter(|response| response.status() == StatusCode::OK)
        .count();
    assert_eq!((created, repeated), (1, 19));
    assert_eq!(stock_reserved, 7);
    assert!(
        releases
            .iter()
            .all(|response| response.status() == StatusCode::OK)
    );
    assert_eq!(app.stock_of(lamp).await, 10);
    database.drop(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_configured_pool_size_bounds_the_connections_on_postgres() {
    let Some((app, database)) = spawn_postgres_app(|config| config.db_pool_size = 3).await else {
        return;
    };
    let lamp = app.product("Desk lamp", 2490, 100).await;

    let reserved = join_all(
        (0..40).map(|_| app.reserve(Uuid::now_v7(), json!([{"product_id": lamp, "quantity": 1}]))),
    )
    .await;

    assert!(
        reserved
            .iter()
            .all(|response| response.status() == StatusCode::CREATED)
    );
    // The pool keeps what it opened (idle connections live for minutes): what is open now is
    // the most it ever held.
    let connections = database.connections().await;
    assert!((1..=3).contains(&connections), "{connections} connections");
    database.drop(app).await;
}
