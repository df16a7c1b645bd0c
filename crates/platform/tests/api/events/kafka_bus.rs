//! The Kafka bus against a real broker (`MICROSHOP_TEST_KAFKA_BROKERS`; CI runs tansu): every
//! group sees every message, per-key order, CloudEvents attributes and `traceparent` survive the
//! trip as headers, a rejected event lands on `<topic>.dlq` with its reason, a retried one is
//! delivered again, and a group's members share the partitions. Skipped, with the reason
//! printed, without a broker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use platform::events::kafka::{KafkaBus, KafkaConfig};
use platform::events::{Bus, Event, Handled, Handler, consumer};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{event, eventually, label};

const TOPIC: &str = "things";
const WAIT: Duration = Duration::from_secs(30);

/// A bus under a namespace of the test's own, or `None` without a broker.
fn bus(test: &str) -> Option<KafkaBus> {
    let brokers = match std::env::var("MICROSHOP_TEST_KAFKA_BROKERS") {
        Ok(brokers) if !brokers.is_empty() => brokers,
        _ => {
            eprintln!(
                "skipped {test}: set MICROSHOP_TEST_KAFKA_BROKERS (e.g. 127.0.0.1:9092) to run it"
            );
            return None;
        }
    };
    let config = KafkaConfig {
        brokers: Some(brokers),
        partitions: 3,
        replication_factor: 1,
        namespace: format!("t{}.", Uuid::now_v7().simple()),
        properties: Vec::new(),
    };
    Some(KafkaBus::new(&config, "platform-tests").expect("a Kafka bus"))
}

fn recorder() -> (Arc<dyn Handler>, Arc<Mutex<Vec<Event>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    let handler = consumer::handler(move |event: Event| {
        let into = into.clone();
        async move {
            into.lock().unwrap().push(event);
            Handled::Done
        }
    });
    (handler, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_group_gets_every_event_with_its_attributes_in_key_order() {
    let Some(bus) = bus("kafka: every group") else {
        return;
    };
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let (notifier, notifier_seen) = recorder();
    let (users, users_seen) = recorder();
    drop(bus.consume(TOPIC, "notifier", notifier, shutdown.clone()));
    drop(bus.consume(TOPIC, "users", users, shutdown.clone()));

    let mut published = Vec::new();
    for i in 0..30 {
        let key = format!("order-{}", i % 4);
        let mut event = event(&key, &i.to_string());
        event.traceparent = Some(format!("00-{:032x}-{:016x}-01", i + 1, i + 1));
        bus.publish(TOPIC, &key, &event).await.unwrap();
        published.push(event);
    }
    eventually(WAIT, "both groups saw all 30", || async {
        notifier_seen.lock().unwrap().len() >= 30 && users_seen.lock().unwrap().len() >= 30
    })
    .await;
    for seen in [&notifier_seen, &users_seen] {
        let seen = seen.lock().unwrap();
        for original in &published {
            let copy = seen
                .iter()
                .find(|event| event.id == original.id)
                .expect("every event arrives");
            assert_eq!(copy, original, "the event survives the trip unchanged");
        }
        for key in 0..4 {
            let subject = format!("order-{key}");
            let order: Vec<String> = seen
                .iter()
                .filter(|event| event.subject == subject)
                .map(label)
                .collect();
            let expected: Vec<String> = published
                .iter()
                .filter(|event| event.subject == subject)
                .map(label)
                .collect();
            assert_eq!(order, expected, "events of one key arrive in order");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_event_is_parked_on_the_dead_letter_topic_with_its_reason() {
    let Some(bus) = bus("kafka: dead letters") else {
        return;
    };
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let picky = consumer::handler(|event: Event| async move {
        if label(&event) == "poison" {
            Handled::Reject("the label is poison".into())
        } else {
            Handled::Done
        }
    });
    drop(bus.consume(TOPIC, "picky", picky, shutdown.clone()));
    let (parked, parked_seen) = recorder();
    drop(bus.consume(
        &format!("{TOPIC}.dlq"),
        "inspector",
        parked,
        shutdown.clone(),
    ));
    let (after, after_seen) = recorder();
    drop(bus.consume(TOPIC, "after", after, shutdown.clone()));

    bus.publish(TOPIC, "k", &event("k", "poison"))
        .await
        .unwrap();
    bus.publish(TOPIC, "k", &event("k", "fine")).await.unwrap();
    eventually(WAIT, "the poison event is parked", || async {
        !parked_seen.lock().unwrap().is_empty()
    })
    .await;
    let parked = parked_seen.lock().unwrap()[0].clone();
    assert_eq!(label(&parked), "poison");
    assert_eq!(
        parked.deadletterreason.as_deref(),
        Some("the label is poison")
    );
    eventually(WAIT, "consumption went on", || async {
        after_seen.lock().unwrap().len() == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_event_is_delivered_again_until_done() {
    let Some(bus) = bus("kafka: retries") else {
        return;
    };
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let attempts = Arc::new(Mutex::new(0));
    let counted = attempts.clone();
    let flaky = consumer::handler(move |_event: Event| {
        let counted = counted.clone();
        async move {
            let mut attempts = counted.lock().unwrap();
            *attempts += 1;
            if *attempts < 3 {
                Handled::Retry("not yet".into())
            } else {
                Handled::Done
            }
        }
    });
    drop(bus.consume(TOPIC, "flaky", flaky, shutdown.clone()));
    bus.publish(TOPIC, "k", &event("k", "once")).await.unwrap();
    eventually(WAIT, "three attempts", || async {
        *attempts.lock().unwrap() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(*attempts.lock().unwrap(), 3, "done means done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_one_group_share_the_work_and_process_each_event_once() {
    let Some(bus) = bus("kafka: one group, two members") else {
        return;
    };
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let (first, first_seen) = recorder();
    let (second, second_seen) = recorder();
    drop(bus.consume(TOPIC, "pair", first, shutdown.clone()));
    drop(bus.consume(TOPIC, "pair", second, shutdown.clone()));
    // Let both members join before publishing, so the partitions are split between them.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for i in 0..60 {
        let key = format!("key-{i}");
        bus.publish(TOPIC, &key, &event(&key, &i.to_string()))
            .await
            .unwrap();
    }
    eventually(WAIT, "the pair saw all 60", || async {
        let mut ids: Vec<String> = first_seen
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.id.clone())
            .collect();
        ids.extend(second_seen.lock().unwrap().iter().map(|e| e.id.clone()));
        ids.sort();
        ids.dedup();
        ids.len() == 60
    })
    .await;
}

#[tokio::test]
async fn the_bus_reports_an_unreachable_cluster() {
    let config = KafkaConfig {
        brokers: Some("127.0.0.1:1".into()),
        partitions: 3,
        replication_factor: 1,
        namespace: String::new(),
        properties: Vec::new(),
    };
    let bus = KafkaBus::new(&config, "platform-tests").unwrap();
    let error = bus.check().await.unwrap_err();
    assert!(error.contains("Kafka is unreachable"), "{error}");
}
