//! The auth service's settings, from flags or `MICROSHOP_AUTH_…` environment variables.
//!
//! Every flag carries the `auth-` prefix so the binary can flatten this struct next to other
//! services' settings in `microshop up` without collisions. Defaults are what a newcomer running
//! everything on a laptop needs; production overrides the database URL and the admin password.

use std::num::NonZeroUsize;
use std::str::FromStr;
use std::time::Duration;

/// Access tokens live 15 minutes unless configured otherwise (DESIGN §3).
pub const DEFAULT_ACCESS_TOKEN_TTL_SECS: u64 = 15 * 60;

/// Refresh tokens live 30 days unless configured otherwise.
pub const DEFAULT_REFRESH_TOKEN_TTL_SECS: u64 = 30 * 24 * 60 * 60;

/// How long a process keeps using the signing key it loaded before looking for a newer one.
pub const DEFAULT_SIGNING_KEY_RELOAD_SECS: u64 = 10;

/// Database connections per process.
pub const DEFAULT_DB_POOL_SIZE: u32 = 10;

/// How often every token verifier asks auth for newly disabled accounts, in milliseconds: a
/// deleted user's access token is refused at most this long after auth disabled the account.
pub const DEFAULT_TOKEN_REVOCATION_POLL_MS: u64 = 5_000;

/// Registrations allowed per client address and hour unless configured otherwise: plenty for
/// the people behind one address, too few for a script filling the user table.
pub const DEFAULT_REGISTRATIONS_PER_HOUR: u32 = 20;

/// The auth service's configuration.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "auth-settings")]
#[command(next_help_heading = "Auth service")]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`); default: `auth.db` in the data directory.
    #[arg(
        long = "auth-database-url",
        id = "auth-database-url",
        env = "MICROSHOP_AUTH_DATABASE_URL"
    )]
    pub database_url: Option<String>,

    /// Maximum database connections of this process.
    #[arg(
        long = "auth-db-pool-size",
        id = "auth-db-pool-size",
        env = "MICROSHOP_AUTH_DB_POOL_SIZE",
        default_value_t = DEFAULT_DB_POOL_SIZE,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub db_pool_size: u32,

    /// Lifetime of access tokens, in seconds.
    #[arg(
        long = "auth-access-token-ttl-secs",
        id = "auth-access-token-ttl-secs",
        env = "MICROSHOP_AUTH_ACCESS_TOKEN_TTL_SECS",
        default_value_t = DEFAULT_ACCESS_TOKEN_TTL_SECS,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub access_token_ttl_secs: u64,

    /// Lifetime of refresh tokens, in seconds.
    #[arg(
        long = "auth-refresh-token-ttl-secs",
        id = "auth-refresh-token-ttl-secs",
        env = "MICROSHOP_AUTH_REFRESH_TOKEN_TTL_SECS",
        default_value_t = DEFAULT_REFRESH_TOKEN_TTL_SECS,
        value_parser = clap::value_parser!(u64).range(1..=31_536_000)
    )]
    pub refresh_token_ttl_secs: u64,

    /// The `iss` claim written into access tokens; every verifier must expect the same value.
    #[arg(
        long = "auth-issuer",
        id = "auth-issuer",
        env = "MICROSHOP_AUTH_ISSUER",
        default_value = platform::auth::DEFAULT_ISSUER
    )]
    pub issuer: String,

    /// The URL clients reach auth at (normally the gateway's), for the absolute URLs of the
    /// OAuth metadata (`/.well-known/oauth-authorization-server`). Unset: the issuer when it is
    /// an http(s) URL, otherwise the URL the metadata request itself was sent to.
    #[arg(
        long = "auth-public-url",
        id = "auth-public-url",
        env = "MICROSHOP_AUTH_PUBLIC_URL"
    )]
    pub public_url: Option<String>,

    /// Milliseconds between two polls of the accounts disabled since the last one, by every
    /// token verifier (each service's, the gateway's, auth's own): the bound on how long the
    /// access token of a deleted user is still accepted. Read by every process, not only auth.
    #[arg(
        long = "auth-token-revocation-poll-ms",
        id = "auth-token-revocation-poll-ms",
        env = "MICROSHOP_AUTH_TOKEN_REVOCATION_POLL_MS",
        default_value_t = DEFAULT_TOKEN_REVOCATION_POLL_MS,
        value_parser = clap::value_parser!(u64).range(100..=60_000)
    )]
    pub token_revocation_poll_ms: u64,

    /// Password hashes computed at once at most; default: the number of CPUs minus one (at least 1).
    #[arg(
        long = "auth-max-concurrent-hashes",
        id = "auth-max-concurrent-hashes",
        env = "MICROSHOP_AUTH_MAX_CONCURRENT_HASHES"
    )]
    pub max_concurrent_hashes: Option<NonZeroUsize>,

    /// Seconds a process signs with the key it loaded before checking storage for a newer one
    /// (a key rotated by another process is picked up within this delay).
    #[arg(
        long = "auth-signing-key-reload-secs",
        id = "auth-signing-key-reload-secs",
        env = "MICROSHOP_AUTH_SIGNING_KEY_RELOAD_SECS",
        default_value_t = DEFAULT_SIGNING_KEY_RELOAD_SECS,
        value_parser = clap::value_parser!(u64).range(0..=3600)
    )]
    pub signing_key_reload_secs: u64,

    /// Registrations accepted per client address within an hour (0 = no limit); beyond, 429
    /// with `Retry-After`. Counted in the database, so every auth process agrees.
    #[arg(
        long = "auth-registrations-per-hour",
        id = "auth-registrations-per-hour",
        env = "MICROSHOP_AUTH_REGISTRATIONS_PER_HOUR",
        default_value_t = DEFAULT_REGISTRATIONS_PER_HOUR
    )]
    pub registrations_per_hour: u32,

    /// Password of the `admin` account, used only when that account does not exist yet.
    /// Required in distributed mode on first start; in embedded mode a random one is written
    /// to `<data dir>/admin-password` when this is unset.
    #[arg(
        long = "auth-admin-password",
        id = "auth-admin-password",
        env = "MICROSHOP_AUTH_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<Secret>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            db_pool_size: DEFAULT_DB_POOL_SIZE,
            access_token_ttl_secs: DEFAULT_ACCESS_TOKEN_TTL_SECS,
            refresh_token_ttl_secs: DEFAULT_REFRESH_TOKEN_TTL_SECS,
            issuer: platform::auth::DEFAULT_ISSUER.to_owned(),
            public_url: None,
            token_revocation_poll_ms: DEFAULT_TOKEN_REVOCATION_POLL_MS,
            max_concurrent_hashes: None,
            signing_key_reload_secs: DEFAULT_SIGNING_KEY_RELOAD_SECS,
            registrations_per_hour: DEFAULT_REGISTRATIONS_PER_HOUR,
            admin_password: None,
        }
    }
}

