//! The hits service's settings, from flags or environment variables.
//!
//! Every flag carries the `hits-` prefix so the binary can flatten this struct next to the other
//! services' settings. The backend is chosen by what is set: a Redis URL (`MICROSHOP_REDIS_URL`,
//! the name the issue and the compose files use) selects Redis, so every replica shares one
//! count; otherwise the count lives in SQL, in `hits.db` under the data folder unless a database
//! URL says where.

pub use platform::redis_url::RedisUrl;

/// Database connections per process (the SQL backend).
pub const DEFAULT_DB_POOL_SIZE: u32 = 8;

/// The Redis key the count is kept under unless configured otherwise.
pub const DEFAULT_REDIS_KEY: &str = "hits";

/// The hits service's configuration.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "hits-settings")]
#[command(next_help_heading = "Hits service")]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`) for the SQL counter, used when no Redis URL
    /// is set; default: `hits.db` in the data directory.
    #[arg(
        long = "hits-database-url",
        id = "hits-database-url",
        env = "MICROSHOP_HITS_DATABASE_URL"
    )]
    pub database_url: Option<String>,

    /// Maximum database connections of this process (SQL counter).
    #[arg(
        long = "hits-db-pool-size",
        id = "hits-db-pool-size",
        env = "MICROSHOP_HITS_DB_POOL_SIZE",
        default_value_t = DEFAULT_DB_POOL_SIZE,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub db_pool_size: u32,

    /// Redis URL (`redis://[:password@]host:port[/db]`); when set, the count is kept in Redis
    /// (`INCR`) and shared by every replica.
    #[arg(
        long = "hits-redis-url",
        id = "hits-redis-url",
        env = "MICROSHOP_REDIS_URL",
        hide_env_values = true
    )]
    pub redis_url: Option<RedisUrl>,

    /// The Redis key holding the count (several deployments can share one Redis).
    #[arg(
        long = "hits-redis-key",
        id = "hits-redis-key",
        env = "MICROSHOP_HITS_REDIS_KEY",
        default_value = DEFAULT_REDIS_KEY,
        value_parser = clap::builder::NonEmptyStringValueParser::new()
    )]
    pub redis_key: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            db_pool_size: DEFAULT_DB_POOL_SIZE,
            redis_url: None,
            redis_key: DEFAULT_REDIS_KEY.to_owned(),
        }
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
        let parsed = Cli::try_parse_from(["hits"]).unwrap().config;
        let default = Config::default();
        assert_eq!(parsed.db_pool_size, default.db_pool_size);
        assert_eq!(parsed.redis_key, default.redis_key);
        assert_eq!(parsed.database_url, default.database_url);
    }

    #[test]
    fn every_setting_has_a_hits_prefixed_flag() {
        let parsed = Cli::try_parse_from([
            "hits",
            "--hits-database-url",
            "sqlite::memory:",
            "--hits-db-pool-size",
            "3",
            "--hits-redis-url",
            "redis://127.0.0.1:6380/2",
            "--hits-redis-key",
            "shop:hits",
        ])
        .unwrap()
        .config;
        assert_eq!(parsed.database_url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(parsed.db_pool_size, 3);
        assert_eq!(
            parsed.redis_url.as_ref().map(RedisUrl::expose),
            Some("redis://127.0.0.1:6380/2")
        );
        assert_eq!(parsed.redis_key, "shop:hits");
    }

    #[test]
    fn a_malformed_redis_url_or_an_empty_key_is_refused() {
        assert!(Cli::try_parse_from(["hits", "--hits-redis-url", "http://example.com"]).is_err());
        assert!(Cli::try_parse_from(["hits", "--hits-redis-url", "not a url"]).is_err());
        assert!(Cli::try_parse_from(["hits", "--hits-redis-key", ""]).is_err());
        assert!(Cli::try_parse_from(["hits", "--hits-db-pool-size", "0"]).is_err());
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
}
