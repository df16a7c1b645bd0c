//! The forwarding hot path: check the token, pick an instance, stream the exchange through.
//!
//! Bodies are never buffered: the client's request body is handed to the upstream connection
//! as it arrives (behind a 1 MiB counter), and the upstream's response body goes back to the
//! client frame by frame, which is what lets Server-Sent Events and large downloads through.
//! Connections to the services are pooled and kept alive, so a request normally costs no new
//! TCP handshake. Only the response *headers* are waited for under the upstream timeout; a body
//! may then stream for as long as it needs.
//!
//! Headers are forwarded as sent except for what a proxy must not pass on: hop-by-hop headers
//! (RFC 9110 §7.6.1), any client-sent `X-User-*` header, which a careless service might take for
//! an identity the gateway vouched for, and the internal service-to-service token header.
//!
//! Each instance has a circuit breaker ([`crate::upstreams::Balancer`]). Only *transport*
//! failures count against it: a refused or reset connection, no response headers within the
//! upstream timeout, an answer that is not HTTP. Any HTTP answer is a success for the breaker,
//! whatever its status: a 503 `payment_unavailable` from orders is orders telling the client
//! something, and cutting orders off for it would turn one failing dependency into a failing
//! shop. Failures caused by the client (a body over the limit or broken off, a body still
//! arriving when the timeout struck) do not count either. While an instance's breaker is open,
//! its turn goes to the next instance; when every breaker is open the gateway answers 503 at
//! once, with `Retry-After` saying when the first breaker lets a probe through.
//!
//! This path runs on every request, so it does its own bookkeeping (request id, metrics, panic
//! guard) instead of going through the generic per-service middleware, and allocates only what
//! the forwarded request needs. The service that answers logs the request under the same
//! request id; the gateway logs only what went wrong on its side.

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::FutureExt;
use http::header::{self, HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http::{HeaderMap, Method, Version};
use http_body::Body as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use platform::auth::{Verifier, bearer_token};
use platform::http::{REQUEST_ID, new_request_id};
use platform::json::MAX_BODY_BYTES;
use platform::metrics::InFlight;
use tokio::time::Instant;
use tracing::Instrument;

use crate::access;
use crate::error::GatewayError;
use crate::limit::{self, BodyTooLarge, CappedBody, ClientBodyFailed};
use crate::upstreams::{Balancer, Instance};

/// The body type sent upstream: the client's body, cut off past the limit.
pub(crate) type UpstreamBody = CappedBody;

/// The pooled HTTP/1.1 client shared by every route (and the health probes).
pub(crate) type HttpClient = Client<HttpConnector, UpstreamBody>;

/// The `service` label of the gateway's metrics (the service its spans are exported as).
pub(crate) const SERVICE: &str = "gateway";

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Builds the upstream client: connect timeout, no Nagle delay, TCP keep-alive, pooled idle
/// connections reaped after a while so a restarted instance is not hit on a stale socket.
pub(crate) fn client(connect_timeout: Duration) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    connector.set_keepalive(Some(Duration::from_secs(30)));
    connector.enforce_http(true);
    Client::builder(TokioExecutor::new())
        // Less than our servers keep an idle connection, so none is reused as it closes.
        .pool_idle_timeout(platform::server::CLIENT_POOL_IDLE_TIMEOUT)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(connector)
}

/// What every route shares: the client, the token verifier and the timeout.
#[derive(Debug)]
pub(crate) struct Proxy {
    pub(crate) client: HttpClient,
    pub(crate) verifier: Arc<Verifier>,
    pub(crate) upstream_timeout: Duration,
    /// Sent on every forwarded request so the services believe its `X-Forwarded-For`.
    pub(crate) forwarding_proof: Option<HeaderValue>,
}

/// Where one route sends its requests.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) service: &'static str,
    /// `None` when the service has no configured instance (the route answers 404).
    pub(crate) balancer: Option<Arc<Balancer>>,
    /// A seed alias: the one method it answers and the upstream path (`POST /login` →
    /// `/auth/login`); `None` forwards any method with the path unchanged.
    pub(crate) rewrite: Option<(Method, &'static str)>,
}

/// One route's handler state: one `Arc` clone per request.
#[derive(Debug)]
pub(crate) struct Forwarder {
    pub(crate) proxy: Arc<Proxy>,
    pub(crate) target: Target,
    /// The `route` label of the request metrics: the route's prefix, never the raw path.
    pub(crate) route: &'static str,
}

