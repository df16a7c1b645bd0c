//! Rate limits at the edge: per client address and per signed-in user, shared through Redis by
//! every gateway instance when there is one.
//!
//! Why here: the gateway is the one place every request passes, so one limit protects every
//! service, and a client hammering the shop is turned away before it costs any service a
//! database query or a password hash. Two scopes, because neither suffices alone:
//! an address limit stops a single machine (signed in or not, a login storm included), and a
//! user limit stops one account spread over many addresses. An address is the one
//! [`platform::http::ClientIp`] names (the peer, or the entry our own proxy appended to
//! `X-Forwarded-For`); IPv6 addresses count per /64, the block one subscriber gets, or a client
//! could walk through its own addresses. A user is the `sub` of a valid access token; an invalid
//! token counts only against its address (the proxy answers it 401 anyway). The token is
//! verified here already (the verifier caches it, so the proxy's own check is a lookup); in
//! process the address is checked first, so a refused request does not even cost that.
//!
//! The algorithm is GCRA (the generic cell rate algorithm): each client has a "theoretical
//! arrival time" that moves one interval (1 s / rate) ahead per request; a request is refused
//! while that time is more than the burst ahead of now, and `Retry-After` says when it no longer
//! is. One timestamp per client, no counters to reset, no window edges to game.
//!
//! Without Redis each instance keeps its clients in memory ([`governor`]). With Redis every
//! instance runs one Lua script per request ([`GCRA_SCRIPT`], sent by `EVALSHA`): one round trip
//! that checks both scopes and records the request in both only if both allow it, on Redis's
//! clock so the instances' clocks do not matter; keys expire by themselves once their client
//! has been idle long enough to have its whole burst back. Keys carry a configurable prefix so
//! several deployments or test runs can share one Redis. A check is multi-key, so Redis must be
//! a single server (or one shard), not a cluster.
//!
//! Redis being down or slow must never fail a request: a check that errs or does not answer
//! within the timeout is decided by the in-process limiter instead, and from then on every
//! check is, until a probe every second finds Redis answering again. The switch is logged once
//! each way, shown on the gateway's `/health` (without making it unhealthy) and by the
//! `rate_limit_fallback` gauge (gateways of this process on their own limits: 0 or 1 outside
//! tests); refusals are counted in `rate_limit_rejections_total{scope="ip"|"user"}` and, like
//! every answer, in `http_requests_total`. The connection is re-established on its own
//! ([`ConnectionManager`]). While Redis is away, the limits hold per instance, so the combined
//! rate can reach the limit times the number of instances: the price of serving at all.
//!
//! `/health`, `/health/*` and `/metrics` are never limited: an orchestrator or a scraper must be
//! able to look at a gateway that is turning clients away.
//!
//! By concern: this module holds the limits' vocabulary (scopes, rates, client keys) and
//! [`RateLimits`], which decides; `local` is the in-process limiter, `shared` the Redis one with
//! its script and the fallback probe, and `layer` the tower layer that applies the limits and
//! answers 429.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::extract::FromRequestParts;
use governor::Quota;
use http::request::Parts;
use metrics::Counter;
use platform::Verifier;
use platform::auth::bearer_token;
use platform::http::ClientIp;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::Config;
use crate::proxy::SERVICE;
mod layer;
mod local;
mod shared;

#[cfg(test)]
use layer::is_exempt;
pub use layer::{RateLimitLayer, RateLimited};
use local::LocalLimits;
pub(crate) use shared::GCRA_SCRIPT;
use shared::SharedLimits;
#[cfg(test)]
use shared::ip_key_text;

/// How often idle clients are dropped from the in-process limiter's memory.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(60);
/// Which limit turned a request away (the `scope` label of `rate_limit_rejections_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ip,
    User,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ip => "ip",
            Scope::User => "user",
        }
    }
}

/// What a check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Allowed,
    Limited { scope: Scope, retry_after: Duration },
}

/// One scope's limit: a sustained rate and the burst an idle client may send at once.
#[derive(Debug, Clone, Copy)]
struct Rate {
    per_sec: NonZeroU32,
    burst: NonZeroU32,
}

impl Rate {
    /// `None` for a rate of 0 (the limit is off).
    fn new(per_sec: u32, burst_secs: u32) -> Option<Self> {
        let per_sec = NonZeroU32::new(per_sec)?;
        let burst = NonZeroU32::new(per_sec.get().saturating_mul(burst_secs.max(1)))?;
        Some(Self { per_sec, burst })
    }

