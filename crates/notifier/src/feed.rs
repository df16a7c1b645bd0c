//! What one open notification stream sends, in order, without gaps or repeats.
//!
//! A feed subscribes to its user's live channel *before* reading anything from the database, so
//! nothing can fall between a replay and the live notifications; whatever the replay already
//! sent is skipped when it comes through the channel again. Notification ids are time-ordered
//! UUIDv7s, but several writers (the consumers of two notifier instances, and concurrent events
//! within one) mint them before their transactions commit, so a notification can be announced
//! after one with a higher id. "Already sent" is therefore a set of the ids sent lately, not
//! "at or below the last id": a late notification with a lower id still goes out. When the
//! stream is too slow and its channel overwrote entries, the feed reads the database from the
//! lowest id it still remembers sending, skips what it sent, and goes on; only if that read
//! fails does the client get a `lagged` item, telling it to reload its inbox.
//!
//! A reconnecting client's replay (`Last-Event-ID`) reads what follows that id: a notification
//! with a lower id committed after the client left (a window of one transaction) is in the
//! inbox, not in the replay.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::Notification;
use crate::hub::{Hub, Subscription};
use crate::storage::Storage;

/// Notifications read from the database at a time while replaying or catching up.
const CATCH_UP_BATCH: u32 = 100;

/// How many of the ids sent last a feed remembers (the highest ones): more than a channel
/// holds, so whatever a replay sent and the channel then repeats is recognised.
const REMEMBERED: usize = 512;

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
    /// The id the client saw last (`Last-Event-ID`): the replay starts after it.
    since: Option<Uuid>,
    /// Where a catch-up starts when nothing was sent yet: the moment the stream opened.
    opened: Uuid,
    /// The highest ids sent, at most [`REMEMBERED`]: anything in it is a repeat.
    sent: BTreeSet<Uuid>,
    /// Whether `sent` had to forget ids (it holds every id sent until then).
    forgot: bool,
    /// Whether the database holds notifications to send before the live ones.
    catching_up: bool,
    /// Where the catch-up in progress reads next.
    scan: Option<Uuid>,
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
            since,
            opened: Uuid::now_v7(),
            sent: BTreeSet::new(),
            forgot: false,
            catching_up: since.is_some(),
            scan: None,
            missed: 0,
            pending: VecDeque::new(),
            shutdown,
        }
    }

    /// The next item to send; `None` once the service is shutting down.
    pub async fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(notification) = self.pending.pop_front() {
                if self.remember(notification.id) {
                    return Some(Item::Notification(notification));
                }
                continue;
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
                    if self.remember(notification.id) {
                        return Some(Item::Notification(notification));
                    }
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

    /// Records `id` as sent; `false` if it already was (a repeat, not to send).
    fn remember(&mut self, id: Uuid) -> bool {
        if !self.sent.insert(id) {
            return false;
        }
        if self.sent.len() > REMEMBERED {
            self.sent.pop_first();
            self.forgot = true;
        }
        true
    }

    /// Reads the next batch of the catch-up (or replay) into `pending`, leaving out what was
    /// sent already; a `Lagged` item if that failed. While the feed remembers every id it sent,
    /// a catch-up reads from where the feed started (after `since`, or the moment it opened),
    /// so a late notification with a lower id is not missed either; once it had to forget,
    /// from the lowest id it remembers.
    async fn catch_up(&mut self) -> Option<Item> {
        let start = self.since.unwrap_or(self.opened);
        let after = self.scan.unwrap_or_else(|| match self.sent.first() {
            Some(&lowest) if self.forgot => lowest,
            _ => start,
        });
        let read = tokio::select! {
            () = self.shutdown.cancelled() => return None,
            read = self.storage.after(self.user, after, CATCH_UP_BATCH) => read,
        };
        match read {
            Ok(batch) => {
                // A short batch means the database has nothing more: back to the live channel.
                self.catching_up = batch.len() == CATCH_UP_BATCH as usize;
                self.scan = match batch.last() {
                    Some(last) if self.catching_up => Some(last.id),
                    _ => None,
                };
                if !self.catching_up {
                    self.missed = 0;
                }
                let fresh = batch
                    .into_iter()
                    .filter(|notification| !self.sent.contains(&notification.id));
                self.pending.extend(fresh.map(Arc::new));
                None
            }
            Err(error) => {
                tracing::warn!(user = %self.user, error = format!("{error:#}"), "cannot read missed notifications");
                self.catching_up = false;
                self.scan = None;
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
            let notification = self.minted(user);
            self.store_and_publish(&notification).await;
            notification
        }

        async fn store_and_publish(&self, notification: &Notification) {
            let event_id = Uuid::now_v7().to_string();
            assert!(self.storage.record(&event_id, notification).await.unwrap());
            self.hub.publish(notification.clone());
        }

        /// A notification as a consumer mints it, not stored yet.
        fn minted(&self, user: Uuid) -> Notification {
            Notification::for_event(&OrderEvent {
                kind: OrderEventKind::Paid,
                order_id: Uuid::now_v7(),
                user_id: user,
                username: "alice".into(),
                status: None,
                total: Cents::new(100).unwrap(),
                item_count: 1,
                reason: None,
            })
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
    async fn a_notification_announced_after_one_with_a_higher_id_still_goes_out() {
        let fixture = fixture(16).await;
        let user = Uuid::now_v7();
        let mut feed = fixture.feed(user, None);
        // Two writers: the first minted its id earlier but committed later.
        let earlier = fixture.minted(user);
        let later = fixture.minted(user);
        fixture.store_and_publish(&later).await;
        fixture.store_and_publish(&earlier).await;
        assert_eq!(id(&next(&mut feed).await), later.id);
        assert_eq!(id(&next(&mut feed).await), earlier.id);
        // And a repeat of either is still recognised.
        fixture.hub.publish(later.clone());
        let third = fixture.notify(user).await;
        assert_eq!(id(&next(&mut feed).await), third.id);
    }

    #[tokio::test]
    async fn a_catch_up_finds_a_late_notification_below_what_was_sent() {
        let fixture = fixture(2).await;
        let user = Uuid::now_v7();
        let mut feed = fixture.feed(user, None);
        let late = fixture.minted(user);
        let first = fixture.notify(user).await;
        assert_eq!(id(&next(&mut feed).await), first.id);
        // The late one commits now, among enough others to overflow the channel.
        fixture.store_and_publish(&late).await;
        let mut rest = Vec::new();
        for _ in 0..4 {
            rest.push(fixture.notify(user).await.id);
        }
        let mut received = Vec::new();
        for _ in 0..5 {
            received.push(id(&next(&mut feed).await));
        }
        let mut expected = vec![late.id];
        expected.extend(rest);
        assert_eq!(
            received, expected,
            "in id order from the database, no repeat of the first"
        );
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
