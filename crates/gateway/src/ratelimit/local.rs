//! The in-process limits (governor): the only ones without Redis, the fallback with it.

use std::net::IpAddr;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, RateLimiter};
use uuid::Uuid;

use super::{Decision, Rate, Scope};

/// The in-process limits: the only ones without Redis, the fallback with it.
pub(super) struct LocalLimits {
    pub(super) ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    pub(super) user: Option<DefaultKeyedRateLimiter<Uuid>>,
}

impl LocalLimits {
    pub(super) fn new(ip: Option<Rate>, user: Option<Rate>) -> Self {
        Self {
            ip: ip.map(|rate| RateLimiter::keyed(rate.quota())),
            user: user.map(|rate| RateLimiter::keyed(rate.quota())),
        }
    }

    pub(super) fn check_ip(&self, ip: IpAddr) -> Decision {
        self.check(self.ip.as_ref(), &ip, Scope::Ip)
    }

    pub(super) fn check_user(&self, user: Option<Uuid>) -> Decision {
        match user {
            Some(user) => self.check(self.user.as_ref(), &user, Scope::User),
            None => Decision::Allowed,
        }
    }

    pub(super) fn check<K>(
        &self,
        limiter: Option<&DefaultKeyedRateLimiter<K>>,
        key: &K,
        scope: Scope,
    ) -> Decision
    where
        K: std::hash::Hash + Eq + Clone,
    {
        let Some(limiter) = limiter else {
            return Decision::Allowed;
        };
        match limiter.check_key(key) {
            Ok(()) => Decision::Allowed,
            Err(not_until) => Decision::Limited {
                scope,
                retry_after: not_until.wait_time_from(limiter.clock().now()),
            },
        }
    }

    /// Forgets clients whose state is back to "never seen", so the maps do not grow forever.
    pub(super) fn forget_idle(&self) {
        if let Some(limiter) = &self.ip {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.user {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
