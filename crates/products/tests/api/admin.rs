//! Changing the catalogue: `POST /products`, `PATCH /products/{id}`, `DELETE /products/{id}`,
//! for admins only, with every input checked.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_invalid, assert_problem, spawn_app};

#[tokio::test]
async fn an_admin_creates_a_product_with_english_fields() {
    let app = spawn_app().await;

    let response = app
        .create(&json!({
            "name": "  Desk lamp  ",
            "description": "LED, warm white",
            "price_cents": 2490,
            "stock": 7
        }))
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_i64().unwrap();
    assert!(id > 0);
    assert_eq!(location, format!("/products/{id}"));
    assert_eq!(body["name"], "Desk lamp");
    assert_eq!(body["description"], "LED, warm white");
    assert_eq!(body["price_cents"], 2490);
    assert_eq!(body["stock"], 7);
    assert_eq!(body["created_at"], body["updated_at"]);
    assert_eq!(app.product_json(id).await, body);
}

#[tokio::test]
async fn an_admin_creates_a_product_with_the_seeds_french_fields() {
    let app = spawn_app().await;

    let response = app
        .create(&json!({"nom": "Lampe", "description": "Une lampe", "prix": 12.5}))
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "Lampe");
    assert_eq!(body["description"], "Une lampe");
    assert_eq!(body["price_cents"], 1250);
    assert_eq!(body["stock"], 0);
    assert!(body.get("prix").is_none() && body.get("nom").is_none());
}

#[tokio::test]
async fn prix_converts_to_cents_exactly() {
    let app = spawn_app().await;

    // 0.29, 19.99 and 1.15 are not exact in binary floating point.
    for (prix, cents) in [
        ("0.29", 29),
        ("19.99", 1999),
        ("1.15", 115),
        ("12.50", 1250),
        ("7", 700),
        ("0", 0),
        ("1000000", 100_000_000),
    ] {
        let body = format!(r#"{{"nom": "Item", "prix": {prix}}}"#);
        let response = app
            .client
            .post(app.url("/products"))
            .bearer_auth(&app.admin.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{prix}");
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["price_cents"], cents, "{prix}");
    }
}

#[tokio::test]
async fn prix_with_three_decimals_is_422_naming_prix() {
    let app = spawn_app().await;

    let body = assert_invalid(
        app.create(&json!({"nom": "X", "prix": 12.345})).await,
        "prix",
    )
    .await;

    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2 decimals")
    );
    assert_eq!(app.listed("").await["total"], 0);
}

#[tokio::test]
async fn a_negative_prix_is_422_naming_prix() {
    let app = spawn_app().await;

    let body = assert_invalid(app.create(&json!({"nom": "X", "prix": -3.5})).await, "prix").await;

    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("negative")
    );
}

#[tokio::test]
async fn prix_as_a_string_is_422_naming_prix() {
    let app = spawn_app().await;

    assert_invalid(
        app.create(&json!({"nom": "X", "prix": "12.50"})).await,
        "prix",
    )
    .await;
    assert_invalid(app.create(&json!({"nom": "X", "prix": true})).await, "prix").await;
}

#[tokio::test]
async fn prix_over_a_million_is_422_naming_prix() {
    let app = spawn_app().await;

    assert_invalid(
        app.create(&json!({"nom": "X", "prix": 1000000.01})).await,
        "prix",
    )
    .await;
}

#[tokio::test]
async fn a_price_must_be_given_once_under_one_name() {
    let app = spawn_app().await;

    assert_invalid(app.create(&json!({"name": "X"})).await, "price_cents").await;
    assert_invalid(
        app.create(&json!({"name": "X", "price_cents": 100, "prix": 1}))
            .await,
        "prix",
    )
    .await;
}

#[tokio::test]
async fn a_name_must_be_given_once_under_one_name() {
    let app = spawn_app().await;

    assert_invalid(app.create(&json!({"price_cents": 100})).await, "name").await;
    assert_invalid(
        app.create(&json!({"name": "X", "nom": "Y", "price_cents": 100}))
            .await,
        "nom",
    )
    .await;
}

