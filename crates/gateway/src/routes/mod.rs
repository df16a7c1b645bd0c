//! The route table: which path prefix belongs to which service, and the router built from it.
//!
//! Routing is by prefix and static, because the prefixes are the public API (DESIGN §2) and a
//! deployment only changes *where* a service runs, which is [`crate::Upstreams`]' business.
//! Every prefix becomes an axum route with a bounded template (`/orders/{*rest}`), so the
//! request metrics are labelled by service prefix, never by raw path.

mod health;
mod home;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::routing::{MethodRouter, any, get};
use http::Method;
use platform::resilience::BreakerConfig;

use crate::proxy::{Forwarder, HttpClient, Proxy, Target};
use crate::upstreams::{Balancer, Upstreams};

/// A path prefix and the service that owns it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    pub(crate) prefix: &'static str,
    pub(crate) service: &'static str,
}

/// Every public prefix. `/events` is the agenda service: "events" in the bus means messages.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        prefix: "/auth",
        service: "auth",
    },
    Route {
        prefix: "/users",
        service: "users",
    },
    Route {
        prefix: "/orders",
        service: "orders",
    },
    Route {
        prefix: "/products",
        service: "products",
    },
    Route {
        prefix: "/payments",
        service: "payments",
    },
    Route {
        prefix: "/notifications",
        service: "notifier",
    },
    Route {
        prefix: "/cars",
        service: "cars",
    },
    Route {
        prefix: "/events",
        service: "agenda",
    },
    Route {
        prefix: "/hits",
        service: "hits",
    },
];

/// The auth service's key set, at the well-known path rather than under `/auth`.
pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Auth's OAuth 2.0 authorization server metadata (RFC 8414), also at its well-known path.
pub(crate) const OAUTH_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// Auth's documents at well-known paths (RFC 8615), forwarded as they are.
pub(crate) const WELL_KNOWN: [&str; 2] = [JWKS_PATH, OAUTH_METADATA_PATH];

/// The seeds' short paths, rewritten to auth's: (method, path, upstream path).
pub(crate) const ALIASES: &[(Method, &str, &str)] = &[
    (Method::POST, "/signup", "/auth/signup"),
    (Method::POST, "/login", "/auth/login"),
    (Method::GET, "/me", "/auth/me"),
];

/// Every configured service's instances with their breakers, in service-name order. Built once
/// and shared by the proxy routes and `/health`, so `/health` shows the breakers traffic sees.
pub(crate) type Balancers = BTreeMap<&'static str, Arc<Balancer>>;

pub(crate) fn balancers(upstreams: &Upstreams, breaker: &BreakerConfig) -> Balancers {
    upstreams
        .iter()
        .filter_map(|(service, instances)| {
            Balancer::new(service, instances, breaker).map(|balancer| (service, Arc::new(balancer)))
        })
        .collect()
}

/// The gateway's own routes (`/`, `/health`), to be wrapped in the common service layers.
pub(crate) fn own_routes(balancers: &Balancers, health_client: HttpClient) -> Router {
    let health = Arc::new(health::HealthState {
        client: health_client,
        services: balancers
            .iter()
            .map(|(service, balancer)| (*service, balancer.clone()))
            .collect(),
        started: Instant::now(),
    });
    Router::new()
        .merge(home::router())
        .route("/health", get(health::aggregate).with_state(health))
}

/// One proxy route set per prefix, plus the JWKS and the seed aliases. These do their own
/// request id, metrics and panic handling (see [`crate::proxy`]), so they are merged in after
/// the common layers are applied.
pub(crate) fn proxy_routes(proxy: Arc<Proxy>, balancers: &Balancers) -> Router {
    // `label` is the metrics' `route`: the prefix, never the raw path.
    let target =
        |label: &'static str, service: &'static str, rewrite: Option<(Method, &'static str)>| {
            Arc::new(Forwarder {
                proxy: proxy.clone(),
                target: Target {
                    service,
                    balancer: balancers.get(service).cloned(),
                    rewrite,
                },
                route: label,
            })
        };

    let mut router = Router::new();
    for route in ROUTES {
        let forward = forward(target(route.prefix, route.service, None));
        router = router
            .route(route.prefix, forward.clone())
            .route(&format!("{}/", route.prefix), forward.clone())
            .route(&format!("{}/{{*rest}}", route.prefix), forward);
    }
    for path in WELL_KNOWN {
        router = router.route(path, forward(target(path, "auth", None)));
    }
    for (method, path, upstream_path) in ALIASES {
        let forwarder = target(path, "auth", Some((method.clone(), upstream_path)));
        router = router.route(path, forward(forwarder));
    }
    router
}

/// Every method goes to the forwarder, which answers the ones it refuses itself (as problems).
fn forward(forwarder: Arc<Forwarder>) -> MethodRouter {
    any(move |request: Request| forwarder.clone().handle(request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstreams::SERVICES;

    #[test]
    fn every_route_names_a_known_service() {
        for route in ROUTES {
            assert!(SERVICES.contains(&route.service), "{}", route.service);
        }
    }
}