impl Forwarder {
    pub(crate) async fn handle(self: Arc<Self>, request: Request) -> Response {
        let started = std::time::Instant::now();
        let _in_flight = InFlight::start(SERVICE);
        let (mut parts, body) = request.into_parts();
        let request_id = request_id(&mut parts.headers);
        let method = parts.method.clone();
        let span = self.server_span(&parts, &request_id);
        let mut body = Some(body);
        let outcome = AssertUnwindSafe(self.forward(parts, &mut body, &request_id))
            .catch_unwind()
            .instrument(span.clone())
            .await;
        if let Some(unsent) = body {
            // Refused before the body went anywhere: read it off the connection so the client
            // gets to see the answer.
            limit::linger(unsent);
        }
        let mut response = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => error.into_response(),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(request_id = request_id.to_str().unwrap_or("-"), panic = %message, "proxy panicked");
                platform::Problem::internal().into_response()
            }
        };
        response
            .headers_mut()
            .entry(&REQUEST_ID)
            .or_insert(request_id);
        platform::metrics::observe(
            SERVICE,
            &method,
            self.route,
            response.status(),
            started.elapsed(),
        );
        platform::traces::record_answer(&span, response.status());
        response
    }

    /// The request's span when traces are exported (see `platform::traces`): it continues a
    /// client's trace, and the upstream's server span becomes its child.
    fn server_span(&self, parts: &http::request::Parts, request_id: &HeaderValue) -> tracing::Span {
        if !platform::traces::is_exporting() {
            return tracing::Span::none();
        }
        let method = parts.method.as_str();
        let span = tracing::info_span!(
            "request",
            service = SERVICE,
            request_id = request_id.to_str().unwrap_or("-"),
            otel.name = %format_args!("{method} {}", self.route),
            otel.kind = "server",
            http.request.method = method,
            http.route = self.route,
            url.path = parts.uri.path(),
            peer.service = self.target.service,
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        platform::traces::continue_from_headers(SERVICE, &span, &parts.headers);
        span
    }

    /// Forwards the request; the body leaves its `slot` only when it is sent upstream.
    async fn forward(
        &self,
        mut parts: http::request::Parts,
        slot: &mut Option<Body>,
        request_id: &HeaderValue,
    ) -> Result<Response, GatewayError> {
        if parts.method == Method::CONNECT || parts.method == Method::TRACE {
            return Err(GatewayError::MethodNotAllowed);
        }
        if let Some((method, _)) = &self.target.rewrite {
            let allowed =
                parts.method == *method || (*method == Method::GET && parts.method == Method::HEAD);
            if !allowed {
                return Err(GatewayError::MethodNotAllowed);
            }
        }
        if !access::is_public(&parts.method, parts.uri.path()) {
            let token = bearer_token(&parts)?;
            self.proxy.verifier.verify(token).await?;
        }
        let declared = declared_length(&parts.headers);
        if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
            return Err(GatewayError::PayloadTooLarge);
        }
        let target = &self.target;
        let balancer = target
            .balancer
            .as_deref()
            .ok_or(GatewayError::NotConfigured(target.service))?;

        let path_and_query = match target.rewrite {
            None => parts
                .uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
            Some((_, path)) => rewritten(path, parts.uri.query())?,
        };
        let client_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        let forwarded_host = parts.headers.get(header::HOST).cloned().or_else(|| {
            let authority = parts.uri.authority()?;
            HeaderValue::from_str(authority.as_str()).ok()
        });
        prepare_request_headers(&mut parts.headers, client_ip, forwarded_host);
        if let Some(proof) = &self.proxy.forwarding_proof {
            parts
                .headers
                .insert(&platform::http::FORWARDED_BY_GATEWAY, proof.clone());
        }
        // This request's span becomes the upstream's parent (when traces are exported).
        platform::traces::inject_current(&mut parts.headers);
        // Even a `Connection` header naming it cannot take the request id away.
        parts
            .headers
            .entry(&REQUEST_ID)
            .or_insert_with(|| request_id.clone());

        let Some(body) = slot.take() else {
            return Err(GatewayError::Internal);
        };
        let bodyless = body.is_end_stream();
        let (mut body, mut remainder) = if bodyless || declared.is_some() {
            (CappedBody::within_limit(body), None)
        } else {
            let (body, remainder) = CappedBody::counted(body);
            (body, Some(remainder))
        };
        let body_ended = (!bodyless).then(|| body.track_end());
        // A request without a body can be replayed on another instance when one refuses the
        // connection: nothing reached the service. A body is streamed once and cannot be; but an
        // instance passed over because its breaker is open never saw it, so it still moves on.
        let mut body = Some(body);
        let deadline = Instant::now() + self.proxy.upstream_timeout;
        let method = parts.method;
        let mut headers = parts.headers;
        let mut refused = None;
        let last_offset = balancer.len() - 1;
        for (offset, member) in balancer.turn().enumerate() {
            let Ok(permit) = member.breaker.try_acquire() else {
                balancer.skipped();
                continue;
            };
            let permit = ClientCancellable(Some(permit));
            let instance = &member.instance;
            let last = offset == last_offset || !bodyless;
            let request_headers = if last {
                std::mem::take(&mut headers)
            } else {
                headers.clone()
            };
            let request_body = body
                .take()
                .unwrap_or_else(|| CappedBody::within_limit(Body::empty()));
            let outgoing = outgoing_request(
                method.clone(),
                instance,
                &path_and_query,
                request_headers,
                request_body,
            )?;
            let sent = tokio::time::timeout_at(deadline, self.proxy.client.request(outgoing)).await;
            match sent {
                Ok(Ok(response)) => {
                    permit.success();
                    return Ok(incoming_response(response));
                }
                Ok(Err(error)) => {
                    let (failure, blame) = classify(target.service, instance, request_id, &error);
                    match blame {
                        Blame::Upstream => permit.failure(),
                        // The instance did its part; only the client's request went wrong.
                        Blame::Client => permit.success(),
                    }
                    match failure {
                        GatewayError::Unavailable(_) if !last => {
                            refused = Some(failure);
                            continue;
                        }
                        GatewayError::PayloadTooLarge => {
                            if let Some(rest) =
                                remainder.as_mut().and_then(|rest| rest.try_recv().ok())
                            {
                                limit::linger(rest);
                            }
                        }
                        _ => {}
                    }
                    return Err(failure);
                }
                Err(_elapsed) => {
                    let client_done = body_ended
                        .as_ref()
                        .is_none_or(|ended| ended.load(Ordering::Relaxed));
                    if client_done {
                        permit.failure();
                    } else {
                        // Still waiting for the client's body: a slow client, not a slow service.
                        permit.success();
                    }
                    tracing::warn!(
                        service = target.service,
                        instance = %instance,
                        request_id = request_id.to_str().unwrap_or("-"),
                        client_done,
                        "upstream sent no response headers within the timeout"
                    );
                    count_failure(target.service, "timeout");
                    return Err(GatewayError::Timeout(target.service));
                }
            }
        }
        // Every instance was refused by its breaker (or refused the connection after the others
        // were): nothing was sent, and an unsent body goes back to be drained.
        *slot = body.map(CappedBody::into_inner);
        Err(refused.unwrap_or_else(|| GatewayError::CircuitOpen {
            service: target.service,
            retry_after_secs: balancer.retry_after_secs(),
        }))
    }
}