#[tokio::test]
async fn names_must_hold_one_to_two_hundred_characters_once_trimmed() {
    let app = spawn_app().await;

    for (body, field) in [
        (json!({"name": "", "price_cents": 1}), "name"),
        (json!({"name": "   ", "price_cents": 1}), "name"),
        (json!({"name": "x".repeat(201), "price_cents": 1}), "name"),
        (json!({"nom": " ", "prix": 1}), "nom"),
        (json!({"name": 42, "price_cents": 1}), "name"),
    ] {
        assert_invalid(app.create(&body).await, field).await;
    }
    let longest = app
        .create(&json!({"name": format!("  {}  ", "é".repeat(200)), "price_cents": 1}))
        .await;
    assert_eq!(longest.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn descriptions_hold_at_most_two_thousand_characters() {
    let app = spawn_app().await;

    let too_long = json!({"name": "X", "price_cents": 1, "description": "d".repeat(2001)});
    assert_invalid(app.create(&too_long).await, "description").await;
    let longest = json!({"name": "X", "price_cents": 1, "description": "d".repeat(2000)});
    assert_eq!(app.create(&longest).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn price_cents_must_be_an_integer_from_zero_to_a_hundred_million() {
    let app = spawn_app().await;

    for bad in [
        json!(-1),
        json!(100_000_001),
        json!(12.5),
        json!("1250"),
        json!(1e30),
    ] {
        let body = json!({"name": "X", "price_cents": bad});
        assert_invalid(app.create(&body).await, "price_cents").await;
    }
    for good in [0, 100_000_000] {
        let body = json!({"name": "X", "price_cents": good});
        assert_eq!(app.create(&body).await.status(), StatusCode::CREATED);
    }
}

#[tokio::test]
async fn stock_must_be_an_integer_from_zero_to_a_million() {
    let app = spawn_app().await;

    for bad in [json!(-1), json!(1_000_001), json!(2.5), json!("3")] {
        let body = json!({"name": "X", "price_cents": 1, "stock": bad});
        assert_invalid(app.create(&body).await, "stock").await;
    }
    let body = json!({"name": "X", "price_cents": 1, "stock": 1_000_000});
    assert_eq!(app.create(&body).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_admin_gives_a_product_a_category_and_a_picture() {
    let app = spawn_app().await;

    let response = app
        .create(&json!({
            "name": "Desk lamp",
            "price_cents": 2490,
            "category": " Home-Office ",
            "image": "/ui/images/products/lamp.svg"
        }))
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["category"], "home-office");
    assert_eq!(body["image"], "/ui/images/products/lamp.svg");
    assert_eq!(app.product_json(body["id"].as_i64().unwrap()).await, body);
    let listed = app.listed("?category=home-office").await;
    assert_eq!(listed["items"][0], body);
}

#[tokio::test]
async fn a_product_created_without_category_or_picture_has_neither() {
    let app = spawn_app().await;

    for body in [
        json!({"name": "Mug", "price_cents": 900}),
        json!({"name": "Mug", "price_cents": 900, "category": null, "image": null}),
        json!({"name": "Mug", "price_cents": 900, "category": "", "image": " "}),
    ] {
        let response = app.create(&body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["category"], Value::Null, "{body}");
        assert_eq!(created["image"], Value::Null, "{body}");
    }
}

#[tokio::test]
async fn categories_must_be_slugs_of_at_most_forty_characters() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 2490, 7).await;
    let before = app.product_json(id).await;

    for bad in [
        json!("home office"),
        json!("home--office"),
        json!("-audio"),
        json!("audio-"),
        json!("a_b"),
        json!("café"),
        json!("<script>"),
        json!("a/b"),
        json!("a".repeat(41)),
        json!(42),
        json!(["audio"]),
    ] {
        let body = json!({"name": "X", "price_cents": 1, "category": bad});
        assert_invalid(app.create(&body).await, "category").await;
        assert_invalid(app.patch(id, &json!({"category": bad})).await, "category").await;
    }
    assert_eq!(app.product_json(id).await, before);
    let longest = json!({"name": "X", "price_cents": 1, "category": "a".repeat(40)});
    assert_eq!(app.create(&longest).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn pictures_must_be_paths_of_images_the_shop_ships() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 2490, 7).await;
    let before = app.product_json(id).await;

    for bad in [
        "https://example.com/lamp.svg",
        "//example.com/ui/images/lamp.svg",
        "javascript:alert(1)",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "/ui/images/../js/app.js",
        "/ui/images/products/%2e%2e/lamp.svg",
        "/ui/images/lamp.svg?v=2",
        "/ui/images/lamp.html",
        "/ui/images/Lamp.svg",
        "/ui/js/app.js",
        "images/products/lamp.svg",
        "/products/1",
    ] {
        let body = json!({"name": "X", "price_cents": 1, "image": bad});
        assert_invalid(app.create(&body).await, "image").await;
        assert_invalid(app.patch(id, &json!({"image": bad})).await, "image").await;
    }
    let long = format!("/ui/images/{}.svg", "a".repeat(186));
    assert_invalid(app.patch(id, &json!({"image": long})).await, "image").await;
    assert_eq!(app.product_json(id).await, before);
}

#[tokio::test]
async fn a_patch_sets_or_clears_a_category_and_a_picture_and_ignores_nulls() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 2490, 7).await;

    let set: Value = app
        .patch(
            id,
            &json!({"category": "lighting", "image": "/ui/images/products/lamp.svg"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let untouched: Value = app
        .patch(id, &json!({"category": null, "image": null, "stock": 3}))
        .await
        .json()
        .await
        .unwrap();
    let recategorised: Value = app
        .patch(id, &json!({"category": "furniture"}))
        .await
        .json()
        .await
        .unwrap();
    let cleared: Value = app
        .patch(id, &json!({"category": "", "image": ""}))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        (&set["category"], &set["image"]),
        (&json!("lighting"), &json!("/ui/images/products/lamp.svg"))
    );
    assert_eq!(
        (
            &untouched["category"],
            &untouched["image"],
            &untouched["stock"]
        ),
        (
            &json!("lighting"),
            &json!("/ui/images/products/lamp.svg"),
            &json!(3)
        )
    );
    assert_eq!(
        (&recategorised["category"], &recategorised["image"]),
        (&json!("furniture"), &json!("/ui/images/products/lamp.svg"))
    );
    assert_eq!(
        (&cleared["category"], &cleared["image"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(cleared["name"], "Lamp");
    assert!(
        app.listed("?category=furniture").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    let app = spawn_app().await;

    let response = app
        .create(&json!({"name": "X", "price_cents": 1, "colour": "red"}))
        .await;

    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(app.url("/products"))
        .bearer_auth(&app.admin.token)
        .header("content-type", "application/json")
        .body(r#"{"name": "X", "#)
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn changing_the_catalogue_without_a_token_is_401() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 100, 1).await;
    let body = json!({"name": "X", "price_cents": 1});

    for response in [
        app.create_as(None, &body).await,
        app.patch_as(None, &id.to_string(), &body).await,
        app.delete_as(None, &id.to_string()).await,
    ] {
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
    }
    assert_problem(
        app.create_as(Some("not-a-jwt"), &body).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert_eq!(app.listed("").await["total"], 1);
}

#[tokio::test]
async fn customers_may_not_change_the_catalogue() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 100, 1).await;
    let token = Some(app.customer.token.as_str());
    let body = json!({"name": "X", "price_cents": 1});

    for response in [
        app.create_as(token, &body).await,
        // Refused before the body is looked at.
        app.create_as(token, &json!({"nonsense": true})).await,
        app.patch_as(token, &id.to_string(), &json!({"stock": 0}))
            .await,
        app.delete_as(token, &id.to_string()).await,
    ] {
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(app.listed("").await["total"], 1);
    assert_eq!(app.stock_of(id).await, 1);
}

#[tokio::test]
async fn a_patch_changes_only_the_given_fields() {
    let app = spawn_app().await;
    let created: Value = app
        .create(&json!({"name": "Lamp", "description": "Warm", "price_cents": 2490, "stock": 7}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let response = app.patch(id, &json!({"price_cents": 1990})).await;

    assert_eq!(response.status(), StatusCode::OK);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["price_cents"], 1990);
    assert_eq!(patched["name"], "Lamp");
    assert_eq!(patched["description"], "Warm");
    assert_eq!(patched["stock"], 7);
    assert_eq!(patched["created_at"], created["created_at"]);
    assert_ne!(patched["updated_at"], created["updated_at"]);
    assert_eq!(app.product_json(id).await, patched);
}

#[tokio::test]
async fn a_patch_takes_every_field_in_english_or_french() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 2490, 7).await;

    let english: Value = app
        .patch(
            id,
            &json!({"name": " Big lamp ", "description": "Tall", "price_cents": 5000, "stock": 3}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &english["name"],
            &english["description"],
            &english["price_cents"],
            &english["stock"]
        ),
        (&json!("Big lamp"), &json!("Tall"), &json!(5000), &json!(3))
    );

    let french: Value = app
        .patch(id, &json!({"nom": "Lampe", "prix": 19.99}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(french["name"], "Lampe");
    assert_eq!(french["price_cents"], 1999);
    assert_eq!(french["description"], "Tall");
}

#[tokio::test]
async fn a_patch_clears_a_description_with_an_empty_string_and_ignores_nulls() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 2490, 7).await;
    app.patch(id, &json!({"description": "Warm"})).await;

    let unchanged: Value = app
        .patch(id, &json!({"description": null, "name": null}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["description"], "Warm");
    assert_eq!(unchanged["name"], "Lamp");

    let cleared: Value = app
        .patch(id, &json!({"description": ""}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["description"], "");
}

#[tokio::test]
async fn an_empty_patch_changes_nothing() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 2490, 7).await;
    let before = app.product_json(id).await;

    let response = app.patch(id, &json!({})).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), before);
}

#[tokio::test]
async fn a_patch_checks_every_field_and_changes_nothing_when_one_is_bad() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 2490, 7).await;
    let before = app.product_json(id).await;

    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"nom": "x".repeat(201)}), "nom"),
        (json!({"description": "d".repeat(2001)}), "description"),
        (json!({"price_cents": -1}), "price_cents"),
        (json!({"prix": 1.234}), "prix"),
        (json!({"prix": -1}), "prix"),
        (json!({"prix": "1.23"}), "prix"),
        (json!({"price_cents": 1, "prix": 1}), "prix"),
        (json!({"stock": -1}), "stock"),
        (json!({"stock": 1_000_001}), "stock"),
        (json!({"stock": 5, "name": ""}), "name"),
    ] {
        assert_invalid(app.patch(id, &body).await, field).await;
    }
    assert_eq!(app.product_json(id).await, before);
}

