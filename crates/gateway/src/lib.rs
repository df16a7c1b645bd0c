//! The gateway: microshop's single entry point.
//!
//! Clients talk to one address; the gateway decides which service answers, by path prefix
//! ([`routes`]), and forwards the request to one of that service's instances in turn
//! ([`Upstreams`]), passing over any instance whose circuit breaker is open. On the way it
//! enforces what must hold at the edge whatever the service behind does: a valid access token on
//! every non-public route (verified once and cached until it expires), no client-forged identity
//! headers, the 1 MiB body limit, and honest failures (503 when a service is down or every
//! instance's breaker is open, 504 when it is too slow, never a 200 or a 500 for either).
//!
//! The services verify tokens themselves as well; the gateway's check only keeps bad requests from
//! ever reaching them.

pub mod config;
pub mod docs;
pub mod error;
pub mod ratelimit;
pub mod upstreams;

mod access;
mod limit;
mod proxy;
mod routes;
mod web;

use std::sync::Arc;

use platform::Verifier;
use platform::http::{Readiness, service_app};

pub use config::Config;
pub use docs::ApiDocs;
pub use error::GatewayError;
pub use upstreams::{Instance, SERVICES, UpstreamError, UpstreamSpec, Upstreams};

/// [`app_with_docs`] with an empty API reference at `/docs`.
pub fn app(
    config: &Config,
    upstreams: Upstreams,
    verifier: Arc<Verifier>,
) -> anyhow::Result<axum::Router> {
    app_with_docs(config, upstreams, verifier, ApiDocs::default(), None)
}

/// The gateway's whole HTTP surface: the proxy routes, `/` (the web UI's place), `/health`
/// (every upstream's readiness), `/docs` (the services' merged API reference, see [`docs`]) and
/// the common `/health/live`, `/health/ready`, `/metrics`.
///
/// Serve it with `platform::server`, which resolves each request's client address. With
/// `forwarding_proof` (the deployment's [`platform::auth::InternalToken::forwarding_proof`]),
/// every forwarded request carries it, so the services believe the `X-Forwarded-For` the
/// gateway appends (see [`platform::http::ProxyTrust`]).
pub fn app_with_docs(
    config: &Config,
    upstreams: Upstreams,
    verifier: Arc<Verifier>,
    docs: ApiDocs,
    forwarding_proof: Option<http::HeaderValue>,
) -> anyhow::Result<axum::Router> {
    let client = proxy::client(config.connect_timeout());
    let limits = ratelimit::RateLimits::new(config, verifier.clone())?;
    // Degradable: tokens verified before, and requests without one, still pass.
    let readiness = Readiness::new().jwks(verifier.clone());
    let proxy = Arc::new(proxy::Proxy {
        client: client.clone(),
        verifier,
        upstream_timeout: config.upstream_timeout(),
        forwarding_proof,
    });
    for (service, instances) in upstreams.iter() {
        tracing::debug!(service, ?instances, "gateway upstream");
    }
    let balancers = routes::balancers(&upstreams, &config.breaker());
    // The gateway is ready as soon as it serves (its `jwks` check only degrades it); its
    // upstreams' state is `/health`'s business.
    let own = service_app(
        "gateway",
        // `/health` reports the rate limiter's state too.
        routes::own_routes(&balancers, client)
            .layer(axum::Extension(limits.clone()))
            .merge(docs::router(&docs)),
        readiness,
    );
    // Merged after the layers were applied, so the hot path carries only its own bookkeeping.
    let router = own.merge(routes::proxy_routes(proxy, &balancers));
    // Outermost, so a refused request costs nothing else (health checks and metrics pass).
    Ok(match limits {
        Some(limits) => router.layer(ratelimit::RateLimitLayer::new(limits)),
        None => router,
    })
}
