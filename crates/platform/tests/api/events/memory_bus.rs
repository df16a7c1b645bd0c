//! The in-process bus: consumer groups, per-key order, retries, the dead-letter topic, shutdown.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use platform::events::memory::MemoryBus;
use platform::events::{Bus, Event, Handled, Handler, consumer};
use tokio_util::sync::CancellationToken;

use super::{event, eventually, label};

const TOPIC: &str = "things";
const WAIT: Duration = Duration::from_secs(10);

/// A handler that records the labels it sees, in order.
fn recorder() -> (Arc<dyn Handler>, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    let handler = consumer::handler(move |event: Event| {
        let into = into.clone();
        async move {
            into.lock().unwrap().push(label(&event));
            Handled::Done
        }
    });
    (handler, seen)
}

async fn publish(bus: &MemoryBus, subject: &str, label: &str) -> Event {
    let event = event(subject, label);
    bus.publish(TOPIC, subject, &event).await.unwrap();
    event
}

#[tokio::test]
async fn every_group_gets_every_message_in_order() {
    let bus = MemoryBus::new();
    let shutdown = CancellationToken::new();
    let (notifier, notifier_seen) = recorder();
    let (users, users_seen) = recorder();
    bus.consume(TOPIC, "notifier", notifier, shutdown.clone());
    bus.consume(TOPIC, "users", users, shutdown.clone());
    let _stop = shutdown.drop_guard();

    let expected: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    for label in &expected {
        publish(&bus, "one-key", label).await;
    }
    eventually(WAIT, "both groups saw all 50", || async {
        notifier_seen.lock().unwrap().len() == 50 && users_seen.lock().unwrap().len() == 50
    })
    .await;
    assert_eq!(*notifier_seen.lock().unwrap(), expected);
    assert_eq!(*users_seen.lock().unwrap(), expected);
    eventually(WAIT, "committed messages are dropped", || async {
        bus.retained(TOPIC) == 0
    })
    .await;
    assert_eq!(bus.lag(TOPIC, "notifier"), Some(0));
}

/// Two members of one group: every message handled exactly once, never two at a time for one
/// key, each key in publish order; both members get work.
#[tokio::test]
async fn two_members_of_one_group_split_the_messages_without_duplicates() {
    let bus = MemoryBus::new();
    let shutdown = CancellationToken::new();
    let handled: Arc<Mutex<Vec<(usize, String, String)>>> = Arc::default();
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let overlaps = Arc::new(AtomicUsize::new(0));
    for member in 0..2 {
        let handled = handled.clone();
        let in_flight = in_flight.clone();
        let overlaps = overlaps.clone();
        let handler = consumer::handler(move |event: Event| {
            let handled = handled.clone();
            let in_flight = in_flight.clone();
            let overlaps = overlaps.clone();
            async move {
                // Recorded, not asserted: the bus treats a panicking handler as a retry.
                if !in_flight.lock().unwrap().insert(event.subject.clone()) {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
                handled
                    .lock()
                    .unwrap()
                    .push((member, event.subject.clone(), label(&event)));
                in_flight.lock().unwrap().remove(&event.subject);
                Handled::Done
            }
        });
        bus.consume(TOPIC, "workers", handler, shutdown.clone());
    }
    let _stop = shutdown.drop_guard();

    let mut per_key: HashMap<String, Vec<String>> = HashMap::new();
    for i in 0..200 {
        // Runs of three messages per key: two free members would take one key's messages at once.
        let key = format!("k{}", (i / 3) % 5);
        let label = i.to_string();
        per_key.entry(key.clone()).or_default().push(label.clone());
        publish(&bus, &key, &label).await;
    }
    eventually(WAIT, "all 200 handled", || async {
        handled.lock().unwrap().len() >= 200
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "two members held one key at once"
    );
    let handled = handled.lock().unwrap().clone();
    assert_eq!(handled.len(), 200, "a message was handled twice");
    let distinct: HashSet<&String> = handled.iter().map(|(_, _, label)| label).collect();
    assert_eq!(distinct.len(), 200);
    for (key, expected) in per_key {
        let seen: Vec<String> = handled
            .iter()
            .filter(|(_, k, _)| *k == key)
            .map(|(_, _, label)| label.clone())
            .collect();
        assert_eq!(seen, expected, "order of key {key}");
    }
    for member in 0..2 {
        assert!(
            handled.iter().any(|(m, _, _)| *m == member),
            "member {member} got nothing"
        );
    }
}

#[tokio::test]
async fn retry_redelivers_after_a_backoff() {
    let bus = MemoryBus::new();
    let shutdown = CancellationToken::new();
    let deliveries: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let times = deliveries.clone();
    let handler = consumer::handler(move |_event: Event| {
        let times = times.clone();
        async move {
            let mut times = times.lock().unwrap();
            times.push(Instant::now());
            if times.len() < 3 {
                Handled::Retry("database busy".to_owned())
            } else {
                Handled::Done
            }
        }
    });
    bus.consume(TOPIC, "g", handler, shutdown.clone());
    let _stop = shutdown.drop_guard();
    publish(&bus, "a", "1").await;

    eventually(WAIT, "the third delivery succeeds", || async {
        deliveries.lock().unwrap().len() == 3
    })
    .await;
    eventually(WAIT, "the message is committed", || async {
        bus.lag(TOPIC, "g") == Some(0)
    })
    .await;
    let times = deliveries.lock().unwrap().clone();
    assert!(
        times[1] - times[0] >= Duration::from_millis(45),
        "{:?}",
        times[1] - times[0]
    );
    assert!(
        times[2] - times[1] >= Duration::from_millis(90),
        "the backoff doubles"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        deliveries.lock().unwrap().len(),
        3,
        "delivered again after Done"
    );
}

#[tokio::test]
async fn a_retried_message_holds_back_its_key_but_not_the_others() {
    let bus = MemoryBus::new();
    let shutdown = CancellationToken::new();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let failed_once = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let seen = seen.clone();
        let failed_once = failed_once.clone();
        let handler = consumer::handler(move |event: Event| {
            let seen = seen.clone();
            let failed_once = failed_once.clone();
            async move {
                let label = label(&event);
                if label == "a1" && failed_once.fetch_add(1, Ordering::SeqCst) == 0 {
                    // Hold `a` until the other member has handled `b1`, then fail once.
                    let started = Instant::now();
                    while !seen.lock().unwrap().contains(&"b1".to_owned())
                        && started.elapsed() < Duration::from_secs(5)
                    {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    return Handled::Retry("not yet".to_owned());
                }
                seen.lock().unwrap().push(label);
                Handled::Done
            }
        });
        bus.consume(TOPIC, "g", handler, shutdown.clone());
    }
    let _stop = shutdown.drop_guard();
    publish(&bus, "a", "a1").await;
    publish(&bus, "a", "a2").await;
    publish(&bus, "b", "b1").await;

    eventually(WAIT, "all three handled", || async {
        seen.lock().unwrap().len() == 3
    })
    .await;
    assert_eq!(*seen.lock().unwrap(), ["b1", "a1", "a2"]);
}

#[tokio::test]
async fn reject_parks_the_event_on_the_dead_letter_topic_with_the_reason() {
    let bus = MemoryBus::new();
    let shutdown = CancellationToken::new();
    let handler = consumer::handler(|event: Event| async move {
        if label(&event) == "bad" {
            Handled::Reject("no user_id".to_owned())
        } else {
            Handled::Done
        }
    });
    bus.consume(TOPIC, "g", handler, shutdown.clone());
    let _stop = shutdown.drop_guard();
    let bad = publish(&bus, "a", "bad").await;
    publish(&bus, "a", "good").await;

    eventually(WAIT, "the group moves past the rejected event", || async {
        bus.lag(TOPIC, "g") == Some(0)
    })
    .await;
    let dead = bus.retained_events(&platform::events::dead_letter_topic(TOPIC));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].deadletterreason.as_deref(), Some("no user_id"));
    assert_eq!(dead[0].data, bad.data, "the payload is kept as published");
    assert_eq!(dead[0].id, bad.id);
    let json = serde_json::to_value(&dead[0]).unwrap();
    assert_eq!(json["deadletterreason"], "no user_id");
    assert!(
        serde_json::to_value(&bad)
            .unwrap()
            .get("deadletterreason")
            .is_none(),
        "absent from ordinary events"
    );
}

