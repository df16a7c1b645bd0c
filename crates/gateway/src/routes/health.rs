//! `GET /health`: the gateway's own state and, for every instance behind it, its readiness and
//! its circuit breaker's state.
//!
//! This is what an operator (or the web UI's status line) looks at to see the whole platform at
//! once. An instance serves when it is ready *and* its breaker is not open (an open breaker means
//! the gateway is sending it nothing, whatever its readiness probe says); a service is `up` when
//! all its instances serve, `degraded` when some do, `down` when none does.
//!
//! It also says which rate limiter is in use (see [`crate::ratelimit`]): Redis, shared by every
//! gateway instance, or this instance's own, with the reason when Redis should be used but
//! cannot. Falling back is degraded service, not failure, so it never changes the status code.
//!
//! Only operators (see `platform::ops`: the ops networks, an admin's token) get this report;
//! anyone else gets a liveness answer, so the fan-out of probes cannot be triggered from the
//! internet.
//!
//! It is deliberately separate from the gateway's `/health/ready`, which says only whether the
//! gateway itself can serve: an orchestrator must not pull the gateway out of rotation because
//! one service behind it is down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use http::{StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use platform::ops::Operator;
use platform::resilience::BreakerState;
use serde_json::{Value, json};

use crate::limit::CappedBody;
use crate::proxy::HttpClient;
use crate::ratelimit::RateLimits;
use crate::upstreams::{Balancer, Instance};

/// How long one instance's readiness probe may take; the probes run concurrently, so this
/// bounds the whole answer too.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The largest probe body read (to keep the pooled connection reusable).
const PROBE_BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug)]
pub(crate) struct HealthState {
    pub(crate) client: HttpClient,
    pub(crate) services: Vec<(&'static str, Arc<Balancer>)>,
    pub(crate) started: Instant,
}

pub(crate) async fn aggregate(
    Operator(operator): Operator,
    State(state): State<Arc<HealthState>>,
    limits: Option<Extension<Option<Arc<RateLimits>>>>,
) -> axum::response::Response {
    if !operator {
        // Anyone else learns that the gateway is alive, at no cost (no probe is sent).
        return Json(json!({"status": "live", "service": "gateway"})).into_response();
    }
    let probes = state.services.iter().flat_map(|(service, balancer)| {
        let client = &state.client;
        balancer.members().iter().map(move |member| async move {
            (*service, member, probe(client, &member.instance).await)
        })
    });
    let outcomes = futures::future::join_all(probes).await;

    let mut all_up = true;
    let mut upstreams = serde_json::Map::new();
    for (service, balancer) in &state.services {
        let mut serving = 0;
        let mut reports = Vec::with_capacity(balancer.len());
        for (_, member, outcome) in outcomes.iter().filter(|(name, _, _)| name == service) {
            let breaker = member.breaker.state();
            let url = member.instance.url();
            if outcome.is_ok() && breaker != BreakerState::Open {
                serving += 1;
            }
            reports.push(match outcome {
                Ok(()) => json!({"url": url, "status": "up", "breaker": breaker.as_str()}),
                Err(reason) => json!({
                    "url": url,
                    "status": "down",
                    "reason": reason,
                    "breaker": breaker.as_str(),
                }),
            });
        }
        let status = if serving == balancer.len() {
            "up"
        } else {
            all_up = false;
            if serving == 0 { "down" } else { "degraded" }
        };
        upstreams.insert(
            (*service).to_owned(),
            json!({"status": status, "instances": reports}),
        );
    }

    let body = json!({
        "status": if all_up { "ok" } else { "degraded" },
        "service": "gateway",
        "gateway": {
            "status": "up",
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": state.started.elapsed().as_secs(),
        },
        "upstreams": Value::Object(upstreams),
        "rate_limits": match limits {
            Some(Extension(Some(limits))) => limits.report(),
            _ => json!({"backend": "none", "status": "off"}),
        },
    });
    let status = if all_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `GET <instance>/health/ready`: `Ok` on a 2xx, otherwise why not.
async fn probe(client: &HttpClient, instance: &Instance) -> Result<(), String> {
    let uri: Uri = instance
        .uri_for(&http::uri::PathAndQuery::from_static("/health/ready"))
        .map_err(|_| "invalid instance URL".to_owned())?;
    let request = http::Request::get(uri)
        .body(CappedBody::within_limit(Body::empty()))
        .map_err(|_| "invalid probe request".to_owned())?;
    let exchange = async {
        let response = client.request(request).await.map_err(|error| {
            if error.is_connect() {
                "unreachable".to_owned()
            } else {
                "no valid response".to_owned()
            }
        })?;
        let status = response.status();
        // Read the (small) body so the connection goes back to the pool.
        let _ = Limited::new(response.into_body(), PROBE_BODY_LIMIT)
            .collect()
            .await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("not ready (status {})", status.as_u16()))
        }
    };
    tokio::time::timeout(PROBE_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}
