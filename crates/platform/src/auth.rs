//! Access-token verification, shared by the gateway and every service.
//!
//! Tokens are EdDSA (Ed25519) JWTs issued by the auth service; its public keys come as a JWKS.
//! Every service verifies tokens itself (so calling a service without the gateway gives nothing
//! away) and the gateway verifies before forwarding. Verifications are cached until the token
//! expires: the cache only skips the signature check on a session's later requests; the
//! revocation check below runs on every request, cached or not.
//!
//! A token whose `kid` is unknown triggers one JWKS refetch (keys rotate), rate-limited so a
//! stream of forged `kid`s cannot turn into a stream of requests to auth.
//!
//! Revocation: a signed token stays valid until it expires, but the account behind it may be
//! disabled before that (its user was deleted). A verifier given a [`RevocationSource`]
//! ([`Verifier::with_revocations`]; auth's internal `GET /internal/disabled-accounts` over HTTP,
//! [`HttpRevocationSource`]) polls it every few seconds ([`Verifier::spawn_revocation_poll`],
//! [`DEFAULT_REVOCATION_POLL`]) and refuses every token whose `sub` is on the list with
//! [`TokenError::Revoked`] (401 `token_revoked`). So a deleted user's token is refused at most
//! one poll interval after auth disabled the account. When the source cannot be reached the
//! verifier keeps the list it has (the shop keeps working while auth is down) and logs it: the
//! bound holds while auth answers.

use std::collections::HashMap;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio_util::sync::CancellationToken;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use futures::future::BoxFuture;
use http::header;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::jws::{self, JwsError};
use crate::problem::Problem;

/// The `typ` header of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Default issuer, the `iss` claim auth writes and everyone checks.
pub const DEFAULT_ISSUER: &str = "microshop-auth";

/// The `aud` claim of access tokens (RFC 9068): the resource servers of this shop, together.
/// A token that names another audience is refused; one without `aud` (issued before the claim
/// existed, within its 15 minutes) is still accepted.
pub const AUDIENCE: &str = "microshop";

/// The `client_id` claim of tokens issued to a client that did not name itself (the web
/// front-end and the JSON login).
pub const DEFAULT_CLIENT_ID: &str = "microshop-web";

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "customer" => Some(Role::Customer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Claims {
    pub iss: String,
    /// The user id.
    pub sub: Uuid,
    /// The username, for display and logs.
    pub name: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    /// Unique token id.
    pub jti: Uuid,
    /// The intended audience, `microshop`; absent in tokens issued before the claim existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The OAuth client the token was issued to (RFC 9068 §2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// One public key in a JWKS (RFC 8037 `OKP` / `Ed25519`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

impl Jwk {
    /// An Ed25519 signing key's public half.
    pub fn ed25519(kid: impl Into<String>, x: impl Into<String>) -> Self {
        Self {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: x.into(),
            kid: kid.into(),
            alg: Some("EdDSA".into()),
            use_: Some("sig".into()),
        }
    }
}

/// A JSON Web Key Set, as served at `/.well-known/jwks.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// Where a verifier gets the current public keys.
pub trait KeySource: Send + Sync + 'static {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<JwkSet>>;
}

/// Keys fetched over HTTP from auth's JWKS endpoint.
#[derive(Debug, Clone)]
pub struct HttpKeySource {
    url: String,
    client: reqwest::Client,
}

impl HttpKeySource {
    /// `auth_base_url` is auth's base URL, such as `http://127.0.0.1:8001`.
    pub fn new(auth_base_url: &str) -> Self {
        let client = crate::client::http_builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(5))
            .pool_idle_timeout(crate::server::CLIENT_POOL_IDLE_TIMEOUT)
            .build()
            .expect("static client configuration is valid");
        Self {
            url: format!(
                "{}/.well-known/jwks.json",
                auth_base_url.trim_end_matches('/')
            ),
            client,
        }
    }
}

