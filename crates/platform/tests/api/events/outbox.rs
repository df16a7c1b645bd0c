//! The outbox and its relay: rows survive failures and restarts, go out in order, once.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use platform::events::outbox::{self, RelayOptions};
use platform::events::{Bus, Event};
use sqlx::AnyPool;
use tokio_util::sync::CancellationToken;

use super::{RecordingBus, TestDb, enqueue_all, event, eventually, label};

const TOPIC: &str = "things";
const WAIT: Duration = Duration::from_secs(10);

/// Fast retries and a slow poll, so a test sees exactly what wakes and backoffs do.
fn quick() -> RelayOptions {
    RelayOptions {
        backoff_start: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(100),
        ..RelayOptions::default()
    }
}

fn relay(
    db_pool: &AnyPool,
    bus: &Arc<RecordingBus>,
    options: RelayOptions,
) -> (outbox::Relay, tokio_util::sync::DropGuard) {
    let shutdown = CancellationToken::new();
    let relay = outbox::spawn_relay_with(
        "test",
        db_pool.clone(),
        bus.clone() as Arc<dyn Bus>,
        shutdown.clone(),
        options,
    );
    (relay, shutdown.drop_guard())
}

async fn pending(pool: &AnyPool) -> i64 {
    outbox::backlog(pool).await.unwrap().0
}