impl Config {
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }

    pub fn refresh_token_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_secs)
    }

    /// The interval of every verifier's poll of disabled accounts.
    pub fn token_revocation_poll(&self) -> Duration {
        Duration::from_millis(self.token_revocation_poll_ms)
    }

    pub fn signing_key_reload(&self) -> Duration {
        Duration::from_secs(self.signing_key_reload_secs)
    }

    /// The bound on concurrent password hashes actually used.
    ///
    /// By default one core is left free: hashes saturate every core they get, and a login storm
    /// must not delay the other requests this process serves (in embedded mode, all of them).
    pub fn hash_concurrency(&self) -> usize {
        self.max_concurrent_hashes.map_or_else(
            || {
                std::thread::available_parallelism()
                    .map_or(1, NonZeroUsize::get)
                    .saturating_sub(1)
                    .max(1)
            },
            NonZeroUsize::get,
        )
    }
}

/// A configuration value that must never reach a log line: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn clap_defaults_match_the_default_impl() {
        let parsed = Cli::try_parse_from(["auth"]).unwrap().config;
        let default = Config::default();
        assert_eq!(parsed.db_pool_size, default.db_pool_size);
        assert_eq!(
            parsed.registrations_per_hour,
            default.registrations_per_hour
        );
        assert_eq!(parsed.access_token_ttl_secs, default.access_token_ttl_secs);
        assert_eq!(
            parsed.refresh_token_ttl_secs,
            default.refresh_token_ttl_secs
        );
        assert_eq!(parsed.issuer, default.issuer);
        assert_eq!(parsed.public_url, default.public_url);
        assert_eq!(
            parsed.signing_key_reload_secs,
            default.signing_key_reload_secs
        );
        assert_eq!(
            parsed.token_revocation_poll_ms,
            default.token_revocation_poll_ms
        );
    }

    #[test]
    fn every_setting_has_an_auth_prefixed_flag() {
        let parsed = Cli::try_parse_from([
            "auth",
            "--auth-database-url",
            "sqlite::memory:",
            "--auth-db-pool-size",
            "3",
            "--auth-access-token-ttl-secs",
            "60",
            "--auth-refresh-token-ttl-secs",
            "3600",
            "--auth-issuer",
            "test-issuer",
            "--auth-max-concurrent-hashes",
            "4",
            "--auth-signing-key-reload-secs",
            "0",
            "--auth-token-revocation-poll-ms",
            "250",
            "--auth-admin-password",
            "an admin password",
        ])
        .unwrap()
        .config;
        assert_eq!(parsed.database_url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(parsed.db_pool_size, 3);
        assert_eq!(parsed.access_token_ttl_secs, 60);
        assert_eq!(parsed.refresh_token_ttl_secs, 3600);
        assert_eq!(parsed.issuer, "test-issuer");
        assert_eq!(parsed.hash_concurrency(), 4);
        assert_eq!(parsed.signing_key_reload_secs, 0);
        assert_eq!(parsed.token_revocation_poll(), Duration::from_millis(250));
        assert_eq!(
            parsed.admin_password.as_ref().map(Secret::expose),
            Some("an admin password")
        );
    }

    #[test]
    fn a_zero_token_lifetime_is_refused() {
        assert!(Cli::try_parse_from(["auth", "--auth-access-token-ttl-secs", "0"]).is_err());
        assert!(Cli::try_parse_from(["auth", "--auth-max-concurrent-hashes", "0"]).is_err());
    }

    #[test]
    fn the_admin_password_never_shows_in_debug_output() {
        let config = Config {
            admin_password: Some(Secret::new("hunter2-hunter2")),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
