//! What every service's HTTP surface has in common, assembled once.
//!
//! [`service_app`] wraps a service's own routes with: `/health/live`, `/health/ready` and
//! `/metrics`; the pages of the problem types, `/problems` and `/problems/{code}`
//! ([`crate::problem::pages`]), so the `type` of any problem resolves wherever it came from;
//! problem-details answers for unknown routes (404) and wrong methods (405); a
//! request id (taken from `X-Request-Id` or minted) on the response and on every log line; the
//! request metrics; the 1 MiB body limit; and a panic guard that answers an opaque 500 and keeps
//! the service serving.
//!
//! The database a service declares for its readiness ([`Readiness::database`],
//! [`Readiness::opened_database`]) is also the pool whose usage its `/metrics` reports
//! ([`crate::db::PoolUsage`]): every service with a database declares it there, so none can
//! forget the metrics.

use std::any::Any;

use std::cell::Cell;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderName, HeaderValue, StatusCode, header};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::json::MAX_BODY_BYTES;
use crate::ops::Operator;
use crate::problem::Problem;
use crate::server::ResponseDeadline;

/// Header carrying the request id across services and back to the client.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A readiness probe: `Ok` when the dependency answers, `Err(reason)` when not.
pub type ReadinessCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// The named checks `/health/ready` runs (database, bus, ...).
#[derive(Clone, Default)]
pub struct Readiness {
    /// Each check with whether its failure makes the service unready (`true`) or only
    /// degraded (`false`).
    checks: Vec<(&'static str, ReadinessCheck, bool)>,
    /// The database pools checked, whose usage `/metrics` reports.
    pools: Vec<sqlx::AnyPool>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.checks.iter().map(|(name, _, _)| *name).collect();
        f.debug_struct("Readiness").field("checks", &names).finish()
    }
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check; each runs with a 2 s timeout so a hung dependency cannot hang the probe.
    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((
            name,
            Arc::new(move || Box::pin(check()) as Pin<Box<_>>),
            true,
        ));
        self
    }

    /// Adds a check whose failure is reported (`"status": "degraded"`) but leaves the service
    /// ready: a dependency the service works around, such as the bus, which the outbox
    /// replaces while it is away. Taking the service out of rotation for it would turn a
    /// delay into an outage.
    pub fn degradable<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((
            name,
            Arc::new(move || Box::pin(check()) as Pin<Box<_>>),
            false,
        ));
        self
    }

    /// The degradable `jwks` check of a service verifying tokens with `verifier`: can auth's
    /// public keys be fetched (see [`crate::auth::Verifier::check_keys`])? Degradable, since
    /// keys fetched before keep verifying tokens, and requests without a token (or with one
    /// already verified) are served anyway; the reason names the URL tried, so a service
    /// pointed at the wrong auth shows it.
    pub fn jwks(self, verifier: Arc<crate::auth::Verifier>) -> Self {
        self.degradable("jwks", move || {
            let verifier = verifier.clone();
            async move { verifier.check_keys().await }
        })
    }

    /// The degradable `bus` check: can events be published? A service whose outbox absorbs a
    /// broker outage stays ready without it.
    pub fn bus(self, bus: Arc<dyn crate::events::Bus>) -> Self {
        self.degradable("bus", move || {
            let bus = bus.clone();
            async move { bus.check().await }
        })
    }

    /// Reports `pool`'s usage on `/metrics` without adding a check: for a service whose
    /// readiness check of that database is its own (hits' counter).
    pub fn pool_metrics(mut self, pool: sqlx::AnyPool) -> Self {
        self.pools.push(pool);
        self
    }

    /// Readiness of a sqlx pool: one round trip. The service's `/metrics` reports the pool's
    /// usage.
    pub fn database(mut self, pool: sqlx::AnyPool) -> Self {
        self.pools.push(pool.clone());
        self.check("database", move || {
            let pool = pool.clone();
            async move {
                sqlx::query("SELECT 1")
                    .execute(&pool)
                    .await
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            }
        })
    }

    /// Readiness of a database opened by [`crate::db::Database::open`]: while it is still being
    /// reached, why not (attempt, next retry, last error); then one round trip. The service's
    /// `/metrics` reports the pool's usage.
    pub fn opened_database(mut self, database: crate::db::Database) -> Self {
        self.pools.push(database.pool().clone());
        self.check("database", move || {
            let database = database.clone();
            async move { database.check().await }
        })
    }

    /// Runs every check; `true` when all pass, with each check's state.
    pub async fn evaluate(&self) -> (bool, serde_json::Map<String, serde_json::Value>) {
        let mut ready = true;
        let mut states = serde_json::Map::new();
        for (name, check, required) in &self.checks {
            let outcome = tokio::time::timeout(Duration::from_secs(2), check()).await;
            let reason = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(reason)) => Some(reason),
                Err(_) => Some("timed out".to_owned()),
            };
            let state = match reason {
                None => json!({"status": "up"}),
                Some(reason) if *required => {
                    ready = false;
                    json!({"status": "down", "reason": reason})
                }
                Some(reason) => json!({"status": "degraded", "reason": reason}),
            };
            states.insert((*name).to_owned(), state);
        }
        (ready, states)
    }
}

