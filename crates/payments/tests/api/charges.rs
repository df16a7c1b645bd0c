//! Charges: the bank's decision, the answer's shape, and refused inputs.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    approving_bank, assert_invalid_field, assert_problem, charge_body, declining_bank, new_key,
    spawn_app,
};

#[tokio::test]
async fn a_bank_with_decline_rate_zero_approves_every_charge() {
    let app = approving_bank().await;

    for _ in 0..20 {
        let payment = app.charged(2500).await;
        assert_eq!(payment["status"], "approved");
    }
}

#[tokio::test]
async fn a_bank_with_decline_rate_one_declines_every_charge() {
    let app = declining_bank().await;

    for _ in 0..20 {
        let payment = app.charged(2500).await;
        assert_eq!(payment["status"], "declined");
    }
}

#[tokio::test]
async fn the_default_bank_approves_some_charges_and_declines_others() {
    let app = spawn_app().await;

    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(
            app.charged(100).await["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    // At the seed's 0.5, 60 identical outcomes happen once in 2^59 runs.
    assert!(statuses.iter().any(|status| status == "approved"));
    assert!(statuses.iter().any(|status| status == "declined"));
}

#[tokio::test]
async fn a_charge_answers_201_with_the_payment_and_its_location() {
    let app = approving_bank().await;
    let order_id = Uuid::now_v7();

    let response = app.charge_with_key(&new_key(), order_id, 12_345).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let payment: Value = response.json().await.unwrap();
    let id = payment["id"].as_str().unwrap();
    assert_eq!(Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(location, format!("/payments/{id}"));
    assert_eq!(payment["order_id"], order_id.to_string());
    assert_eq!(payment["amount_cents"], 12_345);
    assert_eq!(payment["status"], "approved");
    let created_at = payment["created_at"].as_str().unwrap();
    time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
        .expect("created_at is RFC 3339");
    assert!(created_at.ends_with('Z'), "{created_at}");
    let fields: Vec<_> = payment.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        fields.len(),
        5,
        "exactly id, order_id, amount_cents, status, created_at: {fields:?}"
    );
}

#[tokio::test]
async fn a_payment_can_be_read_back_by_id() {
    let app = declining_bank().await;
    let payment = app.charged(700).await;

    let response = app.get_payment(payment["id"].as_str().unwrap()).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), payment);
}

#[tokio::test]
async fn an_unknown_or_malformed_payment_id_is_not_found() {
    let app = approving_bank().await;

    for id in [
        Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
        "1".to_owned(),
    ] {
        assert_problem(
            app.get_payment(&id).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn a_charge_without_an_idempotency_key_is_refused_and_charges_nothing() {
    let app = approving_bank().await;

    let response = app
        .charge_raw(None, &charge_body(Uuid::now_v7(), 100))
        .await;

    let body = assert_problem(
        response,
        StatusCode::BAD_REQUEST,
        "idempotency_key_required",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(app.payment_count().await, 0);
}

#[tokio::test]
async fn the_missing_key_is_reported_before_a_bad_body() {
    let app = approving_bank().await;

    let response = app.charge_raw(None, &json!({"amount_cents": 0})).await;

    assert_problem(
        response,
        StatusCode::BAD_REQUEST,
        "idempotency_key_required",
    )
    .await;
}

#[tokio::test]
async fn an_unacceptable_idempotency_key_is_refused() {
    let app = approving_bank().await;
    let long = "k".repeat(201);

    for key in ["", "has space", long.as_str()] {
        let response = app.charge_with_key(key, Uuid::now_v7(), 100).await;
        let body =
            assert_problem(response, StatusCode::BAD_REQUEST, "invalid_idempotency_key").await;
        assert_eq!(body["errors"][0]["field"], "Idempotency-Key", "{key:?}");
    }
    let longest = "k".repeat(200);
    let response = app.charge_with_key(&longest, Uuid::now_v7(), 100).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.payment_count().await, 1);
}

#[tokio::test]
async fn amounts_outside_one_cent_to_a_million_are_refused_naming_the_field() {
    let app = approving_bank().await;

    for amount in [0, -1, 100_000_001] {
        let response = app
            .charge_with_key(&new_key(), Uuid::now_v7(), amount)
            .await;
        assert_invalid_field(response, "amount_cents").await;
    }
    for amount in [json!(1.5), json!("2"), json!(null)] {
        let body = json!({"order_id": Uuid::now_v7(), "amount_cents": amount});
        let response = app.charge_raw(Some(&new_key()), &body).await;
        assert_invalid_field(response, "amount_cents").await;
    }
    assert_eq!(app.payment_count().await, 0);

    for amount in [1, 100_000_000] {
        let response = app
            .charge_with_key(&new_key(), Uuid::now_v7(), amount)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{amount}");
    }
}

#[tokio::test]
async fn an_order_id_that_is_not_a_uuid_is_refused_naming_the_field() {
    let app = approving_bank().await;

    for order_id in [json!("order-1"), json!(42), json!(null)] {
        let body = json!({"order_id": order_id, "amount_cents": 100});
        let response = app.charge_raw(Some(&new_key()), &body).await;
        assert_invalid_field(response, "order_id").await;
    }
    assert_eq!(app.payment_count().await, 0);
}

#[tokio::test]
async fn missing_and_unknown_fields_are_refused() {
    let app = approving_bank().await;

    let response = app
        .charge_raw(Some(&new_key()), &json!({"order_id": Uuid::now_v7()}))
        .await;
    assert_invalid_field(response, "amount_cents").await;

    let response = app
        .charge_raw(
            Some(&new_key()),
            &json!({"order_id": Uuid::now_v7(), "amount_cents": 100, "status": "approved"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.payment_count().await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_400() {
    let app = approving_bank().await;

    let response = app
        .internal(reqwest::Method::POST, "/payments")
        .header("idempotency-key", new_key())
        .header("content-type", "application/json")
        .body("{\"order_id\":")
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let app = approving_bank().await;

    let response = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["service"], "payments");
    assert_eq!(body["checks"]["database"]["status"], "up");
}
