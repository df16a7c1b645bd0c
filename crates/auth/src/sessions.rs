//! Logging in, refreshing and logging out: the life of a session.
//!
//! A login checks the password (with the same cost whether or not the user exists), unless the
//! (username, client IP) pair has failed too often lately, and starts a refresh-token family.
//! A refresh exchanges a live token for a new pair; presenting a token that was already
//! exchanged means two parties hold the session, so the whole family is revoked. A logout
//! revokes the family of the caller's own token and ignores anyone else's.
//!
//! Every refused login is counted in `auth_login_failures_total{reason}` where the refusal is
//! decided, by a fixed set of reasons ([`LoginFailure`]) and never by username or address, so
//! the series stay few and the metric leaks nobody's name: a rise of `unknown_user` is someone
//! trying names, of `wrong_password` someone guessing passwords, of `locked_out` the throttle
//! holding them back.

use std::net::IpAddr;

use platform::AuthUser;
use uuid::Uuid;

use crate::domain::{ClientId, Username};
use crate::error::{AuthError, RefreshRefusal};
use crate::state::AppState;
use crate::storage::{Account, RefreshTokenState, millis, now_millis};
use crate::tokens::{NewRefreshToken, access_claims, hash_refresh_token, looks_like_refresh_token};

/// Failed logins allowed per (username, client IP) within [`FAILURE_WINDOW_MS`].
pub const MAX_FAILURES: usize = 5;

/// The window failed logins are counted in: 15 minutes.
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Longest username kept as a throttling key (longer input cannot be a username anyway).
const MAX_SUBJECT_CHARS: usize = 64;

/// An access token with its refresh token, as the OAuth 2.0 token response carries them.
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Why a login was refused, as `auth_login_failures_total{reason}` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// No account has this username (or it cannot be one).
    UnknownUser,
    /// The account exists and the password does not match.
    WrongPassword,
    /// Too many recent failures for this username from this address: not even checked.
    LockedOut,
}

impl LoginFailure {
    pub const ALL: [Self; 3] = [Self::UnknownUser, Self::WrongPassword, Self::LockedOut];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::LockedOut => "locked_out",
        }
    }

    fn count(self) {
        platform::metrics::counter!(
            "auth_login_failures_total",
            "service" => "auth",
            "reason" => self.label()
        )
        .increment(1);
    }
}

/// Registers `auth_login_failures_total` for every reason at zero, so a scrape shows the series
/// before the first failure and `rate()` has a starting point.
pub fn register_login_failure_metrics() {
    // The recorder must exist before the counters are registered, or they count nowhere.
    platform::metrics::handle();
    platform::metrics::describe_counter!(
        "auth_login_failures_total",
        "Refused logins by reason (unknown_user, wrong_password, locked_out)"
    );
    for reason in LoginFailure::ALL {
        // Adding nothing registers the series without moving a count another start made.
        platform::metrics::counter!(
            "auth_login_failures_total",
            "service" => "auth",
            "reason" => reason.label()
        )
        .increment(0);
    }
}

/// Checks a username and password and starts a session whose access tokens name `client`.
/// The JSON login and the OAuth token endpoint's password grant both come here, so the lockout
/// and its counting are the same for both.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    client_ip: IpAddr,
    client: &ClientId,
) -> Result<TokenPair, AuthError> {
    let subject: String = username
        .chars()
        .take(MAX_SUBJECT_CHARS)
        .collect::<String>()
        .to_lowercase();
    let client_ip = client_ip.to_string();
    let now = now_millis();
    let window_start = now - FAILURE_WINDOW_MS;
    let failures = state
        .storage
        .recent_failures(&subject, &client_ip, window_start, MAX_FAILURES as i64)
        .await?;
    if let Some(&oldest_counted) = failures.get(MAX_FAILURES - 1) {
        // The lock lifts when the oldest of the last five failures leaves the window.
        let wait_ms = (oldest_counted + FAILURE_WINDOW_MS - now).max(1000);
        let retry_after_secs = u64::try_from(wait_ms).unwrap_or(1).div_ceil(1000);
        LoginFailure::LockedOut.count();
        return Err(AuthError::TooManyAttempts { retry_after_secs });
    }

    // A string that cannot be a username is an unknown user, not a 422: the answer must not
    // tell which usernames exist, nor what shape they have.
    let credentials = match Username::parse(username) {
        Ok(username) => state.storage.find_credentials(&username.key()).await?,
        Err(_) => None,
    };
    let matches = state
        .passwords
        .verify(
            password,
            credentials
                .as_ref()
                .map(|credentials| &credentials.password_hash),
        )
        .await?;
    match credentials {
        Some(credentials) if matches => {
            state.storage.clear_failures(&subject, &client_ip).await?;
            let pair = start_session(state, &credentials.account, client).await?;
            tracing::info!(user_id = %credentials.account.id, "logged in");
            Ok(pair)
        }
        _ => {
            let failure = if credentials.is_some() {
                LoginFailure::WrongPassword
            } else {
                LoginFailure::UnknownUser
            };
            failure.count();
            state
                .storage
                .record_failure(&subject, &client_ip, now, window_start)
                .await?;
            tracing::info!(client_ip = %client_ip, reason = failure.label(), "login failed");
            Err(AuthError::InvalidCredentials)
        }
    }
}

