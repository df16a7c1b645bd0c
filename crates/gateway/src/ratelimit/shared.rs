//! The limits in Redis, shared by every gateway instance: one GCRA script call per request, and
//! the switch to the in-process limits (and back, once a probe finds Redis answering) when
//! Redis fails or is slow.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use metrics::Gauge;
use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::{Decision, Rate, Scope};

/// How often a gateway that fell back to its own limits asks Redis again.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// One GCRA step for every key, all or nothing.
///
/// `KEYS[i]` is a client's bucket; `ARGV[2i-1]` its emission interval and `ARGV[2i]` its burst,
/// in microseconds and requests. Returns `{0, 0}` when the request is allowed (and recorded),
/// `{i, wait}` when key `i` refuses it for `wait` more microseconds (nothing is recorded then).
pub(crate) const GCRA_SCRIPT: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local arrivals = {}
local refused, wait = 0, 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now) or now
  if tat < now then tat = now end
  local next_tat = tat + interval
  local allowed_at = next_tat - burst * interval
  if allowed_at > now then
    if refused == 0 then refused = i end
    if allowed_at - now > wait then wait = allowed_at - now end
  end
  arrivals[i] = next_tat
end
if refused > 0 then return {refused, wait} end
for i, key in ipairs(KEYS) do
  local ttl_ms = math.ceil((arrivals[i] - now) / 1000)
  redis.call('SET', key, string.format('%.0f', arrivals[i]), 'PX', string.format('%.0f', ttl_ms))
end
return {0, 0}
";
/// The limits in Redis, and whether they are being used right now.
pub(super) struct SharedLimits {
    pub(super) manager: ConnectionManager,
    pub(super) script: redis::Script,
    pub(super) prefix: String,
    pub(super) timeout: Duration,
    pub(super) ip: Option<Rate>,
    pub(super) user: Option<Rate>,
    /// Read on every request; flipped only under `reason`'s lock.
    pub(super) degraded: AtomicBool,
    /// Why Redis is not used, while it is not.
    pub(super) reason: Mutex<Option<String>>,
    pub(super) fallback: Gauge,
}

impl SharedLimits {
    /// One round trip: both scopes' keys in one script call.
    pub(super) async fn check(&self, ip: IpAddr, user: Option<Uuid>) -> Result<Decision, String> {
        let mut invocation = self.script.prepare_invoke();
        let mut scopes = Vec::with_capacity(2);
        if let Some(rate) = self.ip {
            invocation
                .key(format!("{}:ip:{}", self.prefix, ip_key_text(ip)))
                .arg(rate.interval_micros())
                .arg(rate.burst.get());
            scopes.push(Scope::Ip);
        }
        if let (Some(rate), Some(user)) = (self.user, user) {
            invocation
                .key(format!("{}:user:{}", self.prefix, user))
                .arg(rate.interval_micros())
                .arg(rate.burst.get());
            scopes.push(Scope::User);
        }
        if scopes.is_empty() {
            return Ok(Decision::Allowed);
        }
        let mut connection = self.manager.clone();
        let answer = tokio::time::timeout(
            self.timeout,
            invocation.invoke_async::<(usize, u64)>(&mut connection),
        )
        .await;
        match answer {
            Ok(Ok((0, _))) => Ok(Decision::Allowed),
            Ok(Ok((refused, wait_micros))) => Ok(Decision::Limited {
                scope: scopes.get(refused - 1).copied().unwrap_or(Scope::Ip),
                retry_after: Duration::from_micros(wait_micros),
            }),
            Ok(Err(error)) => Err(format!("Redis failed: {error}")),
            Err(_) => Err(format!(
                "Redis did not answer within {} ms",
                self.timeout.as_millis()
            )),
        }
    }

    /// Runs the real script on a key of its own, so a probe fails for every reason a check
    /// would (an unreachable server, but also a read-only replica or a broken script).
    pub(super) async fn probe(&self) -> Result<(), String> {
        let mut connection = self.manager.clone();
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(format!("{}:probe", self.prefix))
            .arg(1)
            .arg(u32::MAX);
        match tokio::time::timeout(
            self.timeout,
            invocation.invoke_async::<(usize, u64)>(&mut connection),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(format!("Redis failed: {error}")),
            Err(_) => Err(format!(
                "Redis did not answer within {} ms",
                self.timeout.as_millis()
            )),
        }
    }

    pub(super) fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    /// Switches to the in-process limits (once per outage) and starts probing.
    pub(super) fn degrade(self: &Arc<Self>, reason: String) {
        let mut current = self
            .reason
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if self.degraded.load(Ordering::Acquire) {
            return;
        }
        tracing::warn!(
            %reason,
            "rate limits: Redis unavailable, this gateway enforces its limits on its own until it is back"
        );
        *current = Some(reason);
        self.degraded.store(true, Ordering::Release);
        self.fallback.increment(1.0);
        drop(current);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(probe_until_back(Arc::downgrade(self)));
        }
    }

    /// Back to Redis.
    pub(super) fn recover(&self) {
        let mut current = self
            .reason
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if !self.degraded.load(Ordering::Acquire) {
            return;
        }
        *current = None;
        self.degraded.store(false, Ordering::Release);
        self.fallback.decrement(1.0);
        tracing::info!("rate limits: Redis is back, the limits are shared again");
    }

    /// `None` while Redis is used, else why not.
    pub(super) fn degraded_reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }
}

impl Drop for SharedLimits {
    fn drop(&mut self) {
        if self.degraded.load(Ordering::Acquire) {
            self.fallback.decrement(1.0);
        }
    }
}

/// An address as it appears in a Redis key: IPv6 blocks with their `/64`.
pub(super) fn ip_key_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

/// Asks Redis every [`PROBE_INTERVAL`] until it answers, then switches back; ends with the
/// limiter.
pub(super) async fn probe_until_back(shared: Weak<SharedLimits>) {
    loop {
        tokio::time::sleep(PROBE_INTERVAL).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if !shared.is_degraded() {
            return;
        }
        // Twice: the first attempt after an outage may only find the dead connection and start
        // the reconnection the second one uses.
        for _ in 0..2 {
            if shared.probe().await.is_ok() {
                shared.recover();
                return;
            }
        }
    }
}
