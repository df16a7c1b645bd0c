//! The same machinery on PostgreSQL, from the DDL constants services copy into their
//! `migrations/postgres`. Runs against `MICROSHOP_TEST_POSTGRES_URL` (default: the local server,
//! `postgres://postgres@127.0.0.1:5432/postgres`) in a database of its own; skipped, with a
//! note, when no server answers.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use platform::events::outbox::{self, RelayOptions};
use platform::events::{Bus, Event, consumer};
use sqlx::AnyPool;
use tokio_util::sync::CancellationToken;

use super::{NONE, RecordingBus, enqueue_all, event, eventually, label};

const TOPIC: &str = "things";
const WAIT: Duration = Duration::from_secs(20);

/// A fresh database on the test server, dropped at the end.
struct PgDb {
    admin: AnyPool,
    name: String,
    pool: AnyPool,
}

impl PgDb {
    async fn new() -> Option<Self> {
        sqlx::any::install_default_drivers();
        // Skipped (with the reason) without a configured server; CI sets one, and then an
        // unreachable server fails the test rather than skipping it.
        let Ok(admin_url) = std::env::var("MICROSHOP_TEST_POSTGRES_URL") else {
            eprintln!("skipped: set MICROSHOP_TEST_POSTGRES_URL to run the PostgreSQL tests");
            return None;
        };
        let admin = match sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(3))
            .connect(&admin_url)
            .await
        {
            Ok(admin) => admin,
            Err(error) => {
                panic!("MICROSHOP_TEST_POSTGRES_URL is set but {admin_url} is unreachable: {error}")
            }
        };
        let name = format!("microshop_events_{}", uuid::Uuid::now_v7().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        let base = &admin_url[..admin_url.rfind('/').unwrap()];
        let pool = platform::db::connect(&format!("{base}/{name}"), 8, NONE)
            .await
            .unwrap();
        for ddl in [outbox::POSTGRES_TABLE, consumer::POSTGRES_TABLE] {
            sqlx::raw_sql(ddl).execute(&pool).await.unwrap();
        }
        Some(Self { admin, name, pool })
    }

    async fn drop(self) {
        self.pool.close().await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await
        .unwrap();
    }
}

fn quick() -> RelayOptions {
    RelayOptions {
        backoff_start: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(100),
        poll_interval: Duration::from_millis(20),
        ..RelayOptions::default()
    }
}

#[tokio::test]
async fn the_postgres_ddl_creates_tables_the_outbox_and_consumer_work_with() {
    let Some(db) = PgDb::new().await else { return };
    let bus = RecordingBus::failing(1);
    let shutdown = CancellationToken::new();
    let relay = outbox::spawn_relay_with(
        "pg-test",
        db.pool.clone(),
        bus.clone(),
        shutdown.clone(),
        RelayOptions {
            retention: Duration::ZERO,
            ..quick()
        },
    );
    let events = [event("a", "1"), event("b", "2"), event("a", "3")];
    let mut tx = db.pool.begin().await.unwrap();
    for event in &events {
        outbox::enqueue(&mut tx, TOPIC, event).await.unwrap();
    }
    assert_eq!(outbox::backlog(&db.pool).await.unwrap().0, 0, "uncommitted");
    tx.commit().await.unwrap();
    relay.wake();

    eventually(
        WAIT,
        "the events are published after one failure",
        || async { bus.published().len() == 3 },
    )
    .await;
    assert_eq!(bus.labels(), ["1", "2", "3"]);
    eventually(WAIT, "sent rows are cleaned up", || async {
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        rows == 0
    })
    .await;
    assert_eq!(outbox::backlog(&db.pool).await.unwrap(), (0, None));

    let mut conn = db.pool.acquire().await.unwrap();
    assert!(
        consumer::mark_processed(&mut conn, "c", "e1")
            .await
            .unwrap()
    );
    assert!(
        !consumer::mark_processed(&mut conn, "c", "e1")
            .await
            .unwrap()
    );
    drop(conn);
    let forgotten = consumer::forget_older_than(&db.pool, Duration::ZERO)
        .await
        .unwrap();
    assert!(forgotten <= 1);

    shutdown.cancel();
    relay.take_handle().unwrap().await.unwrap();
    db.drop().await;
}

#[tokio::test]
async fn two_relays_on_one_postgres_table_publish_each_row_once_in_order() {
    let Some(db) = PgDb::new().await else { return };
    let bus = Arc::new(RecordingBus::default());
    let shutdown = CancellationToken::new();
    let relays: Vec<_> = (0..2)
        .map(|_| {
            outbox::spawn_relay_with(
                "pg-test",
                db.pool.clone(),
                bus.clone() as Arc<dyn Bus>,
                shutdown.clone(),
                RelayOptions {
                    batch_size: 8,
                    ..quick()
                },
            )
        })
        .collect();
    let events: Vec<Event> = (0..120)
        .map(|i| event(&format!("k{}", i % 5), &i.to_string()))
        .collect();
    for chunk in events.chunks(10) {
        enqueue_all(&db.pool, TOPIC, chunk).await;
        for relay in &relays {
            relay.wake();
        }
    }
    eventually(WAIT, "all rows are published", || async {
        bus.published().len() >= events.len()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let published = bus.published();
    let distinct: HashSet<&str> = published.iter().map(|p| p.event.id.as_str()).collect();
    assert_eq!(distinct.len(), published.len(), "a row was published twice");
    let expected: Vec<String> = (0..120).map(|i| i.to_string()).collect();
    assert_eq!(
        published
            .iter()
            .map(|p| label(&p.event))
            .collect::<Vec<_>>(),
        expected
    );

    shutdown.cancel();
    for relay in relays {
        relay.take_handle().unwrap().await.unwrap();
    }
    db.drop().await;
}
