//! Circuit breaking and bounded retries for calls to other services.
//!
//! A service that keeps calling an upstream which is down wastes its own threads, connections
//! and its callers' patience, and keeps the upstream from recovering. A [`CircuitBreaker`] notices
//! the failures and, for a while, answers "unavailable" at once without any I/O; then it lets a
//! single probe through to see whether the upstream is back. [`retry_with_backoff`] covers the
//! opposite case, a brief blip, for calls that are safe to repeat.
//!
//! The breaker is a small state machine behind a mutex held only for a few comparisons, so it
//! adds nothing measurable to a call and is shared through an `Arc` (or inside a
//! [`ServiceClient`](crate::client::ServiceClient)). Its state is published as the Prometheus
//! gauge `circuit_breaker_state{service, upstream}` (0 closed, 1 open, 2 half-open; `service` is
//! the caller's, so the breaker shows on its `/metrics`) and every call it refuses counts in
//! `circuit_breaker_rejections_total{service, upstream}`.
//!
//! Time comes from `tokio::time::Instant`, so tests can drive the breaker with paused time.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use metrics::{Counter, Gauge};
use tokio::time::Instant;

/// When a breaker opens and for how long.
#[derive(Debug, Clone)]
pub struct BreakerConfig {
    /// Failures in a row that open a closed breaker (default 5); 0 disables this rule.
    pub consecutive_failures: u32,
    /// Share of failed calls over [`window`](Self::window) that opens the breaker (default 0.5),
    /// once at least [`min_calls`](Self::min_calls) calls happened in it.
    pub failure_ratio: f64,
    /// Calls needed in the window before the ratio counts (default 20), so that two failures out
    /// of three calls on a quiet afternoon do not cut an upstream off.
    pub min_calls: u32,
    /// The sliding window the ratio is computed over (default 10 s). It slides in tenths: calls
    /// are forgotten between 0.9 × and 1 × `window` after they ended.
    pub window: Duration,
    /// How long an open breaker refuses calls before letting one probe through (default 30 s).
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self::from_settings(
            Self::DEFAULT_FAILURES,
            Self::DEFAULT_RATIO,
            Self::DEFAULT_MIN_CALLS,
            Self::DEFAULT_WINDOW_SECS,
            Self::DEFAULT_OPEN_SECS,
        )
    }
}

/// The defaults and units of the breaker settings every service with breakers exposes (the
/// gateway per instance, orders per upstream): one set of numbers, so `--gateway-breaker-…` and
/// `--orders-breaker-…` mean the same thing and start from the same values.
impl BreakerConfig {
    pub const DEFAULT_FAILURES: u32 = 5;
    pub const DEFAULT_RATIO: f64 = 0.5;
    pub const DEFAULT_MIN_CALLS: u32 = 20;
    pub const DEFAULT_WINDOW_SECS: u64 = 10;
    pub const DEFAULT_OPEN_SECS: u64 = 30;

    /// A breaker from settings in their configured units (the window and the open time in
    /// whole seconds).
    pub fn from_settings(
        consecutive_failures: u32,
        failure_ratio: f64,
        min_calls: u32,
        window_secs: u64,
        open_secs: u64,
    ) -> Self {
        Self {
            consecutive_failures,
            failure_ratio,
            min_calls,
            window: Duration::from_secs(window_secs),
            open_for: Duration::from_secs(open_secs),
        }
    }
}

/// The value parser of a `…-breaker-ratio` setting: a number greater than 0 and at most 1.
pub fn parse_ratio(text: &str) -> Result<f64, String> {
    let ratio: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if ratio > 0.0 && ratio <= 1.0 {
        Ok(ratio)
    } else {
        Err("must be greater than 0 and at most 1".to_owned())
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow; outcomes are counted.
    Closed,
    /// Calls are refused at once until `open_for` has passed.
    Open,
    /// One probe call decides: success closes the breaker, failure opens it again.
    HalfOpen,
}

impl BreakerState {
    /// The name used in `/health` and logs: `closed`, `open`, `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    /// The value of the `circuit_breaker_state` gauge: 0 closed, 1 open, 2 half-open.
    pub fn gauge_value(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 2.0,
        }
    }
}

/// The breaker refused the call; nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit open")]
pub struct BreakerOpen;

/// A circuit breaker for one upstream.
///
/// Ask [`try_acquire`](Self::try_acquire) before each call and record the outcome on the
/// returned [`Permit`].
pub struct CircuitBreaker {
    name: String,
    config: BreakerConfig,
    inner: Mutex<Inner>,
    state_gauge: Gauge,
    rejections: Counter,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .field("config", &self.config)
            .finish()
    }
}

