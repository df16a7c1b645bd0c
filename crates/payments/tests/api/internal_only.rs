//! The payment routes are for other services only: without the internal token they do not
//! exist, whatever else the caller presents.

use reqwest::{Method, StatusCode};
use uuid::Uuid;

use crate::helpers::{approving_bank, assert_problem, charge_body, new_key};

#[tokio::test]
async fn a_charge_without_the_internal_token_is_not_found_and_charges_nothing() {
    let app = approving_bank().await;
    let admin = app.admin.token.clone();
    let customer = app.customer.token.clone();

    for (token, bearer) in [
        (None, None),
        (Some("wrong-token"), None),
        (Some(""), None),
        (None, Some(admin.as_str())),
        (None, Some(customer.as_str())),
    ] {
        let mut request = app
            .client
            .post(app.url("/payments"))
            .header("idempotency-key", new_key())
            .json(&charge_body(Uuid::now_v7(), 100));
        if let Some(token) = token {
            request = request.header("x-internal-token", token);
        }
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(app.payment_count().await, 0);
}

#[tokio::test]
async fn reading_or_refunding_without_the_internal_token_is_not_found() {
    let app = approving_bank().await;
    let payment = app.charged(100).await;
    let id = payment["id"].as_str().unwrap();

    let read = app
        .client
        .get(app.url(&format!("/payments/{id}")))
        .bearer_auth(&app.admin.token)
        .send()
        .await
        .unwrap();
    assert_problem(read, StatusCode::NOT_FOUND, "not_found").await;
    let refund = app
        .client
        .post(app.url(&format!("/payments/{id}/refund")))
        .header("x-internal-token", "guess")
        .send()
        .await
        .unwrap();
    assert_problem(refund, StatusCode::NOT_FOUND, "not_found").await;

    let stored = app.get_payment(id).await;
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(
        stored.json::<serde_json::Value>().await.unwrap()["status"],
        "approved"
    );
}

#[tokio::test]
async fn with_the_internal_token_the_same_calls_work() {
    let app = approving_bank().await;

    let response = app
        .internal(Method::POST, "/payments")
        .header("idempotency-key", new_key())
        .json(&charge_body(Uuid::now_v7(), 100))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
}