impl KeySource for HttpKeySource {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<JwkSet>> {
        Box::pin(async move {
            let get = async {
                let response = self.client.get(&self.url).send().await?;
                response.error_for_status()?.json::<JwkSet>().await
            };
            // The URL once, in front: where the keys were looked for is what an operator
            // needs first.
            get.await
                .map_err(|error| anyhow::Error::new(error.without_url()))
                .with_context(|| format!("GET {}", self.url))
        })
    }
}

/// How often a verifier asks for newly disabled accounts unless configured otherwise: the bound
/// on how long a deleted user's access token is still accepted.
pub const DEFAULT_REVOCATION_POLL: Duration = Duration::from_secs(5);

/// How far back each poll looks again before the newest entry it has seen, so an account
/// disabled by a transaction that committed late, or by an auth process whose clock is a little
/// behind, is not skipped.
pub const REVOCATION_OVERLAP_MS: i64 = 30_000;

/// One disabled account, as auth lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DisabledAccount {
    pub user_id: Uuid,
    /// When auth disabled it, unix milliseconds (the cursor of the next poll).
    pub disabled_at_ms: i64,
}

/// A page of accounts disabled since a cursor: auth's answer to
/// `GET /internal/disabled-accounts?since=<unix ms>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DisabledAccounts {
    /// Oldest first (by `disabled_at_ms`, then `user_id`).
    pub accounts: Vec<DisabledAccount>,
    /// The page is full: ask again with `since` = the last entry's `disabled_at_ms`.
    pub more: bool,
    /// How long an entry must be remembered: no access token lives longer than this after its
    /// account was disabled (the access-token lifetime plus leeway).
    pub retain_secs: u64,
}

/// Where a verifier learns which accounts are disabled.
pub trait RevocationSource: Send + Sync + 'static {
    /// Accounts disabled at or after `since_ms` (unix milliseconds); with `None`, every one
    /// whose tokens may still be live.
    fn disabled_since(
        &self,
        since_ms: Option<i64>,
    ) -> BoxFuture<'_, anyhow::Result<DisabledAccounts>>;
}

/// Auth's `GET /internal/disabled-accounts`, called with the internal token.
#[derive(Debug, Clone)]
pub struct HttpRevocationSource {
    url: String,
    token: InternalToken,
    client: reqwest::Client,
}

impl HttpRevocationSource {
    /// `auth_base_url` is auth's base URL, such as `http://127.0.0.1:8001`.
    pub fn new(auth_base_url: &str, token: InternalToken) -> Self {
        let client = crate::client::http_builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(5))
            .pool_idle_timeout(crate::server::CLIENT_POOL_IDLE_TIMEOUT)
            .build()
            .expect("static client configuration is valid");
        Self {
            url: format!(
                "{}/internal/disabled-accounts",
                auth_base_url.trim_end_matches('/')
            ),
            token,
            client,
        }
    }
}

impl RevocationSource for HttpRevocationSource {
    fn disabled_since(
        &self,
        since_ms: Option<i64>,
    ) -> BoxFuture<'_, anyhow::Result<DisabledAccounts>> {
        Box::pin(async move {
            let mut request = self
                .client
                .get(&self.url)
                .header(INTERNAL_TOKEN_HEADER, self.token.as_str());
            if let Some(since) = since_ms {
                request = request.query(&[("since", since)]);
            }
            let response = request.send().await?.error_for_status()?;
            Ok(response.json::<DisabledAccounts>().await?)
        })
    }
}

/// What a verifier knows of disabled accounts.
#[derive(Default)]
struct Revoked {
    /// Disabled accounts with when they were disabled (unix ms).
    users: HashMap<Uuid, i64>,
    /// The newest `disabled_at_ms` seen: the next poll starts a little before it.
    newest: Option<i64>,
    /// Whether the last poll failed (to log a failure and a recovery once each).
    failing: bool,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token was sent")]
    Missing,
    #[error("the token is not a well-formed JWT access token")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token uses an algorithm other than EdDSA")]
    WrongAlgorithm,
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the signing keys could not be fetched")]
    KeysUnavailable,
    /// Well signed and unexpired, but its account has been disabled (the user was deleted).
    #[error("the account this token was issued for has been disabled")]
    Revoked,
}

