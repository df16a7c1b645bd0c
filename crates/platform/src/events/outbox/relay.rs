//! A running relay: its handle (wake it after a commit, await it after shutdown), its tuning,
//! and the functions that start one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::worker::spawn_worker;
use crate::events::Bus;

/// Tuning of a relay; [`spawn_relay`] uses the defaults.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Rows read and published per pass.
    pub batch_size: usize,
    /// How often the table is read when nobody calls [`Relay::wake`]: picks up rows written by
    /// other instances, or left unpublished before a restart.
    pub poll_interval: Duration,
    /// Delay before the first retry of a failed row; doubles per attempt (with jitter) ...
    pub backoff_start: Duration,
    /// ... up to this.
    pub backoff_cap: Duration,
    /// A publish taking longer counts as failed (the row is retried).
    pub publish_timeout: Duration,
    /// The shortest time from the start of a pass to the start of the next one woken by
    /// [`Relay::wake`] (a full batch goes on at once): rows enqueued meanwhile share a pass.
    pub pass_spacing: Duration,
    /// Sent rows are kept this long, for inspection, then deleted ...
    pub retention: Duration,
    /// ... and at most this many of them.
    pub keep_sent: u64,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            poll_interval: Duration::from_millis(200),
            backoff_start: Duration::from_millis(50),
            backoff_cap: Duration::from_secs(30),
            publish_timeout: Duration::from_secs(10),
            pass_spacing: Duration::from_millis(10),
            retention: Duration::from_secs(3600),
            keep_sent: 10_000,
        }
    }
}

/// A handle on a running relay: cheap to clone, kept in the service's state.
#[derive(Clone)]
pub struct Relay {
    pub(super) shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) wake: Notify,
    pub(super) handle: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

impl Relay {
    /// Asks for a pass now; call it after committing a transaction that enqueued events.
    /// Wakes arriving during a pass are not lost: another pass follows.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// The relay's task, to await it after shutdown fired (the first caller gets it).
    pub fn take_handle(&self) -> Option<JoinHandle<()>> {
        self.shared
            .handle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Starts the relay of `service`'s outbox with the default [`RelayOptions`]; it runs until
/// `shutdown` fires.
pub fn spawn_relay(
    service: &'static str,
    pool: AnyPool,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Relay {
    spawn_relay_with(service, pool, bus, shutdown, RelayOptions::default())
}

/// [`spawn_relay`] for a database that may not be reached and migrated yet
/// ([`crate::db::Database::start`]): the handle exists at once (the service's state holds it,
/// and wakes are kept), the first pass waits until the database is ready, instead of failing
/// on a table the migrations have not created yet.
pub fn spawn_relay_once_ready(
    service: &'static str,
    database: crate::db::Database,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Relay {
    let pool = database.pool().clone();
    let ready = async move { database.wait_ready().await };
    spawn_worker(service, pool, bus, shutdown, RelayOptions::default(), ready)
}

/// [`spawn_relay`] with explicit tuning.
pub fn spawn_relay_with(
    service: &'static str,
    pool: AnyPool,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
    options: RelayOptions,
) -> Relay {
    spawn_worker(
        service,
        pool,
        bus,
        shutdown,
        options,
        std::future::ready(()),
    )
}
