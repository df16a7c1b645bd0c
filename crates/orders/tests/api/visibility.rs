//! Who sees which orders: one's own, admins all; others' orders do not exist.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, first_field, spawn};

#[tokio::test]
async fn another_users_order_is_404_for_every_route() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let alice = stack.customer("alice");
    let mallory = stack.customer("mallory");
    let order = stack.paid_order(&alice, &[(tea, 1)]).await;
    let id = order["id"].as_str().unwrap();

    assert_problem(
        stack.get(&mallory, &format!("/orders/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        stack.cancel(&mallory, id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        stack.pay(&mallory, id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(stack.order(&alice, id).await["status"], "paid");
    assert_eq!(stack.order(&stack.admin, id).await["id"], id);
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let stack = spawn().await;
    let alice = stack.customer("alice");

    for path in [
        "/orders/0193a4c2-7f7e-7c3a-9d8e-1f2a3b4c5d6e",
        "/orders/42",
        "/orders/not-an-id",
    ] {
        assert_problem(
            stack.get(&alice, path).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn a_customer_lists_only_their_orders_newest_first_with_a_total() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 100).await;
    let alice = stack.customer("alice");
    let bob = stack.customer("bob");
    let mut ids = Vec::new();
    for quantity in 1..=3 {
        let order = stack.paid_order(&alice, &[(tea, quantity)]).await;
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    stack.paid_order(&bob, &[(tea, 1)]).await;

    let page: Value = stack.get(&alice, "/orders").await.json().await.unwrap();
    assert_eq!(page["total"], 3);
    assert_eq!(page["limit"], 20);
    assert_eq!(page["offset"], 0);
    let listed: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|order| order["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [&ids[2], &ids[1], &ids[0]]);
    assert_eq!(
        page["items"][0]["items"][0]["quantity"], 3,
        "lines are included"
    );

    let second: Value = stack
        .get(&alice, "/orders?limit=2&offset=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["total"], 3);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["id"], ids[0].as_str());

    let all: Value = stack
        .get(&stack.admin, "/orders")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 4);
}

#[tokio::test]
async fn bad_paging_parameters_are_422_naming_them() {
    let stack = spawn().await;
    let alice = stack.customer("alice");

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
    ] {
        let problem = assert_problem(
            stack.get(&alice, &format!("/orders?{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(first_field(&problem), field);
    }
}
