//! The public catalogue: `GET /products` (pages, search, categories), `GET /products/{id}` and
//! `GET /products/categories`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_invalid, assert_problem, ids, spawn_app};

#[tokio::test]
async fn anyone_lists_the_catalogue_without_a_token() {
    let app = spawn_app().await;
    let lamp = app.product("Desk lamp", 2490, 7).await;

    let listing = app.listed("").await;

    assert_eq!(listing["total"], 1);
    assert_eq!(listing["limit"], 20);
    assert_eq!(listing["offset"], 0);
    let item = &listing["items"][0];
    assert_eq!(item["id"], lamp);
    assert_eq!(item["name"], "Desk lamp");
    assert_eq!(item["description"], "");
    assert_eq!(item["category"], Value::Null);
    assert_eq!(item["image"], Value::Null);
    assert_eq!(item["price_cents"], 2490);
    assert_eq!(item["stock"], 7);
    assert!(item["created_at"].as_str().unwrap().ends_with('Z'));
    let mut keys: Vec<_> = item.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "category",
            "created_at",
            "description",
            "id",
            "image",
            "name",
            "price_cents",
            "stock",
            "updated_at"
        ]
    );
}

#[tokio::test]
async fn an_empty_catalogue_lists_nothing() {
    let app = spawn_app().await;

    let listing = app.listed("").await;

    assert_eq!(listing["items"], Value::Array(vec![]));
    assert_eq!(listing["total"], 0);
}

#[tokio::test]
async fn pages_walk_the_catalogue_in_id_order_with_the_full_total() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for index in 0..5 {
        created.push(app.product(&format!("Item {index}"), 100, 1).await);
    }

    let first = app.listed("?limit=2").await;
    let second = app.listed("?limit=2&offset=2").await;
    let last = app.listed("?limit=2&offset=4").await;
    let beyond = app.listed("?limit=2&offset=10").await;

    assert_eq!(ids(&first), created[0..2]);
    assert_eq!(ids(&second), created[2..4]);
    assert_eq!(ids(&last), created[4..5]);
    assert!(ids(&beyond).is_empty());
    for page in [&first, &second, &last, &beyond] {
        assert_eq!(page["total"], 5);
        assert_eq!(page["limit"], 2);
    }
    assert_eq!(second["offset"], 2);
}

#[tokio::test]
async fn a_limit_of_a_hundred_is_the_most_a_page_holds() {
    let app = spawn_app().await;
    app.product("Only", 100, 1).await;

    assert_eq!(app.listed("?limit=100").await["limit"], 100);
    assert_eq!(app.listed("?limit=1").await["limit"], 1);
}

#[tokio::test]
async fn bad_page_parameters_are_422_naming_the_parameter() {
    let app = spawn_app().await;

    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=-5", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=2.5", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=first", "offset"),
    ] {
        assert_invalid(app.list(query).await, field).await;
    }
}

#[tokio::test]
async fn search_finds_names_containing_the_term_ignoring_case() {
    let app = spawn_app().await;
    let lamp = app.product("Desk LAMP", 2490, 7).await;
    let _chair = app.product("Office chair", 12900, 3).await;
    let lampshade = app.product("Lampshade", 990, 12).await;

    let found = app.listed("?q=lamp").await;

    assert_eq!(ids(&found), [lamp, lampshade]);
    assert_eq!(found["total"], 2);
    assert_eq!(ids(&app.listed("?q=LAMPS").await), [lampshade]);
    assert_eq!(ids(&app.listed("?q=%20chair%20").await).len(), 1);
    assert!(ids(&app.listed("?q=sofa").await).is_empty());
}

#[tokio::test]
async fn search_matches_non_ascii_names_ignoring_case() {
    let app = spawn_app().await;
    let screen = app.product("Écran incurvé", 19900, 4).await;

    assert_eq!(ids(&app.listed("?q=%C3%A9CRAN").await), [screen]);
}

#[tokio::test]
async fn search_takes_wildcard_characters_literally() {
    let app = spawn_app().await;
    let sale = app.product("Mug 100% ceramic", 900, 10).await;
    app.product("Mug 1000 ml", 1200, 10).await;
    app.product("Tea_pot", 2500, 10).await;

    assert_eq!(ids(&app.listed("?q=100%25").await), [sale]);
    assert!(ids(&app.listed("?q=g_1").await).is_empty());
    assert_eq!(ids(&app.listed("?q=_").await).len(), 1);
}