impl From<JwsError> for TokenError {
    fn from(error: JwsError) -> Self {
        match error {
            JwsError::Malformed => TokenError::Malformed,
            JwsError::WrongAlgorithm => TokenError::WrongAlgorithm,
            JwsError::BadSignature => TokenError::BadSignature,
        }
    }
}

impl From<TokenError> for Problem {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Missing => Problem::unauthorized(
                "missing_token",
                "Send an access token: Authorization: Bearer <token>",
            ),
            TokenError::KeysUnavailable => Problem::service_unavailable(
                "auth_unavailable",
                "Tokens cannot be checked right now; retry shortly",
            ),
            TokenError::Revoked => Problem::unauthorized(
                "token_revoked",
                "The account this token was issued for has been disabled",
            ),
            other => Problem::unauthorized("invalid_token", other.to_string()),
        }
    }
}

/// How far past `exp` a token is still accepted, for clocks that disagree a little.
const EXPIRY_LEEWAY_SECS: i64 = 5;

/// The length of an Ed25519 public key (RFC 8032 §5.1.5); a JWKS entry of another length is
/// ignored.
const ED25519_PUBLIC_KEY_LEN: usize = 32;

/// How many verified tokens are remembered at most.
const CACHE_CAPACITY: usize = 100_000;

/// The default minimum time between two JWKS fetches triggered by unknown `kid`s.
const REFETCH_INTERVAL: Duration = Duration::from_secs(5);

struct KeyState {
    /// Ed25519 public keys (32 bytes) by `kid`.
    keys: HashMap<String, Arc<[u8]>>,
    last_fetch: Option<Instant>,
    /// Why the last fetch failed; `None` after a success (or before any fetch).
    last_error: Option<String>,
}

