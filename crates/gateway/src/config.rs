//! The gateway's settings, as command-line flags and `MICROSHOP_GATEWAY_…` variables.
//!
//! The binary flattens [`Config`] into its own command line, so every flag carries a
//! `gateway-` prefix to stay unambiguous next to the other services' settings.
//!
//! Rate limits (see [`crate::ratelimit`] for how they are enforced):
//!
//! | flag | variable | default | meaning |
//! |---|---|---|---|
//! | `--gateway-rate-limit-per-ip` | `MICROSHOP_GATEWAY_RATE_LIMIT_PER_IP` | 100 | requests per second per client address (IPv6: per /64); 0 turns it off |
//! | `--gateway-rate-limit-per-user` | `MICROSHOP_GATEWAY_RATE_LIMIT_PER_USER` | 50 | requests per second per signed-in user (the token's `sub`); 0 turns it off |
//! | `--gateway-rate-limit-burst-secs` | `MICROSHOP_GATEWAY_RATE_LIMIT_BURST_SECS` | 2 | seconds' worth of requests a client that was idle may send at once (burst = rate × this) |
//! | `--gateway-redis-url` | `MICROSHOP_REDIS_URL` | none | Redis shared by every gateway instance, so the limits hold for all of them together; without it each instance limits on its own |
//! | `--gateway-redis-prefix` | `MICROSHOP_GATEWAY_REDIS_PREFIX` | `microshop:ratelimit` | prefix of the limiter's Redis keys, so several deployments can share one Redis |
//! | `--gateway-redis-timeout-ms` | `MICROSHOP_GATEWAY_REDIS_TIMEOUT_MS` | 100 | how long one check may wait for Redis before the in-process limiter answers instead |
//!
//! `MICROSHOP_REDIS_URL` is the variable the hits service reads too: one Redis per deployment.

use std::time::Duration;

pub use platform::redis_url::RedisUrl;
use platform::resilience::{BreakerConfig, parse_ratio};

use crate::upstreams::UpstreamSpec;

