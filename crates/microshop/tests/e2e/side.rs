//! The seeds' side services through the gateway: cars (seed 000), the agenda (seed 002) and the
//! hit counter (seed 000).

use std::time::Duration;

use serde_json::{Value, json};

use crate::stack::TestStack;

#[tokio::test]
async fn cars_need_a_token_and_belong_to_their_creator() {
    let stack = TestStack::start().await;
    let cars = format!("{}/cars", stack.gateway);
    // "si le token n'est pas fourni ou non valide, renvoyez une erreur 401"
    assert_eq!(stack.client.get(&cars).send().await.unwrap().status(), 401);
    assert_eq!(
        stack
            .client
            .get(&cars)
            .bearer_auth("nope")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    stack.register("alice", "correct horse battery").await;
    stack.register("bob", "correct horse battery").await;
    let alice = stack.login("alice", "correct horse battery").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = stack.login("bob", "correct horse battery").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let created = stack
        .client
        .post(&cars)
        .bearer_auth(&alice)
        .json(&json!({"marque": "Renault", "modèle": "Clio", "année": 2019, "couleur": "rouge"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers().contains_key("location"));
    let car: Value = created.json().await.unwrap();
    assert_eq!(car["brand"], "Renault");
    assert_eq!(car["year"], 2019);
    let url = format!("{cars}/{}", car["id"].as_str().unwrap());

    assert_eq!(
        stack
            .client
            .get(&url)
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        stack
            .client
            .get(&url)
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let bad_year = stack
        .client
        .patch(&url)
        .bearer_auth(&alice)
        .json(&json!({"year": 1700}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_year.status(), 422);
    let replaced = stack
        .client
        .put(&url)
        .bearer_auth(&alice)
        .json(&json!({"brand": "Peugeot", "model": "208", "year": 2021, "color": "bleu"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(
        (replaced["brand"].as_str(), replaced["year"].as_i64()),
        (Some("Peugeot"), Some(2021))
    );
    assert_eq!(
        stack
            .client
            .put(&url)
            .bearer_auth(&bob)
            .json(&json!({"brand": "X", "model": "Y", "year": 2020, "color": "Z"}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let listed: Value = stack
        .client
        .get(format!("{cars}?brand=peugeot"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    let bobs: Value = stack
        .client
        .get(&cars)
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bobs["total"], 0, "a customer lists only their own cars");

    assert_eq!(
        stack
            .client
            .delete(&url)
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        stack
            .client
            .get(&url)
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn the_hit_counter_counts_every_call() {
    let stack = TestStack::start().await;
    let first: Value = stack
        .client
        .get(format!("{}/hits", stack.gateway))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = first["hits"].as_i64().unwrap();
    let second: Value = stack
        .client
        .get(format!("{}/hits", stack.gateway))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["hits"], n + 1);
    assert_eq!(
        second["message"],
        format!("Hello World! I have been seen {} times.", n + 1)
    );
}

#[tokio::test]
async fn public_events_are_listed_without_a_token_and_reach_the_notifier() {
    let stack = TestStack::start().await;
    stack.register("alice", "correct horse battery").await;
    let alice = stack.login("alice", "correct horse battery").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let events = format!("{}/events", stack.gateway);
    let created = stack
        .client
        .post(&events)
        .bearer_auth(&alice)
        .json(&json!({
            "title": "Rust meetup",
            "starts_at": "2030-12-03T18:00:00Z",
            "ends_at": "2030-12-03T21:00:00Z",
            "location": "Paris",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let private = stack
        .client
        .post(&events)
        .bearer_auth(&alice)
        .json(&json!({
            "title": "Board meeting",
            "starts_at": "2030-12-04T09:00:00Z",
            "ends_at": "2030-12-04T10:00:00Z",
            "visibility": "private",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 201);

    let public: Value = stack
        .client
        .get(&events)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = public["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["title"].as_str())
        .collect();
    assert_eq!(titles, ["Rust meetup"]);
    let mine: Value = stack
        .client
        .get(&events)
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);

    // event.created reaches the notifier, which keeps a notification for the organizer.
    let mut found = false;
    for _ in 0..100 {
        let inbox: Value = stack
            .client
            .get(format!("{}/notifications", stack.gateway))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["kind"] == "event.created")
        {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "the organizer got no event.created notification");
}