/// Verifies access tokens against the auth service's public keys.
pub struct Verifier {
    issuer: String,
    source: Box<dyn KeySource>,
    keys: RwLock<KeyState>,
    /// Serialises fetches so a burst of unknown kids makes one request.
    fetch_lock: tokio::sync::Mutex<()>,
    refetch_interval: Duration,
    cache: RwLock<HashMap<String, Arc<Claims>>>,
    revocations: Option<Box<dyn RevocationSource>>,
    revoked: RwLock<Revoked>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Verifier {
    pub fn new(issuer: impl Into<String>, source: impl KeySource) -> Self {
        Self {
            issuer: issuer.into(),
            source: Box::new(source),
            keys: RwLock::new(KeyState {
                keys: HashMap::new(),
                last_fetch: None,
                last_error: None,
            }),
            fetch_lock: tokio::sync::Mutex::new(()),
            refetch_interval: REFETCH_INTERVAL,
            cache: RwLock::new(HashMap::new()),
            revocations: None,
            revoked: RwLock::new(Revoked::default()),
        }
    }

    /// Refuses tokens of the accounts `source` lists as disabled, once polled
    /// ([`Verifier::sync_revocations`], [`Verifier::spawn_revocation_poll`]).
    pub fn with_revocations(mut self, source: impl RevocationSource) -> Self {
        self.revocations = Some(Box::new(source));
        self
    }

    /// Sets the minimum time between two fetches triggered by unknown `kid`s (default 5 s).
    ///
    /// The limit protects auth from a stream of forged `kid`s; auth's own verifier reads its
    /// database directly and uses zero, so a token signed with a key rotated a moment ago
    /// verifies at once instead of being refused until the interval has passed.
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// A verifier that fetches keys from auth at `auth_base_url`.
    pub fn remote(issuer: impl Into<String>, auth_base_url: &str) -> Self {
        Self::new(issuer, HttpKeySource::new(auth_base_url))
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verifies a compact JWT, returning its claims.
    pub async fn verify(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        let claims = self.verify_signed(token).await?;
        if self.is_revoked(claims.sub) {
            return Err(TokenError::Revoked);
        }
        Ok(claims)
    }

    /// Whether the account `user_id` is known to be disabled.
    pub fn is_revoked(&self, user_id: Uuid) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .users
            .contains_key(&user_id)
    }

    /// Asks the revocation source for the accounts disabled since the last poll (a little
    /// before, see [`REVOCATION_OVERLAP_MS`]) and forgets those whose tokens have all expired.
    /// Returns how many accounts are known disabled; without a source, does nothing.
    pub async fn sync_revocations(&self) -> anyhow::Result<usize> {
        let Some(source) = &self.revocations else {
            return Ok(0);
        };
        let newest = self
            .revoked
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .newest;
        let mut since = newest.map(|newest| newest.saturating_sub(REVOCATION_OVERLAP_MS));
        let mut found = Vec::new();
        let mut retain_secs;
        loop {
            let page = source.disabled_since(since).await?;
            retain_secs = page.retain_secs;
            let last = page.accounts.last().map(|account| account.disabled_at_ms);
            found.extend(page.accounts);
            match last {
                Some(last) if page.more && Some(last) != since => since = Some(last),
                Some(_) if page.more => {
                    tracing::warn!(
                        "a full page of accounts disabled in one millisecond; the rest waits for the next poll"
                    );
                    break;
                }
                _ => break,
            }
        }
        let now_ms = now_unix().saturating_mul(1000);
        let keep_ms = i64::try_from(retain_secs)
            .unwrap_or(i64::MAX / 2_000)
            .saturating_mul(1000)
            .saturating_add(REVOCATION_OVERLAP_MS);
        let mut revoked = self
            .revoked
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        for account in found {
            if revoked
                .users
                .insert(account.user_id, account.disabled_at_ms)
                .is_none()
            {
                tracing::info!(user_id = %account.user_id, "tokens of a disabled account are refused from now on");
            }
            revoked.newest = revoked.newest.max(Some(account.disabled_at_ms));
        }
        revoked
            .users
            .retain(|_, disabled_at| disabled_at.saturating_add(keep_ms) > now_ms);
        Ok(revoked.users.len())
    }

    /// Polls the revocation source every `every` until `shutdown` fires (the first poll at
    /// once). `None` when the verifier has no source.
    pub fn spawn_revocation_poll(
        self: &Arc<Self>,
        every: Duration,
        shutdown: CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        self.revocations.as_ref()?;
        let verifier = self.clone();
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                let result = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    result = verifier.sync_revocations() => result,
                };
                verifier.note_poll(result);
            }
        }))
    }

    /// Logs a poll's failure once, and the recovery after it.
    fn note_poll(&self, result: anyhow::Result<usize>) {
        let mut revoked = self
            .revoked
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        match result {
            Ok(_) if revoked.failing => {
                revoked.failing = false;
                tracing::info!("disabled accounts are being fetched again");
            }
            Ok(_) => {}
            Err(error) if !revoked.failing => {
                revoked.failing = true;
                tracing::warn!(error = %format!("{error:#}"), "fetching disabled accounts failed; tokens of accounts disabled from now on are accepted until it works again");
            }
            Err(error) => {
                tracing::debug!(error = %format!("{error:#}"), "fetching disabled accounts failed again")
            }
        }
    }

    /// The signature, issuer and expiry checks, with the cache.
    async fn verify_signed(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        let now = now_unix();
        if let Some(claims) = self.cached(token, now) {
            return Ok(claims);
        }
        let parsed = jws::parse(token)?;
        let header = parsed.header();
        if header.alg != jws::ALGORITHM {
            return Err(TokenError::WrongAlgorithm);
        }
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(TokenError::Malformed);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::Malformed)?;
        let key = match self.key(kid) {
            Some(key) => key,
            None => {
                self.refetch().await?;
                self.key(kid).ok_or(TokenError::UnknownKey)?
            }
        };
        // `exp`, `iss`, `sub` and `iat` are required: a token without one does not parse.
        let claims: Claims = parsed.verify(&key)?;
        if claims.exp.saturating_add(EXPIRY_LEEWAY_SECS) < now {
            return Err(TokenError::Expired);
        }
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        // Checked when present, not required: tokens minted before `aud` existed stay valid.
        if claims.aud.as_deref().is_some_and(|aud| aud != AUDIENCE) {
            return Err(TokenError::WrongAudience);
        }
        let claims = Arc::new(claims);
        self.remember(token, claims.clone(), now);
        Ok(claims)
    }

    fn cached(&self, token: &str, now: i64) -> Option<Arc<Claims>> {
        let cache = self
            .cache
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        let claims = cache.get(token)?;
        (claims.exp > now).then(|| claims.clone())
    }

    fn remember(&self, token: &str, claims: Arc<Claims>, now: i64) {
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, claims| claims.exp > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), claims);
    }

    fn key(&self, kid: &str) -> Option<Arc<[u8]>> {
        let state = self
            .keys
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        state.keys.get(kid).cloned()
    }

    /// Whether auth's keys can be had, for a `jwks` readiness check: fetches the JWKS (unless
    /// a fetch happened within the refetch interval, whose outcome then stands, so probes do
    /// not hammer auth) and says why not, naming the URL tried. A failure while keys fetched
    /// earlier are still held says so: tokens signed with those keep verifying.
    pub async fn check_keys(&self) -> Result<(), String> {
        {
            let _guard = self.fetch_lock.lock().await;
            if !self.fetched_recently() {
                // The outcome is recorded in the state read below.
                let _ = self.fetch().await;
            }
        }
        let state = self
            .keys
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        match (&state.last_error, state.keys.len()) {
            (None, 0) => Err("the JWKS holds no Ed25519 key".to_owned()),
            (None, _) => Ok(()),
            (Some(error), 0) => Err(error.clone()),
            (Some(error), held) => Err(format!(
                "{error} (the {held} key(s) fetched before are still used)"
            )),
        }
    }

    fn fetched_recently(&self) -> bool {
        let state = self
            .keys
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        state
            .last_fetch
            .is_some_and(|at| at.elapsed() < self.refetch_interval)
    }

    /// Fetches the JWKS unless another fetch happened within the refetch interval.
    async fn refetch(&self) -> Result<(), TokenError> {
        let _guard = self.fetch_lock.lock().await;
        if self.fetched_recently() {
            let state = self
                .keys
                .read()
                .unwrap_or_else(|poison| poison.into_inner());
            return if state.keys.is_empty() {
                Err(TokenError::KeysUnavailable)
            } else {
                Ok(())
            };
        }
        self.fetch().await
    }

    /// Fetches the JWKS now and keeps its keys; the caller holds `fetch_lock`.
    async fn fetch(&self) -> Result<(), TokenError> {
        match self.source.fetch().await {
            Ok(set) => {
                let keys = set
                    .keys
                    .iter()
                    .filter(|jwk| jwk.kty == "OKP" && jwk.crv == "Ed25519")
                    .filter_map(|jwk| {
                        URL_SAFE_NO_PAD
                            .decode(&jwk.x)
                            .ok()
                            .filter(|key| key.len() == ED25519_PUBLIC_KEY_LEN)
                            .map(|key| (jwk.kid.clone(), Arc::from(key)))
                    })
                    .collect();
                let mut state = self
                    .keys
                    .write()
                    .unwrap_or_else(|poison| poison.into_inner());
                state.keys = keys;
                state.last_fetch = Some(Instant::now());
                state.last_error = None;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(error = %error, "fetching the JWKS failed");
                let mut state = self
                    .keys
                    .write()
                    .unwrap_or_else(|poison| poison.into_inner());
                // Count the failure too: a down auth service must not be hammered.
                state.last_fetch = Some(Instant::now());
                state.last_error = Some(format!("fetching the JWKS failed: {error:#}"));
                if state.keys.is_empty() {
                    Err(TokenError::KeysUnavailable)
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// Extracts the bearer token from an `Authorization` header value.
pub fn bearer_token(parts: &Parts) -> Result<&str, TokenError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(TokenError::Missing)?;
    let value = value.to_str().map_err(|_| TokenError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Malformed);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    Ok(token)
}

/// The authenticated caller, from a verified access token. Handlers take this instead of ever
/// reading identity headers, so a client-sent `X-User-Id` means nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    /// When the token presented expires (unix seconds): what outlives the request, such as a
    /// notification stream, ends then.
    pub expires_at: i64,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins only; others get 403 (the route exists and is not secret).
    pub fn require_admin(&self) -> Result<(), Problem> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Problem::forbidden("This action needs the admin role"))
        }
    }

    /// Whether the caller may see a resource owned by `owner`.
    pub fn can_access(&self, owner: Uuid) -> bool {
        self.is_admin() || self.id == owner
    }
}

