//! Refunds: only an approved payment, once, however often asked.

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{approving_bank, assert_problem, declining_bank};

#[tokio::test]
async fn an_approved_payment_is_refunded() {
    let app = approving_bank().await;
    let payment = app.charged(1500).await;
    let id = payment["id"].as_str().unwrap();

    let response = app.refund(id).await;

    assert_eq!(response.status(), StatusCode::OK);
    let refunded: Value = response.json().await.unwrap();
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(refunded["id"], payment["id"]);
    assert_eq!(refunded["order_id"], payment["order_id"]);
    assert_eq!(refunded["amount_cents"], 1500);
    assert_eq!(refunded["created_at"], payment["created_at"]);
    let stored: Value = app.get_payment(id).await.json().await.unwrap();
    assert_eq!(stored, refunded);
}

#[tokio::test]
async fn refunding_twice_answers_the_same_refund() {
    let app = approving_bank().await;
    let payment = app.charged(1500).await;
    let id = payment["id"].as_str().unwrap();

    let first: Value = app.refund(id).await.json().await.unwrap();
    let second = app.refund(id).await;

    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.json::<Value>().await.unwrap(), first);
    let (refunded_at,): (Option<i64>,) =
        sqlx::query_as("SELECT refunded_at FROM payments WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db().await)
            .await
            .unwrap();
    assert!(refunded_at.is_some());
}

#[tokio::test]
async fn concurrent_refunds_of_one_payment_all_answer_refunded() {
    let app = approving_bank().await;
    let payment = app.charged(1500).await;
    let id = payment["id"].as_str().unwrap();

    let responses = futures::future::join_all((0..10).map(|_| app.refund(id))).await;

    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.json::<Value>().await.unwrap()["status"],
            "refunded"
        );
    }
}

#[tokio::test]
async fn a_declined_payment_cannot_be_refunded() {
    let app = declining_bank().await;
    let payment = app.charged(1500).await;
    let id = payment["id"].as_str().unwrap();

    let body = assert_problem(app.refund(id).await, StatusCode::CONFLICT, "not_refundable").await;

    assert_eq!(body["payment_status"], "declined");
    let stored: Value = app.get_payment(id).await.json().await.unwrap();
    assert_eq!(stored["status"], "declined");
}

#[tokio::test]
async fn refunding_an_unknown_payment_is_not_found() {
    let app = approving_bank().await;

    for id in [Uuid::now_v7().to_string(), "nope".to_owned()] {
        assert_problem(app.refund(&id).await, StatusCode::NOT_FOUND, "not_found").await;
    }
}
