//! In-process fan-out of new notifications to the open streams of their user.
//!
//! One tokio broadcast channel per user with at least one open stream, created on the first
//! subscription and removed with the last: publishing never waits (a full channel overwrites its
//! oldest entry and the slow stream is told it lagged, then catches up from the database), and
//! a stream only ever wakes for its own user's notifications.
//!
//! The hub is per process. In distributed mode with several notifier instances, every instance
//! hears of every stored notification through the database ([`crate::fanout`]) and feeds its own
//! hub, whichever instance processed the event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::domain::Notification;

/// Notifications a user's channel holds for a stream that has not read them yet.
pub const CHANNEL_CAPACITY: usize = 256;

/// What a channel carries: a new notification, or `None`: "read the database, you may have
/// missed some" (after the announcements connection was lost, or for one too long to announce).
type Push = Option<Arc<Notification>>;

type Channels = HashMap<Uuid, broadcast::Sender<Push>>;

/// The open streams' channels, by user.
#[derive(Debug)]
pub struct Hub {
    channels: Mutex<Channels>,
    capacity: usize,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(CHANNEL_CAPACITY)
    }
}

impl Hub {
    /// A hub whose per-user channels hold `capacity` notifications (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            channels: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, Channels> {
        self.channels
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Hands `notification` to its user's open streams, if any; never blocks.
    pub fn publish(&self, notification: Notification) {
        let user = notification.user_id;
        let mut channels = self.channels();
        if let Some(sender) = channels.get(&user)
            && sender.send(Some(Arc::new(notification))).is_err()
        {
            // Every stream of this user is gone.
            channels.remove(&user);
        }
    }

    /// Tells `user`'s open streams to catch up from the database.
    pub fn wake(&self, user: Uuid) {
        if let Some(sender) = self.channels().get(&user) {
            let _ = sender.send(None);
        }
    }

    /// Tells every open stream to catch up from the database.
    pub fn wake_all(&self) {
        for sender in self.channels().values() {
            let _ = sender.send(None);
        }
    }

    /// A subscription to `user`'s new notifications, from now on.
    pub fn subscribe(self: &Arc<Self>, user: Uuid) -> Subscription {
        let receiver = self
            .channels()
            .entry(user)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe();
        metrics::gauge!("notifier_open_streams", "service" => crate::SERVICE).increment(1.0);
        Subscription {
            hub: self.clone(),
            user,
            receiver: Some(receiver),
        }
    }

    /// Users with at least one open stream (for tests and debugging).
    pub fn listening_users(&self) -> usize {
        self.channels().len()
    }
}

/// One stream's receiving end; dropping the last one of a user frees the user's channel.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<Hub>,
    user: Uuid,
    receiver: Option<broadcast::Receiver<Push>>,
}

impl Subscription {
    /// The next notification, or why there is none (`Lagged(n)`: `n` were overwritten, or
    /// `Lagged(0)`: some may have been missed; either way the database has them).
    pub async fn recv(&mut self) -> Result<Arc<Notification>, broadcast::error::RecvError> {
        match &mut self.receiver {
            Some(receiver) => match receiver.recv().await? {
                Some(notification) => Ok(notification),
                None => Err(broadcast::error::RecvError::Lagged(0)),
            },
            None => Err(broadcast::error::RecvError::Closed),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        metrics::gauge!("notifier_open_streams", "service" => crate::SERVICE).decrement(1.0);
        let mut channels = self.hub.channels();
        // Dropped under the lock, so a concurrent subscribe sees a consistent count.
        drop(self.receiver.take());
        if channels
            .get(&self.user)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            channels.remove(&self.user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn notification(user: Uuid) -> Notification {
        Notification {
            id: Uuid::now_v7(),
            user_id: user,
            kind: "order.paid".into(),
            message: "order x paid by alice: 1.00 EUR".into(),
            total_cents: Some(100),
            reason: None,
            title: None,
            order_id: Some(Uuid::now_v7()),
            agenda_event_id: None,
            created_at: OffsetDateTime::now_utc(),
            read: false,
        }
    }

    #[tokio::test]
    async fn a_subscriber_receives_only_its_users_notifications() {
        let hub = Arc::new(Hub::default());
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let mut subscription = hub.subscribe(alice);
        let _bob = hub.subscribe(bob);
        hub.publish(notification(bob));
        let mine = notification(alice);
        hub.publish(mine.clone());
        assert_eq!(*subscription.recv().await.unwrap(), mine);
    }

    #[tokio::test]
    async fn the_last_subscription_dropped_frees_the_channel() {
        let hub = Arc::new(Hub::default());
        let user = Uuid::now_v7();
        let first = hub.subscribe(user);
        let second = hub.subscribe(user);
        assert_eq!(hub.listening_users(), 1);
        drop(first);
        assert_eq!(hub.listening_users(), 1);
        drop(second);
        assert_eq!(hub.listening_users(), 0);
        // Publishing to nobody is fine and creates nothing.
        hub.publish(notification(user));
        assert_eq!(hub.listening_users(), 0);
    }

    #[tokio::test]
    async fn a_full_channel_reports_the_lag_instead_of_blocking() {
        let hub = Arc::new(Hub::new(2));
        let user = Uuid::now_v7();
        let mut subscription = hub.subscribe(user);
        for _ in 0..5 {
            hub.publish(notification(user));
        }
        assert!(matches!(
            subscription.recv().await,
            Err(broadcast::error::RecvError::Lagged(3))
        ));
    }
}
