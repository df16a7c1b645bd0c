//! Who may read the operators' endpoints: `/metrics`, the checks in `/health/ready`, and the
//! gateway's aggregated `/health`.
//!
//! They describe the deployment (instance URLs, breaker states, database errors, traffic) and
//! cost work to answer (the gateway's `/health` probes every instance), so anonymous callers
//! get only what an orchestrator needs: liveness, and readiness as a status code. An operator
//! is a caller from one of the `--ops-networks` (loopback by default: the machine's own
//! Prometheus or `curl`), another service (`X-Internal-Token`), or an admin's access token
//! (the web UI's admin page).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::{INTERNAL_TOKEN_HEADER, InternalToken, Role, Verifier, bearer_token};
use crate::http::{ClientIp, Network};

/// The rules, given to every server (`platform::server::ServerOptions`), which puts them in
/// each request's extensions.
#[derive(Clone)]
pub struct OpsAccess {
    networks: Vec<Network>,
    internal: Option<InternalToken>,
    verifier: Option<Arc<Verifier>>,
}

impl std::fmt::Debug for OpsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsAccess")
            .field("networks", &self.networks)
            .field("internal", &self.internal.is_some())
            .field("admin_tokens", &self.verifier.is_some())
            .finish()
    }
}

/// The default operators' networks: this machine only.
pub fn loopback() -> Vec<Network> {
    vec![
        "127.0.0.0/8".parse().expect("a network"),
        "::1/128".parse().expect("a network"),
    ]
}

impl Default for OpsAccess {
    /// Loopback only; no service or admin token accepted.
    fn default() -> Self {
        Self::new(loopback(), None, None)
    }
}

impl OpsAccess {
    /// Callers from `networks`, callers presenting `internal`, and admins whose tokens
    /// `verifier` accepts.
    pub fn new(
        networks: Vec<Network>,
        internal: Option<InternalToken>,
        verifier: Option<Arc<Verifier>>,
    ) -> Self {
        Self {
            networks,
            internal,
            verifier,
        }
    }

    async fn allows(&self, parts: &Parts, client: std::net::IpAddr) -> bool {
        if self.networks.iter().any(|network| network.contains(client)) {
            return true;
        }
        if let (Some(expected), Some(presented)) = (
            &self.internal,
            parts
                .headers
                .get(INTERNAL_TOKEN_HEADER)
                .and_then(|value| value.to_str().ok()),
        ) && expected.matches(presented)
        {
            return true;
        }
        match (&self.verifier, bearer_token(parts)) {
            (Some(verifier), Ok(token)) => verifier
                .verify(token)
                .await
                .is_ok_and(|claims| claims.role == Role::Admin),
            _ => false,
        }
    }
}

/// Whether the caller is an operator (see the module docs); never rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(ClientIp(client)) = ClientIp::from_request_parts(parts, state).await;
        let access = parts
            .extensions
            .get::<Arc<OpsAccess>>()
            .cloned()
            .unwrap_or_default();
        Ok(Self(access.allows(parts, client).await))
    }
}
