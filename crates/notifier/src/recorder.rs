//! Group commit for the consumers: the notifications of events handled at the same moment are
//! stored in one transaction.
//!
//! The bus hands a notifier instance many events at once (a Kafka member handles different
//! orders concurrently), two per order placed. One transaction per event costs a commit (a WAL
//! flush) and five statements each, which under load is most of what the notifier and its
//! database spend, and queues events behind each other. On PostgreSQL the [`Recorder`] queues
//! the events its handlers are given to one writer task, which stores whatever is waiting,
//! up to [`MAX_BATCH`], in one transaction ([`Storage::record_many`]) while the next batch
//! gathers; each handler waits for the outcome of its own event, so nothing changes for them:
//! the effect is stored (with the processed id, exactly once) before the handler answers
//! `Done`, and only a first delivery prints and pushes. If a batch fails, its events are
//! stored one by one, so one event that cannot be stored never holds back the others.
//!
//! On SQLite (embedded mode) there is one writer per file and the in-process bus hands events
//! over one at a time: each event is recorded on its own, as before.

use std::collections::HashSet;

use tokio::sync::{mpsc, oneshot};

use crate::domain::Notification;
use crate::storage::Storage;

/// The most events stored in one transaction.
pub const MAX_BATCH: usize = 128;

/// One event waiting for its transaction.
struct Request {
    event_id: String,
    notification: Notification,
    outcome: oneshot::Sender<Result<bool, sqlx::Error>>,
}

/// Stores notifications once per event, batching concurrent ones on PostgreSQL. Dropping it
/// ends its writer task once the queue is empty.
#[derive(Debug)]
pub struct Recorder {
    storage: Storage,
    /// The writer task's queue (PostgreSQL), or none: each event is recorded on its own.
    queue: Option<mpsc::UnboundedSender<Request>>,
}

impl Recorder {
    /// A recorder over `storage`; on PostgreSQL it starts its writer task (so it must be
    /// created inside the runtime).
    pub fn new(storage: Storage) -> Self {
        let queue = storage.announces().then(|| {
            let (queue, requests) = mpsc::unbounded_channel();
            tokio::spawn(write_batches(storage.clone(), requests));
            queue
        });
        Self { storage, queue }
    }

    /// Whether stored notifications reach the streams through announcements (PostgreSQL).
    pub fn announces(&self) -> bool {
        self.storage.announces()
    }

    /// Stores `notification` as the effect of event `event_id` unless that event was already
    /// processed: [`Storage::record`], possibly in one transaction with other events. `true`
    /// when stored now, `false` for a duplicate.
    pub async fn record(
        &self,
        event_id: &str,
        notification: &Notification,
    ) -> Result<bool, sqlx::Error> {
        let Some(queue) = &self.queue else {
            return self.storage.record(event_id, notification).await;
        };
        let (outcome, stored) = oneshot::channel();
        let request = Request {
            event_id: event_id.to_owned(),
            notification: notification.clone(),
            outcome,
        };
        if queue.send(request).is_err() {
            // The writer is gone (the runtime is stopping): store it here.
            return self.storage.record(event_id, notification).await;
        }
        stored.await.unwrap_or_else(|_| {
            Err(sqlx::Error::Protocol(
                "the notification writer stopped before answering".into(),
            ))
        })
    }
}

/// The writer task: one transaction per batch of whatever waits, until every sender is gone.
async fn write_batches(storage: Storage, mut requests: mpsc::UnboundedReceiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while requests.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write(&storage, &mut batch).await;
    }
}

/// Stores a batch and answers each request of it (draining `batch`).
async fn write(storage: &Storage, batch: &mut Vec<Request>) {
    // The same event twice in one batch (not expected: a key's events are handled one after
    // another) is stored once; the other copy is a duplicate, as it would be a moment later.
    let mut seen = HashSet::with_capacity(batch.len());
    let (firsts, repeats): (Vec<Request>, Vec<Request>) = batch
        .drain(..)
        .partition(|request| seen.insert(request.event_id.clone()));
    let entries: Vec<(&str, &Notification)> = firsts
        .iter()
        .map(|request| (request.event_id.as_str(), &request.notification))
        .collect();
    match storage.record_many(&entries).await {
        Ok(stored) => {
            for (request, stored) in firsts.into_iter().zip(stored) {
                let _ = request.outcome.send(Ok(stored));
            }
        }
        Err(error) => {
            tracing::debug!(%error, events = firsts.len(), "a batch of notifications failed; storing them one by one");
            for request in firsts {
                let stored = storage
                    .record(&request.event_id, &request.notification)
                    .await;
                let _ = request.outcome.send(stored);
            }
        }
    }
    for request in repeats {
        let _ = request.outcome.send(Ok(false));
    }
}

#[cfg(test)]
mod tests {
    use futures::future::join_all;
    use sqlx::postgres::PgListener;
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::*;

    fn notification(user: Uuid) -> Notification {
        Notification {
            id: Uuid::now_v7(),
            user_id: user,
            kind: "order.paid".to_owned(),
            message: "order paid".to_owned(),
            total_cents: Some(100),
            reason: None,
            title: None,
            order_id: Some(Uuid::now_v7()),
            agenda_event_id: None,
            created_at: OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
            read: false,
        }
    }

