//! The sample catalogue a fresh shop starts with, and `--products-seed-catalogue`.

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