impl From<&Claims> for AuthUser {
    fn from(claims: &Claims) -> Self {
        Self {
            id: claims.sub,
            username: claims.name.clone(),
            role: claims.role,
            expires_at: claims.exp,
        }
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<Verifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<Verifier>::from_ref(state);
        let token = bearer_token(parts)?;
        let claims = verifier.verify(token).await?;
        Ok(AuthUser::from(claims.as_ref()))
    }
}

/// `Option<AuthUser>`: no token means anonymous, but a bad token is still a 401.
impl<S> OptionalFromRequestParts<S> for AuthUser
where
    Arc<Verifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match bearer_token(parts) {
            Err(TokenError::Missing) => Ok(None),
            Err(other) => Err(other.into()),
            Ok(token) => {
                let verifier = Arc::<Verifier>::from_ref(state);
                let claims = verifier.verify(token).await?;
                Ok(Some(AuthUser::from(claims.as_ref())))
            }
        }
    }
}

/// Header carrying the service-to-service secret; the gateway removes it from client requests.
pub const INTERNAL_TOKEN_HEADER: &str = "x-internal-token";

/// The secret service-to-service calls carry: random per process in embedded mode, shared via
/// `MICROSHOP_INTERNAL_TOKEN` in distributed mode.
#[derive(Clone, PartialEq, Eq)]
pub struct InternalToken(Arc<str>);

