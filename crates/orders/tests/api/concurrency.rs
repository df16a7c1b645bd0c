//! Stock under concurrency: never oversold, never negative.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{order_body, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_orders_for_ten_in_stock_sell_exactly_ten() {
    let stack = spawn().await;
    let tea = stack.product("Tea", 100, 10).await;
    let users: Vec<_> = (0..50)
        .map(|n| stack.customer(&format!("buyer{n}")))
        .collect();

    let body = order_body(&[(tea, 1)]);

    let responses = join_all(users.iter().map(|user| stack.place(user, &body))).await;

    let mut created = 0;
    let mut refused = 0;
    for response in responses {
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                let problem: Value = response.json().await.unwrap();
                assert_eq!(problem["code"], "insufficient_stock");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!((created, refused), (10, 40));
    assert_eq!(stack.stock(tea).await, 0);
    assert_eq!(stack.orders_stored().await, 10);
    let all: Value = stack
        .get(&stack.admin, "/orders?limit=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 10);
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|order| order["status"] == "paid")
    );
}
