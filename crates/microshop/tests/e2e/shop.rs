//! The seeds' flows end to end, through the gateway of a whole embedded stack.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::stack::TestStack;

impl TestStack {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn admin_token(&self) -> String {
        let password = std::fs::read_to_string(self.data.join("admin-password")).unwrap();
        let tokens = self.login("admin", password.trim()).await;
        tokens["access_token"].as_str().unwrap().to_owned()
    }

    async fn customer(&self, username: &str) -> String {
        let response = self
            .client
            .post(self.url("/auth/register"))
            .json(&json!({
                "username": username,
                "password": "correct horse battery",
                "first_name": "Alice",
                "last_name": "Martin",
                "address": "1 rue de la Paix, Paris"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let tokens = self.login(username, "correct horse battery").await;
        tokens["access_token"].as_str().unwrap().to_owned()
    }
}

/// Reads an SSE stream until a line contains `needle`, or gives up after `limit`.
async fn wait_for_sse(response: reqwest::Response, needle: &str, limit: Duration) -> String {
    let mut stream = response.bytes_stream();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + limit;
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| {
                panic!("no `{needle}` on the stream within {limit:?}; got {seen:?}")
            })
            .expect("the stream stays open")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

#[tokio::test]
async fn a_shopper_registers_orders_pays_and_is_notified_live() {
    let stack = TestStack::start_with(&["--payments-decline-rate", "0"]).await;
    let token = stack.customer("alice").await;

    // The profile exists, filled from registration (user.registered → users).
    let mut profile = Value::Null;
    for _ in 0..50 {
        let response = stack.get("/users/me", &token).await;
        assert_eq!(response.status(), 200);
        profile = response.json().await.unwrap();
        if profile["address"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(profile["username"], "alice");
    assert_eq!(profile["first_name"], "Alice");
    assert_eq!(profile["address"], "1 rue de la Paix, Paris");

    // The public catalogue, no token needed.
    let products: Value = stack
        .client
        .get(stack.url("/products"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &products["items"][0];
    let product_id = first["id"].as_i64().unwrap();
    let price = first["price_cents"].as_i64().unwrap();
    let stock_before = first["stock"].as_i64().unwrap();

    // A live notification stream, through the gateway.
    let stream = stack
        .client
        .get(stack.url("/notifications/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );

    // The seed's order: the client names products and quantities, the server prices them.
    let response = stack
        .post(
            "/orders",
            &token,
            json!({"items": [{"product_id": product_id, "quantity": 2, "unit_price_cents": 1}]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total_cents"], price * 2);
    assert_eq!(order["items"][0]["unit_price_cents"], price);
    assert_eq!(order["shipping_address"], "1 rue de la Paix, Paris");
    let order_id = order["id"].as_str().unwrap().to_owned();

    let seen = wait_for_sse(stream, &order_id, Duration::from_secs(5)).await;
    assert!(seen.contains("event: notification"), "{seen}");

    let notifications: Value = stack
        .get("/notifications", &token)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        notifications["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["order_id"] == order_id.as_str()),
        "{notifications}"
    );

    // The order is listed, and cancelling it restores the stock.
    let orders: Value = stack.get("/orders", &token).await.json().await.unwrap();
    assert_eq!(orders["items"][0]["id"], order_id.as_str());
    let stock_after_order: Value = stack
        .client
        .get(stack.url(&format!("/products/{product_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stock_after_order["stock"], stock_before - 2);
    let cancelled = stack
        .client
        .delete(stack.url(&format!("/orders/{order_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 204);
    let restored: Value = stack
        .client
        .get(stack.url(&format!("/products/{product_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(restored["stock"], stock_before);
}

#[tokio::test]
async fn the_seed_001_curl_flow_works_as_written() {
    let stack = TestStack::start().await;
    // curl -X POST http://localhost:8000/auth/login -d '{"username":"admin","password":...}'
    let token = stack.admin_token().await;
    // curl -X GET http://localhost:8000/users/profile -H "Authorization: Bearer $TOKEN"
    let response = stack.get("/users/profile", &token).await;
    assert_eq!(response.status(), 200);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["username"], "admin");
    // Public products, protected orders.
    assert_eq!(
        stack
            .client
            .get(stack.url("/products"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        stack
            .client
            .get(stack.url("/orders"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(stack.get("/orders", &token).await.status(), 200);
    // /health everywhere.
    assert_eq!(
        stack
            .client
            .get(stack.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn the_seed_003_routes_answer_through_the_gateway() {
    let stack = TestStack::start_with(&["--payments-decline-rate", "0"]).await;
    let admin = stack.admin_token().await;
    let customer = stack.customer("bob").await;

    // Users: GET /users (admin), POST /users, PATCH /users/:id, DELETE /users/:id — with the
    // seed's French field names.
    assert_eq!(stack.get("/users", &admin).await.status(), 200);
    assert_eq!(stack.get("/users", &customer).await.status(), 403);
    let me: Value = stack
        .get("/users/me", &customer)
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap().to_owned();
    let patched = stack
        .client
        .patch(stack.url(&format!("/users/{id}")))
        .bearer_auth(&customer)
        .json(&json!({"nom": "Dupont", "prénom": "Bob", "adresse": "2 avenue Foch"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["last_name"], "Dupont");
    assert_eq!(patched["first_name"], "Bob");
    assert_eq!(patched["address"], "2 avenue Foch");

    // Products: GET /products.
    let products: Value = stack
        .client
        .get(stack.url("/products"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(products["items"].as_array().unwrap().len() >= 3);
    assert!(products["items"][0]["name"].is_string());

    // Orders: POST, GET, DELETE, with the seed's field name for the address.
    let response = stack
        .post(
            "/orders",
            &customer,
            json!({"items": [{"product_id": 1, "quantity": 1}], "adresse_livraison": "3 quai Voltaire"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["shipping_address"], "3 quai Voltaire");
    let order_id = order["id"].as_str().unwrap();
    assert_eq!(
        stack
            .get(&format!("/orders/{order_id}"), &customer)
            .await
            .status(),
        200
    );
    let deleted = stack
        .client
        .delete(stack.url(&format!("/orders/{order_id}")))
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    // DELETE /users/:id (admin).
    let deleted = stack
        .client
        .delete(stack.url(&format!("/users/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
}
