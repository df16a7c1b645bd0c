//! What deleting a user means to auth: the account is disabled for good.
//!
//! The users service owns the decision (a user deletes their own profile, or an admin does) and
//! announces it with `user.deleted` on `user-events`. Auth consumes that topic as group `auth`
//! ([`spawn`]): the account is disabled (`disabled_at`, its personal details and password hash
//! erased) and every refresh-token family revoked, in one transaction with the event id in
//! `processed_events`, so a redelivery changes nothing. From then on a login answers exactly as
//! for an unknown user (401 `invalid_credentials`, after the same dummy hash), a refresh 401
//! `invalid_refresh_token`, and the username stays taken.
//!
//! Access tokens already issued are signed and unexpired; every verifier refuses them once it
//! learns of the account: auth lists the accounts disabled since a cursor at
//! `GET /internal/disabled-accounts` ([`page`]) for the other services' verifiers, and its own
//! verifier reads the same list from the database ([`LocalRevocations`]).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use platform::auth::{DisabledAccounts, RevocationSource};
use platform::events::{Bus, Event, Handled, Handler, USER_EVENTS, consumer};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::AuthError;
use crate::storage::{Storage, millis, now_millis};

/// The consumer group of auth on `user-events`.
pub const GROUP: &str = "auth";

/// The type of the event the users service publishes when a profile is deleted.
pub const USER_DELETED: &str = "user.deleted";

/// Accounts per page of [`page`].
pub const PAGE_SIZE: i64 = 1000;

/// Added to the access-token lifetime for how long a disabled account is listed: the
/// verifiers' leeway on `exp` and some clock difference.
const RETENTION_MARGIN: Duration = Duration::from_secs(60);

/// The part of `user.deleted`'s `data` auth needs (docs/service-contracts.md); the rest is
/// ignored.
#[derive(Debug, Deserialize)]
struct UserDeleted {
    user_id: Uuid,
}

/// Consumes `user-events` as group `auth` until `shutdown`, and prunes old processed ids.
pub fn spawn(storage: &Storage, bus: &Arc<dyn Bus>, shutdown: &CancellationToken) {
    let handler = Arc::new(Deletions::new(storage.clone()));
    consumer::spawn(
        bus,
        USER_EVENTS,
        GROUP,
        handler,
        storage.pool().clone(),
        shutdown,
    );
}

/// The handler of `user-events` for auth: disables the accounts of deleted users.
#[derive(Debug, Clone)]
pub struct Deletions {
    storage: Storage,
}

impl Deletions {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    async fn process(&self, event: &Event) -> Handled {
        // Auth's own `user.registered` comes by on this topic too: `decode` skips it.
        let data: UserDeleted = match consumer::decode(event, USER_DELETED) {
            Ok(data) => data,
            Err(skip) => return skip,
        };
        match self.store(event, data.user_id).await {
            Ok(Some(true)) => {
                tracing::info!(user_id = %data.user_id, event_id = %event.id, "account disabled: its user was deleted");
                Handled::Done
            }
            Ok(Some(false)) => {
                // A profile an admin created for an id auth never issued, or a repeat.
                tracing::debug!(user_id = %data.user_id, "user.deleted for no usable account");
                Handled::Done
            }
            Ok(None) => Handled::Done,
            Err(error) => Handled::Retry(format!("disabling the account failed: {error}")),
        }
    }

    /// The account disabled and the event recorded, in one transaction; `None` for a
    /// duplicate, else whether an account was disabled.
    async fn store(&self, event: &Event, user_id: Uuid) -> sqlx::Result<Option<bool>> {
        consumer::apply_once(self.storage.pool(), GROUP, event, |conn| {
            Box::pin(Storage::disable_account(conn, user_id, now_millis()))
        })
        .await
    }
}

impl Handler for Deletions {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Handled> {
        Box::pin(self.process(event))
    }
}

/// The accounts disabled at or after `since` (unix ms) whose access tokens may still be live:
/// nothing older than the access-token lifetime (plus a margin) is listed, whatever `since`.
pub async fn page(
    storage: &Storage,
    access_ttl: Duration,
    since: Option<i64>,
) -> Result<DisabledAccounts, AuthError> {
    let retain = access_ttl.saturating_add(RETENTION_MARGIN);
    let oldest_useful = now_millis().saturating_sub(millis(retain));
    let since = since.map_or(oldest_useful, |since| since.max(oldest_useful));
    let (accounts, more) = storage.disabled_since(since, PAGE_SIZE).await?;
    Ok(DisabledAccounts {
        accounts,
        more,
        retain_secs: retain.as_secs(),
    })
}

/// Auth's own verifier's list of disabled accounts, read from its database (auth does not call
/// itself over HTTP).
#[derive(Debug, Clone)]
pub struct LocalRevocations {
    pub storage: Storage,
    pub access_ttl: Duration,
}

impl RevocationSource for LocalRevocations {
    fn disabled_since(
        &self,
        since_ms: Option<i64>,
    ) -> BoxFuture<'_, anyhow::Result<DisabledAccounts>> {
        Box::pin(async move { Ok(page(&self.storage, self.access_ttl, since_ms).await?) })
    }
}
