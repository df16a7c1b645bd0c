//! The same Idempotency-Key never charges twice.

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{approving_bank, assert_problem, new_key, spawn_app};

#[tokio::test]
async fn the_same_key_twice_answers_the_first_payment_and_charges_once() {
    let app = spawn_app().await;
    let key = new_key();
    let order_id = Uuid::now_v7();

    let first = app.charge_with_key(&key, order_id, 2500).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = app.charge_with_key(&key, order_id, 2500).await;

    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.json::<Value>().await.unwrap(), first);
    assert_eq!(app.payments_with_key(&key).await, 1);
    assert_eq!(app.payment_count().await, 1);
}

#[tokio::test]
async fn a_replay_repeats_the_first_decision_even_after_the_decline_rate_changed() {
    let app = approving_bank().await;
    let key = new_key();
    let order_id = Uuid::now_v7();
    let first: Value = app
        .charge_with_key(&key, order_id, 900)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["status"], "approved");

    app.set_chaos(1.0, 0, "none").await;
    let replay = app.charge_with_key(&key, order_id, 900).await;

    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
    // A new key is a new charge, decided at the new rate.
    assert_eq!(app.charged(900).await["status"], "declined");
}

#[tokio::test]
async fn a_replay_after_a_refund_still_answers_the_first_decision_and_charges_nothing() {
    let app = approving_bank().await;
    let key = new_key();
    let order_id = Uuid::now_v7();
    let first: Value = app
        .charge_with_key(&key, order_id, 900)
        .await
        .json()
        .await
        .unwrap();
    let id = first["id"].as_str().unwrap();
    assert_eq!(app.refund(id).await.status(), StatusCode::OK);

    let replay = app.charge_with_key(&key, order_id, 900).await;

    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
    let current: Value = app.get_payment(id).await.json().await.unwrap();
    assert_eq!(current["status"], "refunded");
    assert_eq!(app.payment_count().await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_amount_or_order_is_refused() {
    let app = approving_bank().await;
    let key = new_key();
    let order_id = Uuid::now_v7();
    let first: Value = app
        .charge_with_key(&key, order_id, 2500)
        .await
        .json()
        .await
        .unwrap();

    let other_amount = app.charge_with_key(&key, order_id, 2501).await;
    assert_problem(
        other_amount,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    let other_order = app.charge_with_key(&key, Uuid::now_v7(), 2500).await;
    assert_problem(
        other_order,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;

    assert_eq!(app.payment_count().await, 1);
    let stored: Value = app
        .get_payment(first["id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, first);
}

#[tokio::test]
async fn twenty_concurrent_charges_with_one_key_make_one_payment_and_one_answer() {
    // At the seed's rate each racer draws its own decision; only one may ever be stored.
    let app = spawn_app().await;
    let key = new_key();
    let order_id = Uuid::now_v7();

    let responses =
        futures::future::join_all((0..20).map(|_| app.charge_with_key(&key, order_id, 4200))).await;

    let mut created = 0;
    let mut bodies = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected status {other}"),
        }
        bodies.push(response.json::<Value>().await.unwrap());
    }
    assert_eq!(created, 1, "exactly one call charged");
    assert!(bodies.iter().all(|body| *body == bodies[0]), "{bodies:?}");
    assert_eq!(app.payments_with_key(&key).await, 1);
    assert_eq!(app.payment_count().await, 1);
}

#[tokio::test]
async fn different_keys_for_one_order_are_different_attempts() {
    // Orders retries a declined payment under a new key: that is a new charge.
    let app = approving_bank().await;
    let order_id = Uuid::now_v7();

    let first = app.charge_with_key(&new_key(), order_id, 100).await;
    let second = app.charge_with_key(&new_key(), order_id, 100).await;

    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(app.payment_count().await, 2);
}

#[tokio::test]
async fn the_database_itself_keeps_one_payment_per_key() {
    // Two racers that both found no payment for the key: the UNIQUE constraint decides.
    use payments::domain::{Charge, Decision, IdempotencyKey};
    use payments::storage::{Recorded, Storage};

    let dir = tempfile::tempdir().unwrap();
    let database = test_support::TestDatabase::create("payments", dir.path()).await;
    let storage = Storage::connect(database.url(), 2).await.unwrap();
    let key = IdempotencyKey::parse("race", &payments::domain::KEY_RULES).unwrap();
    let charge = Charge::parse(&Uuid::now_v7().to_string(), 100).unwrap();

    let first = storage
        .record_charge(&key, &charge, Decision::Approved)
        .await
        .unwrap();
    let second = storage
        .record_charge(&key, &charge, Decision::Declined)
        .await
        .unwrap();

    let Recorded::Created(created) = first else {
        panic!("the first charge is stored: {first:?}")
    };
    assert_eq!(second, Recorded::Existing(created.clone()));
    assert_eq!(created.decision, Decision::Approved);
    assert_eq!(storage.find_by_key(&key).await.unwrap(), Some(created));
}
