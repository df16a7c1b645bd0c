//! The consumer of `agenda-events`: each announcement (`event.created`, `event.updated`,
//! `event.cancelled`) becomes one notification for the event's organizer, one console line and
//! one push to the organizer's open streams.
//!
//! It follows the order consumer ([`crate::order_events`]) exactly: the notification is stored
//! in one transaction with the event's id ([`Storage::record`], the same consumer name, since
//! event ids are UUIDv7s unique across topics), and only after that commit, and only for a
//! first delivery, is the line printed and the notification pushed. A payload that cannot be
//! parsed is rejected to the dead-letter topic; a database error is retried.

use std::sync::Arc;

use futures::future::BoxFuture;
use platform::events::{Event, Handled, Handler};

use crate::domain::{AgendaEvent, Notification};
use crate::hub::Hub;
use crate::order_events::{Console, count, deliver};
use crate::recorder::Recorder;
use crate::storage::Storage;

/// Turns agenda announcements into notifications for their organizers.
pub struct AgendaEventsHandler {
    recorder: Recorder,
    hub: Arc<Hub>,
    console: Arc<dyn Console>,
}

impl std::fmt::Debug for AgendaEventsHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgendaEventsHandler")
            .finish_non_exhaustive()
    }
}

impl AgendaEventsHandler {
    /// A handler storing through its own [`crate::recorder::Recorder`] (so it must be created
    /// inside the runtime).
    pub fn new(storage: Storage, hub: Arc<Hub>, console: Arc<dyn Console>) -> Self {
        Self {
            recorder: Recorder::new(storage),
            hub,
            console,
        }
    }

    async fn process(&self, event: &Event) -> Handled {
        let agenda_event = match AgendaEvent::parse(&event.kind, &event.data) {
            Ok(agenda_event) => agenda_event,
            Err(error) => {
                count(&event.kind, "rejected");
                return Handled::Reject(error.to_string());
            }
        };
        let notification = Notification::for_agenda_event(&agenda_event);
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

impl Handler for AgendaEventsHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Handled> {
        Box::pin(self.process(event))
    }
}

#[cfg(test)]
mod tests {

    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    use crate::order_events::tests::Captured;

    struct Fixture {
        _dir: tempfile::TempDir,
        storage: Storage,
        hub: Arc<Hub>,
        console: Arc<Captured>,
        handler: AgendaEventsHandler,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = platform::db::sqlite_url(dir.path(), "notifier");
        let storage = Storage::connect(&url, 2).await.unwrap();
        let hub = Arc::new(Hub::default());
        let console = Arc::new(Captured::default());
        let handler = AgendaEventsHandler::new(storage.clone(), hub.clone(), console.clone());
        Fixture {
            _dir: dir,
            storage,
            hub,
            console,
            handler,
        }
    }

    fn created(organizer: Uuid) -> Event {
        let id = Uuid::now_v7();
        Event::new(
            "/agenda",
            "event.created",
            id.to_string(),
            json!({
                "id": id,
                "title": "Rust meetup",
                "description": "",
                "starts_at": "2026-12-03T18:00:00Z",
                "ends_at": "2026-12-03T20:00:00Z",
                "location": "Paris",
                "visibility": "public",
                "organizer_id": organizer,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "organizer_username": "alice",
                "actor_username": "alice",
            }),
        )
    }

    #[tokio::test]
    async fn an_announcement_prints_one_line_and_reaches_the_organizers_streams() {
        let fixture = fixture().await;
        let organizer = Uuid::now_v7();
        let mut subscription = fixture.hub.subscribe(organizer);
        let event = created(organizer);

        assert!(matches!(
            fixture.handler.handle(&event).await,
            Handled::Done
        ));

        assert_eq!(
            fixture.console.lines(),
            [format!(
                "event {} \"Rust meetup\" created by alice: 2026-12-03 18:00 UTC at Paris",
                event.subject
            )]
        );
        let pushed = subscription.recv().await.unwrap();
        assert_eq!(pushed.message, fixture.console.lines()[0]);
        assert_eq!(pushed.user_id, organizer);
        assert_eq!(pushed.agenda_event_id.unwrap().to_string(), event.subject);
    }

    #[tokio::test]
    async fn a_redelivered_announcement_prints_and_pushes_nothing_more() {
        let fixture = fixture().await;
        let organizer = Uuid::now_v7();
        let mut subscription = fixture.hub.subscribe(organizer);
        let event = created(organizer);

        for _ in 0..2 {
            assert!(matches!(
                fixture.handler.handle(&event).await,
                Handled::Done
            ));
        }

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
        let mut event = created(Uuid::now_v7());
        event.data["starts_at"] = json!("soon");

        assert!(matches!(
            fixture.handler.handle(&event).await,
            Handled::Reject(reason) if reason.contains("starts_at")
        ));
        assert!(fixture.console.lines().is_empty());
    }

    #[tokio::test]
    async fn a_database_failure_asks_for_a_retry_and_prints_nothing() {
        let fixture = fixture().await;
        fixture.storage.pool().close().await;

        let outcome = fixture.handler.handle(&created(Uuid::now_v7())).await;

        assert!(matches!(outcome, Handled::Retry(_)), "{outcome:?}");
        assert!(fixture.console.lines().is_empty());
    }
}