#[tokio::test]
async fn patching_an_unknown_product_is_404_and_a_bad_id_422() {
    let app = spawn_app().await;

    let missing = app.patch(404, &json!({"stock": 1})).await;
    assert_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    let bad = app
        .patch_as(Some(&app.admin.token), "lamp", &json!({"stock": 1}))
        .await;
    assert_invalid(bad, "id").await;
}

#[tokio::test]
async fn an_admin_deletes_a_product() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 2490, 7).await;
    let kept = app.product("Chair", 9900, 2).await;

    let response = app.delete_as(Some(&app.admin.token), &id.to_string()).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    let gone = app.get(&format!("/products/{id}")).await;
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
    let listing = app.listed("").await;
    assert_eq!(crate::helpers::ids(&listing), [kept]);
}

#[tokio::test]
async fn deleting_twice_or_an_unknown_product_is_404() {
    let app = spawn_app().await;
    let id = app.product("Lamp", 2490, 7).await;
    let admin = Some(app.admin.token.as_str());
    app.delete_as(admin, &id.to_string()).await;

    let again = app.delete_as(admin, &id.to_string()).await;

    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;
    assert_invalid(app.delete_as(admin, "x").await, "id").await;
}

#[tokio::test]
async fn ids_of_deleted_products_are_never_reused() {
    let app = spawn_app().await;
    let first = app.product("Lamp", 2490, 7).await;
    let second = app.product("Chair", 9900, 2).await;
    app.delete_as(Some(&app.admin.token), &second.to_string())
        .await;

    let third = app.product("Desk", 19900, 1).await;

    assert!(third > second && second > first, "{first} {second} {third}");
}