/// The `Content-Length` the client declared, if any.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The alias's target path with the client's query string kept.
fn rewritten(path: &'static str, query: Option<&str>) -> Result<PathAndQuery, GatewayError> {
    match query {
        None => Ok(PathAndQuery::from_static(path)),
        Some(query) => PathAndQuery::try_from(format!("{path}?{query}")).map_err(|error| {
            tracing::error!(%error, "rewriting an alias produced an invalid path");
            GatewayError::Internal
        }),
    }
}

fn outgoing_request(
    method: Method,
    instance: &Instance,
    path_and_query: &PathAndQuery,
    headers: HeaderMap,
    body: CappedBody,
) -> Result<http::Request<UpstreamBody>, GatewayError> {
    let uri = instance.uri_for(path_and_query).map_err(|error| {
        tracing::error!(%error, instance = %instance, "cannot build the upstream URI");
        GatewayError::Internal
    })?;
    let mut request = http::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    // The upstream connection is HTTP/1.1 whatever the client spoke.
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Ok(request)
}

fn incoming_response(response: http::Response<hyper::body::Incoming>) -> Response {
    let mut response = response.map(Body::new);
    strip_hop_by_hop(response.headers_mut());
    response
}

/// Whose fault a failed exchange was, which decides whether it counts against the instance's
/// circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blame {
    /// Refused, reset, not HTTP: the instance failed.
    Upstream,
    /// The client's body was too long or broke off.
    Client,
}