    fn quota(self) -> Quota {
        Quota::per_second(self.per_sec).allow_burst(self.burst)
    }

    /// Microseconds between two requests at the sustained rate (the config caps the rate at one
    /// per microsecond).
    fn interval_micros(self) -> u64 {
        (1_000_000 / u64::from(self.per_sec.get())).max(1)
    }
}

/// The key a client address counts under: IPv4 as is, IPv6 by its /64 (an IPv4-mapped IPv6
/// address is the IPv4 address it maps).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(Ipv6Addr::from(segments))
            }
        },
    }
}

/// Whole seconds to wait, at least 1 (`Retry-After: 0` would invite an immediate retry).
fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_micros().div_ceil(1_000_000).max(1) as u64
}
/// Every limit of one gateway: built once by [`crate::app`], shared by the layer and `/health`.
pub struct RateLimits {
    local: LocalLimits,
    shared: Option<Arc<SharedLimits>>,
    verifier: Arc<Verifier>,
    /// Whether a request's token must be verified: only when users are limited.
    limits_users: bool,
    rejected_ip: Counter,
    rejected_user: Counter,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// The limits `config` asks for, or `None` when both are off. With a Redis URL the
    /// connection is prepared, not opened: a gateway starts while Redis is down (and says so
    /// once the first check fails). Must run inside the Tokio runtime.
    pub fn new(config: &Config, verifier: Arc<Verifier>) -> anyhow::Result<Option<Arc<Self>>> {
        let ip = Rate::new(config.rate_limit_per_ip, config.rate_limit_burst_secs);
        let user = Rate::new(config.rate_limit_per_user, config.rate_limit_burst_secs);
        if ip.is_none() && user.is_none() {
            return Ok(None);
        }
        // Handles taken before the recorder exists would record nowhere.
        platform::metrics::handle();
        let shared = match &config.redis_url {
            None => None,
            Some(url) => {
                let client = redis::Client::open(url.expose())?;
                // No retries inside the manager: a check has its timeout, the probe its interval.
                let manager_config = ConnectionManagerConfig::new()
                    .set_number_of_retries(0)
                    .set_connection_timeout(Some(config.redis_timeout()))
                    .set_response_timeout(Some(config.redis_timeout()));
                let manager = ConnectionManager::new_lazy_with_config(client, manager_config)?;
                Some(Arc::new(SharedLimits {
                    manager,
                    script: redis::Script::new(GCRA_SCRIPT),
                    prefix: config.redis_prefix.clone(),
                    timeout: config.redis_timeout(),
                    ip,
                    user,
                    degraded: AtomicBool::new(false),
                    reason: Mutex::new(None),
                    fallback: metrics::gauge!("rate_limit_fallback", "service" => SERVICE),
                }))
            }
        };
        let limits = Arc::new(Self {
            local: LocalLimits::new(ip, user),
            shared,
            verifier,
            limits_users: user.is_some(),
            rejected_ip: metrics::counter!(
                "rate_limit_rejections_total",
                "service" => SERVICE,
                "scope" => "ip"
            ),
            rejected_user: metrics::counter!(
                "rate_limit_rejections_total",
                "service" => SERVICE,
                "scope" => "user"
            ),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(forget_idle_clients(Arc::downgrade(&limits)));
            if let Some(shared) = limits.shared.clone() {
                // Find out now whether Redis answers, so `/health` tells the truth from the start.
                runtime.spawn(async move {
                    if let Err(reason) = shared.probe().await {
                        shared.degrade(reason);
                    }
                });
            }
        }
        Ok(Some(limits))
    }

    fn backend(&self) -> &'static str {
        if self.shared.is_some() {
            "redis"
        } else {
            "in-process"
        }
    }

    /// What `/health` shows: the backend, and whether it is the one in use.
    pub(crate) fn report(&self) -> Value {
        let status = match self
            .shared
            .as_ref()
            .and_then(|shared| shared.degraded_reason())
        {
            None => "ok".to_owned(),
            Some(reason) => format!("degraded: {reason}, using the in-process limiter"),
        };
        json!({"backend": self.backend(), "status": status})
    }