/// Wraps a service's routes with the health, metrics, error and tracing behaviour of every service.
pub fn service_app(service: &'static str, routes: Router, readiness: Readiness) -> Router {
    // Sampled at every scrape for as long as this router (which holds them) lives.
    let pool_usage: Arc<[_]> = readiness
        .pools
        .iter()
        .map(|pool| crate::db::PoolUsage::report(service, pool.clone()))
        .collect();
    let ready = readiness.clone();
    let health = Router::new()
        .route(
            "/health/live",
            get(move || async move { axum::Json(json!({"status": "live", "service": service})) }),
        )
        .route(
            "/health/ready",
            get(move |Operator(operator): Operator| {
                let ready = ready.clone();
                async move {
                    let (ok, checks) = ready.evaluate().await;
                    let status = if ok {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    let mut body = json!({
                        "status": if ok { "ready" } else { "not_ready" },
                        "service": service,
                    });
                    // The checks' reasons describe the deployment: operators only.
                    if operator {
                        body["checks"] = serde_json::Value::Object(checks);
                    }
                    (status, axum::Json(body))
                }
            }),
        )
        .route(
            "/metrics",
            get(move |Operator(operator): Operator| {
                let _sampled_while_served = Arc::clone(&pool_usage);
                async move {
                    if operator {
                        render_metrics(service).await.into_response()
                    } else {
                        operators_only().into_response()
                    }
                }
            }),
        )
        .merge(crate::problem::pages::router());
    with_common_layers(service, routes.merge(health))
}

/// Fallbacks and middleware shared by services and the gateway.
pub fn with_common_layers(service: &'static str, router: Router) -> Router {
    // Install the recorder before the first request, or its numbers would be lost.
    crate::metrics::handle();
    router
        .fallback(|| async { Problem::not_found() })
        .layer(axum::middleware::from_fn(answer_by_the_deadline))
        // axum's own 405 names the allowed methods in `Allow`; `errors_as_problems` gives it
        // a problem body and keeps that header.
        .layer(axum::middleware::map_response(errors_as_problems))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(answer_panic))
        .layer(crate::metrics::layer(service))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &Request| request_span(service, request))
                .on_request(|request: &Request, _span: &tracing::Span| {
                    let path = request.uri().path();
                    tracing::debug!(method = %request.method(), path, "received");
                })
                .on_response(
                    |response: &Response, latency: Duration, span: &tracing::Span| {
                        crate::traces::record_answer(span, response.status());
                        tracing::debug!(status = response.status().as_u16(), ?latency, "served");
                    },
                )
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(
            REQUEST_ID.clone(),
            MakeRequestUuidV7,
        ))
        .layer(axum::middleware::map_request(drop_unsafe_request_id))
}