/// How the gateway reaches the services, and when it stops sending to an instance.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "gateway-settings")]
#[command(next_help_heading = "Gateway")]
pub struct Config {
    /// Instances of a service, `<service>=<url>[,<url>...]`; repeat the flag for more services
    /// (the variable separates entries with `;`). Overrides the addresses of embedded services.
    #[arg(
        long = "gateway-upstream",
        id = "gateway-upstream",
        env = "MICROSHOP_GATEWAY_UPSTREAMS",
        value_name = "SERVICE=URL[,URL...]",
        value_delimiter = ';'
    )]
    pub upstreams: Vec<UpstreamSpec>,

    /// How long opening a connection to an instance may take before it counts as down.
    #[arg(
        long = "gateway-connect-timeout-ms",
        id = "gateway-connect-timeout-ms",
        env = "MICROSHOP_GATEWAY_CONNECT_TIMEOUT_MS",
        value_name = "MS",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub connect_timeout_ms: u64,

    /// How long an upstream may take to send its response headers (504 after that). Bodies,
    /// Server-Sent Events included, may then stream for as long as they need.
    #[arg(
        long = "gateway-upstream-timeout-ms",
        id = "gateway-upstream-timeout-ms",
        env = "MICROSHOP_GATEWAY_UPSTREAM_TIMEOUT_MS",
        value_name = "MS",
        default_value_t = 15000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub upstream_timeout_ms: u64,

    /// Consecutive transport failures (refused, reset, timed out, not HTTP) that open an
    /// instance's circuit breaker. HTTP answers never count, whatever their status: a 503 from a
    /// service is its answer, not a sign that it cannot be reached.
    #[arg(
        long = "gateway-breaker-failures",
        id = "gateway-breaker-failures",
        env = "MICROSHOP_GATEWAY_BREAKER_FAILURES",
        value_name = "COUNT",
        default_value_t = BreakerConfig::DEFAULT_FAILURES,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub breaker_failures: u32,

    /// Share of failed requests over the window (with at least the minimum requests) that opens
    /// an instance's breaker.
    #[arg(
        long = "gateway-breaker-ratio",
        id = "gateway-breaker-ratio",
        env = "MICROSHOP_GATEWAY_BREAKER_RATIO",
        value_name = "RATIO",
        default_value_t = BreakerConfig::DEFAULT_RATIO,
        value_parser = parse_ratio
    )]
    pub breaker_ratio: f64,

    /// Requests to an instance within the window before the failure ratio counts.
    #[arg(
        long = "gateway-breaker-min-calls",
        id = "gateway-breaker-min-calls",
        env = "MICROSHOP_GATEWAY_BREAKER_MIN_CALLS",
        value_name = "COUNT",
        default_value_t = BreakerConfig::DEFAULT_MIN_CALLS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub breaker_min_calls: u32,

    /// Length of the sliding window the failure ratio is measured over, in seconds.
    #[arg(
        long = "gateway-breaker-window-secs",
        id = "gateway-breaker-window-secs",
        env = "MICROSHOP_GATEWAY_BREAKER_WINDOW_SECS",
        value_name = "SECS",
        default_value_t = BreakerConfig::DEFAULT_WINDOW_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub breaker_window_secs: u64,

    /// How long an instance whose breaker opened gets no requests before one probe request is
    /// let through, in seconds.
    #[arg(
        long = "gateway-breaker-open-secs",
        id = "gateway-breaker-open-secs",
        env = "MICROSHOP_GATEWAY_BREAKER_OPEN_SECS",
        value_name = "SECS",
        default_value_t = BreakerConfig::DEFAULT_OPEN_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub breaker_open_secs: u64,

    /// Requests per second one client address may send (IPv6 addresses count per /64, the
    /// block one subscriber gets); 0 turns the limit off. Counts every route but the health
    /// checks and `/metrics`.
    #[arg(
        long = "gateway-rate-limit-per-ip",
        id = "gateway-rate-limit-per-ip",
        env = "MICROSHOP_GATEWAY_RATE_LIMIT_PER_IP",
        value_name = "PER_SEC",
        default_value_t = DEFAULT_RATE_LIMIT_PER_IP,
        value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_RATE_PER_SEC))
    )]
    pub rate_limit_per_ip: u32,

    /// Requests per second one signed-in user (the access token's subject) may send, from
    /// whatever addresses; 0 turns the limit off.
    #[arg(
        long = "gateway-rate-limit-per-user",
        id = "gateway-rate-limit-per-user",
        env = "MICROSHOP_GATEWAY_RATE_LIMIT_PER_USER",
        value_name = "PER_SEC",
        default_value_t = DEFAULT_RATE_LIMIT_PER_USER,
        value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_RATE_PER_SEC))
    )]
    pub rate_limit_per_user: u32,

    /// Seconds' worth of requests a client that was idle may send at once: the burst is the
    /// rate times this (a page load fires a dozen requests together).
    #[arg(
        long = "gateway-rate-limit-burst-secs",
        id = "gateway-rate-limit-burst-secs",
        env = "MICROSHOP_GATEWAY_RATE_LIMIT_BURST_SECS",
        value_name = "SECS",
        default_value_t = DEFAULT_RATE_LIMIT_BURST_SECS,
        value_parser = clap::value_parser!(u32).range(1..=3600)
    )]
    pub rate_limit_burst_secs: u32,

    /// Redis URL (`redis://[:password@]host:port[/db]`) shared by every gateway instance, so the
    /// rate limits hold for all of them together. Without it each instance limits on its own.
    /// While Redis cannot be reached, each instance falls back to its own limits.
    #[arg(
        long = "gateway-redis-url",
        id = "gateway-redis-url",
        env = "MICROSHOP_REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<RedisUrl>,

    /// Prefix of the rate limiter's Redis keys, so several deployments (or test runs) can share
    /// one Redis without counting each other's clients.
    #[arg(
        long = "gateway-redis-prefix",
        id = "gateway-redis-prefix",
        env = "MICROSHOP_GATEWAY_REDIS_PREFIX",
        value_name = "PREFIX",
        default_value = DEFAULT_REDIS_PREFIX,
        value_parser = clap::builder::NonEmptyStringValueParser::new()
    )]
    pub redis_prefix: String,

    /// How long one rate-limit check may wait for Redis before the in-process limiter decides
    /// instead (a check is one round trip, well under a millisecond on a healthy network).
    #[arg(
        long = "gateway-redis-timeout-ms",
        id = "gateway-redis-timeout-ms",
        env = "MICROSHOP_GATEWAY_REDIS_TIMEOUT_MS",
        value_name = "MS",
        default_value_t = DEFAULT_REDIS_TIMEOUT_MS,
        value_parser = clap::value_parser!(u64).range(1..=10_000)
    )]
    pub redis_timeout_ms: u64,
}