#[tokio::test]
async fn an_enqueued_event_is_published_once_with_its_topic_key_and_envelope() {
    let db = TestDb::new().await;
    let bus = Arc::new(RecordingBus::default());
    let (relay, _stop) = relay(&db.pool, &bus, quick());
    let sent = event("order-1", "created");
    enqueue_all(&db.pool, TOPIC, std::slice::from_ref(&sent)).await;
    relay.wake();

    eventually(WAIT, "the event is published", || async {
        bus.published().len() == 1
    })
    .await;
    let published = &bus.published()[0];
    assert_eq!(published.topic, TOPIC);
    assert_eq!(published.key, "order-1");
    assert_eq!(published.event, sent);
    eventually(WAIT, "the row is marked sent", || async {
        pending(&db.pool).await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bus.published().len(), 1, "published again");
}

#[tokio::test]
async fn enqueue_takes_a_transaction_or_a_pooled_connection() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap();
    outbox::enqueue(&mut tx, TOPIC, &event("a", "1"))
        .await
        .unwrap();
    outbox::enqueue(&mut tx, TOPIC, &event("a", "2"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    outbox::enqueue(&mut conn, TOPIC, &event("a", "3"))
        .await
        .unwrap();
    drop(conn);
    assert_eq!(pending(&db.pool).await, 3);
}

#[tokio::test]
async fn an_event_of_a_rolled_back_transaction_is_never_published() {
    let db = TestDb::new().await;
    let bus = Arc::new(RecordingBus::default());
    let (relay, _stop) = relay(&db.pool, &bus, quick());
    let mut tx = db.pool.begin().await.unwrap();
    outbox::enqueue(&mut tx, TOPIC, &event("a", "rolled back"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    enqueue_all(&db.pool, TOPIC, &[event("a", "committed")]).await;
    relay.wake();

    eventually(WAIT, "the committed event is published", || async {
        !bus.published().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bus.labels(), ["committed"]);
}

#[tokio::test]
async fn a_row_survives_publish_failures_and_is_published_after() {
    let db = TestDb::new().await;
    let bus = RecordingBus::failing(3);
    let (relay, _stop) = relay(&db.pool, &bus, quick());
    enqueue_all(&db.pool, TOPIC, &[event("order-1", "created")]).await;
    relay.wake();

    eventually(WAIT, "a failure is recorded on the row", || async {
        let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM outbox")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        attempts >= 1
    })
    .await;
    let (still_pending, _) = outbox::backlog(&db.pool).await.unwrap();
    let error: Option<String> = sqlx::query_scalar("SELECT last_error FROM outbox")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        still_pending == 1 || !bus.published().is_empty(),
        "the row is kept while the bus fails"
    );
    assert!(error.unwrap().contains("broker is down"));

    eventually(
        WAIT,
        "the row is published once the bus recovers",
        || async { bus.published().len() == 1 },
    )
    .await;
    eventually(WAIT, "the row is marked sent", || async {
        pending(&db.pool).await == 0
    })
    .await;
    assert_eq!(bus.attempts.load(Ordering::SeqCst), 4);
    let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM outbox")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 3, "one recorded attempt per failure");
}

#[tokio::test]
async fn failed_rows_are_retried_with_a_growing_backoff() {
    let db = TestDb::new().await;
    let bus = RecordingBus::down();
    let options = RelayOptions {
        backoff_start: Duration::from_millis(100),
        backoff_cap: Duration::from_secs(30),
        ..RelayOptions::default()
    };
    let (relay, _stop) = relay(&db.pool, &bus, options);
    enqueue_all(&db.pool, TOPIC, &[event("a", "1")]).await;
    relay.wake();

    // Attempts at about 0, +50..100, +100..200, +200..400 ms: at most four by now, far fewer
    // than a retry per poll or per wake.
    tokio::time::sleep(Duration::from_millis(450)).await;
    for _ in 0..20 {
        relay.wake();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let attempts = bus.attempts.load(Ordering::SeqCst);
    assert!((1..=5).contains(&attempts), "{attempts} attempts");
    let next_attempt_at: i64 = sqlx::query_scalar("SELECT next_attempt_at FROM outbox")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let created_at: i64 = sqlx::query_scalar("SELECT created_at FROM outbox")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(next_attempt_at > created_at);

    bus.set_down(false);
    eventually(WAIT, "the row goes out when the bus is back", || async {
        bus.published().len() == 1
    })
    .await;
}

#[tokio::test]
async fn order_per_key_is_kept_across_a_failure() {
    let db = TestDb::new().await;
    let bus = RecordingBus::failing(2);
    let events = [
        event("a", "a1"),
        event("a", "a2"),
        event("b", "b1"),
        event("a", "a3"),
        event("b", "b2"),
    ];
    enqueue_all(&db.pool, TOPIC, &events).await;
    let (relay, _stop) = relay(&db.pool, &bus, quick());
    relay.wake();

    eventually(WAIT, "every event is published", || async {
        bus.published().len() == events.len()
    })
    .await;
    assert_eq!(bus.labels(), ["a1", "a2", "b1", "a3", "b2"]);
    assert!(bus.attempts.load(Ordering::SeqCst) >= 7);
}

#[tokio::test]
async fn events_enqueued_while_the_bus_is_down_wait_behind_the_failed_one() {
    let db = TestDb::new().await;
    let bus = RecordingBus::down();
    let (relay, _stop) = relay(&db.pool, &bus, quick());
    enqueue_all(&db.pool, TOPIC, &[event("a", "first")]).await;
    relay.wake();
    eventually(WAIT, "the first publish fails", || async {
        bus.attempts.load(Ordering::SeqCst) >= 1
    })
    .await;
    enqueue_all(
        &db.pool,
        TOPIC,
        &[event("a", "second"), event("b", "other")],
    )
    .await;
    relay.wake();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(pending(&db.pool).await, 3);

    bus.set_down(false);
    eventually(WAIT, "all three are published", || async {
        bus.published().len() == 3
    })
    .await;
    assert_eq!(bus.labels(), ["first", "second", "other"]);
}

#[tokio::test]
async fn a_new_relay_on_the_same_file_delivers_rows_written_before_the_restart() {
    let db = TestDb::new().await;
    // The first life: events committed, the relay never got them out before the stop.
    let first_bus = RecordingBus::down();
    let (first_relay, stop) = relay(&db.pool, &first_bus, quick());
    let events = [event("a", "1"), event("b", "2"), event("a", "3")];
    enqueue_all(&db.pool, TOPIC, &events).await;
    first_relay.wake();
    eventually(WAIT, "the first relay tried", || async {
        first_bus.attempts.load(Ordering::SeqCst) >= 1
    })
    .await;
    drop(stop);
    first_relay.take_handle().unwrap().await.unwrap();
    db.pool.close().await;

    // The second life: a new pool on the same file, a new relay, no wake needed.
    let pool = db.reopen().await;
    let bus = Arc::new(RecordingBus::default());
    let (_relay, _stop) = relay(&pool, &bus, quick());
    eventually(WAIT, "the rows left over are published", || async {
        bus.published().len() == 3
    })
    .await;
    assert_eq!(bus.labels(), ["1", "2", "3"]);
    assert!(first_bus.published().is_empty());
    eventually(WAIT, "the rows are marked sent", || async {
        pending(&pool).await == 0
    })
    .await;
}

#[tokio::test]
async fn rows_written_by_another_process_flow_at_the_next_poll() {
    let db = TestDb::new().await;
    let bus = Arc::new(RecordingBus::default());
    let options = RelayOptions {
        poll_interval: Duration::from_millis(50),
        ..quick()
    };
    let (_relay, _stop) = relay(&db.pool, &bus, options);
    let other = db.reopen().await;
    enqueue_all(&other, TOPIC, &[event("a", "from elsewhere")]).await;
    eventually(
        Duration::from_secs(2),
        "the row is published without a wake",
        || async { bus.published().len() == 1 },
    )
    .await;
}

#[tokio::test]
async fn wake_publishes_before_the_next_poll() {
    let db = TestDb::new().await;
    let bus = Arc::new(RecordingBus::default());
    let options = RelayOptions {
        poll_interval: Duration::from_secs(60),
        ..quick()
    };
    let (relay, _stop) = relay(&db.pool, &bus, options);
    // Let the first pass (at start) finish on an empty table.
    tokio::time::sleep(Duration::from_millis(100)).await;
    enqueue_all(&db.pool, TOPIC, &[event("a", "1")]).await;
    relay.wake();
    eventually(
        Duration::from_secs(2),
        "the woken relay publishes",
        || async { bus.published().len() == 1 },
    )
    .await;
}

#[tokio::test]
async fn a_backlog_larger_than_a_batch_flows_completely_in_order() {
    let db = TestDb::new().await;
    let events: Vec<Event> = (0..250)
        .map(|i| event(&format!("k{}", i % 7), &i.to_string()))
        .collect();
    let mut tx = db.pool.begin().await.unwrap();
    for event in &events {
        outbox::enqueue(&mut tx, TOPIC, event).await.unwrap();
    }
    tx.commit().await.unwrap();
    let bus = Arc::new(RecordingBus::default());
    let options = RelayOptions {
        batch_size: 16,
        ..quick()
    };
    let (relay, _stop) = relay(&db.pool, &bus, options);
    relay.wake();
    eventually(WAIT, "the whole backlog is published", || async {
        bus.published().len() == events.len()
    })
    .await;
    let expected: Vec<String> = (0..250).map(|i| i.to_string()).collect();
    assert_eq!(bus.labels(), expected);
    eventually(WAIT, "the rows are marked sent", || async {
        pending(&db.pool).await == 0
    })
    .await;
}

#[tokio::test]
async fn concurrent_writers_and_the_relay_share_the_sqlite_file_without_losing_events() {
    let db = TestDb::new().await;
    let bus = Arc::new(RecordingBus::default());
    let (relay, _stop) = relay(&db.pool, &bus, RelayOptions::default());
    let writers: Vec<_> = (0..16)
        .map(|writer| {
            let pool = db.pool.clone();
            let relay = relay.clone();
            tokio::spawn(async move {
                for i in 0..40 {
                    let subject = format!("w{writer}");
                    let mut tx = pool.begin().await.unwrap();
                    outbox::enqueue(&mut tx, TOPIC, &event(&subject, &format!("{writer}-{i}-a")))
                        .await
                        .unwrap();
                    outbox::enqueue(&mut tx, TOPIC, &event(&subject, &format!("{writer}-{i}-b")))
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                    relay.wake();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    eventually(
        Duration::from_secs(30),
        "all 1280 events are published",
        || async { bus.published().len() == 16 * 40 * 2 },
    )
    .await;
    // Each writer's events keep their order.
    for writer in 0..16 {
        let key = format!("w{writer}");
        let labels: Vec<String> = bus
            .published()
            .iter()
            .filter(|p| p.key == key)
            .map(|p| label(&p.event))
            .collect();
        let expected: Vec<String> = (0..40)
            .flat_map(|i| [format!("{writer}-{i}-a"), format!("{writer}-{i}-b")])
            .collect();
        assert_eq!(labels, expected);
    }
    eventually(WAIT, "the rows are marked sent", || async {
        pending(&db.pool).await == 0
    })
    .await;
}

#[tokio::test]
async fn sent_rows_are_deleted_after_the_retention() {
    let db = TestDb::new().await;
    let bus = Arc::new(RecordingBus::default());
    let options = RelayOptions {
        retention: Duration::ZERO,
        poll_interval: Duration::from_millis(20),
        ..quick()
    };
    let (relay, _stop) = relay(&db.pool, &bus, options);
    enqueue_all(&db.pool, TOPIC, &[event("a", "1"), event("a", "2")]).await;
    relay.wake();
    eventually(WAIT, "sent rows are deleted", || async {
        db.count("SELECT COUNT(*) FROM outbox").await == 0
    })
    .await;
    assert_eq!(bus.published().len(), 2);
}

#[tokio::test]
async fn sent_rows_are_kept_for_inspection_within_the_retention_up_to_a_bound() {
    let db = TestDb::new().await;
    let bus = Arc::new(RecordingBus::default());
    let options = RelayOptions {
        keep_sent: 3,
        poll_interval: Duration::from_millis(20),
        ..quick()
    };
    let (relay, _stop) = relay(&db.pool, &bus, options);
    for i in 0..2 {
        enqueue_all(&db.pool, TOPIC, &[event("a", &i.to_string())]).await;
        relay.wake();
        eventually(WAIT, "published", || async {
            bus.published().len() == i + 1
        })
        .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")
            .await,
        2,
        "within the retention and the bound, sent rows stay"
    );
    for i in 2..12 {
        enqueue_all(&db.pool, TOPIC, &[event("a", &i.to_string())]).await;
        relay.wake();
        eventually(WAIT, "published", || async {
            bus.published().len() == i + 1
        })
        .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eventually(
        Duration::from_secs(5),
        "sent rows beyond the bound are deleted",
        || async { db.count("SELECT COUNT(*) FROM outbox").await <= 3 },
    )
    .await;
}

#[tokio::test]
async fn the_backlog_and_its_gauges_report_pending_rows_and_their_age() {
    let handle = platform::metrics::handle();
    let db = TestDb::new().await;
    assert_eq!(outbox::backlog(&db.pool).await.unwrap(), (0, None));
    let bus = RecordingBus::down();
    let shutdown = CancellationToken::new();
    let relay = outbox::spawn_relay_with(
        "outbox-gauges",
        db.pool.clone(),
        bus.clone(),
        shutdown.clone(),
        quick(),
    );
    let _stop = shutdown.drop_guard();
    enqueue_all(&db.pool, TOPIC, &[event("a", "1"), event("b", "2")]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    relay.wake();

    let (count, age) = outbox::backlog(&db.pool).await.unwrap();
    assert_eq!(count, 2);
    assert!(age.unwrap() >= Duration::from_millis(20));
    let pending_gauge = "outbox_pending{service=\"outbox-gauges\"}";
    let oldest_gauge = "outbox_oldest_pending_seconds{service=\"outbox-gauges\"}";
    eventually(WAIT, "the gauges show the backlog", || async {
        let text = handle.render("outbox-gauges");
        gauge(&text, pending_gauge) == Some(2.0)
            && gauge(&text, oldest_gauge).is_some_and(|age| age >= 0.02)
    })
    .await;

    bus.set_down(false);
    eventually(WAIT, "the gauges drop to zero", || async {
        let text = handle.render("outbox-gauges");
        gauge(&text, pending_gauge) == Some(0.0) && gauge(&text, oldest_gauge) == Some(0.0)
    })
    .await;
}

/// The value of one series in the Prometheus text.
fn gauge(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn the_relay_stops_on_shutdown() {
    let db = TestDb::new().await;
    let bus = Arc::new(RecordingBus::default());
    let shutdown = CancellationToken::new();
    let relay = outbox::spawn_relay("test", db.pool.clone(), bus.clone(), shutdown.clone());
    let handle = relay.take_handle().expect("the handle");
    assert!(relay.take_handle().is_none(), "given once");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), handle)
        .await
        .expect("the relay ends")
        .unwrap();
    enqueue_all(&db.pool, TOPIC, &[event("a", "late")]).await;
    relay.wake();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(bus.published().is_empty());
    assert_eq!(
        pending(&db.pool).await,
        1,
        "the row waits for the next start"
    );
}

#[tokio::test]
async fn the_relay_outlives_database_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = platform::db::sqlite_url(dir.path(), "bare");
    let pool = platform::db::connect(&url, 4, super::NONE).await.unwrap();
    let bus = Arc::new(RecordingBus::default());
    let (relay, _stop) = relay(&pool, &bus, quick());
    // No outbox table yet: every pass fails.
    tokio::time::sleep(Duration::from_millis(100)).await;
    sqlx::raw_sql(outbox::SQLITE_TABLE)
        .execute(&pool)
        .await
        .unwrap();
    enqueue_all(&pool, TOPIC, &[event("a", "1")]).await;
    relay.wake();
    eventually(WAIT, "the relay recovers and publishes", || async {
        bus.published().len() == 1
    })
    .await;
}
