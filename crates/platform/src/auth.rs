//! Access-token verification, shared by the gateway and every service.
//!
//! Tokens are EdDSA (Ed25519) JWTs issued by the auth service; its public keys come as a JWKS.
//! Every service verifies tokens itself (so calling a service without the gateway gives nothing
//! away) and the gateway verifies before forwarding. Verifications are cached until the token
//! expires: an access token cannot be revoked before its expiry anyway, so the cache changes no
//! answer, it only skips the signature check on a session's later requests.
//!
//! A token whose `kid` is unknown triggers one JWKS refetch (keys rotate), rate-limited so a
//! stream of forged `kid`s cannot turn into a stream of requests to auth.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use futures::future::BoxFuture;
use http::header;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::Problem;

/// The `typ` header of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Default issuer, the `iss` claim auth writes and everyone checks.
pub const DEFAULT_ISSUER: &str = "microshop-auth";

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
        let client = reqwest::Client::builder()
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
    #[error("the signing keys could not be fetched")]
    KeysUnavailable,
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
            other => Problem::unauthorized("invalid_token", other.to_string()),
        }
    }
}

/// How many verified tokens are remembered at most.
const CACHE_CAPACITY: usize = 100_000;

/// The default minimum time between two JWKS fetches triggered by unknown `kid`s.
const REFETCH_INTERVAL: Duration = Duration::from_secs(5);

struct KeyState {
    keys: HashMap<String, DecodingKey>,
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
        }
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
        let now = now_unix();
        if let Some(claims) = self.cached(token, now) {
            return Ok(claims);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::WrongAlgorithm);
        }
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(TokenError::Malformed);
        }
        let kid = header.kid.ok_or(TokenError::Malformed)?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.refetch().await?;
                self.key(&kid).ok_or(TokenError::UnknownKey)?
            }
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "iat"]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            match error.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAlgorithm => TokenError::WrongAlgorithm,
                _ => TokenError::Malformed,
            }
        })?;
        let claims = Arc::new(data.claims);
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

    fn key(&self, kid: &str) -> Option<DecodingKey> {
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
                        DecodingKey::from_ed_components(&jwk.x)
                            .ok()
                            .map(|key| (jwk.kid.clone(), key))
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
        use aws_lc_rs::rand::SecureRandom;
        use base64::Engine;
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random source works");
        Self::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the gateway sends in [`crate::http::FORWARDED_BY_GATEWAY`] to prove that it is the
    /// deployment's gateway: a hash of the secret under a label of its own, so it proves nothing
    /// but that (presenting it does not open the internal routes, and it does not reveal the
    /// token).
    pub fn forwarding_proof(&self) -> http::HeaderValue {
        use base64::Engine;
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        context.update(b"microshop gateway forwarding proof\0");
        context.update(self.0.as_bytes());
        let digest = context.finish();
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
        http::HeaderValue::from_str(&text).expect("base64url is a valid header value")
    }

    /// Constant-time comparison with a presented value.
    pub fn matches(&self, presented: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), presented.as_bytes())
            .is_ok()
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
