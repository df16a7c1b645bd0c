//! The gateway's settings, as command-line flags and `MICROSHOP_GATEWAY_…` variables.
//!
//! The binary flattens [`Config`] into its own command line, so every flag carries a
//! `gateway-` prefix to stay unambiguous next to the other services' settings.

use std::time::Duration;

use platform::auth::DEFAULT_ISSUER;

use crate::upstreams::UpstreamSpec;

/// How the gateway reaches the services and checks tokens.
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

    /// The `iss` an access token must carry.
    #[arg(
        long = "gateway-issuer",
        id = "gateway-issuer",
        env = "MICROSHOP_GATEWAY_ISSUER",
        value_name = "ISSUER",
        default_value = DEFAULT_ISSUER
    )]
    pub issuer: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            upstreams: Vec::new(),
            connect_timeout_ms: 1000,
            upstream_timeout_ms: 15_000,
            issuer: DEFAULT_ISSUER.to_owned(),
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
        assert_eq!(cli.gateway.issuer, DEFAULT_ISSUER);
        assert!(cli.gateway.upstreams.is_empty());
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
    }
}
