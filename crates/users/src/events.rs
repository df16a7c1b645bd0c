//! Profiles from auth's `user.registered` events, and the `user.deleted` users announces.
//!
//! Users consumes `user-events` as group `users`: each registration becomes a profile with the
//! details given at sign-up, so a registered user always has one. Delivery is at least once, so
//! the event id is recorded in `processed_events` in the same transaction as the profile
//! ([`consumer::mark_processed`]): a redelivery does nothing. The insert itself is an upsert that
//! never overwrites (a profile created meanwhile from the user's token only gets its empty
//! details filled in) and never touches a tombstone, so a late event cannot undo a deletion.
//!
//! Deleting a profile writes [`UserDeleted`] into the users outbox with the tombstone
//! ([`Storage::delete`]); the relay publishes it on `user-events`, where auth disables the
//! account. Users' own consumer sees it go by and ignores it.

use std::sync::Arc;

use futures::future::BoxFuture;
use platform::events::{Bus, Event, Handled, Handler, USER_EVENTS, consumer};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{Address, Email, PersonName, ProfileDetails, Username, ValidationError};
use crate::storage::Storage;

/// The consumer group of the users service on `user-events`.
pub const GROUP: &str = "users";

/// The event type auth publishes when an account is created.
pub const USER_REGISTERED: &str = "user.registered";

/// The CloudEvents `source` of the users service's events.
pub const SOURCE: &str = "/users";

/// The event type users publishes when a profile is deleted: the person is gone from the shop.
pub const USER_DELETED: &str = "user.deleted";

/// The `data` of `user.deleted` (docs/service-contracts.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeleted {
    pub user_id: Uuid,
    /// Who deleted it: the user themselves, or an admin.
    pub deleted_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub deleted_at: OffsetDateTime,
}

impl UserDeleted {
    /// The envelope: subject (and bus key) is the user id, so it follows the user's
    /// `user.registered` in order.
    pub fn into_event(self) -> Event {
        Event::new(SOURCE, USER_DELETED, self.user_id.to_string(), self)
    }
}

/// The `data` of `user.registered` (docs/service-contracts.md). Unknown members are ignored: a
/// consumer must keep working when the producer adds a field.
#[derive(Debug, Deserialize)]
struct UserRegistered {
    user_id: Uuid,
    username: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

/// Keeps a valid optional detail, drops an invalid one with a warning: auth checked it with the
/// same rules, and a profile without one detail is better than no profile.
fn lenient<T>(user_id: Uuid, parsed: Option<Result<T, ValidationError>>) -> Option<T> {
    match parsed {
        Some(Ok(value)) => Some(value),
        Some(Err(error)) => {
            tracing::warn!(%user_id, field = %error.field, reason = %error.message, "dropped an invalid detail of a registration");
            None
        }
        None => None,
    }
}

fn given(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// Consumes `user-events` as group `users` until `shutdown`, and prunes old processed ids.
pub fn spawn(storage: &Storage, bus: &Arc<dyn Bus>, shutdown: &CancellationToken) {
    let handler = Arc::new(Registrations::new(storage.clone()));
    consumer::spawn(
        bus,
        USER_EVENTS,
        GROUP,
        handler,
        storage.pool().clone(),
        shutdown,
    );
}

/// The handler of `user-events` for the users service.
#[derive(Debug, Clone)]
pub struct Registrations {
    storage: Storage,
}

impl Registrations {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    async fn process(&self, event: &Event) -> Handled {
        // Users' own `user.deleted` comes by on this topic too: `decode` skips it.
        let data: UserRegistered = match consumer::decode(event, USER_REGISTERED) {
            Ok(data) => data,
            Err(skip) => return skip,
        };
        let id = data.user_id;
        let username = match Username::parse(data.username) {
            Ok(username) => username,
            Err(error) => return Handled::Reject(format!("unusable username: {error}")),
        };
        let details = ProfileDetails {
            email: lenient(id, given(data.email).map(Email::parse)),
            first_name: lenient(
                id,
                given(data.first_name).map(|name| PersonName::parse("first_name", name)),
            ),
            last_name: lenient(
                id,
                given(data.last_name).map(|name| PersonName::parse("last_name", name)),
            ),
            address: lenient(id, given(data.address).map(Address::parse)),
            phone: None,
        };
        match self.store(event, id, &username, &details).await {
            Ok(true) => {
                tracing::info!(user_id = %id, event_id = %event.id, "profile recorded from user.registered");
                Handled::Done
            }
            Ok(false) => Handled::Done,
            Err(error) => Handled::Retry(format!("storing the profile failed: {error}")),
        }
    }

    /// The profile and the processed id, in one transaction; `false` for a duplicate.
    async fn store(
        &self,
        event: &Event,
        id: Uuid,
        username: &Username,
        details: &ProfileDetails,
    ) -> sqlx::Result<bool> {
        let (username, details) = (username.clone(), details.clone());
        let stored = consumer::apply_once(self.storage.pool(), GROUP, event, move |conn| {
            Box::pin(
                async move { Storage::record_registration(conn, id, &username, &details).await },
            )
        })
        .await?;
        Ok(stored.is_some())
    }
}

impl Handler for Registrations {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Handled> {
        Box::pin(self.process(event))
    }
}
