//! A registration, fully parsed.

use super::{Password, PersonalDetails, Username};
use platform::Role;
use time::OffsetDateTime;
use uuid::Uuid;

/// Everything needed to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: Username,
    pub password: Password,
    pub profile: PersonalDetails,
}

/// An account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub created_at: OffsetDateTime,
}
