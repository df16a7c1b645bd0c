//! Calls from one microshop service to another, with the resilience every such call needs.
//!
//! A [`ServiceClient`] is one upstream (orders → payments, orders → products): a pooled HTTP
//! client, the internal token that opens internal routes, a deadline on every call, bounded
//! retries for calls that are safe to repeat, and a [`CircuitBreaker`] so that an upstream which
//! is down costs its callers nothing but an immediate [`CallError::BreakerOpen`].
//!
//! The client judges only the upstream's health, not the business answer: any reply under 500
//! is a success for the breaker and comes back as `Ok(Reply)` for the caller to interpret (a 409
//! `insufficient_stock` is the upstream working). A 5xx, a timeout or a connection failure is a
//! breaker failure and comes back as `Err`.
//!
//! Retries: only calls marked idempotent, only on connection failures (refused, reset, closed
//! before the answer), at most `max_retries` more attempts with jittered exponential backoff,
//! each attempt asking the breaker again. A timeout is not retried (the time budget is spent)
//! nor is a 5xx (the upstream answered; hammering an overloaded service makes it worse, and the
//! breaker is the tool for that case).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::auth::{INTERNAL_TOKEN_HEADER, InternalToken};
use crate::resilience::{BreakerConfig, BreakerState, CircuitBreaker, retry_with_backoff};

/// A reqwest client builder for every HTTP client of the process, the tests' included.
///
/// reqwest is built without a TLS crypto provider of its own (its default, aws-lc, is minutes of
/// C to compile on every clean build), so the process's rustls provider is ring, installed here
/// before the first client exists. A client built straight from `reqwest::Client::builder()`
/// before this ran would panic.
pub fn http_builder() -> reqwest::ClientBuilder {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // Err means another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

/// [`http_builder`] with reqwest's defaults.
pub fn http_client() -> reqwest::Client {
    http_builder()
        .build()
        .expect("the default client configuration is valid")
}

/// The first retry waits up to this long, the second up to twice as long, and so on.
const RETRY_BASE: Duration = Duration::from_millis(50);

/// Connections kept open per upstream host between bursts: less than the servers keep them.
const POOL_IDLE_TIMEOUT: Duration = crate::server::CLIENT_POOL_IDLE_TIMEOUT;

/// How one upstream is called.
#[derive(Debug, Clone)]
pub struct CallPolicy {
    /// Deadline of a whole call, retries and reading the answer included (default 2 s).
    pub timeout: Duration,
    /// Deadline of opening one connection (default 500 ms).
    pub connect_timeout: Duration,
    /// Extra attempts for idempotent calls after a connection failure (default 2).
    pub max_retries: u32,
    pub breaker: BreakerConfig,
}

impl Default for CallPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_millis(500),
            max_retries: 2,
            breaker: BreakerConfig::default(),
        }
    }
}

/// A client for one upstream service; cheap to clone (clones share the pool and the breaker).
#[derive(Clone)]
pub struct ServiceClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// The calling service: its breaker's `service` label, and the service its client spans
    /// are exported as.
    service: &'static str,
    upstream: &'static str,
    base_url: String,
    token: HeaderValue,
    policy: CallPolicy,
    http: reqwest::Client,
    breaker: CircuitBreaker,
}

impl std::fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceClient")
            .field("service", &self.inner.service)
            .field("upstream", &self.inner.upstream)
            .field("base_url", &self.inner.base_url)
            .field("policy", &self.inner.policy)
            .field("breaker", &self.inner.breaker.state())
            .finish()
    }
}

