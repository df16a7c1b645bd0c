//! Simulated trouble at the bank: added latency, an outage answering 503, an outage that never
//! answers. Only the payment routes suffer; health and the chaos routes keep working.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{
    approving_bank, assert_problem, charge_body, impatient_client, new_key, outage, spawn_app_with,
};

#[tokio::test]
async fn an_error_outage_answers_503_with_retry_after_and_charges_nothing() {
    let app = approving_bank().await;
    let payment = app.charged(100).await;
    let id = payment["id"].as_str().unwrap();
    app.set_chaos(0.0, 0, "error").await;

    let response = app.charge_with_key(&new_key(), Uuid::now_v7(), 100).await;

    let retry_after = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert!(retry_after >= 1);
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "payments_unavailable",
    )
    .await;
    assert_eq!(app.payment_count().await, 1);
    assert_problem(
        app.refund(id).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "payments_unavailable",
    )
    .await;
    assert_problem(
        app.get_payment(id).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "payments_unavailable",
    )
    .await;
}

#[tokio::test]
async fn lifting_an_error_outage_restores_payments() {
    let app = approving_bank().await;
    app.set_chaos(0.0, 0, "error").await;
    let key = new_key();
    let order_id = Uuid::now_v7();
    assert_eq!(
        app.charge_with_key(&key, order_id, 300).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    app.set_chaos(0.0, 0, "none").await;

    // The refused attempt stored nothing: the same key now charges for the first time.
    let response = app.charge_with_key(&key, order_id, 300).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_outage_configured_at_start_is_in_force_at_once() {
    let app = spawn_app_with(|config| config.outage = outage("error")).await;

    let response = app.charge_with_key(&new_key(), Uuid::now_v7(), 100).await;

    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "payments_unavailable",
    )
    .await;
}

#[tokio::test]
async fn outsiders_still_get_404_during_an_outage() {
    let app = approving_bank().await;
    app.set_chaos(0.0, 0, "error").await;

    let response = app
        .client
        .post(app.url("/payments"))
        .header("idempotency-key", new_key())
        .json(&charge_body(Uuid::now_v7(), 100))
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_hang_outage_never_answers_until_it_is_lifted() {
    let app = approving_bank().await;
    app.set_chaos(0.0, 0, "hang").await;
    let impatient = impatient_client(Duration::from_millis(300));

    let outcome = impatient
        .post(app.url("/payments"))
        .header("x-internal-token", &app.internal_token)
        .header("idempotency-key", new_key())
        .json(&charge_body(Uuid::now_v7(), 100))
        .send()
        .await;

    let error = outcome.expect_err("no answer during a hang");
    assert!(error.is_timeout(), "{error}");
    assert_eq!(app.payment_count().await, 0);

    app.set_chaos(0.0, 0, "none").await;
    let response = impatient
        .post(app.url("/payments"))
        .header("x-internal-token", &app.internal_token)
        .header("idempotency-key", new_key())
        .json(&charge_body(Uuid::now_v7(), 100))
        .send()
        .await
        .expect("an answer once the outage is lifted");
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_call_held_by_a_hang_completes_when_the_outage_is_lifted() {
    let app = approving_bank().await;
    app.set_chaos(0.0, 0, "hang").await;
    let key = new_key();
    let order_id = Uuid::now_v7();

    let held = tokio::spawn({
        let request = app
            .internal(Method::POST, "/payments")
            .header("idempotency-key", &key)
            .json(&charge_body(order_id, 100));
        async move { request.send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished(), "the call is held");

    app.set_chaos(0.0, 0, "none").await;

    let response = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("released promptly")
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.payments_with_key(&key).await, 1);
}

#[tokio::test]
async fn a_hang_turned_into_an_error_outage_answers_the_held_calls_with_503() {
    let app = approving_bank().await;
    app.set_chaos(0.0, 0, "hang").await;
    let held = tokio::spawn({
        let request = app
            .internal(Method::POST, "/payments")
            .header("idempotency-key", new_key())
            .json(&charge_body(Uuid::now_v7(), 100));
        async move { request.send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.set_chaos(0.0, 0, "error").await;

    let response = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("released promptly")
        .unwrap();
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "payments_unavailable",
    )
    .await;
}

#[tokio::test]
async fn health_and_the_chaos_routes_keep_answering_during_outages() {
    let app = approving_bank().await;
    let impatient = impatient_client(Duration::from_secs(2));

    for mode in ["hang", "error"] {
        app.set_chaos(0.0, 0, mode).await;
        let ready = impatient
            .get(app.url("/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), StatusCode::OK, "{mode}");
        let live = impatient.get(app.url("/health/live")).send().await.unwrap();
        assert_eq!(live.status(), StatusCode::OK, "{mode}");
        let chaos: Value = impatient
            .get(app.url("/payments/chaos"))
            .bearer_auth(&app.admin.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(chaos["outage"], mode);
    }
}

#[tokio::test]
async fn added_latency_delays_every_payment_answer() {
    let app = approving_bank().await;
    let payment = app.charged(100).await;
    let id = payment["id"].as_str().unwrap().to_owned();
    app.set_chaos(0.0, 400, "none").await;

    let started = Instant::now();
    let charged = app.charge_with_key(&new_key(), Uuid::now_v7(), 100).await;
    let charge_took = started.elapsed();
    let started = Instant::now();
    let read = app.get_payment(&id).await;
    let read_took = started.elapsed();

    assert_eq!(charged.status(), StatusCode::CREATED);
    assert_eq!(read.status(), StatusCode::OK);
    assert!(charge_took >= Duration::from_millis(400), "{charge_took:?}");
    assert!(read_took >= Duration::from_millis(400), "{read_took:?}");

    // The chaos routes themselves are not delayed.
    let started = Instant::now();
    app.set_chaos(0.0, 0, "none").await;
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn a_call_abandoned_during_a_hang_is_dropped_and_never_charged() {
    // Held calls whose client gave up do not wait for the hang limit, and a caller that timed
    // out is not charged behind its back when the outage ends.
    let app = approving_bank().await;
    app.set_chaos(0.0, 0, "hang").await;
    let impatient = impatient_client(Duration::from_millis(300));
    let outcome = impatient
        .post(app.url("/payments"))
        .header("x-internal-token", &app.internal_token)
        .header("idempotency-key", "abandoned")
        .json(&charge_body(Uuid::now_v7(), 100))
        .send()
        .await;
    assert!(outcome.is_err());
    drop(impatient);
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.set_chaos(0.0, 0, "none").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(app.payments_with_key("abandoned").await, 0);
}
