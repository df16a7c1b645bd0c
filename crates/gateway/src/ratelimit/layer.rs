//! The tower layer that applies [`RateLimits`] to every route it wraps and answers 429.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use platform::http::{REQUEST_ID, new_request_id};

use super::{Decision, RateLimits, Scope, retry_after_secs};
use crate::error::GatewayError;

/// Paths that are never limited: health checks and metrics.
pub(super) fn is_exempt(path: &str) -> bool {
    path == "/metrics" || path == "/health" || path.starts_with("/health/")
}

/// The tower layer applying [`RateLimits`] to every route it wraps.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    limits: Arc<RateLimits>,
}

impl RateLimitLayer {
    pub fn new(limits: Arc<RateLimits>) -> Self {
        Self { limits }
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        RateLimited {
            limits: self.limits.clone(),
            inner,
        }
    }
}

/// A route behind the rate limits.
#[derive(Debug, Clone)]
pub struct RateLimited<S> {
    limits: Arc<RateLimits>,
    inner: S,
}

impl<S> tower::Service<Request> for RateLimited<S>
where
    S: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if is_exempt(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        // The service polled ready is the one that must be called; a fresh clone takes its place.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let limits = self.limits.clone();
        Box::pin(async move {
            let started = Instant::now();
            let (mut parts, body) = request.into_parts();
            match limits.decide(&mut parts).await {
                Decision::Allowed => inner.call(Request::from_parts(parts, body)).await,
                Decision::Limited { scope, retry_after } => {
                    limits.count_rejection(scope);
                    // Read off what the client is still sending, or the close could reset the
                    // connection before the 429 is read.
                    crate::limit::linger(body);
                    Ok(refusal(&parts, scope, retry_after, started))
                }
            }
        })
    }
}

/// The 429, with the request id and the request metrics the route would have recorded.
fn refusal(parts: &Parts, scope: Scope, retry_after: Duration, started: Instant) -> Response {
    let mut response = GatewayError::RateLimited {
        scope: scope.as_str(),
        retry_after_secs: retry_after_secs(retry_after),
    }
    .into_response();
    let request_id = parts
        .headers
        .get(&REQUEST_ID)
        .cloned()
        .unwrap_or_else(new_request_id);
    response
        .headers_mut()
        .insert(REQUEST_ID.clone(), request_id);
    platform::metrics::observe(
        "gateway",
        &parts.method,
        route_label(parts.extensions.get::<MatchedPath>()),
        response.status(),
        started.elapsed(),
    );
    response
}

/// The `route` label the route itself records under: its template, or for a proxied prefix
/// (`/orders`, `/orders/`, `/orders/{*rest}`) the prefix alone.
fn route_label(matched: Option<&MatchedPath>) -> &str {
    let Some(matched) = matched else {
        return platform::metrics::UNMATCHED_ROUTE;
    };
    let template = matched.as_str();
    if let Some(prefix) = template.strip_suffix("/{*rest}") {
        return prefix;
    }
    match template.strip_suffix('/') {
        Some(prefix) if !prefix.is_empty() => prefix,
        _ => template,
    }
}