impl ServiceClient {
    /// `service`'s client for `upstream` (its name in logs and in the breaker's metrics) at
    /// `base_url`, such as `http://127.0.0.1:8005`.
    ///
    /// # Panics
    /// If the internal token holds characters a header cannot carry (a configuration error,
    /// caught at start).
    pub fn new(
        service: &'static str,
        upstream: &'static str,
        base_url: impl Into<String>,
        internal_token: InternalToken,
        policy: CallPolicy,
    ) -> Self {
        let mut token = HeaderValue::from_str(internal_token.as_str())
            .expect("the internal token is a valid header value");
        token.set_sensitive(true);
        let http = http_builder()
            .connect_timeout(policy.connect_timeout)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_nodelay(true)
            // Service-to-service traffic never goes through an HTTP proxy from the environment.
            .no_proxy()
            .build()
            .expect("static client configuration is valid");
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        Self {
            inner: Arc::new(Inner {
                breaker: CircuitBreaker::new(service, upstream, policy.breaker.clone()),
                service,
                upstream,
                base_url,
                token,
                policy,
                http,
            }),
        }
    }

    pub fn upstream(&self) -> &'static str {
        self.inner.upstream
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.inner.breaker.state()
    }

    /// The breaker itself, e.g. for [`CircuitBreaker::open_remaining`] as a `Retry-After` hint.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.inner.breaker
    }

    /// Makes one call (with retries if it is idempotent) within the policy's timeout.
    ///
    /// `Ok` for any answer under 500, whatever it says; `Err` when the upstream is unreachable,
    /// too slow, answered 5xx, or its breaker is open (then at once, without network I/O).
    pub async fn call(&self, call: Call) -> Result<Reply, CallError> {
        let inner = &*self.inner;
        let attempts = if call.idempotent {
            inner.policy.max_retries.saturating_add(1)
        } else {
            1
        };
        let call = &call;
        let span = self.client_span(call);
        let outcome = tokio::time::timeout(
            inner.policy.timeout,
            retry_with_backoff(
                attempts,
                RETRY_BASE,
                || self.attempt(call),
                Failure::is_connection,
            ),
        )
        .instrument(span.clone())
        .await;
        if crate::traces::is_exporting() {
            match &outcome {
                Ok(Ok(reply)) => span.record("http.response.status_code", reply.status.as_u16()),
                _ => span.record("otel.status_code", "error"),
            };
        }
        let result = match outcome {
            Ok(Ok(reply)) => return Ok(reply),
            Ok(Err(failure)) => failure.into_error(inner.upstream),
            // The attempt in flight was dropped with its permit: the breaker counts a failure.
            Err(_elapsed) => CallError::Timeout,
        };
        tracing::debug!(
            upstream = inner.upstream,
            method = %call.method,
            path = %call.path,
            error = %result,
            "call to upstream failed"
        );
        Err(result)
    }

    /// The call's client span when traces are exported (see [`crate::traces`]); the called
    /// service's server span becomes its child.
    fn client_span(&self, call: &Call) -> tracing::Span {
        if !crate::traces::is_exporting() {
            return tracing::Span::none();
        }
        let upstream = self.inner.upstream;
        let span = tracing::info_span!(
            "call",
            otel.name = %format_args!("{} {upstream}", call.method),
            otel.kind = "client",
            peer.service = upstream,
            http.request.method = call.method.as_str(),
            url.path = call.path.as_str(),
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        // The caller's, also when a background task (a sweep) calls outside any request.
        crate::traces::attribute(self.inner.service, &span);
        span
    }

    async fn attempt(&self, call: &Call) -> Result<Reply, Failure> {
        let inner = &*self.inner;
        let permit = inner.breaker.try_acquire().map_err(|_| Failure::Open)?;
        let url = format!("{}{}", inner.base_url, call.path);
        let mut request = inner
            .http
            .request(call.method.clone(), url)
            .header(INTERNAL_TOKEN_HEADER, inner.token.clone())
            .header(header::ACCEPT, "application/json");
        for (name, value) in &call.headers {
            request = request.header(name.clone(), value.clone());
        }
        if crate::traces::is_exporting() {
            let mut trace_headers = http::HeaderMap::new();
            crate::traces::inject_current(&mut trace_headers);
            request = request.headers(trace_headers);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                permit.failure();
                return Err(Failure::from_reqwest(&error));
            }
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => {
                permit.failure();
                return Err(Failure::from_reqwest(&error));
            }
        };
        if status.is_server_error() {
            permit.failure();
            return Err(Failure::Status(status));
        }
        permit.success();
        Ok(Reply { status, body })
    }
}