/// Maps a client error to what the caller is told and whose fault it was, logging the cause
/// once.
fn classify(
    service: &'static str,
    instance: &Instance,
    request_id: &HeaderValue,
    error: &hyper_util::client::legacy::Error,
) -> (GatewayError, Blame) {
    if error.is_connect() {
        tracing::warn!(
            service,
            instance = %instance,
            request_id = request_id.to_str().unwrap_or("-"),
            error = %chain(error),
            "upstream refused the connection"
        );
        count_failure(service, "connect");
        return (GatewayError::Unavailable(service), Blame::Upstream);
    }
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(cause) = source {
        if cause.is::<BodyTooLarge>() {
            return (GatewayError::PayloadTooLarge, Blame::Client);
        }
        if cause.is::<ClientBodyFailed>() {
            tracing::debug!(
                service,
                request_id = request_id.to_str().unwrap_or("-"),
                error = %chain(error),
                "the client's body broke off"
            );
            return (GatewayError::IncompleteBody, Blame::Client);
        }
        source = cause.source();
    }
    tracing::warn!(
        service,
        instance = %instance,
        request_id = request_id.to_str().unwrap_or("-"),
        error = %chain(error),
        "upstream exchange failed"
    );
    count_failure(service, "exchange");
    (GatewayError::BadGateway(service), Blame::Upstream)
}

/// Counts a failed exchange with `upstream` in `gateway_upstream_failures_total{upstream, kind}`
/// (its `service` is the gateway's, as on all its series).
fn count_failure(upstream: &'static str, kind: &'static str) {
    metrics::counter!(
        "gateway_upstream_failures_total",
        "service" => SERVICE,
        "upstream" => upstream,
        "kind" => kind
    )
    .increment(1);
}

/// `error: cause: cause`, since the client's errors say little at the top level.
fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The request's id: the client's `X-Request-Id` when it sent one, else a new time-ordered id,
/// set on the request so the service logs under the same id.
fn request_id(headers: &mut HeaderMap) -> HeaderValue {
    if let Some(id) = headers
        .get(&REQUEST_ID)
        .filter(|id| platform::http::is_safe_request_id(id))
    {
        return id.clone();
    }
    let id = new_request_id();
    headers.insert(REQUEST_ID.clone(), id.clone());
    id
}

/// Strips what must not travel upstream and adds what the service needs to know.
fn prepare_request_headers(
    headers: &mut HeaderMap,
    client_ip: Option<IpAddr>,
    forwarded_host: Option<HeaderValue>,
) {
    strip(headers, |name| {
        name.starts_with("x-user-")
            // The gateway answered any `Expect: 100-continue` itself already.
            || name == "expect"
            || name == INTERNAL_TOKEN_HEADER
            // Only this gateway may say it forwarded a request.
            || name == platform::http::FORWARDED_BY_GATEWAY.as_str()
    });

    if let Some(ip) = client_ip {
        let value = match headers.get(&X_FORWARDED_FOR) {
            None => ip_header_value(ip),
            Some(_) => {
                let mut joined = String::new();
                for value in headers.get_all(&X_FORWARDED_FOR) {
                    if let Ok(text) = value.to_str() {
                        joined.push_str(text);
                        joined.push_str(", ");
                    }
                }
                joined.push_str(&ip.to_string());
                HeaderValue::from_maybe_shared(Bytes::from(joined)).ok()
            }
        };
        if let Some(value) = value {
            headers.insert(&X_FORWARDED_FOR, value);
        }
    }
    // The gateway listens on plain HTTP; TLS, when there is any, ends in front of it.
    headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    if let Some(host) = forwarded_host {
        headers.insert(&X_FORWARDED_HOST, host);
    }
}

/// The header services use to prove a call comes from another service; a client must never be
/// able to present it through the gateway.
const INTERNAL_TOKEN_HEADER: &str = "x-internal-token";

/// Hop-by-hop headers (RFC 9110 §7.6.1), `Proxy-*` included; `Connection` is handled apart since
/// it names more of them.
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "keep-alive" | "te" | "trailer" | "transfer-encoding" | "upgrade"
    ) || name.starts_with("proxy-")
}

/// Removes hop-by-hop headers, those `Connection` names, and any for which `also` holds. One
/// pass over the names decides; the common case (nothing to remove) allocates nothing.
fn strip(headers: &mut HeaderMap, also: impl Fn(&str) -> bool) {
    let doomed = |name: &str| is_hop_by_hop(name) || also(name);
    let has_connection = headers.contains_key(header::CONNECTION);
    if !has_connection && !headers.keys().any(|name| doomed(name.as_str())) {
        return;
    }
    let listed: Vec<HeaderValue> = headers
        .get_all(header::CONNECTION)
        .iter()
        .cloned()
        .collect();
    headers.remove(header::CONNECTION);
    for value in &listed {
        let Ok(text) = value.to_str() else { continue };
        for name in text
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            headers.remove(name);
        }
    }
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| doomed(name.as_str()))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

