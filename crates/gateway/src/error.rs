//! Everything the gateway itself can answer instead of a service, as problem details.
//!
//! The rule the seeds broke and this enum exists to keep: a failure upstream is never a 200 and
//! never a 500. A client (the web UI's "order placed") must be able to tell "the service said
//! no" from "the service could not be reached" (503, retry later) from "it did not answer in
//! time" (504, the outcome is unknown).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use platform::Problem;
use platform::auth::TokenError;

/// Why the gateway answered a request itself.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The token is missing or not a valid access token (401), or the keys to check it could
    /// not be fetched (503).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The request body is over the 1 MiB limit.
    #[error("request body over the limit")]
    PayloadTooLarge,
    /// The route exists but no instance of its service is configured.
    #[error("no instance of {0} is configured")]
    NotConfigured(&'static str),
    /// Methods the gateway never forwards (CONNECT, TRACE).
    #[error("method not forwarded")]
    MethodNotAllowed,
    /// No instance accepted a connection.
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// Every instance's circuit breaker is open: nothing was sent, and the client should come
    /// back once the first breaker lets a probe through.
    #[error("every instance of {service} is failing")]
    CircuitOpen {
        service: &'static str,
        retry_after_secs: u64,
    },
    /// The instance did not send response headers within the upstream timeout.
    #[error("{0} timed out")]
    Timeout(&'static str),
    /// The connection broke or the answer was not HTTP.
    #[error("{0} sent no valid response")]
    BadGateway(&'static str),
    /// The client's request body broke off (the client went away or sent garbage) while it was
    /// being forwarded.
    #[error("the request body could not be read")]
    IncompleteBody,
    /// The client (`scope` "ip") or the signed-in user (`scope` "user") is over its rate limit;
    /// it may try again after `retry_after_secs`.
    #[error("rate limited per {scope}")]
    RateLimited {
        scope: &'static str,
        retry_after_secs: u64,
    },
    /// A bug in the gateway; the cause is logged where it happens.
    #[error("internal error")]
    Internal,
}

impl From<GatewayError> for Problem {
    fn from(error: GatewayError) -> Self {
        match error {
            GatewayError::Token(error) => error.into(),
            GatewayError::PayloadTooLarge => platform::json::payload_too_large(),
            GatewayError::NotConfigured(service) => {
                Problem::new(StatusCode::NOT_FOUND, "not_found", "Not found")
                    .detail(format!(
                        "No instance of the {service} service is configured"
                    ))
                    .with("service", service)
            }
            GatewayError::MethodNotAllowed => Problem::method_not_allowed(),
            GatewayError::Unavailable(service) => Problem::service_unavailable(
                "service_unavailable",
                format!("The {service} service is unavailable; retry shortly"),
            )
            .with("service", service),
            GatewayError::CircuitOpen {
                service,
                retry_after_secs,
            } => Problem::service_unavailable(
                "service_unavailable",
                format!("The {service} service is failing; retry in {retry_after_secs} s"),
            )
            .retry_after(retry_after_secs)
            .with("service", service)
            .with("reason", "circuit_open"),
            GatewayError::Timeout(service) => Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway_timeout",
                "Gateway timeout",
            )
            .detail(format!(
                "The {service} service did not answer in time; the outcome is unknown"
            ))
            .with("service", service),
            GatewayError::BadGateway(service) => {
                Problem::new(StatusCode::BAD_GATEWAY, "bad_gateway", "Bad gateway")
                    .detail(format!("The {service} service did not answer properly"))
                    .with("service", service)
            }
            GatewayError::IncompleteBody => Problem::bad_request(
                "incomplete_body",
                "The request body broke off before its end",
            ),
            GatewayError::RateLimited {
                scope,
                retry_after_secs,
            } => {
                let whose = if scope == "user" {
                    "for this account"
                } else {
                    "from this address"
                };
                Problem::too_many_requests(retry_after_secs)
                    .detail(format!(
                        "Too many requests {whose}; retry in {retry_after_secs} s"
                    ))
                    .with("scope", scope)
            }
            GatewayError::Internal => Problem::internal(),
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_failures_are_never_200_or_500() {
        for (error, status) in [
            (GatewayError::Unavailable("orders"), 503),
            (
                GatewayError::CircuitOpen {
                    service: "orders",
                    retry_after_secs: 7,
                },
                503,
            ),
            (GatewayError::Timeout("orders"), 504),
            (GatewayError::BadGateway("orders"), 502),
            (GatewayError::NotConfigured("orders"), 404),
            (GatewayError::PayloadTooLarge, 413),
            (GatewayError::Token(TokenError::Expired), 401),
        ] {
            assert_eq!(Problem::from(error).status().as_u16(), status);
        }
    }

    #[test]
    fn unavailable_asks_to_retry_later() {
        let response = GatewayError::Unavailable("orders").into_response();
        assert!(response.headers().contains_key(http::header::RETRY_AFTER));
        let response = GatewayError::CircuitOpen {
            service: "orders",
            retry_after_secs: 7,
        }
        .into_response();
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "7");
    }

    #[test]
    fn a_rate_limited_request_is_a_429_saying_when_to_come_back() {
        let problem = Problem::from(GatewayError::RateLimited {
            scope: "user",
            retry_after_secs: 3,
        });
        assert_eq!(problem.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(problem.code(), "rate_limited");
        assert_eq!(problem.body()["scope"], "user");
        let response = problem.into_response();
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "3");
    }
}
