//! Live pushes across notifier instances.
//!
//! With several notifier instances (distributed mode), the instance that processes an event is
//! rarely the one holding its user's open stream: Kafka gives each instance some partitions,
//! the gateway spreads the streams. On PostgreSQL, the instance that stores a notification also
//! announces it with `NOTIFY` in the same transaction (so only committed notifications are
//! announced, exactly once each), and every instance `LISTEN`s and hands what it hears to its
//! own [`Hub`]. On SQLite there is one process, and the hub is fed directly.
//!
//! A stream whose instance lost its listening connection for a moment misses nothing for good:
//! its next reconnect replays from `Last-Event-ID`, and the listener tells every open stream to
//! catch up from the database when it reconnects.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::domain::Notification;
use crate::hub::Hub;

/// The PostgreSQL channel new notifications are announced on.
pub const CHANNEL: &str = "microshop_notifications";

/// The largest announcement PostgreSQL carries is 8000 bytes; a longer one names only the user,
/// whose streams then read it from the database.
pub const MAX_PAYLOAD: usize = 7900;

/// Listens for announcements on `url`'s database and publishes them to `hub`, reconnecting with
/// backoff, until `shutdown`.
pub fn spawn_listener(url: String, hub: Arc<Hub>, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(100);
        loop {
            let listener = tokio::select! {
                () = shutdown.cancelled() => return,
                listener = listen(&url) => listener,
            };
            match listener {
                Ok(mut listener) => {
                    delay = Duration::from_millis(100);
                    // Anything announced while the connection was down is in the database.
                    hub.wake_all();
                    loop {
                        let received = tokio::select! {
                            () = shutdown.cancelled() => return,
                            received = listener.try_recv() => received,
                        };
                        match received {
                            Ok(Some(announcement)) => publish(&hub, announcement.payload()),
                            Ok(None) => {
                                tracing::warn!(
                                    "lost the notification announcements connection; reconnecting"
                                );
                                hub.wake_all();
                            }
                            Err(error) => {
                                tracing::warn!(%error, "notification announcements failed; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, ?delay, "cannot listen for notification announcements yet");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    })
}

async fn listen(url: &str) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The announcement of a stored notification.
pub fn announcement(notification: &Notification) -> String {
    let full = serde_json::to_string(notification).unwrap_or_default();
    if full.len() <= MAX_PAYLOAD {
        full
    } else {
        serde_json::json!({ "user_id": notification.user_id }).to_string()
    }
}

fn publish(hub: &Hub, payload: &str) {
    if let Ok(notification) = serde_json::from_str::<Notification>(payload) {
        hub.publish(notification);
    } else if let Ok(short) = serde_json::from_str::<UserOnly>(payload) {
        hub.wake(short.user_id);
    } else {
        tracing::warn!(payload, "unreadable notification announcement");
    }
}

#[derive(serde::Deserialize)]
struct UserOnly {
    user_id: uuid::Uuid,
}
