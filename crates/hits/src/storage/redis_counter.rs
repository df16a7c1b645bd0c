//! The count in Redis: `INCR` on one key, the seed's own design.
//!
//! `INCR` is atomic in Redis and returns the new value, so every replica of the service shares
//! one count and concurrent visits get distinct, consecutive numbers.
//!
//! The connection is a [`ConnectionManager`] created lazily: the service starts (and reports
//! itself not ready) while Redis is down, and the manager reconnects on its own once Redis is
//! back. What a visit does when Redis cannot be reached follows the seed app, which retried the
//! connection five times, half a second apart, before giving up: a connection failure is retried
//! with exponential backoff and jitter ([`platform::resilience::retry_with_backoff`]), within
//! [`BUDGET`] in all, and then the visit is answered 503 — never a made-up count.
//!
//! What is retried is a failure to *reach* Redis (refused, reset, dropped, not connected) and
//! Redis saying it is not ready yet (`LOADING`, `MASTERDOWN`, `TRYAGAIN`). A timeout is not
//! retried: a command that timed out may have been applied, and a server that did not answer
//! in a second will not answer in the next 100 ms either. Retrying a command sent on a
//! connection that died can, in the instant between Redis applying an `INCR` and the connection
//! dropping, count that visit twice; the count then skips a number but every answer is still a
//! value Redis returned, and it never goes backwards.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, ServerErrorKind};

use super::Counter;
use crate::config::RedisUrl;
use crate::domain::Hits;
use crate::error::HitsError;

/// Attempts per visit (the first one included).
pub const ATTEMPTS: u32 = 5;

/// The ceiling of the first wait; it doubles for each retry (full jitter below it).
pub const BACKOFF_BASE: Duration = Duration::from_millis(100);

/// The most a visit waits for Redis in total, retries included, before answering 503.
pub const BUDGET: Duration = Duration::from_secs(2);

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// How long Redis may take to answer one command (an `INCR` takes microseconds).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Visits counted with `INCR` on one Redis key.
#[derive(Clone)]
pub struct RedisCounter {
    manager: ConnectionManager,
    key: String,
}

impl std::fmt::Debug for RedisCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounter")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl RedisCounter {
    /// Prepares the connection to `url` without opening it: this never fails because Redis is
    /// down, only because the URL is unusable. Must run inside the Tokio runtime.
    pub fn new(url: &RedisUrl, key: impl Into<String>) -> anyhow::Result<Self> {
        let client = redis::Client::open(url.expose())?;
        // One connection attempt per reconnection: the retries belong to the visit, which
        // knows its budget (see the module docs).
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            manager,
            key: key.into(),
        })
    }

    /// The key the count is kept under.
    pub fn key(&self) -> &str {
        &self.key
    }

    async fn incr(&self) -> Result<i64, RedisError> {
        let mut connection = self.manager.clone();
        redis::cmd("INCR")
            .arg(&self.key)
            .query_async(&mut connection)
            .await
    }

    async fn add_one(&self) -> Result<Hits, HitsError> {
        let attempt = platform::resilience::retry_with_backoff(
            ATTEMPTS,
            BACKOFF_BASE,
            || self.incr(),
            is_transient,
        );
        let value = match tokio::time::timeout(BUDGET, attempt).await {
            Ok(Ok(value)) => value,
            Ok(Err(error)) => return Err(classify(error)),
            Err(_) => {
                return Err(HitsError::CounterUnavailable {
                    backend: "redis",
                    cause: format!("no answer within {BUDGET:?}"),
                });
            }
        };
        Ok(Hits::parse(value)?)
    }
}

impl Counter for RedisCounter {
    fn backend(&self) -> &'static str {
        "redis"
    }

    fn increment(&self) -> BoxFuture<'_, Result<Hits, HitsError>> {
        self.add_one().boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        async move {
            // Twice at most: the first PING after Redis restarted finds the old connection dead
            // and starts the reconnection the second one uses.
            platform::resilience::retry_with_backoff(
                2,
                Duration::ZERO,
                || {
                    let mut connection = self.manager.clone();
                    async move {
                        redis::cmd("PING")
                            .query_async::<String>(&mut connection)
                            .await
                    }
                },
                is_transient,
            )
            .await
            .map(|_| ())
            .map_err(|error| error.to_string())
        }
        .boxed()
    }
}

/// Redis could not be reached, or is not ready yet: worth another try.
fn is_transient(error: &RedisError) -> bool {
    match error.kind() {
        ErrorKind::Io => !error.is_timeout(),
        ErrorKind::Server(kind) => is_not_ready(kind),
        _ => false,
    }
}

fn is_not_ready(kind: ServerErrorKind) -> bool {
    matches!(
        kind,
        ServerErrorKind::BusyLoading
            | ServerErrorKind::MasterDown
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
    )
}

/// An error Redis itself answered (`WRONGTYPE` for a key holding a list, an ACL refusal…) is a
/// fault to fix (500); anything about reaching or logging in to Redis means the counter is
/// unavailable (503).
fn classify(error: RedisError) -> HitsError {
    match error.kind() {
        ErrorKind::Server(kind) if !is_not_ready(kind) => HitsError::Redis(error),
        ErrorKind::Extension | ErrorKind::UnexpectedReturnType => HitsError::Redis(error),
        _ => HitsError::CounterUnavailable {
            backend: "redis",
            cause: error.to_string(),
        },
    }
}