/// Generous for a person (a page load is about ten requests) and for an office behind one NAT
/// address, tight enough to blunt a single machine scraping or hammering the shop.
const DEFAULT_RATE_LIMIT_PER_IP: u32 = 100;
/// Half the address limit: one account is one person or one script.
const DEFAULT_RATE_LIMIT_PER_USER: u32 = 50;
const DEFAULT_RATE_LIMIT_BURST_SECS: u32 = 2;
/// The finest rate the Redis limiter can express: one request per microsecond.
const MAX_RATE_PER_SEC: u32 = 1_000_000;
/// The rate limiter's key prefix unless configured otherwise.
pub const DEFAULT_REDIS_PREFIX: &str = "microshop:ratelimit";
const DEFAULT_REDIS_TIMEOUT_MS: u64 = 100;

impl Default for Config {
    fn default() -> Self {
        Self {
            upstreams: Vec::new(),
            connect_timeout_ms: 1000,
            upstream_timeout_ms: 15_000,
            breaker_failures: BreakerConfig::DEFAULT_FAILURES,
            breaker_ratio: BreakerConfig::DEFAULT_RATIO,
            breaker_min_calls: BreakerConfig::DEFAULT_MIN_CALLS,
            breaker_window_secs: BreakerConfig::DEFAULT_WINDOW_SECS,
            breaker_open_secs: BreakerConfig::DEFAULT_OPEN_SECS,
            rate_limit_per_ip: DEFAULT_RATE_LIMIT_PER_IP,
            rate_limit_per_user: DEFAULT_RATE_LIMIT_PER_USER,
            rate_limit_burst_secs: DEFAULT_RATE_LIMIT_BURST_SECS,
            redis_url: None,
            redis_prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            redis_timeout_ms: DEFAULT_REDIS_TIMEOUT_MS,
        }
    }
}

