//! The consumer of `order-events`: each event becomes one notification, one console line and
//! one push to the owner's open streams.
//!
//! The effect is stored first, in one transaction with the event's id
//! ([`Storage::record`]; on PostgreSQL events handled at the same moment share that
//! transaction, see [`crate::recorder`]); only after the commit is the line printed and the notification pushed,
//! and only when this delivery was the first, so a redelivered event prints nothing twice. A
//! payload that cannot be parsed will never succeed and is rejected to the dead-letter topic; a
//! database error is transient and the event is delivered again.

use std::io::Write;
use std::sync::Arc;

use futures::future::BoxFuture;
use platform::events::{Event, Handled, Handler};

use crate::domain::{Notification, OrderEvent};
use crate::hub::Hub;
use crate::recorder::Recorder;
use crate::storage::Storage;

/// Where the one line per event goes.
pub trait Console: Send + Sync + 'static {
    fn print(&self, line: &str);
}

/// The process's standard output (the seed's "print in the console").
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Console for Stdout {
    fn print(&self, line: &str) {
        // A closed stdout (`microshop up | head`) must not stop the consumer.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// Turns order events into notifications.
pub struct OrderEventsHandler {
    recorder: Recorder,
    hub: Arc<Hub>,
    console: Arc<dyn Console>,
}

impl std::fmt::Debug for OrderEventsHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderEventsHandler").finish_non_exhaustive()
    }
}

impl OrderEventsHandler {
    /// A handler storing through its own [`Recorder`] (so it must be created inside the
    /// runtime).
    pub fn new(storage: Storage, hub: Arc<Hub>, console: Arc<dyn Console>) -> Self {
        Self {
            recorder: Recorder::new(storage),
            hub,
            console,
        }
    }

    async fn process(&self, event: &Event) -> Handled {
        let order = match OrderEvent::parse(&event.kind, &event.data) {
            Ok(order) => order,
            Err(error) => {
                count(&event.kind, "rejected");
                return Handled::Reject(error.to_string());
            }
        };
        let notification = Notification::for_event(&order);
        deliver(
            &self.recorder,
            &self.hub,
            self.console.as_ref(),
            event,
            notification,
        )
        .await
    }
}

impl Handler for OrderEventsHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Handled> {
        Box::pin(self.process(event))
    }
}

/// Stores `notification` once per event (the processed id and the notification in one
/// transaction), then prints its line and pushes it to open streams — only on first delivery,
/// so a redelivered event has no second effect. Shared by both consumers.
pub(crate) async fn deliver(
    recorder: &Recorder,
    hub: &Hub,
    console: &dyn Console,
    event: &Event,
    notification: Notification,
) -> Handled {
    match recorder.record(&event.id, &notification).await {
        Ok(true) => {
            count(&event.kind, "notified");
            console.print(&notification.message);
            if !recorder.announces() {
                // On PostgreSQL the announcement feeds every instance's hub, this one included.
                hub.publish(notification);
            }
            Handled::Done
        }
        Ok(false) => {
            count(&event.kind, "duplicate");
            tracing::debug!(event_id = %event.id, kind = %event.kind, "event already processed");
            Handled::Done
        }
        Err(error) => {
            count(&event.kind, "retried");
            Handled::Retry(format!("storing the notification failed: {error}"))
        }
    }
}

/// Counts consumed events by type and outcome (both consumers share it).
pub(crate) fn count(kind: &str, outcome: &'static str) {
    metrics::counter!(
        "notifier_events_total",
        "service" => crate::SERVICE,
        "type" => kind.to_owned(),
        "outcome" => outcome
    )
    .increment(1);
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;

    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    /// A console that keeps the lines, for the consumers' tests.
    #[derive(Default)]
    pub(crate) struct Captured(Mutex<Vec<String>>);

    impl Console for Captured {
        fn print(&self, line: &str) {
            self.0.lock().unwrap().push(line.to_owned());
        }
    }

    impl Captured {
        pub(crate) fn lines(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        storage: Storage,
        hub: Arc<Hub>,
        console: Arc<Captured>,
        handler: OrderEventsHandler,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = platform::db::sqlite_url(dir.path(), "notifier");
        let storage = Storage::connect(&url, 2).await.unwrap();
        let hub = Arc::new(Hub::default());
        let console = Arc::new(Captured::default());
        let handler = OrderEventsHandler::new(storage.clone(), hub.clone(), console.clone());
        Fixture {
            _dir: dir,
            storage,
            hub,
            console,
            handler,
        }
    }

    fn paid_event(user: Uuid) -> Event {
        let order = Uuid::now_v7();
        Event::new(
            "/orders",
            "order.paid",
            order.to_string(),
            json!({
                "order_id": order,
                "user_id": user,
                "username": "alice",
                "status": "paid",
                "total_cents": 2500,
                "items": [{"product_id": 1, "name": "Fraises", "unit_price_cents": 1250, "quantity": 2, "line_total_cents": 2500}]
            }),
        )
    }

    #[tokio::test]
    async fn an_event_prints_one_line_and_reaches_the_users_streams() {
        let fixture = fixture().await;
        let user = Uuid::now_v7();
        let mut subscription = fixture.hub.subscribe(user);
        let event = paid_event(user);

        assert!(matches!(
            fixture.handler.handle(&event).await,
            Handled::Done
        ));

        let order = event.subject.clone();
        assert_eq!(
            fixture.console.lines(),
            [format!("order {order} paid by alice: 25.00 EUR")]
        );
        let pushed = subscription.recv().await.unwrap();
        assert_eq!(pushed.message, fixture.console.lines()[0]);
        assert_eq!(pushed.user_id, user);
    }

    #[tokio::test]
    async fn a_redelivered_event_prints_and_pushes_nothing_more() {
        let fixture = fixture().await;
        let user = Uuid::now_v7();
        let mut subscription = fixture.hub.subscribe(user);
        let event = paid_event(user);

        assert!(matches!(
            fixture.handler.handle(&event).await,
            Handled::Done
        ));
        assert!(matches!(
            fixture.handler.handle(&event).await,
            Handled::Done
        ));

        assert_eq!(fixture.console.lines().len(), 1);
        subscription.recv().await.unwrap();
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), subscription.recv())
                .await
                .is_err(),
            "a second push was sent"
        );
    }

    #[tokio::test]
    async fn an_unparsable_payload_is_rejected_without_a_line() {
        let fixture = fixture().await;
        let mut event = paid_event(Uuid::now_v7());
        event.data = json!({"order_id": "not a uuid"});

        assert!(matches!(
            fixture.handler.handle(&event).await,
            Handled::Reject(reason) if reason.contains("order_id")
        ));
        assert!(fixture.console.lines().is_empty());
    }

    #[tokio::test]
    async fn a_database_failure_asks_for_a_retry_and_prints_nothing() {
        let fixture = fixture().await;
        fixture.storage.pool().close().await;

        let outcome = fixture.handler.handle(&paid_event(Uuid::now_v7())).await;

        assert!(matches!(outcome, Handled::Retry(_)), "{outcome:?}");
        assert!(fixture.console.lines().is_empty());
    }
}
