//! What every service's HTTP surface has in common, assembled once.
//!
//! [`service_app`] wraps a service's own routes with: `/health/live`, `/health/ready` and
//! `/metrics`; problem-details answers for unknown routes (404) and wrong methods (405); a
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
use crate::problem::Problem;

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
            get(move || {
                let ready = ready.clone();
                async move {
                    let (ok, checks) = ready.evaluate().await;
                    let status = if ok {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    let body = json!({
                        "status": if ok { "ready" } else { "not_ready" },
                        "service": service,
                        "checks": checks,
                    });
                    (status, axum::Json(body))
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let _sampled_while_served = Arc::clone(&pool_usage);
                render_metrics()
            }),
        );
    with_common_layers(service, routes.merge(health))
}

/// Fallbacks and middleware shared by services and the gateway.
pub fn with_common_layers(service: &'static str, router: Router) -> Router {
    // Install the recorder before the first request, or its numbers would be lost.
    crate::metrics::handle();
    router
        .fallback(|| async { Problem::not_found() })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
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
}

async fn render_metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        crate::metrics::render(),
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
    crate::traces::continue_from_headers(&span, request.headers());
    span
}

/// The client's address: the TCP peer, or, when the peer is a proxy on a loopback or private
/// address (our gateway), the right-most `X-Forwarded-For` entry, which that proxy appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        if is_internal(peer)
            && let Some(forwarded) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .filter_map(|part| part.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return Ok(Self(forwarded));
        }
        Ok(Self(peer))
    }
}

fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
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
