//! The seed's French field names (`marque`, `modèle`/`modele`, `année`/`annee`, `couleur`) are
//! accepted on input everywhere English ones are; answers always use the English names, and
//! errors name the field as the client spelled it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_invalid_field, assert_problem, car_path, column};

on_every_backend!(
    a_car_is_created_from_french_field_names,
    unaccented_french_names_work_for_replace_and_patch,
    errors_name_the_french_field_the_client_sent,
    a_field_sent_under_both_names_is_refused,
    listing_takes_french_filter_and_sort_names,
);

fn french() -> Value {
    json!({"marque": "Renault", "modèle": "Clio", "année": 2019, "couleur": "rouge"})
}

async fn a_car_is_created_from_french_field_names(app: TestApp) {
    let alice = app.customer("alice");

    let car = app.create_car(&alice, &french()).await;

    assert_eq!(
        (&car["brand"], &car["model"], &car["year"], &car["color"]),
        (
            &json!("Renault"),
            &json!("Clio"),
            &json!(2019),
            &json!("rouge")
        )
    );
    for french_name in ["marque", "modèle", "année", "couleur"] {
        assert!(car.get(french_name).is_none(), "{car}");
    }
    assert_eq!(app.read_car(&alice, &car["id"]).await, car);
}

async fn unaccented_french_names_work_for_replace_and_patch(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &french()).await;
    let path = car_path(&car["id"]);

    let replaced: Value = app
        .put(
            &path,
            &alice,
            &json!({"marque": "Peugeot", "modele": "308", "annee": 2015, "couleur": "noir"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let patched: Value = app
        .patch(
            &path,
            &alice,
            &json!({"modèle": "3008", "année": 2016, "couleur": "blanc"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let mixed: Value = app
        .patch(&path, &alice, &json!({"marque": "Citroën", "year": 2017}))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        (
            &replaced["brand"],
            &replaced["model"],
            &replaced["year"],
            &replaced["color"]
        ),
        (
            &json!("Peugeot"),
            &json!("308"),
            &json!(2015),
            &json!("noir")
        )
    );
    assert_eq!(
        (
            &patched["brand"],
            &patched["model"],
            &patched["year"],
            &patched["color"]
        ),
        (
            &json!("Peugeot"),
            &json!("3008"),
            &json!(2016),
            &json!("blanc")
        )
    );
    assert_eq!(
        (&mixed["brand"], &mixed["year"]),
        (&json!("Citroën"), &json!(2017))
    );
    assert_eq!(app.read_car(&alice, &car["id"]).await, mixed);
}

async fn errors_name_the_french_field_the_client_sent(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &french()).await;
    let path = car_path(&car["id"]);
    let cases = [
        ("marque", json!("  ")),
        ("modèle", json!(308)),
        ("modele", json!("x".repeat(65))),
        ("année", json!(1800)),
        ("annee", json!("2019")),
        ("couleur", json!(null)),
    ];

    for (name, value) in cases {
        let mut body = french();
        let object = body.as_object_mut().unwrap();
        object.retain(|key, _| {
            let same_field = (key.starts_with("mod") && name.starts_with("mod"))
                || (key.starts_with("ann") && name.starts_with("ann"));
            !same_field
        });
        object.insert(name.to_owned(), value.clone());
        assert_invalid_field(app.post("/cars", &alice, &body).await, name).await;
        assert_invalid_field(app.put(&path, &alice, &body).await, name).await;
        assert_invalid_field(
            app.patch(&path, &alice, &json!({ name: value })).await,
            name,
        )
        .await;
    }
    assert_eq!(app.read_car(&alice, &car["id"]).await, car);
}

async fn a_field_sent_under_both_names_is_refused(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &french()).await;

    let mut both = french();
    both["brand"] = json!("Peugeot");
    let post = app.post("/cars", &alice, &both).await;
    let patch = app
        .patch(
            &car_path(&car["id"]),
            &alice,
            &json!({"year": 2001, "annee": 2002}),
        )
        .await;

    assert_problem(post, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_problem(patch, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(app.read_car(&alice, &car["id"]).await, car);
    assert_eq!(app.list(&alice, "").await["total"], 1);
}

async fn listing_takes_french_filter_and_sort_names(app: TestApp) {
    let alice = app.customer("alice");
    for (brand, year, color) in [
        ("Renault", 2019, "rouge"),
        ("Renault", 2012, "rouge"),
        ("Renault", 2015, "bleu"),
        ("Peugeot", 2019, "rouge"),
    ] {
        app.create_car(
            &alice,
            &json!({"marque": brand, "modele": "X", "annee": year, "couleur": color}),
        )
        .await;
    }

    let page = app
        .list(&alice, "?marque=renault&couleur=ROUGE&sort=-ann%C3%A9e")
        .await;
    let by_year = app.list(&alice, "?annee=2019&sort=marque").await;
    let by_model = app.list(&alice, "?mod%C3%A8le=x").await;

    assert_eq!(page["total"], 2);
    assert_eq!(column(&page, "year"), [json!(2019), json!(2012)]);
    assert_eq!(
        column(&by_year, "brand"),
        [json!("Peugeot"), json!("Renault")]
    );
    assert_eq!(by_model["total"], 4);
}
