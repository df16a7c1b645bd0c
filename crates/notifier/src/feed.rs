//! What one open notification stream sends, in order, without gaps or repeats.
//!
//! A feed subscribes to its user's live channel *before* reading anything from the database, so
//! nothing can fall between a replay and the live notifications; whatever the replay already
//! sent is skipped when it comes through the channel again (ids are time-ordered UUIDv7s minted
//! in processing order). When the stream is too slow and its channel overwrote entries, the feed
//! reads the missed ones from the database and goes on; only if that read fails does the client
//! get a `lagged` item, telling it to reload its inbox.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::Notification;
use crate::hub::{Hub, Subscription};
use crate::storage::Storage;

/// Notifications read from the database at a time while replaying or catching up.
const CATCH_UP_BATCH: u32 = 100;

/// One thing to send on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Notification(Arc<Notification>),
    /// Notifications were missed and could not be read back; `missed` is how many.
    Lagged {
        missed: u64,
    },
}

/// The source of one stream's items.
#[derive(Debug)]
pub struct Feed {
    user: Uuid,
    storage: Storage,
    subscription: Subscription,
    /// The last notification sent; anything at or before it is a repeat.
    cursor: Option<Uuid>,
    /// Where a catch-up starts when nothing was sent yet: the moment the stream opened.
    opened: Uuid,
    /// Whether the database holds notifications to send before the live ones.
    catching_up: bool,
    /// Overwritten in the channel since the last successful catch-up.
    missed: u64,
    pending: VecDeque<Arc<Notification>>,
    shutdown: CancellationToken,
}

impl Feed {
    /// A feed of `user`'s new notifications; with `since`, those after that id first.
    pub fn open(
        hub: &Arc<Hub>,
        storage: Storage,
        user: Uuid,
        since: Option<Uuid>,
        shutdown: CancellationToken,
    ) -> Self {
        let subscription = hub.subscribe(user);
        Self {
            user,
            storage,
            subscription,
            cursor: since,
            opened: Uuid::now_v7(),
            catching_up: since.is_some(),
            missed: 0,
            pending: VecDeque::new(),
            shutdown,
        }
    }

