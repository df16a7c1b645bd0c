//! The event machinery over real SQLite files (and PostgreSQL when one is reachable): the
//! outbox and its relay, idempotent consumption, and the in-process bus.

mod consumer;
#[cfg(feature = "kafka")]
mod kafka_bus;
mod memory_bus;
mod outbox;
mod postgres;

use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use platform::db::Migrations;
use platform::events::memory::MemoryBus;
use platform::events::{
    Bus, Event, Handler, PublishError, consumer as consumer_api, outbox as outbox_api,
};
use sqlx::AnyPool;
use tokio_util::sync::CancellationToken;

/// The tables come from the DDL constants services copy into their migrations.
const NONE: Migrations = Migrations::NONE;

/// A SQLite database in a temporary folder, opened as services open theirs.
pub struct TestDb {
    pub pool: AnyPool,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pool = open(&dir).await;
        for ddl in [outbox_api::SQLITE_TABLE, consumer_api::SQLITE_TABLE] {
            sqlx::raw_sql(ddl).execute(&pool).await.unwrap();
        }
        Self { pool, dir }
    }

    /// A second pool on the same file: another process, or the service after a restart.
    pub async fn reopen(&self) -> AnyPool {
        open(&self.dir).await
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

async fn open(dir: &tempfile::TempDir) -> AnyPool {
    let url = platform::db::sqlite_url(dir.path(), "events");
    platform::db::connect(&url, 4, NONE).await.unwrap()
}

/// An event about `subject` with a recognisable payload.
pub fn event(subject: &str, label: &str) -> Event {
    Event::new(
        "/test",
        "thing.happened",
        subject,
        serde_json::json!({ "label": label }),
    )
}

pub fn label(event: &Event) -> String {
    event.data["label"].as_str().unwrap().to_owned()
}

/// Writes `events` through the outbox, each in its own committed transaction.
pub async fn enqueue_all(pool: &AnyPool, topic: &str, events: &[Event]) {
    for event in events {
        let mut tx = pool.begin().await.unwrap();
        outbox_api::enqueue(&mut tx, topic, event).await.unwrap();
        tx.commit().await.unwrap();
    }
}

/// One publish the bus accepted.
#[derive(Debug, Clone)]
pub struct Published {
    pub topic: String,
    pub key: String,
    pub event: Event,
}

/// A bus that records what it accepts, and can fail: the next `n` publishes, or all while down.
#[derive(Default)]
pub struct RecordingBus {
    fail_next: AtomicUsize,
    down: AtomicBool,
    pub attempts: AtomicUsize,
    published: Mutex<Vec<Published>>,
    consumers: MemoryBus,
}

impl RecordingBus {
    pub fn failing(n: usize) -> Arc<Self> {
        let bus = Self::default();
        bus.fail_next.store(n, Ordering::SeqCst);
        Arc::new(bus)
    }

    pub fn down() -> Arc<Self> {
        let bus = Self::default();
        bus.down.store(true, Ordering::SeqCst);
        Arc::new(bus)
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn published(&self) -> Vec<Published> {
        self.published.lock().unwrap().clone()
    }

    pub fn labels(&self) -> Vec<String> {
        self.published().iter().map(|p| label(&p.event)).collect()
    }
}

impl Bus for RecordingBus {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        key: &'a str,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let failing = self.down.load(Ordering::SeqCst)
            || self
                .fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if !failing {
            self.published.lock().unwrap().push(Published {
                topic: topic.to_owned(),
                key: key.to_owned(),
                event: event.clone(),
            });
        }
        Box::pin(async move {
            if failing {
                Err(PublishError("the broker is down".to_owned()))
            } else {
                Ok(())
            }
        })
    }

    fn consume(
        &self,
        topic: &str,
        group: &str,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        self.consumers.consume(topic, group, handler, shutdown)
    }
}

/// Waits until `check` holds, failing the test with `what` after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