impl Config {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }

    /// The breaker each instance behind the gateway gets.
    pub fn breaker(&self) -> BreakerConfig {
        BreakerConfig::from_settings(
            self.breaker_failures,
            self.breaker_ratio,
            self.breaker_min_calls,
            self.breaker_window_secs,
            self.breaker_open_secs,
        )
    }

    /// How long one rate-limit check may wait for Redis.
    pub fn redis_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        gateway: Config,
    }

    #[test]
    fn defaults_match_the_design() {
        let cli = Cli::try_parse_from(["test"]).unwrap();
        assert_eq!(cli.gateway.connect_timeout(), Duration::from_secs(1));
        assert_eq!(cli.gateway.upstream_timeout(), Duration::from_secs(15));
        assert!(cli.gateway.upstreams.is_empty());
        let breaker = cli.gateway.breaker();
        assert_eq!(breaker.consecutive_failures, 5);
        assert_eq!(breaker.failure_ratio, 0.5);
        assert_eq!(breaker.min_calls, 20);
        assert_eq!(breaker.window, Duration::from_secs(10));
        assert_eq!(breaker.open_for, Duration::from_secs(30));
        let defaults = Config::default().breaker();
        assert_eq!(defaults.consecutive_failures, breaker.consecutive_failures);
        assert_eq!(defaults.open_for, breaker.open_for);
    }

    #[test]
    fn rate_limit_defaults_match_the_default_impl() {
        let parsed = Cli::try_parse_from(["test"]).unwrap().gateway;
        let default = Config::default();
        assert_eq!(parsed.rate_limit_per_ip, default.rate_limit_per_ip);
        assert_eq!(parsed.rate_limit_per_user, default.rate_limit_per_user);
        assert_eq!(parsed.rate_limit_burst_secs, default.rate_limit_burst_secs);
        assert_eq!(parsed.redis_prefix, default.redis_prefix);
        assert_eq!(parsed.redis_timeout(), default.redis_timeout());
        assert_eq!(parsed.redis_url, None);
        assert!(parsed.rate_limit_per_ip > 0 && parsed.rate_limit_per_user > 0);
    }

    #[test]
    fn rate_limit_settings_are_flags_and_zero_turns_a_limit_off() {
        let parsed = Cli::try_parse_from([
            "test",
            "--gateway-rate-limit-per-ip",
            "0",
            "--gateway-rate-limit-per-user",
            "7",
            "--gateway-rate-limit-burst-secs",
            "3",
            "--gateway-redis-url",
            "redis://127.0.0.1:6380/2",
            "--gateway-redis-prefix",
            "shop:limits",
            "--gateway-redis-timeout-ms",
            "50",
        ])
        .unwrap()
        .gateway;
        assert_eq!(parsed.rate_limit_per_ip, 0);
        assert_eq!(parsed.rate_limit_per_user, 7);
        assert_eq!(parsed.rate_limit_burst_secs, 3);
        assert_eq!(
            parsed.redis_url.as_ref().map(RedisUrl::expose),
            Some("redis://127.0.0.1:6380/2")
        );
        assert_eq!(parsed.redis_prefix, "shop:limits");
        assert_eq!(parsed.redis_timeout(), Duration::from_millis(50));
    }

    #[test]
    fn bad_rate_limit_settings_are_refused() {
        for args in [
            ["--gateway-redis-url", "http://example.com"],
            ["--gateway-redis-prefix", ""],
            ["--gateway-redis-timeout-ms", "0"],
            ["--gateway-rate-limit-burst-secs", "0"],
            ["--gateway-rate-limit-per-ip", "-1"],
            ["--gateway-rate-limit-per-user", "1000001"],
        ] {
            let mut argv = vec!["test"];
            argv.extend(args);
            assert!(Cli::try_parse_from(&argv).is_err(), "{args:?}");
        }
    }

    #[test]
    fn the_redis_password_never_shows_in_debug_output() {
        let config = Config {
            redis_url: Some(RedisUrl::parse("redis://:hunter2@cache.internal:6379/0").unwrap()),
            ..Config::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("cache.internal:6379/0"), "{printed}");
    }

    #[test]
    fn upstream_flags_repeat_and_split_on_semicolons() {
        let cli = Cli::try_parse_from([
            "test",
            "--gateway-upstream",
            "orders=http://127.0.0.1:1,http://127.0.0.1:2",
            "--gateway-upstream",
            "hits=http://127.0.0.1:3;cars=http://127.0.0.1:4",
        ])
        .unwrap();
        let services: Vec<_> = cli.gateway.upstreams.iter().map(|s| s.service).collect();
        assert_eq!(services, ["orders", "hits", "cars"]);
        assert_eq!(cli.gateway.upstreams[0].instances.len(), 2);
    }

    #[test]
    fn bad_upstreams_are_rejected_with_the_reason() {
        let error = Cli::try_parse_from(["test", "--gateway-upstream", "shop=http://x:1"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown service `shop`"), "{error}");
        assert!(Cli::try_parse_from(["test", "--gateway-connect-timeout-ms", "0"]).is_err());
        assert!(Cli::try_parse_from(["test", "--gateway-breaker-ratio", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["test", "--gateway-breaker-failures", "0"]).is_err());
        assert!(Cli::try_parse_from(["test", "--gateway-issuer", "x"]).is_err());
    }

    #[test]
    fn breaker_settings_are_flags() {
        let cli = Cli::try_parse_from([
            "test",
            "--gateway-breaker-failures",
            "3",
            "--gateway-breaker-ratio",
            "0.25",
            "--gateway-breaker-min-calls",
            "8",
            "--gateway-breaker-window-secs",
            "4",
            "--gateway-breaker-open-secs",
            "2",
        ])
        .unwrap();
        let breaker = cli.gateway.breaker();
        assert_eq!(breaker.consecutive_failures, 3);
        assert_eq!(breaker.failure_ratio, 0.25);
        assert_eq!(breaker.min_calls, 8);
        assert_eq!(breaker.window, Duration::from_secs(4));
        assert_eq!(breaker.open_for, Duration::from_secs(2));
    }
}
