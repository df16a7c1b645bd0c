//! The route table: which path prefix belongs to which service, and the router built from it.
//!
//! Routing is by prefix and static, because the prefixes are the public API (DESIGN §2) and a
//! deployment only changes *where* a service runs, which is [`crate::Upstreams`]' business.
//! Every prefix becomes an axum route with a bounded template (`/orders/{*rest}`), so the
//! request metrics are labelled by service prefix, never by raw path.

mod health;
mod home;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::routing::{MethodRouter, any, get, post};

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
const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The seeds' short paths, rewritten to auth's: (method, path, upstream path).
const ALIASES: &[(&str, &str, &str)] = &[
    ("POST", "/signup", "/auth/signup"),
    ("POST", "/login", "/auth/login"),
    ("GET", "/me", "/auth/me"),
];

/// The gateway's own routes and one proxy route set per prefix.
pub(crate) fn router(
    proxy: Arc<Proxy>,
    upstreams: &Upstreams,
    health_client: HttpClient,
) -> Router {
    let balancers: HashMap<&'static str, Arc<Balancer>> = upstreams
        .iter()
        .filter_map(|(service, instances)| {
            Balancer::new(instances).map(|balancer| (service, Arc::new(balancer)))
        })
        .collect();
    let target = |service: &'static str, rewrite: Option<&'static str>| {
        Arc::new(Forwarder {
            proxy: proxy.clone(),
            target: Target {
                service,
                balancer: balancers.get(service).cloned(),
                rewrite,
            },
        })
    };

    let health = Arc::new(health::HealthState {
        client: health_client,
        services: upstreams
            .iter()
            .map(|(service, instances)| (service, instances.to_vec()))
            .collect(),
        started: Instant::now(),
    });
    let mut router = Router::new()
        .route("/", get(home::page))
        .route("/health", get(health::aggregate).with_state(health));

    for route in ROUTES {
        let forward = forward(target(route.service, None));
        router = router
            .route(route.prefix, forward.clone())
            .route(&format!("{}/", route.prefix), forward.clone())
            .route(&format!("{}/{{*rest}}", route.prefix), forward);
    }
    router = router.route(JWKS_PATH, forward(target("auth", None)));
    for (method, path, upstream_path) in ALIASES {
        let forwarder = target("auth", Some(upstream_path));
        let handler = move |request: Request| forwarder.clone().handle(request);
        let method_router = match *method {
            "POST" => post(handler),
            _ => get(handler),
        };
        router = router.route(path, method_router);
    }
    router
}

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