#[tokio::test]
async fn search_pages_and_counts_only_the_matches() {
    let app = spawn_app().await;
    let mut cables = Vec::new();
    for index in 0..3 {
        cables.push(app.product(&format!("Cable {index}"), 500, 1).await);
        app.product(&format!("Plug {index}"), 500, 1).await;
    }

    let page = app.listed("?q=cable&limit=2&offset=1").await;

    assert_eq!(ids(&page), cables[1..3]);
    assert_eq!(page["total"], 3);
}

#[tokio::test]
async fn a_blank_search_lists_everything() {
    let app = spawn_app().await;
    app.product("A", 1, 1).await;
    app.product("B", 1, 1).await;

    assert_eq!(app.listed("?q=").await["total"], 2);
    assert_eq!(app.listed("?q=%20%20").await["total"], 2);
}

#[tokio::test]
async fn an_overlong_search_is_422_naming_q() {
    let app = spawn_app().await;

    assert_invalid(app.list(&format!("?q={}", "a".repeat(201))).await, "q").await;
}

#[tokio::test]
async fn a_category_lists_only_its_products_paged_and_counted() {
    let app = spawn_app().await;
    let mut lamps = Vec::new();
    for index in 0..3 {
        lamps.push(app.product_in("lighting", &format!("Lamp {index}")).await);
        app.product_in("furniture", &format!("Chair {index}")).await;
    }
    app.product("Lamp without a category", 100, 1).await;

    let all = app.listed("?category=lighting").await;
    let page = app.listed("?category=lighting&limit=2&offset=1").await;

    assert_eq!(ids(&all), lamps);
    assert_eq!(all["total"], 3);
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["category"] == "lighting")
    );
    assert_eq!(ids(&page), lamps[1..3]);
    assert_eq!(page["total"], 3);
    assert_eq!(app.listed("").await["total"], 7);
}

#[tokio::test]
async fn a_category_and_a_search_narrow_the_listing_together() {
    let app = spawn_app().await;
    let desk_lamp = app.product_in("lighting", "Desk lamp").await;
    app.product_in("lighting", "Ceiling light").await;
    app.product_in("furniture", "Lamp table").await;

    let found = app.listed("?category=lighting&q=LAMP").await;

    assert_eq!(ids(&found), [desk_lamp]);
    assert_eq!(found["total"], 1);
}

#[tokio::test]
async fn a_category_filter_ignores_case_and_blanks_and_an_unused_one_lists_nothing() {
    let app = spawn_app().await;
    let lamp = app.product_in("lighting", "Desk lamp").await;
    app.product("Mug", 100, 1).await;

    assert_eq!(ids(&app.listed("?category=Lighting").await), [lamp]);
    assert_eq!(app.listed("?category=").await["total"], 2);
    assert_eq!(app.listed("?category=%20").await["total"], 2);
    let none = app.listed("?category=garden").await;
    assert_eq!(none["items"], json!([]));
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn a_category_filter_that_is_no_slug_is_422_naming_category() {
    let app = spawn_app().await;

    for bad in [
        "home%20office",
        "a_b",
        "%27%20OR%201%3D1",
        "-audio",
        "%C3%A9crans",
    ] {
        let body = assert_invalid(app.list(&format!("?category={bad}")).await, "category").await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("letters"),
            "{body}"
        );
    }
    let long = format!("?category={}", "a".repeat(41));
    assert_invalid(app.list(&long).await, "category").await;
}

#[tokio::test]
async fn anyone_lists_the_categories_in_use_with_their_product_counts() {
    let app = spawn_app().await;
    let empty: Value = app.get("/products/categories").await.json().await.unwrap();
    app.product_in("lighting", "Desk lamp").await;
    app.product_in("furniture", "Chair").await;
    app.product_in("lighting", "Ceiling light").await;
    app.product("Mug", 100, 1).await;

    let response = app.get("/products/categories").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(empty, json!({"items": []}));
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"items": [
            {"name": "furniture", "products": 1},
            {"name": "lighting", "products": 2},
        ]})
    );
}

#[tokio::test]
async fn anyone_gets_a_product_by_id() {
    let app = spawn_app().await;
    let id = app.product("Desk lamp", 2490, 7).await;

    let product = app.product_json(id).await;

    assert_eq!(product["id"], id);
    assert_eq!(product["name"], "Desk lamp");
    assert_eq!(product["price_cents"], 2490);
}

#[tokio::test]
async fn an_unknown_product_is_404() {
    let app = spawn_app().await;

    for id in ["999", "0", "-1", "99999999999999999999999"] {
        let response = app.get(&format!("/products/{id}")).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn a_product_id_that_is_not_an_integer_is_422_never_500() {
    let app = spawn_app().await;

    for id in ["abc", "1.5", "1e3", "%20", "0x1"] {
        let response = app.get(&format!("/products/{id}")).await;
        assert_invalid(response, "id").await;
    }
}