    /// Decides whether the request may pass.
    async fn decide(&self, parts: &mut Parts) -> Decision {
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, &()).await;
        let ip = address_key(ip);
        if let Some(shared) = self.shared.as_ref().filter(|shared| !shared.is_degraded()) {
            let user = self.user(parts).await;
            match shared.check(ip, user).await {
                Ok(decision) => return decision,
                Err(reason) => {
                    shared.degrade(reason);
                    return self.decide_locally(ip, user);
                }
            }
        }
        // In process the address is checked before the token, which a refused request then
        // never costs. (Unlike the script, a request the user limit refuses has already used
        // its address's allowance here; governor has no look-ahead.)
        if let limited @ Decision::Limited { .. } = self.local.check_ip(ip) {
            return limited;
        }
        let user = self.user(parts).await;
        self.local.check_user(user)
    }

    fn decide_locally(&self, ip: IpAddr, user: Option<Uuid>) -> Decision {
        match self.local.check_ip(ip) {
            Decision::Allowed => self.local.check_user(user),
            limited => limited,
        }
    }

    /// The signed-in user, when users are limited and the request carries a valid token (the
    /// verifier caches it, so the proxy's own check that follows costs a lookup).
    async fn user(&self, parts: &Parts) -> Option<Uuid> {
        if !self.limits_users {
            return None;
        }
        let token = bearer_token(parts).ok()?;
        self.verifier
            .verify(token)
            .await
            .ok()
            .map(|claims| claims.sub)
    }

    fn count_rejection(&self, scope: Scope) {
        match scope {
            Scope::Ip => self.rejected_ip.increment(1),
            Scope::User => self.rejected_user.increment(1),
        }
    }
}

/// Drops idle clients from memory every [`CLEANUP_INTERVAL`]; ends with the limits.
async fn forget_idle_clients(limits: Weak<RateLimits>) {
    loop {
        tokio::time::sleep(CLEANUP_INTERVAL).await;
        let Some(limits) = limits.upgrade() else {
            return;
        };
        limits.local.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_64_block_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        assert_eq!(ip_key_text(address_key(a)), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(address_key(mapped), IpAddr::from([203, 0, 113, 7]));
        let v4 = IpAddr::from([10, 1, 2, 3]);
        assert_eq!(address_key(v4), v4);
        assert_eq!(ip_key_text(v4), "10.1.2.3");
    }

    #[test]
    fn retry_after_is_whole_seconds_and_never_zero() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(7)), 7);
    }

    #[test]
    fn a_zero_rate_is_no_limit_and_bursts_scale_with_the_rate() {
        assert!(Rate::new(0, 2).is_none());
        let rate = Rate::new(100, 2).unwrap();
        assert_eq!(rate.burst.get(), 200);
        assert_eq!(rate.interval_micros(), 10_000);
        let fastest = Rate::new(1_000_000, 3600).unwrap();
        assert_eq!(fastest.interval_micros(), 1);
        assert_eq!(fastest.burst.get(), 3_600_000_000);
        let slowest = Rate::new(1, 1).unwrap();
        assert_eq!(slowest.interval_micros(), 1_000_000);
        assert_eq!(slowest.burst.get(), 1);
    }

    #[test]
    fn the_local_limiter_allows_the_burst_then_refuses_with_the_time_to_wait() {
        let local = LocalLimits::new(Rate::new(2, 2), Rate::new(1, 1));
        let ip = IpAddr::from([198, 51, 100, 1]);
        for _ in 0..4 {
            assert_eq!(local.check_ip(ip), Decision::Allowed);
        }
        let Decision::Limited { scope, retry_after } = local.check_ip(ip) else {
            panic!("the fifth request passed");
        };
        assert_eq!(scope, Scope::Ip);
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_millis(500));
        // Another address has its own allowance.
        assert_eq!(
            local.check_ip(IpAddr::from([198, 51, 100, 2])),
            Decision::Allowed
        );

        let user = Uuid::now_v7();
        assert_eq!(local.check_user(Some(user)), Decision::Allowed);
        assert!(matches!(
            local.check_user(Some(user)),
            Decision::Limited {
                scope: Scope::User,
                ..
            }
        ));
        assert_eq!(local.check_user(None), Decision::Allowed);
    }

    #[test]
    fn only_health_and_metrics_are_exempt() {
        for path in ["/health", "/health/live", "/health/ready", "/metrics"] {
            assert!(is_exempt(path), "{path}");
        }
        for path in ["/", "/healthz", "/metrics/x", "/orders", "/hits"] {
            assert!(!is_exempt(path), "{path}");
        }
    }
}