/// Runs the handler under the request's [`ResponseDeadline`]: past it, the handler is dropped
/// (a transaction it had open rolls back with its connection) and the client gets 503
/// `response_timeout` with `Retry-After`, instead of waiting on a dependency that never answers.
async fn answer_by_the_deadline(request: Request, next: axum::middleware::Next) -> Response {
    let Some(&ResponseDeadline(deadline)) = request.extensions().get::<ResponseDeadline>() else {
        return next.run(request).await;
    };
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, path, ?deadline, "no answer within the response timeout");
            Problem::service_unavailable(
                "response_timeout",
                "The service could not answer in time; retry shortly",
            )
            .retry_after(RESPONSE_TIMEOUT_RETRY_AFTER_SECS)
            .into_response()
        }
    }
}

/// The `Retry-After` of a `response_timeout`.
const RESPONSE_TIMEOUT_RETRY_AFTER_SECS: u64 = 5;

/// The longest client-sent request id kept.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Whether a client's `X-Request-Id` may be kept: it is echoed in responses, written in every
/// log line and forwarded upstream, so it must be short and made of characters that mean
/// nothing to a log parser, a terminal or a header (letters, digits, `-`, `_`, `.`, `:`, `@`,
/// `/`, `+`, `=`: UUIDs, ULIDs, base64 and `host/span` styles all fit).
pub fn is_safe_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_REQUEST_ID_LEN).contains(&bytes.len())
        && bytes.iter().all(|byte| {
            byte.is_ascii_alphanumeric()
                || matches!(byte, b'-' | b'_' | b'.' | b':' | b'@' | b'/' | b'+' | b'=')
        })
}

/// Removes a client's request id unless it is one safe value, so that one is minted instead.
async fn drop_unsafe_request_id(mut request: Request) -> Request {
    let mut ids = request.headers().get_all(&REQUEST_ID).iter();
    let keep = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => is_safe_request_id(id),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// Gives an error answer that is not a problem a problem body, keeping its status and headers
/// (`Allow`, `Retry-After`): axum's own rejections answer `text/plain` (a path segment that is
/// not UTF-8 or not a number, a missing header) and its 405 has an empty body. Other bodies
/// (JSON, HTML of the front-end) are left as they are.
async fn errors_as_problems(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|kind| kind.as_bytes().starts_with(b"text/plain"));
    if !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let problem = problem_for_status(status, text.trim());
    let answer = problem.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::problem::PROBLEM_JSON),
    );
    Response::from_parts(parts, answer.into_body())
}

/// The problem for a bare status with an explanation from the framework (`text`), under one
/// of the catalogue's codes: axum's rejections are 400 (a path segment that is not UTF-8 or
/// not a number, a query that does not parse), 413, 415, or 500 for a route that wants
/// something the service did not provide (a bug, logged here).
fn problem_for_status(status: StatusCode, text: &str) -> Problem {
    let problem = match status {
        StatusCode::METHOD_NOT_ALLOWED => return Problem::method_not_allowed(),
        StatusCode::NOT_FOUND => return Problem::not_found(),
        StatusCode::PAYLOAD_TOO_LARGE => return crate::json::payload_too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Problem::new(status, "unsupported_media_type", "Unsupported media type")
        }
        _ if status.is_server_error() => {
            tracing::error!(
                status = status.as_u16(),
                rejection = text,
                "the framework refused a request"
            );
            return Problem::internal();
        }
        _ => Problem::new(
            status,
            "bad_request",
            status.canonical_reason().unwrap_or("Bad request"),
        ),
    };
    if text.is_empty() {
        problem
    } else {
        // axum's rejection texts name what was wrong with the request, never internals.
        problem.detail(text.chars().take(300).collect::<String>())
    }
}

/// The answer to a caller who may not read an operators' endpoint.
pub fn operators_only() -> Problem {
    Problem::forbidden(
        "Only operators may read this: call from a network in --ops-networks, or send an \
         admin's access token",
    )
}

/// `service`'s own series only (see [`crate::metrics`]): in embedded mode each port answers for
/// its service, not for the whole process.
async fn render_metrics(service: &'static str) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        crate::metrics::render(service),
    )
}