    /// The next item to send; `None` once the service is shutting down.
    pub async fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(notification) = self.pending.pop_front() {
                self.cursor = Some(notification.id);
                return Some(Item::Notification(notification));
            }
            if self.catching_up {
                if let Some(lagged) = self.catch_up().await {
                    return Some(lagged);
                }
                continue;
            }
            let received = tokio::select! {
                () = self.shutdown.cancelled() => return None,
                received = self.subscription.recv() => received,
            };
            match received {
                Ok(notification) => {
                    if self.cursor.is_some_and(|cursor| notification.id <= cursor) {
                        continue;
                    }
                    self.cursor = Some(notification.id);
                    return Some(Item::Notification(notification));
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(user = %self.user, missed, "notification stream lagged; catching up from the database");
                    self.missed = self.missed.saturating_add(missed);
                    self.catching_up = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Reads the next batch after the cursor into `pending`; a `Lagged` item if that failed.
    async fn catch_up(&mut self) -> Option<Item> {
        let after = self.cursor.unwrap_or(self.opened);
        let read = tokio::select! {
            () = self.shutdown.cancelled() => return None,
            read = self.storage.after(self.user, after, CATCH_UP_BATCH) => read,
        };
        match read {
            Ok(batch) => {
                // A short batch means the database has nothing more: back to the live channel.
                self.catching_up = batch.len() == CATCH_UP_BATCH as usize;
                if !self.catching_up {
                    self.missed = 0;
                }
                self.pending.extend(batch.into_iter().map(Arc::new));
                None
            }
            Err(error) => {
                tracing::warn!(user = %self.user, error = format!("{error:#}"), "cannot read missed notifications");
                self.catching_up = false;
                let missed = std::mem::take(&mut self.missed);
                Some(Item::Lagged { missed })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::{Cents, OrderEvent, OrderEventKind};

    struct Fixture {
        _dir: tempfile::TempDir,
        storage: Storage,
        hub: Arc<Hub>,
        shutdown: CancellationToken,
    }

    async fn fixture(capacity: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = platform::db::sqlite_url(dir.path(), "notifier");
        let storage = Storage::connect(&url, 2).await.unwrap();
        Fixture {
            _dir: dir,
            storage,
            hub: Arc::new(Hub::new(capacity)),
            shutdown: CancellationToken::new(),
        }
    }

    impl Fixture {
        fn feed(&self, user: Uuid, since: Option<Uuid>) -> Feed {
            Feed::open(
                &self.hub,
                self.storage.clone(),
                user,
                since,
                self.shutdown.clone(),
            )
        }

        /// What the consumer does for one event: store, then publish.
        async fn notify(&self, user: Uuid) -> Notification {
            let notification = Notification::for_event(&OrderEvent {
                kind: OrderEventKind::Paid,
                order_id: Uuid::now_v7(),
                user_id: user,
                username: "alice".into(),
                status: None,
                total: Cents::new(100).unwrap(),
                item_count: 1,
                reason: None,
            });
            let event_id = Uuid::now_v7().to_string();
            assert!(self.storage.record(&event_id, &notification).await.unwrap());
            self.hub.publish(notification.clone());
            notification
        }
    }

    async fn next(feed: &mut Feed) -> Item {
        tokio::time::timeout(Duration::from_secs(2), feed.next())
            .await
            .expect("an item within 2 s")
            .expect("the feed is open")
    }

    fn id(item: &Item) -> Uuid {
        match item {
            Item::Notification(notification) => notification.id,
            Item::Lagged { .. } => panic!("unexpected lag: {item:?}"),
        }
    }

    #[tokio::test]
    async fn a_slow_stream_catches_up_from_the_database_in_order() {
        let fixture = fixture(2).await;
        let user = Uuid::now_v7();
        let mut feed = fixture.feed(user, None);
        let mut sent = Vec::new();
        for _ in 0..7 {
            sent.push(fixture.notify(user).await.id);
        }
        let mut received = Vec::new();
        for _ in 0..7 {
            received.push(id(&next(&mut feed).await));
        }
        assert_eq!(received, sent);
        let live = fixture.notify(user).await;
        assert_eq!(id(&next(&mut feed).await), live.id);
    }

    #[tokio::test]
    async fn a_replay_sends_what_followed_since_then_the_live_ones_without_repeats() {
        let fixture = fixture(16).await;
        let user = Uuid::now_v7();
        let first = fixture.notify(user).await;
        let second = fixture.notify(user).await;
        let third = fixture.notify(user).await;
        let mut feed = fixture.feed(user, Some(first.id));
        // Published after the subscription: both in the channel and in the database.
        let fourth = fixture.notify(user).await;
        let mut received = Vec::new();
        for _ in 0..3 {
            received.push(id(&next(&mut feed).await));
        }
        assert_eq!(received, [second.id, third.id, fourth.id]);
        let fifth = fixture.notify(user).await;
        assert_eq!(id(&next(&mut feed).await), fifth.id);
    }

    #[tokio::test]
    async fn a_lag_that_cannot_be_read_back_is_reported() {
        let fixture = fixture(1).await;
        let user = Uuid::now_v7();
        let mut feed = fixture.feed(user, None);
        for _ in 0..3 {
            fixture.notify(user).await;
        }
        fixture.storage.pool().close().await;
        assert_eq!(next(&mut feed).await, Item::Lagged { missed: 2 });
    }

    #[tokio::test]
    async fn the_feed_ends_on_shutdown() {
        let fixture = fixture(4).await;
        let mut feed = fixture.feed(Uuid::now_v7(), None);
        fixture.shutdown.cancel();
        assert_eq!(feed.next().await, None);
    }
}