impl std::fmt::Debug for InternalToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InternalToken(..)")
    }
}

impl InternalToken {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Arc::from(secret.into()))
    }

    /// 256 random bits, base64url.
    pub fn random() -> Self {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random source works");
        Self::new(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the gateway sends in [`crate::http::FORWARDED_BY_GATEWAY`] to prove that it is the
    /// deployment's gateway: a hash of the secret under a label of its own, so it proves nothing
    /// but that (presenting it does not open the internal routes, and it does not reveal the
    /// token).
    pub fn forwarding_proof(&self) -> http::HeaderValue {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(b"microshop gateway forwarding proof\0");
        context.update(self.0.as_bytes());
        let digest = context.finish();
        let text = URL_SAFE_NO_PAD.encode(digest.as_ref());
        http::HeaderValue::from_str(&text).expect("base64url is a valid header value")
    }

    /// Constant-time comparison with a presented value.
    pub fn matches(&self, presented: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// A call from another microshop service, proven by the internal token. Internal routes take
/// this instead of `AuthUser`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InternalCaller;

impl<S> FromRequestParts<S> for InternalCaller
where
    InternalToken: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let expected = InternalToken::from_ref(state);
        let presented = parts
            .headers
            .get(INTERNAL_TOKEN_HEADER)
            .and_then(|value| value.to_str().ok());
        match presented {
            Some(value) if expected.matches(value) => Ok(InternalCaller),
            // Internal routes do not exist as far as outsiders can tell.
            _ => Err(Problem::not_found()),
        }
    }
}
