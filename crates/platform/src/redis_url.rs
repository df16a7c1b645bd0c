//! The Redis URL setting shared by the gateway (rate limits) and hits (the counter): one
//! `MICROSHOP_REDIS_URL` per deployment, parsed at start so a bad URL stops the start rather
//! than the first request, and never printed with its password.

use std::fmt;
use std::str::FromStr;

use redis::IntoConnectionInfo;

/// A Redis URL that parsed. It may carry a password, so `Debug` hides the credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Parses `url` as the redis client will.
    pub fn parse(url: &str) -> Result<Self, String> {
        url.into_connection_info()
            .map_err(|error| format!("not a usable Redis URL: {error}"))?;
        Ok(Self(url.to_owned()))
    }

    /// The URL itself, for the one place that connects.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for RedisUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Self::parse(url)
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `scheme://user:password@host…`: keep the scheme and what follows the last `@`.
        match (self.0.split_once("://"), self.0.rfind('@')) {
            (Some((scheme, _)), Some(at)) => {
                write!(f, "RedisUrl({scheme}://<redacted>@{})", &self.0[at + 1..])
            }
            _ => write!(f, "RedisUrl({})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let url = RedisUrl::parse("redis://:hunter2@cache.internal:6379/0").unwrap();
        let shown = format!("{url:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("cache.internal:6379"), "{shown}");
        assert!(RedisUrl::parse("http://nope").is_err());
    }
}
