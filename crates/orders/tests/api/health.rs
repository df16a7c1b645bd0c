//! Health: readiness follows the database and the bus; the breakers are shown beside it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn;

#[tokio::test]
async fn readiness_checks_the_database_and_the_bus() {
    let stack = spawn().await;

    let response = stack
        .client
        .get(stack.url("/health/ready"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["service"], "orders");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["checks"]["bus"]["status"], "up");
}

#[tokio::test]
async fn every_upstream_breaker_is_listed_and_starts_closed() {
    let stack = spawn().await;

    assert_eq!(
        stack.breakers().await,
        json!({"products": "closed", "payments": "closed", "users": "closed"})
    );
}