struct Inner {
    phase: Phase,
    /// Bumped on every transition; a permit only counts in the generation it was issued in, so
    /// a slow call started before the breaker opened cannot close it afterwards.
    generation: u64,
    consecutive_failures: u32,
    window: Window,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

impl Phase {
    fn state(self) -> BreakerState {
        match self {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

impl CircuitBreaker {
    /// A closed breaker of `service`'s calls to `name`: the `service` and `upstream` labels of
    /// its metrics.
    pub fn new(service: &'static str, name: impl Into<String>, config: BreakerConfig) -> Self {
        // Install the process recorder first so the handles below are live, not no-ops.
        crate::metrics::handle();
        let name = name.into();
        let labels = [("service", service.to_owned()), ("upstream", name.clone())];
        let state_gauge = metrics::gauge!("circuit_breaker_state", &labels);
        let rejections = metrics::counter!("circuit_breaker_rejections_total", &labels);
        state_gauge.set(BreakerState::Closed.gauge_value());
        Self {
            inner: Mutex::new(Inner {
                phase: Phase::Closed,
                generation: 0,
                consecutive_failures: 0,
                window: Window::new(config.window),
            }),
            name,
            config,
            state_gauge,
            rejections,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Asks to make a call.
    ///
    /// Returns `Err(BreakerOpen)` at once (no I/O) while open; in half-open lets exactly one
    /// probe through and refuses everyone else until its outcome is recorded.
    pub fn try_acquire(&self) -> Result<Permit<'_>, BreakerOpen> {
        let mut inner = self.lock();
        self.refresh(&mut inner, Instant::now());
        match inner.phase {
            Phase::Closed => {}
            Phase::HalfOpen { probing: false } => inner.phase = Phase::HalfOpen { probing: true },
            Phase::Open { .. } | Phase::HalfOpen { probing: true } => {
                drop(inner);
                self.rejections.increment(1);
                return Err(BreakerOpen);
            }
        }
        Ok(Permit {
            breaker: self,
            generation: inner.generation,
            settled: false,
        })
    }

    /// The current state; an open breaker whose `open_for` has passed reports (and becomes)
    /// half-open.
    pub fn state(&self) -> BreakerState {
        let mut inner = self.lock();
        self.refresh(&mut inner, Instant::now());
        inner.phase.state()
    }

    /// How long the breaker stays open, `None` unless open: a hint for `Retry-After`.
    pub fn open_remaining(&self) -> Option<Duration> {
        let mut inner = self.lock();
        let now = Instant::now();
        self.refresh(&mut inner, now);
        match inner.phase {
            Phase::Open { until } => Some(until.saturating_duration_since(now)),
            _ => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The critical sections cannot panic half-way, so a poisoned lock holds a sound state.
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Open → half-open once `open_for` has passed.
    fn refresh(&self, inner: &mut Inner, now: Instant) {
        if let Phase::Open { until } = inner.phase
            && now >= until
        {
            self.transition(inner, Phase::HalfOpen { probing: false });
        }
    }

    fn record(&self, generation: u64, success: bool) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        let now = Instant::now();
        match inner.phase {
            Phase::Closed => {
                inner.window.record(now, success);
                if success {
                    inner.consecutive_failures = 0;
                } else {
                    inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
                }
                if self.should_trip(&inner, now) {
                    self.open(&mut inner, now);
                }
            }
            // Permits issued in half-open are the probe.
            Phase::HalfOpen { .. } => {
                if success {
                    self.transition(&mut inner, Phase::Closed);
                } else {
                    self.open(&mut inner, now);
                }
            }
            Phase::Open { .. } => {}
        }
    }

    /// Frees the half-open probe slot without an outcome.
    fn release_probe(&self, generation: u64) {
        let mut inner = self.lock();
        if inner.generation == generation && matches!(inner.phase, Phase::HalfOpen { .. }) {
            inner.phase = Phase::HalfOpen { probing: false };
        }
    }

    fn should_trip(&self, inner: &Inner, now: Instant) -> bool {
        let config = &self.config;
        if config.consecutive_failures > 0
            && inner.consecutive_failures >= config.consecutive_failures
        {
            return true;
        }
        let (calls, failures) = inner.window.totals(now);
        failures > 0
            && calls >= config.min_calls
            && f64::from(failures) / f64::from(calls) >= config.failure_ratio
    }

    fn open(&self, inner: &mut Inner, now: Instant) {
        let until = now + self.config.open_for;
        self.transition(inner, Phase::Open { until });
    }

    fn transition(&self, inner: &mut Inner, phase: Phase) {
        let from = inner.phase.state();
        inner.phase = phase;
        inner.generation = inner.generation.wrapping_add(1);
        inner.consecutive_failures = 0;
        inner.window.clear();
        let to = phase.state();
        self.state_gauge.set(to.gauge_value());
        match to {
            BreakerState::Open => tracing::warn!(
                upstream = %self.name,
                from = from.as_str(),
                open_for_ms = self.config.open_for.as_millis() as u64,
                "circuit breaker opened: calls are refused until a probe succeeds"
            ),
            BreakerState::HalfOpen => {
                tracing::info!(upstream = %self.name, "circuit breaker half-open: probing")
            }
            BreakerState::Closed => {
                tracing::info!(upstream = %self.name, "circuit breaker closed: upstream recovered")
            }
        }
    }
}

/// Leave to make one call; record how it went with [`success`](Self::success) or
/// [`failure`](Self::failure).
///
/// Dropping a permit without recording counts as a failure: a call cancelled half-way (a
/// timeout, a caller who went away) must not leave a half-open breaker waiting forever for its
/// probe.
#[must_use = "record the outcome with success() or failure(); dropping counts as a failure"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    settled: bool,
}

impl std::fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name)
            .field("generation", &self.generation)
            .finish()
    }
}

impl Permit<'_> {
    /// The call succeeded (as far as the upstream's health goes: a 4xx answer is a success).
    pub fn success(mut self) {
        self.settle(true);
    }

