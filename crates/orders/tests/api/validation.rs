//! Bad order requests: refused naming the field, before any stock moves or anything is stored.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, first_field, order_body, spawn};

#[tokio::test]
async fn bad_quantities_are_refused_naming_the_field_and_leave_stock_unchanged() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");

    for quantity in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!("2"),
        json!(10001),
        json!(1001),
        json!(null),
        json!(1e30),
    ] {
        let body = json!({
            "items": [{"product_id": tea, "quantity": 1}, {"product_id": tea + 1, "quantity": quantity}],
            "shipping_address": "Lyon",
        });
        let response = stack.place(&alice, &body).await;

        let status = response.status();
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{quantity}: {status}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            first_field(&problem),
            "items[1].quantity",
            "{quantity}: {problem}"
        );
    }
    let missing = json!({"items": [{"product_id": tea}], "shipping_address": "Lyon"});
    let problem = assert_problem(
        stack.place(&alice, &missing).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(first_field(&problem), "items[0].quantity");

    assert_eq!(stack.stock(tea).await, 10);
    assert_eq!(stack.orders_stored().await, 0);
}

#[tokio::test]
async fn bad_product_ids_are_refused_naming_the_field() {
    let stack = spawn().await;
    let alice = stack.customer("alice");

    for product_id in [json!(0), json!(-3), json!("1"), json!(2.5), json!(null)] {
        let body = json!({"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": "Lyon"});
        let response = stack.place(&alice, &body).await;

        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{product_id}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(first_field(&problem), "items[0].product_id", "{product_id}");
    }
}

#[tokio::test]
async fn an_order_has_one_to_a_hundred_lines_each_product_once() {
    let stack = spawn().await;
    let alice = stack.customer("alice");
    let too_many: Vec<Value> = (1..=101)
        .map(|id| json!({"product_id": id, "quantity": 1}))
        .collect();

    for (items, field) in [
        (json!([]), "items"),
        (Value::Array(too_many), "items"),
        (
            json!([{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": 2}]),
            "items[1].product_id",
        ),
    ] {
        let body = json!({"items": items, "shipping_address": "Lyon"});
        let problem = assert_problem(
            stack.place(&alice, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(first_field(&problem), field);
    }
    let problem = assert_problem(
        stack
            .place(&alice, &json!({"shipping_address": "Lyon"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(first_field(&problem), "items");
}

#[tokio::test]
async fn unknown_fields_and_bad_addresses_are_refused() {
    let stack = spawn().await;
    let alice = stack.customer("alice");

    let problem = assert_problem(
        stack
            .place(
                &alice,
                &json!({"items": [{"product_id": 1, "quantity": 1}], "user_id": "someone-else"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("user_id"),
        "{problem}"
    );

    for address in [json!(""), json!("   "), json!("x".repeat(501)), json!(5)] {
        let body =
            json!({"items": [{"product_id": 1, "quantity": 1}], "shipping_address": address});
        let problem = assert_problem(
            stack.place(&alice, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(first_field(&problem), "shipping_address");
    }
}

#[tokio::test]
async fn malformed_json_is_400_and_a_wrong_content_type_415() {
    let stack = spawn().await;
    let alice = stack.customer("alice");

    let response = stack
        .client
        .post(stack.url("/orders"))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{\"items\": [")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;

    let response = stack
        .client
        .post(stack.url("/orders"))
        .bearer_auth(&alice.token)
        .body("items=1")
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn a_total_above_the_largest_payment_is_refused_at_order_time_and_hands_the_stock_back() {
    let stack = spawn().await;
    let max = platform::money::MAX_AMOUNT_CENTS;
    let yacht = stack.product("Yacht", max / 2 + 1, 10).await;
    let alice = stack.customer("alice");

    let problem = assert_problem(
        stack.place(&alice, &order_body(&[(yacht, 2)])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "total_too_large",
    )
    .await;
    assert_eq!(first_field(&problem), "items");
    assert_eq!(problem["total_cents"], max + 2);
    assert_eq!(problem["max_total_cents"], max);
    assert_eq!(
        stack.stock(yacht).await,
        10,
        "the reservation was handed back"
    );
    assert_eq!(stack.orders_stored().await, 0);

    // Exactly the maximum is one payment the bank takes.
    let boat = stack.product("Boat", max / 2, 10).await;
    let order = stack.paid_order(&alice, &[(boat, 2)]).await;
    assert_eq!(order["total_cents"], max);
}
