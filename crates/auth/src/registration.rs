//! Creating accounts.

use platform::Role;

use crate::domain::{NewAccount, Profile};
use crate::error::AuthError;
use crate::state::AppState;
use crate::storage::Account;

/// A completed registration: the account and the optional details given with it, which the
/// `user.registered` event carries to the users service.
#[derive(Debug, Clone)]
pub struct Registration {
    pub account: Account,
    pub profile: Profile,
}

/// Registers a customer and announces it (`user.registered`, through the outbox). A taken
/// username is refused before the (costly) hash when it is already visible, and by the unique
/// constraint when two registrations race.
pub async fn register(state: &AppState, new: NewAccount) -> Result<Registration, AuthError> {
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