fn answer_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(panic = %message, "handler panicked");
    Problem::internal().into_response()
}

/// Mints time-ordered request ids, so logs sort naturally.
#[derive(Clone, Copy, Debug)]
struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        Some(RequestId::new(new_request_id()))
    }
}

/// A new request id: a UUIDv7 (time-ordered, like the ids the services mint, so logs sort
/// naturally) whose random part comes from a per-thread generator.
///
/// `Uuid::now_v7` asks the kernel for randomness on every call, a system call per request on the
/// hot path, and a request id needs uniqueness, not secrecy: each thread draws from its own
/// splitmix64 sequence, seeded once from the process's random hash keys.
pub fn new_request_id() -> HeaderValue {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut hasher = std::hash::RandomState::new().build_hasher();
            hasher.write_u64(0x6d69_6372_6f73_686f);
            hasher.finish()
        });
    }
    let next = || {
        STATE.with(|state| {
            let mut z = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            state.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    };
    // Two draws give the 80 bits the builder takes (74 of them are kept).
    let (high, low) = (next().to_le_bytes(), next().to_le_bytes());
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&high);
    random[8..].copy_from_slice(&low[..2]);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
    let mut buffer = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid.hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
}

/// The span every line logged while handling a request is emitted in, so each carries the
/// request id (and the service, which embedded mode needs to tell its services apart).
///
/// It is entered on every poll of the request and its fields are formatted once, when it is
/// created, so it holds only what a log reader cannot find elsewhere: method and path are on the
/// `received` line (debug level) and in the service's own messages.
///
/// When traces are exported (see [`crate::traces`]) the same span is the request's server span:
/// it continues the caller's trace and carries the route and, once answered, the status.
fn request_span<B>(service: &'static str, request: &http::Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    if !crate::traces::is_exporting() {
        return tracing::info_span!("request", service, request_id = %request_id);
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(crate::metrics::UNMATCHED_ROUTE, MatchedPath::as_str);
    let method = request.method().as_str();
    let span = tracing::info_span!(
        "request",
        service,
        request_id = %request_id,
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        url.path = request.uri().path(),
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    crate::traces::continue_from_headers(service, &span, request.headers());
    span
}

/// The client's address, as [`ProxyTrust::client_ip`] resolved it when the request arrived
/// (the server puts it in the request's extensions); the TCP peer when no server did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(resolved) = parts.extensions.get::<ClientIp>() {
            return Ok(*resolved);
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |info| info.0.ip());
        Ok(Self(peer))
    }
}

/// The header by which microshop's gateway proves that it is the one forwarding a request
/// (see [`ProxyTrust`]); the gateway removes any copy a client sends.
pub static FORWARDED_BY_GATEWAY: HeaderName = HeaderName::from_static("x-microshop-forwarded");

/// Whose `X-Forwarded-For` a server believes, so that per-address limits (the gateway's rate
/// limits, auth's login lockout and registration throttle) count real clients.
///
/// Anyone can send `X-Forwarded-For`: believed from anyone, it lets a client be a new address
/// on every request. So a server believes it only from the peers it was told to trust: the
/// networks of `--trusted-proxies` (a load balancer, Traefik, the gateway's pod network), and
/// microshop's own gateway, which proves itself with [`FORWARDED_BY_GATEWAY`]: a value derived
/// from the deployment's internal token, which no client knows. A peer address alone cannot
/// tell the gateway from a local process calling a service directly, since both connect from
/// loopback in embedded mode.
///
/// The client is found from the right: the peer, then, while the hop just taken is trusted,
/// the `X-Forwarded-For` entry that hop appended. Entries left of the first untrusted hop are
/// whatever the client wrote and are ignored.
#[derive(Clone, Default)]
pub struct ProxyTrust {
    networks: Vec<Network>,
    gateway_proof: Option<HeaderValue>,
}