    async fn postgres(test: &str) -> Option<(test_support::PostgresDb, Storage)> {
        let db = test_support::PostgresDb::create(test).await?;
        let storage = Storage::connect(&db.url, 4).await.unwrap();
        assert!(storage.announces());
        Some((db, storage))
    }

    async fn count(storage: &Storage, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(storage.pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn concurrent_events_share_transactions_and_are_stored_once_each() {
        let Some((_db, storage)) = postgres("recorder: shared transactions").await else {
            return;
        };
        let recorder = Recorder::new(storage.clone());
        let user = Uuid::now_v7();
        let events: Vec<(String, Notification)> = (0..50)
            .map(|_| (Uuid::now_v7().to_string(), notification(user)))
            .collect();

        let first = join_all(events.iter().map(|(id, n)| recorder.record(id, n))).await;
        assert!(
            first.iter().all(|stored| matches!(stored, Ok(true))),
            "{first:?}"
        );
        let again = join_all(events.iter().map(|(id, n)| recorder.record(id, n))).await;
        assert!(
            again.iter().all(|stored| matches!(stored, Ok(false))),
            "{again:?}"
        );

        assert_eq!(
            count(&storage, "SELECT COUNT(*) FROM notifications").await,
            50
        );
        assert_eq!(
            count(&storage, "SELECT COUNT(*) FROM processed_events").await,
            50
        );
        // Rows written by one transaction share its id (`xmin`).
        let transactions = count(
            &storage,
            "SELECT COUNT(DISTINCT xmin::text) FROM notifications",
        )
        .await;
        assert!(
            transactions <= 5,
            "{transactions} transactions for 50 events"
        );
        let stored: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications n JOIN processed_events p USING (event_id)",
        )
        .fetch_one(storage.pool())
        .await
        .unwrap();
        assert_eq!(stored, 50, "each notification names its event");
    }

    #[tokio::test]
    async fn the_same_event_twice_at_once_is_stored_once() {
        let Some((_db, storage)) = postgres("recorder: one event twice").await else {
            return;
        };
        let recorder = Recorder::new(storage.clone());
        let event_id = Uuid::now_v7().to_string();
        let first = notification(Uuid::now_v7());
        let second = Notification {
            id: Uuid::now_v7(),
            ..first.clone()
        };
        let outcomes = join_all([
            recorder.record(&event_id, &first),
            recorder.record(&event_id, &second),
        ])
        .await;
        let stored: Vec<bool> = outcomes.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            stored.iter().filter(|stored| **stored).count(),
            1,
            "{stored:?}"
        );
        assert_eq!(
            count(&storage, "SELECT COUNT(*) FROM notifications").await,
            1
        );
    }

    #[tokio::test]
    async fn stored_notifications_are_announced_once_each_in_creation_order() {
        let Some((db, storage)) = postgres("recorder: announcements").await else {
            return;
        };
        let mut listener = PgListener::connect(&db.url).await.unwrap();
        listener.listen(crate::fanout::CHANNEL).await.unwrap();
        let recorder = Recorder::new(storage.clone());
        let user = Uuid::now_v7();
        let events: Vec<(String, Notification)> = (0..20)
            .map(|_| (Uuid::now_v7().to_string(), notification(user)))
            .collect();
        // Handed over newest first: the announcements still come in creation (id) order.
        let outcomes = join_all(events.iter().rev().map(|(id, n)| recorder.record(id, n))).await;
        assert!(outcomes.iter().all(|stored| matches!(stored, Ok(true))));

        let mut announced = Vec::new();
        while announced.len() < events.len() {
            let received = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
                .await
                .expect("every stored notification is announced")
                .unwrap();
            let notification: Notification = serde_json::from_str(received.payload()).unwrap();
            announced.push(notification.id);
        }
        let expected: Vec<Uuid> = events.iter().map(|(_, n)| n.id).collect();
        assert_eq!(announced, expected);
        join_all(events.iter().map(|(id, n)| recorder.record(id, n))).await;
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(300), listener.recv())
                .await
                .is_err(),
            "a duplicate was announced again"
        );
    }

    #[tokio::test]
    async fn an_event_that_cannot_be_stored_fails_alone() {
        let Some((_db, storage)) = postgres("recorder: one bad event").await else {
            return;
        };
        let recorder = Recorder::new(storage.clone());
        let user = Uuid::now_v7();
        let mut events: Vec<(String, Notification)> = (0..9)
            .map(|_| (Uuid::now_v7().to_string(), notification(user)))
            .collect();
        // Neither an order nor an agenda event: the table's check refuses it.
        let mut bad = notification(user);
        bad.order_id = None;
        events.insert(4, (Uuid::now_v7().to_string(), bad));

        let outcomes = join_all(events.iter().map(|(id, n)| recorder.record(id, n))).await;
        for (index, outcome) in outcomes.iter().enumerate() {
            if index == 4 {
                assert!(outcome.is_err(), "{outcome:?}");
            } else {
                assert!(matches!(outcome, Ok(true)), "{index}: {outcome:?}");
            }
        }
        assert_eq!(
            count(&storage, "SELECT COUNT(*) FROM notifications").await,
            9
        );
        assert_eq!(
            count(&storage, "SELECT COUNT(*) FROM processed_events").await,
            9
        );
    }
}
