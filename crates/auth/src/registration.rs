//! Creating accounts.

use std::net::IpAddr;

use platform::Role;

use crate::domain::{NewAccount, PersonalDetails};
use crate::error::AuthError;
use crate::state::AppState;
use crate::storage::{Account, now_millis};

/// A completed registration: the account and the optional details given with it, which the
/// `user.registered` event carries to the users service.
#[derive(Debug, Clone)]
pub struct Registration {
    pub account: Account,
    pub profile: PersonalDetails,
}

/// Registers a customer and announces it (`user.registered`, through the outbox). A taken
/// username is refused before the (costly) hash when it is already visible, and by the unique
/// constraint when two registrations race.
pub async fn register(
    state: &AppState,
    new: NewAccount,
    client_ip: IpAddr,
) -> Result<Registration, AuthError> {
    throttle(state, client_ip).await?;
    if state.storage.username_exists(&new.username.key()).await? {
        return Err(AuthError::UsernameTaken);
    }
    let hash = state.passwords.hash(&new.password).await?;
    let account = state
        .storage
        .create_account(&new.username, &hash, Role::Customer, &new.profile)
        .await?;
    state.relay.wake();
    tracing::info!(user_id = %account.id, username = %account.username, "account registered");
    Ok(Registration {
        account,
        profile: new.profile,
    })
}

/// The window registrations are counted over.
const REGISTRATION_WINDOW_MS: i64 = 60 * 60 * 1000;

/// Counts a registration attempt from `client_ip`, refusing it (429) when the address already
/// made its hour's worth. Every valid attempt counts, taken usernames included: each costs a
/// lookup, and most a password hash.
async fn throttle(state: &AppState, client_ip: IpAddr) -> Result<(), AuthError> {
    let limit = state.settings.registrations_per_hour;
    if limit == 0 {
        return Ok(());
    }
    let client_ip = client_ip.to_string();
    let now = now_millis();
    let window_start = now - REGISTRATION_WINDOW_MS;
    let recent = state
        .storage
        .recent_registrations(&client_ip, window_start, i64::from(limit))
        .await?;
    if recent.len() >= limit as usize {
        // Another one is allowed when the oldest counted leaves the window.
        let wait_ms = (recent[0] + REGISTRATION_WINDOW_MS - now).max(1000);
        let retry_after_secs = u64::try_from(wait_ms).unwrap_or(1).div_ceil(1000);
        tracing::warn!(%client_ip, "registrations from this address are throttled");
        return Err(AuthError::TooManyRegistrations { retry_after_secs });
    }
    state
        .storage
        .record_registration(&client_ip, now, window_start)
        .await?;
    Ok(())
}