    /// The call failed: no answer, a timeout, or a 5xx.
    pub fn failure(mut self) {
        self.settle(false);
    }

    /// The caller gave up before the upstream could answer (a client that disconnected): the
    /// call says nothing about the upstream's health, so nothing is recorded; a half-open
    /// breaker gets its probe slot back.
    pub fn abandon(mut self) {
        self.settled = true;
        self.breaker.release_probe(self.generation);
    }

    fn settle(&mut self, success: bool) {
        self.settled = true;
        self.breaker.record(self.generation, success);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.settle(false);
        }
    }
}

/// How many slices the sliding window is cut into.
const BUCKETS: usize = 10;

/// Call and failure counts over the last `window`, in [`BUCKETS`] slices so memory stays fixed
/// whatever the call rate.
struct Window {
    epoch: Instant,
    width_nanos: u128,
    buckets: [Bucket; BUCKETS],
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Which slice of time since `epoch` this bucket currently counts.
    index: u64,
    calls: u32,
    failures: u32,
}

impl Window {
    fn new(window: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            width_nanos: (window.as_nanos() / BUCKETS as u128).max(1),
            buckets: [Bucket::default(); BUCKETS],
        }
    }

    fn index(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(elapsed / self.width_nanos).unwrap_or(u64::MAX)
    }

    fn record(&mut self, now: Instant, success: bool) {
        let index = self.index(now);
        let bucket = &mut self.buckets[(index % BUCKETS as u64) as usize];
        if bucket.index != index {
            *bucket = Bucket {
                index,
                calls: 0,
                failures: 0,
            };
        }
        bucket.calls = bucket.calls.saturating_add(1);
        if !success {
            bucket.failures = bucket.failures.saturating_add(1);
        }
    }

    /// `(calls, failures)` still inside the window.
    fn totals(&self, now: Instant) -> (u32, u32) {
        let current = self.index(now);
        self.buckets
            .iter()
            .filter(|bucket| bucket.index <= current && current - bucket.index < BUCKETS as u64)
            .fold((0u32, 0u32), |(calls, failures), bucket| {
                (
                    calls.saturating_add(bucket.calls),
                    failures.saturating_add(bucket.failures),
                )
            })
    }

    fn clear(&mut self) {
        self.buckets = [Bucket::default(); BUCKETS];
    }
}

/// The longest single wait between two attempts, whatever `base` and the attempt number.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Runs `op` up to `attempts` times (at least once) while it fails with an error `retryable`
/// accepts, waiting between attempts.
///
/// The waits use exponential backoff with full jitter: before retry `n` (0-based) a uniformly
/// random time in `[0, min(base × 2ⁿ, MAX_BACKOFF)]`, so callers that failed together do not
/// retry together. Only pass operations that are safe to repeat.
pub async fn retry_with_backoff<F, Fut, T, E>(
    attempts: u32,
    base: Duration,
    mut op: F,
    retryable: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let attempts = attempts.max(1);
    let mut retry = 0u32;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                if retry + 1 >= attempts || !retryable(&error) {
                    return Err(error);
                }
                tokio::time::sleep(backoff_delay(base, retry)).await;
                retry += 1;
            }
        }
    }
}

/// The wait before retry `retry` (0-based): full jitter over `min(base × 2^retry, MAX_BACKOFF)`.
pub fn backoff_delay(base: Duration, retry: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32 << retry.min(20)).min(MAX_BACKOFF);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(random_u64() % (nanos + 1))
}

/// A random number good enough for jitter: SipHash under fresh random keys.
fn random_u64() -> u64 {
    RandomState::new().hash_one(Instant::now())
}
