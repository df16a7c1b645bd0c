//! The sample catalogue a fresh shop starts with, and `--products-seed-catalogue`.

use serde_json::{Value, json};

use crate::helpers::{ids, spawn_app, spawn_app_with, spawn_seeded_app};

#[tokio::test]
async fn a_first_start_seeds_a_catalogue_with_stock() {
    let app = spawn_seeded_app().await;

    let listing = app.listed("").await;

    assert_eq!(listing["total"], 6);
    for item in listing["items"].as_array().unwrap() {
        assert!(!item["name"].as_str().unwrap().is_empty(), "{item}");
        assert!(!item["description"].as_str().unwrap().is_empty(), "{item}");
        assert!(item["price_cents"].as_i64().unwrap() > 0, "{item}");
        assert!(item["stock"].as_i64().unwrap() >= 50, "{item}");
        assert!(!item["category"].as_str().unwrap().is_empty(), "{item}");
        let image = item["image"].as_str().unwrap();
        assert!(image.starts_with("/ui/images/products/"), "{item}");
    }
    // The seeds' order flow names product 1.
    assert_eq!(ids(&listing)[0], 1);
    assert_eq!(app.product_json(1).await["name"], "Mechanical keyboard");
}

#[tokio::test]
async fn seeding_can_be_turned_off() {
    let app = spawn_app_with(|config| config.seed_catalogue = false).await;

    assert_eq!(app.listed("").await["total"], 0);
}

#[tokio::test]
async fn a_restart_does_not_seed_again() {
    let app = spawn_seeded_app().await;

    let restarted = app.restart_with(|_| {}).await;

    assert_eq!(restarted.listed("").await["total"], 6);
}

#[tokio::test]
async fn a_catalogue_the_admin_emptied_stays_empty_after_a_restart() {
    let app = spawn_seeded_app().await;
    for id in ids(&app.listed("").await) {
        app.delete_as(Some(&app.admin.token), &id.to_string()).await;
    }

    let restarted = app.restart_with(|_| {}).await;

    assert_eq!(restarted.listed("").await["total"], 0);
}

#[tokio::test]
async fn a_database_started_unseeded_is_seeded_when_seeding_is_turned_on_while_empty() {
    let app = spawn_app().await;

    let restarted = app
        .restart_with(|config| config.seed_catalogue = true)
        .await;

    assert_eq!(restarted.listed("").await["total"], 6);
}

#[tokio::test]
async fn seeding_never_adds_samples_to_a_catalogue_that_has_products() {
    let app = spawn_app().await;
    let own = app.product("Our own product", 100, 1).await;

    let restarted = app
        .restart_with(|config| config.seed_catalogue = true)
        .await;

    assert_eq!(ids(&restarted.listed("").await), [own]);
}

#[tokio::test]
async fn the_samples_fall_into_categories_the_shop_can_filter_by() {
    let app = spawn_seeded_app().await;

    let categories: Value = app.get("/products/categories").await.json().await.unwrap();
    let audio = app.listed("?category=audio").await;

    assert_eq!(
        categories,
        json!({"items": [
            {"name": "accessories", "products": 2},
            {"name": "audio", "products": 1},
            {"name": "displays", "products": 1},
            {"name": "peripherals", "products": 2},
        ]})
    );
    assert_eq!(audio["items"][0]["name"], "Noise-cancelling headphones");
}

#[tokio::test]
async fn samples_seeded_before_categories_existed_get_theirs_when_the_schema_is_upgraded() {
    let app = spawn_seeded_app().await;
    let renamed = app
        .patch(2, &json!({"name": "Our own mouse"}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    // The database as the release before categories and images left it: neither column, and
    // the migration that adds them not yet applied.
    let db = app.db().await;
    for statement in [
        "DROP INDEX products_category_id_idx",
        "ALTER TABLE products DROP COLUMN category",
        "ALTER TABLE products DROP COLUMN image",
        "DELETE FROM _sqlx_migrations WHERE version = 2",
    ] {
        sqlx::query(statement).execute(&db).await.unwrap();
    }
    db.close().await;

    let restarted = app.restart_with(|_| {}).await;

    let keyboard = restarted.product_json(1).await;
    assert_eq!(keyboard["category"], "peripherals");
    assert_eq!(keyboard["image"], "/ui/images/products/keyboard.svg");
    assert_eq!(restarted.product_json(5).await["category"], "audio");
    // A sample an admin renamed is the admin's own product now.
    let mouse = restarted.product_json(2).await;
    assert_eq!(mouse["name"], renamed["name"]);
    assert_eq!(
        (&mouse["category"], &mouse["image"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(restarted.listed("?category=peripherals").await["total"], 1);
}
