//! What auth tells the other services: `user.registered` on `user-events`.
//!
//! Every account creation (a registration, the first start's `admin`) writes this event into
//! auth's outbox in the same transaction as the account, so an account never exists without its
//! announcement and an announcement never describes an account that rolled back. The users
//! service turns it into the profile, with the optional details given at sign-up; auth keeps
//! those details only to carry them here.

use platform::events::Event;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::PersonalDetails;
use crate::storage::Account;

/// The CloudEvents `source` of auth's events.
pub const SOURCE: &str = "/auth";

/// The type of the event announcing a new account.
pub const USER_REGISTERED: &str = "user.registered";

/// The `data` of `user.registered` (docs/service-contracts.md). Details not given are `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address: Option<String>,
}

impl UserRegistered {
    pub fn new(account: &Account, profile: &PersonalDetails) -> Self {
        Self {
            user_id: account.id,
            username: account.username.clone(),
            email: profile
                .email
                .as_ref()
                .map(|email| email.as_str().to_owned()),
            first_name: profile
                .first_name
                .as_ref()
                .map(|name| name.as_str().to_owned()),
            last_name: profile
                .last_name
                .as_ref()
                .map(|name| name.as_str().to_owned()),
            address: profile
                .address
                .as_ref()
                .map(|address| address.as_str().to_owned()),
        }
    }

    /// The envelope: subject (and bus key) is the user id, so one user's events stay ordered.
    pub fn into_event(self) -> Event {
        Event::new(SOURCE, USER_REGISTERED, self.user_id.to_string(), self)
    }
}