/// Why one attempt failed; finer than [`CallError`] so retries can tell the cases apart.
#[derive(Debug)]
enum Failure {
    Open,
    Timeout,
    /// No answer: refused, reset, closed before the answer. Safe to retry if idempotent.
    Connection(String),
    Status(StatusCode),
    /// The request could not even be built (a bad path): never retried.
    Request(String),
}

impl Failure {
    fn is_connection(&self) -> bool {
        matches!(self, Failure::Connection(_))
    }

    fn from_reqwest(error: &reqwest::Error) -> Self {
        let message = error_chain(error);
        if error.is_builder() {
            Failure::Request(message)
        } else if error.is_timeout() && !error.is_connect() {
            Failure::Timeout
        } else {
            Failure::Connection(message)
        }
    }

    fn into_error(self, upstream: &str) -> CallError {
        match self {
            Failure::Open => CallError::BreakerOpen,
            Failure::Timeout => CallError::Timeout,
            Failure::Connection(message) | Failure::Request(message) => {
                CallError::Unavailable(message)
            }
            Failure::Status(status) => {
                CallError::Unavailable(format!("{upstream} answered {status}"))
            }
        }
    }
}

/// An error and its causes on one line: reqwest's own message rarely names the cause.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// One request to an upstream.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// Path and query, starting with `/`, appended to the client's base URL.
    pub path: String,
    /// Sent as JSON when present.
    pub body: Option<serde_json::Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Safe to send twice: retried on connection failures.
    pub idempotent: bool,
}

impl Call {
    /// A call with `method`, idempotent when the method is (GET, HEAD, PUT, DELETE, ...).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            idempotent: method.is_idempotent(),
            method,
            path: path.into(),
            body: None,
            headers: Vec::new(),
        }
    }

    /// A GET, idempotent.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A POST with a JSON body, not idempotent unless marked with [`idempotent`](Self::idempotent)
    /// (e.g. because it carries an idempotency key the upstream honours).
    pub fn post(path: impl Into<String>, body: serde_json::Value) -> Self {
        Self::new(Method::POST, path).json(body)
    }

    /// A PUT with a JSON body, idempotent.
    pub fn put(path: impl Into<String>, body: serde_json::Value) -> Self {
        Self::new(Method::PUT, path).json(body)
    }

    /// A DELETE, idempotent.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Sets the JSON body.
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Marks the call safe to repeat, so it is retried on connection failures.
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Adds a header. The name may be in any case.
    ///
    /// # Panics
    /// If the name is not a valid header name or the value holds control characters; use
    /// [`try_header`](Self::try_header) for values from outside.
    pub fn header(self, name: &'static str, value: impl AsRef<str>) -> Self {
        self.try_header(name, value)
            .unwrap_or_else(|error| panic!("invalid header {name}: {error}"))
    }

    /// Adds a header, refusing a name or value a header cannot carry.
    pub fn try_header(mut self, name: &str, value: impl AsRef<str>) -> Result<Self, http::Error> {
        let name = HeaderName::from_bytes(name.as_bytes())?;
        let value = HeaderValue::from_str(value.as_ref())?;
        self.headers.push((name, value));
        Ok(self)
    }
}

/// An answer under 500 from the upstream.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        serde_json::from_slice(&self.body)
            .map_err(|error| CallError::Decode(format!("{} reply: {error}", self.status)))
    }

    /// The `code` of a problem-details body (`insufficient_stock`, ...), if the body is one.
    pub fn problem_code(&self) -> Option<String> {
        let body: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        body.get("code")?.as_str().map(str::to_owned)
    }
}

/// Why a call gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The upstream's breaker is open; nothing was sent.
    #[error("circuit open")]
    BreakerOpen,
    /// No answer within the policy's timeout.
    #[error("timed out")]
    Timeout,
    /// A connection error, a reset, or a 5xx answer.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The answer was not what the caller expected.
    #[error("bad response: {0}")]
    Decode(String),
}