impl std::fmt::Debug for ProxyTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyTrust")
            .field("networks", &self.networks)
            .field("gateway_proof", &self.gateway_proof.is_some())
            .finish()
    }
}

impl ProxyTrust {
    /// Trusts nobody: the client is always the TCP peer.
    pub fn none() -> Self {
        Self::default()
    }

    /// Trusts peers in `networks`, and the gateway of the deployment whose internal token is
    /// `internal` (when given).
    pub fn new(networks: Vec<Network>, internal: Option<&crate::auth::InternalToken>) -> Self {
        Self {
            networks,
            gateway_proof: internal.map(crate::auth::InternalToken::forwarding_proof),
        }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(ip))
    }

    fn proves_gateway(&self, headers: &http::HeaderMap) -> bool {
        let (Some(expected), Some(presented)) =
            (&self.gateway_proof, headers.get(&FORWARDED_BY_GATEWAY))
        else {
            return false;
        };
        bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &http::HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        let mut hop_trusted = self.trusts(peer) || self.proves_gateway(headers);
        if !hop_trusted || !headers.contains_key("x-forwarded-for") {
            return peer;
        }
        let mut client = peer;
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for entry in entries.iter().rev() {
            if !hop_trusted {
                break;
            }
            // A trusted hop wrote this entry; one that is not an address ends the walk.
            let Ok(ip) = entry.trim().parse::<IpAddr>() else {
                break;
            };
            client = canonical(ip);
            hop_trusted = self.trusts(client);
        }
        client
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// An IP network: `10.0.0.0/8`, `fd00::/8`, or one address (`192.0.2.7`, a /32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr = canonical(
            addr.parse::<IpAddr>()
                .map_err(|_| format!("{text:?} is not an IP address or network (a.b.c.d/n)"))?,
        );
        let longest = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => longest,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= longest)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {longest}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    /// Log output captured in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[tokio::test]
    async fn every_line_logged_while_handling_a_request_names_its_request_id() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);

        let routes = Router::new().route(
            "/work",
            get(|| async {
                tracing::info!("started the work");
                tokio::task::yield_now().await;
                tracing::warn!("finished the work");
                "done"
            }),
        );
        let app = service_app("log-test", routes, Readiness::new());
        let request = http::Request::get("/work")
            .header(&REQUEST_ID, "given-id-42")
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.headers()[&REQUEST_ID], "given-id-42");
        let request = http::Request::get("/work").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let minted = response.headers()[&REQUEST_ID].to_str().unwrap().to_owned();

        let text = captured.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        for line in &lines[..2] {
            assert!(line.contains("request_id=given-id-42"), "{line}");
        }
        for line in &lines[2..] {
            assert!(line.contains(&format!("request_id={minted}")), "{line}");
            assert!(line.contains("service=\"log-test\"") || line.contains("service=log-test"));
        }
    }

    #[tokio::test]
    async fn metrics_report_the_pool_of_the_database_the_readiness_checks() {
        sqlx::any::install_default_drivers();
        // Lazy: no connection is opened, so none is idle or in use.
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(4)
            .connect_lazy("sqlite::memory:")
            .unwrap();
        let app = service_app(
            "http-pool-unit",
            Router::new(),
            Readiness::new().database(pool.clone()),
        );
        // Another service of the same process: its series are not this one's.
        let _other = service_app(
            "http-pool-other",
            Router::new(),
            Readiness::new().database(pool),
        );
        let request = http::Request::get("/metrics").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        for series in [
            r#"db_pool_max_connections{service="http-pool-unit"} 4"#,
            r#"db_pool_connections{service="http-pool-unit",state="in_use"} 0"#,
            r#"db_pool_connections{service="http-pool-unit",state="idle"} 0"#,
        ] {
            assert!(text.lines().any(|line| line == series), "{series}\n{text}");
        }
        assert!(!text.contains("http-pool-other"), "{text}");
    }

    fn forwarded(values: &[&str], proof: Option<HeaderValue>) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        if let Some(proof) = proof {
            headers.insert(&FORWARDED_BY_GATEWAY, proof);
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_from_an_untrusted_peer_is_ignored() {
        let trust = ProxyTrust::none();
        let headers = forwarded(&["203.0.113.9"], None);
        assert_eq!(trust.client_ip(ip("127.0.0.1"), &headers), ip("127.0.0.1"));
        // Loopback and private peers get no special treatment.
        assert_eq!(trust.client_ip(ip("10.1.2.3"), &headers), ip("10.1.2.3"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_entries_left_of_an_untrusted_hop_are_ignored() {
        let trust = ProxyTrust::new(vec!["10.0.0.0/8".parse().unwrap()], None);
        // The client forged the first entry; the proxy appended the address it saw.
        let headers = forwarded(&["198.51.100.1, 203.0.113.9"], None);
        assert_eq!(trust.client_ip(ip("10.0.0.5"), &headers), ip("203.0.113.9"));
        // Two trusted hops: the walk goes on through the second one.
        let headers = forwarded(&["203.0.113.9", "10.0.0.7"], None);
        assert_eq!(trust.client_ip(ip("10.0.0.5"), &headers), ip("203.0.113.9"));
        // Garbage written by a trusted hop stops at that hop.
        let headers = forwarded(&["203.0.113.9, not-an-ip"], None);
        assert_eq!(trust.client_ip(ip("10.0.0.5"), &headers), ip("10.0.0.5"));
        // IPv4-mapped peers are their IPv4 address.
        let headers = forwarded(&["203.0.113.9"], None);
        assert_eq!(
            trust.client_ip(ip("::ffff:10.0.0.5"), &headers),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_gateway_is_trusted_only_with_the_deployments_proof() {
        let token = crate::auth::InternalToken::new("s3cret");
        let trust = ProxyTrust::new(Vec::new(), Some(&token));
        let proof = token.forwarding_proof();
        let headers = forwarded(&["203.0.113.9"], Some(proof.clone()));
        assert_eq!(
            trust.client_ip(ip("127.0.0.1"), &headers),
            ip("203.0.113.9")
        );
        let forged = forwarded(&["203.0.113.9"], Some(HeaderValue::from_static("guess")));
        assert_eq!(trust.client_ip(ip("127.0.0.1"), &forged), ip("127.0.0.1"));
        let other = crate::auth::InternalToken::new("another deployment").forwarding_proof();
        let foreign = forwarded(&["203.0.113.9"], Some(other));
        assert_eq!(trust.client_ip(ip("127.0.0.1"), &foreign), ip("127.0.0.1"));
        assert_ne!(
            proof.to_str().unwrap(),
            token.as_str(),
            "the proof is not the secret"
        );
    }

    #[test]
    fn networks_parse_and_match() {
        let network: Network = "192.168.0.0/16".parse().unwrap();
        assert!(network.contains(ip("192.168.44.1")));
        assert!(!network.contains(ip("192.169.0.1")));
        assert!(!network.contains(ip("::1")));
        let single: Network = "2001:db8::7".parse().unwrap();
        assert!(single.contains(ip("2001:db8::7")));
        assert!(!single.contains(ip("2001:db8::8")));
        let everything: Network = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("203.0.113.9")));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("localhost".parse::<Network>().is_err());
        assert_eq!(network.to_string(), "192.168.0.0/16");
    }

    #[test]
    fn minted_request_ids_are_unique_time_ordered_uuids() {
        let first = new_request_id();
        let parsed = uuid::Uuid::parse_str(first.to_str().unwrap()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 10_000, "ids repeat");
        let other_thread: Vec<_> =
            std::thread::spawn(|| (0..1000).map(|_| new_request_id()).collect())
                .join()
                .unwrap();
        assert!(other_thread.iter().all(|id| !ids.contains(id)));
        let later = new_request_id();
        let (first_ms, _) = parsed.get_timestamp().unwrap().to_unix();
        let later = uuid::Uuid::parse_str(later.to_str().unwrap()).unwrap();
        assert!(later.get_timestamp().unwrap().to_unix().0 >= first_ms);
    }
}