/// Removes hop-by-hop headers from a response.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    strip(headers, |_| false);
}

/// The client address as a header value, formatted without the `fmt` machinery for IPv4.
fn ip_header_value(ip: IpAddr) -> Option<HeaderValue> {
    match ip {
        IpAddr::V4(v4) => {
            let mut buffer = [0u8; 15];
            let mut length = 0;
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    buffer[length] = b'.';
                    length += 1;
                }
                if octet >= 100 {
                    buffer[length] = b'0' + octet / 100;
                    length += 1;
                }
                if octet >= 10 {
                    buffer[length] = b'0' + (octet / 10) % 10;
                    length += 1;
                }
                buffer[length] = b'0' + octet % 10;
                length += 1;
            }
            HeaderValue::from_bytes(&buffer[..length]).ok()
        }
        IpAddr::V6(_) => HeaderValue::from_maybe_shared(Bytes::from(ip.to_string())).ok(),
    }
}

/// A breaker permit held while the client waits. If the client goes away first, the handler's
/// future is dropped with the permit: that says nothing about the instance, so the permit is
/// abandoned rather than counted as a failure (platform's default for a dropped permit), or a
/// load generator stopping mid-flight, or browsers navigating away, would open breakers.
struct ClientCancellable<'a>(Option<platform::resilience::Permit<'a>>);

impl ClientCancellable<'_> {
    fn success(mut self) {
        if let Some(permit) = self.0.take() {
            permit.success();
        }
    }

    fn failure(mut self) {
        if let Some(permit) = self.0.take() {
            permit.failure();
        }
    }
}

impl Drop for ClientCancellable<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.0.take() {
            permit.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_removed() {
        let mut map = headers(&[
            ("connection", "X-Private, close"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("trailer", "x-sum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("authorization", "Bearer t"),
            ("accept", "*/*"),
        ]);
        strip_hop_by_hop(&mut map);
        let mut left: Vec<_> = map.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "authorization"]);
    }

    #[test]
    fn identity_headers_from_clients_never_pass() {
        let mut map = headers(&[
            ("x-user-id", "0190"),
            ("x-user-role", "admin"),
            ("x-internal-token", "guess"),
            ("x-request-id", "abc"),
        ]);
        prepare_request_headers(&mut map, Some(IpAddr::from([10, 0, 0, 1])), None);
        assert!(!map.contains_key("x-user-id"));
        assert!(!map.contains_key("x-user-role"));
        assert!(!map.contains_key("x-internal-token"));
        assert_eq!(map["x-request-id"], "abc");
        assert_eq!(map["x-forwarded-for"], "10.0.0.1");
        assert_eq!(map["x-forwarded-proto"], "http");
    }

    #[test]
    fn forwarded_for_is_appended_to() {
        let mut map = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-for", "198.51.100.2"),
        ]);
        prepare_request_headers(&mut map, Some(IpAddr::from([127, 0, 0, 1])), None);
        assert_eq!(
            map["x-forwarded-for"],
            "203.0.113.9, 198.51.100.2, 127.0.0.1"
        );
    }

    #[test]
    fn client_addresses_are_formatted_like_display() {
        for ip in [
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from([10, 200, 3, 45]),
            IpAddr::from([255, 255, 255, 255]),
            IpAddr::from([0, 0, 0, 0]),
            "::1".parse().unwrap(),
            "2001:db8::7".parse().unwrap(),
        ] {
            assert_eq!(ip_header_value(ip).unwrap(), ip.to_string().as_str());
        }
    }

    #[test]
    fn requests_without_an_id_get_one_and_keep_a_sent_one() {
        let mut map = HeaderMap::new();
        let minted = request_id(&mut map);
        assert_eq!(map["x-request-id"], minted);
        let parsed = uuid::Uuid::parse_str(minted.to_str().unwrap()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 10_000, "ids repeat");
        let mut map = headers(&[("x-request-id", "mine")]);
        assert_eq!(request_id(&mut map), "mine");
    }

    #[test]
    fn aliases_keep_the_query() {
        assert_eq!(rewritten("/auth/login", None).unwrap(), "/auth/login");
        assert_eq!(
            rewritten("/auth/login", Some("next=%2F")).unwrap(),
            "/auth/login?next=%2F"
        );
    }
}