/// Exchanges a live refresh token for a new pair, the access token issued to `client`.
pub async fn refresh(
    state: &AppState,
    refresh_token: &str,
    client: &ClientId,
) -> Result<TokenPair, AuthError> {
    if !looks_like_refresh_token(refresh_token) {
        return Err(AuthError::InvalidRefreshToken(RefreshRefusal::Unknown));
    }
    let token_hash = hash_refresh_token(refresh_token);
    let successor = NewRefreshToken::generate()?;
    let now = now_millis();
    let expires_at = now.saturating_add(millis(state.settings.refresh_ttl));
    let consumed = state
        .storage
        .rotate_token(&token_hash, &successor.hash, now, expires_at)
        .await?;
    let Some(consumed) = consumed else {
        return Err(refused(state, &token_hash, now).await?);
    };
    // Read the account again: a role changed since the login applies from this token on, and
    // an account disabled meanwhile (its user deleted while this refresh ran) gets nothing.
    let account = state
        .storage
        .find_account(consumed.user_id)
        .await?
        .ok_or(AuthError::InvalidRefreshToken(RefreshRefusal::Revoked))?;
    Ok(TokenPair {
        access_token: access_token(state, &account, client).await?,
        refresh_token: successor.token,
        expires_in: state.settings.access_ttl.as_secs(),
    })
}

/// Ends the session a refresh token belongs to, if it belongs to `user`; otherwise nothing.
pub async fn logout(
    state: &AppState,
    user: &AuthUser,
    refresh_token: &str,
) -> Result<(), AuthError> {
    if !looks_like_refresh_token(refresh_token) {
        return Ok(());
    }
    let revoked = state
        .storage
        .revoke_family_of(&hash_refresh_token(refresh_token), user.id, now_millis())
        .await?;
    if revoked {
        tracing::info!(user_id = %user.id, "logged out");
    }
    Ok(())
}

/// The error for a token that could not be consumed; a replay revokes its family first.
async fn refused(state: &AppState, token_hash: &str, now: i64) -> Result<AuthError, AuthError> {
    let reason = match state.storage.inspect_token(token_hash, now).await? {
        RefreshTokenState::AlreadyUsed { family_id, user_id } => {
            state.storage.revoke_family(family_id, now).await?;
            warn_reuse(family_id, user_id);
            RefreshRefusal::Reused
        }
        RefreshTokenState::FamilyRevoked => RefreshRefusal::Revoked,
        RefreshTokenState::Expired => RefreshRefusal::Expired,
        RefreshTokenState::Unknown => RefreshRefusal::Unknown,
    };
    Ok(AuthError::InvalidRefreshToken(reason))
}

fn warn_reuse(family_id: Uuid, user_id: Uuid) {
    tracing::warn!(
        %family_id,
        %user_id,
        "a used refresh token was presented again; the session has been revoked"
    );
}

async fn start_session(
    state: &AppState,
    account: &Account,
    client: &ClientId,
) -> Result<TokenPair, AuthError> {
    let now = now_millis();
    state.storage.prune_sessions(account.id, now).await?;
    let refresh = NewRefreshToken::generate()?;
    let expires_at = now.saturating_add(millis(state.settings.refresh_ttl));
    state
        .storage
        .start_family(account.id, &refresh.hash, now, expires_at)
        .await?;
    Ok(TokenPair {
        access_token: access_token(state, account, client).await?,
        refresh_token: refresh.token,
        expires_in: state.settings.access_ttl.as_secs(),
    })
}

async fn access_token(
    state: &AppState,
    account: &Account,
    client: &ClientId,
) -> Result<String, AuthError> {
    let claims = access_claims(
        &state.settings.issuer,
        account,
        client,
        state.settings.access_ttl,
    );
    Ok(state.keys.sign(&claims).await?)
}
