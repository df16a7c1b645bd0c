//! A customer sees and changes only the cars they created; another user's car answers 404 as
//! if it did not exist. An admin sees and changes every car, and the creator stays the owner.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_not_found, car_path, column, peugeot};

on_every_backend!(
    a_customer_gets_404_for_another_users_car_on_every_route,
    a_customers_listing_shows_only_their_own_cars,
    an_admin_lists_every_car_and_filters_across_owners,
    an_admin_reads_replaces_patches_and_deletes_any_car,
    a_car_an_admin_creates_is_the_admins,
);

async fn a_customer_gets_404_for_another_users_car_on_every_route(app: TestApp) {
    let alice = app.customer("alice");
    let mallory = app.customer("mallory");
    let car = app.create_car(&alice, &peugeot()).await;
    let path = car_path(&car["id"]);

    assert_not_found(app.get(&path, &mallory).await).await;
    assert_not_found(
        app.put(
            &path,
            &mallory,
            &json!({"brand": "Stolen", "model": "X", "year": 2020, "color": "noir"}),
        )
        .await,
    )
    .await;
    assert_not_found(app.patch(&path, &mallory, &json!({"color": "noir"})).await).await;
    assert_not_found(app.patch(&path, &mallory, &json!({})).await).await;
    assert_not_found(app.delete(&path, &mallory).await).await;

    assert_eq!(app.read_car(&alice, &car["id"]).await, car);
}

async fn a_customers_listing_shows_only_their_own_cars(app: TestApp) {
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    let alices = app.create_car(&alice, &peugeot()).await;
    let bobs = app.create_car(&bob, &peugeot()).await;
    app.create_car(
        &bob,
        &json!({"brand": "Renault", "model": "Clio", "year": 2019, "color": "rouge"}),
    )
    .await;

    let for_alice = app.list(&alice, "").await;
    let for_bob = app.list(&bob, "?brand=peugeot").await;
    let stranger = app.list(&app.customer("carol"), "").await;

    assert_eq!(for_alice["total"], 1);
    assert_eq!(column(&for_alice, "id"), [alices["id"].clone()]);
    assert_eq!(for_bob["total"], 1);
    assert_eq!(column(&for_bob, "id"), [bobs["id"].clone()]);
    assert_eq!(stranger["total"], 0);
    assert_eq!(stranger["items"], json!([]));
}

async fn an_admin_lists_every_car_and_filters_across_owners(app: TestApp) {
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    let first = app.create_car(&alice, &peugeot()).await;
    let second = app.create_car(&bob, &peugeot()).await;
    app.create_car(
        &bob,
        &json!({"brand": "Renault", "model": "Clio", "year": 2019, "color": "rouge"}),
    )
    .await;

    let all = app.list(&app.admin, "").await;
    let peugeots = app.list(&app.admin, "?brand=PEUGEOT").await;

    assert_eq!(all["total"], 3);
    assert_eq!(
        column(&all, "owner_id"),
        [
            json!(alice.id.to_string()),
            json!(bob.id.to_string()),
            json!(bob.id.to_string())
        ]
    );
    assert_eq!(
        column(&peugeots, "id"),
        [first["id"].clone(), second["id"].clone()]
    );
}

async fn an_admin_reads_replaces_patches_and_deletes_any_car(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    let path = car_path(&car["id"]);

    let read = app.read_car(&app.admin, &car["id"]).await;
    let replaced = app
        .put(
            &path,
            &app.admin,
            &json!({"brand": "Renault", "model": "Clio", "year": 2018, "color": "gris"}),
        )
        .await;
    let patched = app
        .patch(&path, &app.admin, &json!({"color": "noir"}))
        .await;

    assert_eq!(read, car);
    assert_eq!(replaced.status(), StatusCode::OK);
    assert_eq!(patched.status(), StatusCode::OK);
    let now = app.read_car(&alice, &car["id"]).await;
    assert_eq!(
        (&now["brand"], &now["color"], &now["owner_id"]),
        (
            &json!("Renault"),
            &json!("noir"),
            &json!(alice.id.to_string())
        )
    );
    assert_eq!(
        app.delete(&path, &app.admin).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_not_found(app.get(&path, &alice).await).await;
}

async fn a_car_an_admin_creates_is_the_admins(app: TestApp) {
    let alice = app.customer("alice");

    let car = app.create_car(&app.admin, &peugeot()).await;

    assert_eq!(car["owner_id"], app.admin.id.to_string());
    assert_not_found(app.get(&car_path(&car["id"]), &alice).await).await;
    assert_eq!(app.list(&alice, "").await["total"], 0);
}
