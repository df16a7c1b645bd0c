//! Idempotent consumption: a redelivered event has no second effect.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use platform::events::memory::MemoryBus;
use platform::events::{Bus, Event, Handled, consumer};
use sqlx::AnyPool;
use tokio_util::sync::CancellationToken;

use super::{TestDb, event, eventually};

const TOPIC: &str = "things";
const WAIT: Duration = Duration::from_secs(10);

async fn create_effects(pool: &AnyPool) {
    sqlx::raw_sql(
        "CREATE TABLE effects (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL)",
    )
    .execute(pool)
    .await
    .unwrap();
}

/// The consumer a service writes: the processed id and the effect in one transaction.
async fn apply(pool: &AnyPool, event: &Event) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    if !consumer::mark_processed(&mut tx, "effects", &event.id).await? {
        return Ok(false);
    }
    sqlx::query("INSERT INTO effects (event_id) VALUES ($1)")
        .bind(event.id.as_str())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

#[tokio::test]
async fn a_duplicated_event_is_processed_once() {
    let db = TestDb::new().await;
    create_effects(&db.pool).await;
    let bus = MemoryBus::new();
    let shutdown = CancellationToken::new();
    let handled = Arc::new(AtomicUsize::new(0));
    let pool = db.pool.clone();
    let counter = handled.clone();
    let handler = consumer::handler(move |event: Event| {
        let pool = pool.clone();
        let counter = counter.clone();
        async move {
            let outcome = match apply(&pool, &event).await {
                Ok(_) => Handled::Done,
                Err(error) => Handled::Retry(error.to_string()),
            };
            counter.fetch_add(1, Ordering::SeqCst);
            outcome
        }
    });
    let _consumer = bus.consume(TOPIC, "effects", handler, shutdown.clone());
    let _stop = shutdown.drop_guard();

    let once = event("order-1", "created");
    bus.publish(TOPIC, "order-1", &once).await.unwrap();
    bus.publish(TOPIC, "order-1", &once).await.unwrap();
    eventually(WAIT, "both deliveries are handled", || async {
        handled.load(Ordering::SeqCst) == 2
    })
    .await;
    assert_eq!(db.count("SELECT COUNT(*) FROM effects").await, 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM processed_events").await, 1);
}

#[tokio::test]
async fn mark_processed_says_whether_the_event_is_new() {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.unwrap();
    assert!(
        consumer::mark_processed(&mut conn, "a", "e1")
            .await
            .unwrap()
    );
    assert!(
        !consumer::mark_processed(&mut conn, "a", "e1")
            .await
            .unwrap()
    );
    assert!(
        consumer::mark_processed(&mut conn, "b", "e1")
            .await
            .unwrap(),
        "each consumer keeps its own record"
    );
    assert!(
        consumer::mark_processed(&mut conn, "a", "e2")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_failed_effect_records_nothing_so_the_redelivery_applies_it() {
    let db = TestDb::new().await;
    create_effects(&db.pool).await;
    let the_event = event("order-1", "created");

    let failed = consumer::process_once(&db.pool, "effects", &the_event, |conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO effects (event_id) VALUES ($1)")
                .bind("partial")
                .execute(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO no_such_table VALUES (1)")
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await;
    assert!(failed.is_err());
    assert_eq!(db.count("SELECT COUNT(*) FROM effects").await, 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM processed_events").await, 0);

    let id = the_event.id.clone();
    let applied = consumer::process_once(&db.pool, "effects", &the_event, |conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO effects (event_id) VALUES ($1)")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(applied);
    let again = consumer::process_once(&db.pool, "effects", &the_event, |conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO effects (event_id) VALUES ('again')")
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(!again, "a duplicate runs no effect");
    assert_eq!(db.count("SELECT COUNT(*) FROM effects").await, 1);
}

#[tokio::test]
async fn old_processed_ids_can_be_forgotten() {
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ('a', 'old', 0)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    consumer::mark_processed(&mut conn, "a", "recent")
        .await
        .unwrap();
    drop(conn);
    let forgotten = consumer::forget_older_than(&db.pool, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(forgotten, 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM processed_events").await, 1);
}