#[tokio::test]
async fn shutdown_stops_consumers() {
    let bus = MemoryBus::new();
    let shutdown = CancellationToken::new();
    let (handler, seen) = recorder();
    let consumer = bus.consume(TOPIC, "g", handler, shutdown.clone());
    publish(&bus, "a", "before").await;
    eventually(WAIT, "the first message is handled", || async {
        seen.lock().unwrap().len() == 1
    })
    .await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), consumer)
        .await
        .expect("the consumer stops")
        .unwrap();
    publish(&bus, "a", "after").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*seen.lock().unwrap(), ["before"]);
    assert_eq!(
        bus.lag(TOPIC, "g"),
        Some(1),
        "kept for the group's next start"
    );
}

#[tokio::test]
async fn a_member_stopping_during_retries_hands_the_message_to_another() {
    let bus = MemoryBus::new();
    let first = CancellationToken::new();
    let retrying = consumer::handler(|_event: Event| async { Handled::Retry("down".to_owned()) });
    let stopped = bus.consume(TOPIC, "g", retrying, first.clone());
    publish(&bus, "a", "1").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    first.cancel();
    stopped.await.unwrap();

    let second = CancellationToken::new();
    let (handler, seen) = recorder();
    bus.consume(TOPIC, "g", handler, second.clone());
    let _stop = second.drop_guard();
    eventually(WAIT, "the other member gets the message", || async {
        seen.lock().unwrap().len() == 1
    })
    .await;
}

#[tokio::test]
async fn a_panicking_handler_does_not_stall_its_group() {
    let bus = MemoryBus::new();
    let shutdown = CancellationToken::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (count, into) = (calls.clone(), seen.clone());
    let handler = consumer::handler(move |event: Event| {
        let count = count.clone();
        let into = into.clone();
        async move {
            if count.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a bug in the handler");
            }
            into.lock().unwrap().push(label(&event));
            Handled::Done
        }
    });
    bus.consume(TOPIC, "g", handler, shutdown.clone());
    let _stop = shutdown.drop_guard();
    publish(&bus, "a", "1").await;
    publish(&bus, "a", "2").await;
    eventually(WAIT, "both messages are handled", || async {
        seen.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(*seen.lock().unwrap(), ["1", "2"]);
}

#[tokio::test]
async fn a_group_joining_later_gets_what_was_published_before_anyone_listened() {
    let bus = MemoryBus::new();
    publish(&bus, "a", "early").await;
    assert_eq!(bus.retained(TOPIC), 1);
    let shutdown = CancellationToken::new();
    let (handler, seen) = recorder();
    bus.consume(TOPIC, "late", handler, shutdown.clone());
    let _stop = shutdown.drop_guard();
    eventually(WAIT, "the early message is delivered", || async {
        seen.lock().unwrap().len() == 1
    })
    .await;
}
