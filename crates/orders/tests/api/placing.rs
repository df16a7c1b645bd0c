//! `POST /orders`: the happy path, server-side prices, addresses, stock at products.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, assert_problem, first_field, order_body, spawn, spawn_with};

#[tokio::test]
async fn a_paid_order_answers_201_with_its_lines_priced_by_products() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 1250, 10).await;
    let mug = stack.product("Mug", 500, 5).await;
    let alice = stack.customer("alice");

    let response = stack
        .place(&alice, &order_body(&[(tea, 2), (mug, 1)]))
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/orders/{}", order["id"].as_str().unwrap())
    );
    assert_eq!(order["status"], "paid");
    assert_eq!(order["user_id"], alice.id.to_string());
    assert_eq!(order["total_cents"], 3000);
    assert_eq!(order["shipping_address"], "1 rue de la Paix, 75002 Paris");
    assert_eq!(
        order["items"],
        json!([
            {"product_id": tea, "name": "Tea", "unit_price_cents": 1250, "quantity": 2, "line_total_cents": 2500},
            {"product_id": mug, "name": "Mug", "unit_price_cents": 500, "quantity": 1, "line_total_cents": 500},
        ])
    );
    assert!(order["created_at"].as_str().unwrap().ends_with('Z'));
    let mut keys: Vec<_> = order.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "id",
            "items",
            "shipping_address",
            "status",
            "total_cents",
            "updated_at",
            "user_id"
        ]
    );
    assert_eq!(stack.stock(tea).await, 8);
    assert_eq!(stack.stock(mug).await, 4);
    let id = order["id"].as_str().unwrap();
    assert_eq!(stack.payments_of(id).await, [("approved".to_owned(), 3000)]);
    assert_eq!(stack.order(&alice, id).await, order);
}

#[tokio::test]
async fn a_client_sent_price_or_total_is_ignored() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 1250, 10).await;
    let alice = stack.customer("alice");

    let response = stack
        .place(
            &alice,
            &json!({
                "items": [{
                    "product_id": tea, "quantity": 2, "name": "Free tea",
                    "unit_price_cents": 1, "price_cents": 1, "prix": 0.01,
                    "line_total_cents": 2, "total_price": 0.02
                }],
                "total_cents": 2,
                "shipping_address": "Lyon"
            }),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["items"][0]["unit_price_cents"], 1250);
    assert_eq!(order["items"][0]["name"], "Tea");
    assert_eq!(order["total_cents"], 2500);
    let id = order["id"].as_str().unwrap();
    assert_eq!(stack.payments_of(id).await, [("approved".to_owned(), 2500)]);
}

#[tokio::test]
async fn the_seeds_french_adresse_livraison_is_accepted() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");

    let response = stack
        .place(
            &alice,
            &json!({"items": [{"product_id": tea, "quantity": 1}], "adresse_livraison": "Nantes"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["shipping_address"], "Nantes");
}

#[tokio::test]
async fn the_shipping_address_defaults_to_the_profiles_address() {
    let stack = spawn_with(Options {
        with_users: true,
        ..Options::default()
    })
    .await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack
        .profile(&alice, Some("12 quai des Chartrons, Bordeaux"))
        .await;

    let response = stack
        .place(
            &alice,
            &json!({"items": [{"product_id": tea, "quantity": 1}]}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["shipping_address"], "12 quai des Chartrons, Bordeaux");
}

#[tokio::test]
async fn without_an_address_in_the_request_or_the_profile_the_order_is_422_naming_it() {
    let stack = spawn_with(Options {
        with_users: true,
        ..Options::default()
    })
    .await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    stack.profile(&alice, None).await;
    let bob = stack.customer("bob"); // no profile at all

    for user in [&alice, &bob] {
        let response = stack
            .place(
                user,
                &json!({"items": [{"product_id": tea, "quantity": 1}]}),
            )
            .await;

        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(first_field(&problem), "shipping_address");
    }
    assert_eq!(stack.stock(tea).await, 10);
    assert_eq!(stack.orders_stored().await, 0);
}

#[tokio::test]
async fn an_order_beyond_the_stock_is_409_naming_the_product_and_stores_nothing() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let mug = stack.product("Mug", 100, 1).await;
    let alice = stack.customer("alice");

    let response = stack
        .place(&alice, &order_body(&[(tea, 3), (mug, 2)]))
        .await;

    let problem = assert_problem(response, StatusCode::CONFLICT, "insufficient_stock").await;
    assert_eq!(problem["product_id"], mug);
    assert_eq!(first_field(&problem), "items[1].product_id");
    assert_eq!(stack.stock(tea).await, 10, "all or nothing");
    assert_eq!(stack.stock(mug).await, 1);
    assert_eq!(stack.orders_stored().await, 0);
}

#[tokio::test]
async fn an_unknown_product_is_422_naming_it_and_stores_nothing() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");

    let response = stack
        .place(&alice, &order_body(&[(tea, 1), (9999, 1)]))
        .await;

    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_product",
    )
    .await;
    assert_eq!(problem["product_id"], 9999);
    assert_eq!(first_field(&problem), "items[1].product_id");
    assert_eq!(stack.stock(tea).await, 10);
    assert_eq!(stack.orders_stored().await, 0);
}

#[tokio::test]
async fn when_products_cannot_be_reached_the_order_is_503_and_nothing_is_stored() {
    let stack = spawn_with(Options {
        products_down: true,
        ..Options::default()
    })
    .await;
    let alice = stack.customer("alice");

    let response = stack.place(&alice, &order_body(&[(1, 1)])).await;

    assert!(response.headers().contains_key("retry-after"));
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert_eq!(stack.orders_stored().await, 0);
}

#[tokio::test]
async fn placing_an_order_needs_a_valid_token() {
    let stack = spawn().await;

    let response = stack
        .client
        .post(stack.url("/orders"))
        .json(&order_body(&[(1, 1)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;

    let response = stack
        .client
        .post(stack.url("/orders"))
        .bearer_auth("not.a.token")
        .json(&order_body(&[(1, 1)]))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_users_outage_without_an_address_in_the_request_is_503_and_orders_nothing() {
    let stack = spawn_with(Options {
        users_down: true,
        ..Options::default()
    })
    .await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");

    let response = stack
        .place(
            &alice,
            &json!({"items": [{"product_id": tea, "quantity": 1}]}),
        )
        .await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let problem = assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("shipping_address"),
        "{problem}"
    );
    assert_eq!(stack.stock(tea).await, 10);
    assert_eq!(stack.orders_stored().await, 0);

    // With the address in the request, users is not needed.
    let response = stack
        .place(
            &alice,
            &json!({"items": [{"product_id": tea, "quantity": 1}], "shipping_address": "Lyon"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}
