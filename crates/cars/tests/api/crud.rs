//! Creating, reading, replacing, patching and deleting one's own cars.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::{TestApp, assert_not_found, car_path, peugeot};

on_every_backend!(
    a_created_car_answers_201_with_its_location_and_owner,
    a_created_car_is_read_back_as_stored,
    text_fields_are_stored_trimmed,
    put_replaces_every_field_and_keeps_identity,
    patch_changes_only_the_fields_sent,
    an_empty_patch_changes_nothing,
    delete_answers_204_and_the_car_is_gone,
    unknown_and_malformed_ids_answer_404,
    cars_survive_a_restart_of_the_service,
);

fn timestamp(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a timestamp string"), &Rfc3339)
        .expect("timestamps are RFC 3339")
}

async fn a_created_car_answers_201_with_its_location_and_owner(app: TestApp) {
    let alice = app.customer("alice");

    let response = app.post("/cars", &alice, &peugeot()).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let car: Value = response.json().await.unwrap();
    assert_eq!(location, car_path(&car["id"]));
    let id = uuid::Uuid::parse_str(car["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7, "ids are UUIDv7");
    assert_eq!(car["owner_id"], alice.id.to_string());
    assert_eq!(
        (&car["brand"], &car["model"], &car["year"], &car["color"]),
        (
            &json!("Peugeot"),
            &json!("208"),
            &json!(2020),
            &json!("bleu")
        )
    );
    assert_eq!(car["created_at"], car["updated_at"]);
    let age = OffsetDateTime::now_utc() - timestamp(&car["created_at"]);
    assert!(age.whole_seconds().abs() < 60, "created_at is now: {car}");
    let mut keys: Vec<_> = car.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "brand",
            "color",
            "created_at",
            "id",
            "model",
            "owner_id",
            "updated_at",
            "year"
        ]
    );
}

async fn a_created_car_is_read_back_as_stored(app: TestApp) {
    let alice = app.customer("alice");
    let created = app.create_car(&alice, &peugeot()).await;

    let read = app.read_car(&alice, &created["id"]).await;

    assert_eq!(read, created);
}

async fn text_fields_are_stored_trimmed(app: TestApp) {
    let alice = app.customer("alice");

    let car = app
        .create_car(
            &alice,
            &json!({"brand": "  Citroën ", "model": "\tC3", "year": 2019, "color": "rouge \n"}),
        )
        .await;

    let read = app.read_car(&alice, &car["id"]).await;
    assert_eq!(
        (&read["brand"], &read["model"], &read["color"]),
        (&json!("Citroën"), &json!("C3"), &json!("rouge"))
    );
}

async fn put_replaces_every_field_and_keeps_identity(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let response = app
        .put(
            &car_path(&car["id"]),
            &alice,
            &json!({"brand": "Renault", "model": "Clio", "year": 2018, "color": "gris"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(
        (
            &replaced["brand"],
            &replaced["model"],
            &replaced["year"],
            &replaced["color"]
        ),
        (
            &json!("Renault"),
            &json!("Clio"),
            &json!(2018),
            &json!("gris")
        )
    );
    assert_eq!(replaced["id"], car["id"]);
    assert_eq!(replaced["owner_id"], car["owner_id"]);
    assert_eq!(replaced["created_at"], car["created_at"]);
    assert!(timestamp(&replaced["updated_at"]) > timestamp(&car["updated_at"]));
    assert_eq!(app.read_car(&alice, &car["id"]).await, replaced);
}

async fn patch_changes_only_the_fields_sent(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let response = app
        .patch(
            &car_path(&car["id"]),
            &alice,
            &json!({"color": "vert", "year": 2021}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(
        (
            &patched["brand"],
            &patched["model"],
            &patched["year"],
            &patched["color"]
        ),
        (
            &json!("Peugeot"),
            &json!("208"),
            &json!(2021),
            &json!("vert")
        )
    );
    assert_eq!(patched["created_at"], car["created_at"]);
    assert!(timestamp(&patched["updated_at"]) > timestamp(&car["updated_at"]));
    assert_eq!(app.read_car(&alice, &car["id"]).await, patched);
}

async fn an_empty_patch_changes_nothing(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;

    let response = app.patch(&car_path(&car["id"]), &alice, &json!({})).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), car);
}

async fn delete_answers_204_and_the_car_is_gone(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    let kept = app.create_car(&alice, &peugeot()).await;
    let path = car_path(&car["id"]);

    let response = app.delete(&path, &alice).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_not_found(app.get(&path, &alice).await).await;
    assert_not_found(app.delete(&path, &alice).await).await;
    assert_not_found(app.patch(&path, &alice, &json!({"color": "noir"})).await).await;
    assert_not_found(app.put(&path, &alice, &peugeot()).await).await;
    let listed = app.list(&alice, "").await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["id"], kept["id"]);
}

async fn unknown_and_malformed_ids_answer_404(app: TestApp) {
    let alice = app.customer("alice");
    let unknown = format!("/cars/{}", uuid::Uuid::now_v7());

    for path in [unknown.as_str(), "/cars/not-a-uuid", "/cars/42"] {
        assert_not_found(app.get(path, &alice).await).await;
        assert_not_found(app.put(path, &alice, &peugeot()).await).await;
        assert_not_found(app.patch(path, &alice, &json!({"year": 2001})).await).await;
        assert_not_found(app.delete(path, &alice).await).await;
    }
}

async fn cars_survive_a_restart_of_the_service(app: TestApp) {
    // What a restart cannot lose is what storage holds: a fresh service over the same database
    // (the same file for SQLite, the same URL for PostgreSQL) must see the car.
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    let config = cars::Config {
        database_url: app.database_url.clone(),
        ..cars::Config::default()
    };
    let env = platform::ServiceEnv {
        data_dir: app.data_dir(),
        embedded: true,
    };
    let (wiring, _bus) = test_support::wiring(&app.keys);

    let router = cars::app(&config, &env, &wiring).await.unwrap();
    let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
    let running =
        platform::server::spawn("cars", listener, router, wiring.shutdown.clone()).unwrap();
    let response = app
        .client
        .get(format!("http://{}{}", running.addr, car_path(&car["id"])))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), car);
    wiring.shutdown.cancel();
}
