//! Every setting of every mode, from flags, `MICROSHOP_…` environment variables or a TOML file.
//!
//! Precedence is the usual one: command-line flag, then environment variable, then the TOML file
//! named by `--config` / `MICROSHOP_CONFIG`, then the built-in default. clap does the first two
//! and lists everything in `--help`; the file's values are installed as clap defaults, so there is
//! one parser and one list of settings. Keys in the file are the flag names without dashes, flat
//! (`gateway-port = 8000`) or grouped in tables (`[auth] access-token-ttl-secs = 600`); underscores
//! and dashes are interchangeable. An unknown key is an error, like an unknown flag.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use platform::telemetry::LogFormat;

/// `microshop`: the whole shop in one process, or one of its services alone.
#[derive(Debug, Parser)]
#[command(
    name = "microshop",
    version,
    about = "microshop: a microservices shop platform in one binary",
    long_about = "microshop: a microservices shop platform in one binary.\n\n\
        Without a command it runs `up`: every service in one process, SQLite files under the data \
        folder, the gateway on http://127.0.0.1:8000.\n\n\
        Every option can also be set with the environment variable shown next to it, or in a TOML \
        file given with --config (keys are the option names without the leading dashes).",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start every service in one process, each on its own port (the default).
    Up(Box<Settings>),
    /// Run one service alone: the unit of the distributed mode.
    Serve {
        /// The service to run.
        #[arg(value_enum)]
        service: Service,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Administration of the auth service.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Ask a running service whether it is ready (`/health/ready`): exit 0 when it answers 2xx,
    /// 1 otherwise, after one line saying which. For container health checks (the image has no
    /// curl nor wget).
    HealthCheck(Box<HealthCheck>),
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Add a new signing key: new tokens use it, tokens signed by older keys stay valid until
    /// they expire.
    RotateKey(Box<Settings>),
}

/// What `microshop health-check` asks. The first of these that is given decides: `--url`,
/// `--port` (on this host), the named service (on its port from the same settings `serve`
/// reads: `--orders-port`, `MICROSHOP_ORDERS_PORT`, the settings file), else the service of the
/// `microshop` process running beside this one (a container's: its command line is read again
/// with these settings), else the gateway.
#[derive(Debug, Clone, Args)]
pub struct HealthCheck {
    /// The service to ask, on the port `serve <SERVICE>` would listen on.
    #[arg(value_enum)]
    pub service: Option<Service>,

    /// The URL to ask instead (plain HTTP), such as http://127.0.0.1:8003/health/ready.
    #[arg(long, env = "MICROSHOP_HEALTHCHECK_URL", value_name = "URL")]
    pub url: Option<String>,

    /// The port to ask `/health/ready` on, on this host, instead of the service's.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    #[command(flatten)]
    pub settings: Box<Settings>,
}

/// The services this binary can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Service {
    Gateway,
    Auth,
    Users,
    Orders,
    Products,
    Payments,
    Notifier,
    Cars,
    Agenda,
    Hits,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Gateway => "gateway",
            Service::Auth => "auth",
            Service::Users => "users",
            Service::Orders => "orders",
            Service::Products => "products",
            Service::Payments => "payments",
            Service::Notifier => "notifier",
            Service::Cars => "cars",
            Service::Agenda => "agenda",
            Service::Hits => "hits",
        }
    }
}

/// Settings shared by every command.
#[derive(Debug, Clone, Args)]
#[group(id = "settings")]
pub struct Settings {
    /// TOML file with settings (flags and environment variables take precedence).
    #[arg(long, env = "MICROSHOP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Folder for SQLite databases and generated secrets (embedded mode).
    #[arg(long, env = "MICROSHOP_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Address every service listens on. Keep the loopback default unless a proxy or container
    /// network needs more.
    #[arg(long, env = "MICROSHOP_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Log line format.
    #[arg(
        long,
        env = "MICROSHOP_LOG_FORMAT",
        value_enum,
        default_value = "human"
    )]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub ports: Ports,

    #[command(flatten)]
    pub http: Http,

    #[command(flatten)]
    pub urls: Urls,

    /// Secret that service-to-service calls carry (`serve` mode; every process of one deployment
    /// needs the same value). Embedded mode makes a random one per start.
    #[arg(long, env = "MICROSHOP_INTERNAL_TOKEN", hide_env_values = true)]
    pub internal_token: Option<String>,

    #[command(flatten)]
    pub kafka: platform::events::kafka::KafkaConfig,

    #[command(flatten)]
    pub auth: auth::Config,

    #[command(flatten)]
    pub gateway: gateway::Config,

    #[command(flatten)]
    pub users: users::Config,

    #[command(flatten)]
    pub orders: orders::Config,

    #[command(flatten)]
    pub products: products::Config,

    #[command(flatten)]
    pub payments: payments::Config,

    #[command(flatten)]
    pub notifier: notifier::Config,

    #[command(flatten)]
    pub cars: cars::Config,

    #[command(flatten)]
    pub agenda: agenda::Config,

    #[command(flatten)]
    pub hits: hits::Config,
}

/// How every server of this process treats its connections.
#[derive(Debug, Clone, Args)]
#[group(id = "http")]
#[command(next_help_heading = "HTTP servers")]
pub struct Http {
    /// Seconds a client has to send a request's head, counted from the connection's opening or
    /// the previous response (so also how long an idle keep-alive connection stays open).
    #[arg(
        long,
        env = "MICROSHOP_HTTP_HEADER_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub http_header_timeout_secs: u64,

    /// Seconds without a byte either way after which a connection is closed (a stalled request
    /// body, a vanished peer); streams that keep sending stay open.
    #[arg(
        long,
        env = "MICROSHOP_HTTP_IDLE_TIMEOUT_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub http_idle_timeout_secs: u64,

    /// Seconds a request's handler has to produce its answer (its head: a stream then goes
    /// on), or it is dropped and the client gets 503 `response_timeout`: a dependency that
    /// accepts and never answers cannot hold requests forever.
    #[arg(
        long,
        env = "MICROSHOP_HTTP_RESPONSE_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub http_response_timeout_secs: u64,

    /// Proxies whose `X-Forwarded-For` is believed: addresses or networks, comma-separated
    /// (`10.0.0.0/8,192.0.2.7`). Without it only microshop's own gateway is believed (it proves
    /// itself with the internal token); anyone else's header is ignored, so a client cannot
    /// pick the address that rate limits and the login lockout count. Give every service of a
    /// deployment the same list.
    #[arg(
        long,
        env = "MICROSHOP_TRUSTED_PROXIES",
        value_name = "NETWORK[,NETWORK...]",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<platform::http::Network>,

    /// Networks whose callers may read `/metrics`, the readiness checks' details and the
    /// gateway's aggregated `/health` (a Prometheus, a monitoring host), comma-separated.
    /// Others need an admin's access token, and otherwise get a bare liveness answer (and 403
    /// from `/metrics`).
    #[arg(
        long,
        env = "MICROSHOP_OPS_NETWORKS",
        value_name = "NETWORK[,NETWORK...]",
        value_delimiter = ',',
        default_value = "127.0.0.0/8,::1"
    )]
    pub ops_networks: Vec<platform::http::Network>,
}

impl Http {
    /// The server options of every service of this process; `internal` is the deployment's
    /// internal token, whose gateway is believed and whose callers are operators, and
    /// `verifier` checks the admin tokens that make their bearer an operator.
    pub fn server_options(
        &self,
        internal: Option<&platform::auth::InternalToken>,
        verifier: std::sync::Arc<platform::auth::Verifier>,
    ) -> platform::server::ServerOptions {
        platform::server::ServerOptions {
            limits: platform::server::ConnectionLimits {
                header_read: std::time::Duration::from_secs(self.http_header_timeout_secs),
                idle: std::time::Duration::from_secs(self.http_idle_timeout_secs),
                response: std::time::Duration::from_secs(self.http_response_timeout_secs),
            },
            trust: std::sync::Arc::new(platform::http::ProxyTrust::new(
                self.trusted_proxies.clone(),
                internal,
            )),
            ops: std::sync::Arc::new(platform::ops::OpsAccess::new(
                self.ops_networks.clone(),
                internal.cloned(),
                Some(verifier),
            )),
        }
    }
}

/// Listening ports; 0 picks a free port (tests), and the real one is wired everywhere.
#[derive(Debug, Clone, Args)]
#[group(id = "ports")]
#[command(next_help_heading = "Ports")]
pub struct Ports {
    /// Port of the gateway, the single public entry point.
    #[arg(long, env = "MICROSHOP_GATEWAY_PORT", default_value_t = 8000)]
    pub gateway_port: u16,

    /// Port of the auth service.
    #[arg(long, env = "MICROSHOP_AUTH_PORT", default_value_t = 8001)]
    pub auth_port: u16,

    /// Port of the users service.
    #[arg(long, env = "MICROSHOP_USERS_PORT", default_value_t = 8002)]
    pub users_port: u16,

    /// Port of the orders service.
    #[arg(long, env = "MICROSHOP_ORDERS_PORT", default_value_t = 8003)]
    pub orders_port: u16,

    /// Port of the products service.
    #[arg(long, env = "MICROSHOP_PRODUCTS_PORT", default_value_t = 8004)]
    pub products_port: u16,

    /// Port of the payments service.
    #[arg(long, env = "MICROSHOP_PAYMENTS_PORT", default_value_t = 8005)]
    pub payments_port: u16,

    /// Port of the notifier service.
    #[arg(long, env = "MICROSHOP_NOTIFIER_PORT", default_value_t = 8006)]
    pub notifier_port: u16,

    /// Port of the cars service.
    #[arg(long, env = "MICROSHOP_CARS_PORT", default_value_t = 8007)]
    pub cars_port: u16,

    /// Port of the agenda service (the seed's events).
    #[arg(long, env = "MICROSHOP_AGENDA_PORT", default_value_t = 8008)]
    pub agenda_port: u16,

    /// Port of the hits counter.
    #[arg(long, env = "MICROSHOP_HITS_PORT", default_value_t = 8009)]
    pub hits_port: u16,
}

impl Ports {
    pub fn of(&self, service: Service) -> u16 {
        match service {
            Service::Gateway => self.gateway_port,
            Service::Auth => self.auth_port,
            Service::Users => self.users_port,
            Service::Orders => self.orders_port,
            Service::Products => self.products_port,
            Service::Payments => self.payments_port,
            Service::Notifier => self.notifier_port,
            Service::Cars => self.cars_port,
            Service::Agenda => self.agenda_port,
            Service::Hits => self.hits_port,
        }
    }
}

/// Where the other services are, for a service run alone (`serve` mode). Embedded mode wires
/// the real addresses instead. Unset, a neighbour is found from the other settings (see
/// [`Settings::neighbour_url`]), so moving a service's port is one setting.
#[derive(Debug, Clone, Args)]
#[group(id = "urls")]
#[command(next_help_heading = "Service URLs (serve mode)")]
pub struct Urls {
    /// Base URL of the auth service (its JWKS verifies every token) [default: the gateway's
    /// auth upstream, else http://127.0.0.1:<auth port>].
    #[arg(long, env = "MICROSHOP_AUTH_URL", value_name = "URL")]
    pub auth_url: Option<String>,

    /// Base URL of the users service [default: the gateway's users upstream, else
    /// http://127.0.0.1:<users port>].
    #[arg(long, env = "MICROSHOP_USERS_URL", value_name = "URL")]
    pub users_url: Option<String>,

    /// Base URL of the orders service [default: the gateway's orders upstream, else
    /// http://127.0.0.1:<orders port>].
    #[arg(long, env = "MICROSHOP_ORDERS_URL", value_name = "URL")]
    pub orders_url: Option<String>,

    /// Base URL of the products service [default: the gateway's products upstream, else
    /// http://127.0.0.1:<products port>].
    #[arg(long, env = "MICROSHOP_PRODUCTS_URL", value_name = "URL")]
    pub products_url: Option<String>,

    /// Base URL of the payments service [default: the gateway's payments upstream, else
    /// http://127.0.0.1:<payments port>].
    #[arg(long, env = "MICROSHOP_PAYMENTS_URL", value_name = "URL")]
    pub payments_url: Option<String>,

    /// Base URL of the notifier service [default: the gateway's notifier upstream, else
    /// http://127.0.0.1:<notifier port>].
    #[arg(long, env = "MICROSHOP_NOTIFIER_URL", value_name = "URL")]
    pub notifier_url: Option<String>,
}

impl Urls {
    /// The URL setting of `service`, if it has one and it is not empty.
    fn of(&self, service: Service) -> Option<&str> {
        match service {
            Service::Auth => self.auth_url.as_deref(),
            Service::Users => self.users_url.as_deref(),
            Service::Orders => self.orders_url.as_deref(),
            Service::Products => self.products_url.as_deref(),
            Service::Payments => self.payments_url.as_deref(),
            Service::Notifier => self.notifier_url.as_deref(),
            _ => None,
        }
        .map(str::trim)
        .filter(|url| !url.is_empty())
    }
}

impl Settings {
    /// Where a process of this deployment reaches `service` in `serve` mode; the one place
    /// neighbour URLs come from. In order: its URL setting (`MICROSHOP_<SERVICE>_URL`), the
    /// first instance the gateway's upstream setting lists for it, then its port setting
    /// (`MICROSHOP_<SERVICE>_PORT`) on this machine.
    pub fn neighbour_url(&self, service: Service) -> String {
        if let Some(url) = self.urls.of(service) {
            return url.trim_end_matches('/').to_owned();
        }
        let upstream = self
            .gateway
            .upstreams
            .iter()
            .find(|spec| spec.service == service.name())
            .and_then(|spec| spec.instances.first());
        match upstream {
            Some(instance) => instance.url().trim_end_matches('/').to_owned(),
            None => local_url(&self.host, self.ports.of(service)),
        }
    }

    /// Every neighbour's URL, for a service run alone (see [`Settings::neighbour_url`]).
    pub fn neighbours(&self) -> platform::ServiceUrls {
        platform::ServiceUrls {
            auth: self.neighbour_url(Service::Auth),
            users: self.neighbour_url(Service::Users),
            orders: self.neighbour_url(Service::Orders),
            products: self.neighbour_url(Service::Products),
            payments: self.neighbour_url(Service::Payments),
            notifier: self.neighbour_url(Service::Notifier),
        }
    }
}

/// The base URL of `port` on the listening address `host`, as seen from this machine: a service
/// listening on every interface (`0.0.0.0`, `::`) is reached on the loopback.
pub fn local_url(host: &str, port: u16) -> String {
    let host = match host.trim() {
        "" | "0.0.0.0" => "127.0.0.1",
        "::" | "[::]" => "[::1]",
        other => other,
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!("http://{host}:{port}")
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Invocation {
    Up(Settings),
    Serve(Service, Settings),
    RotateKey(Settings),
    HealthCheck(HealthCheck),
}

/// A setting could not be accepted; the binary exits with code 64 (EX_USAGE).
#[derive(Debug)]
pub struct UsageError(pub String);

/// Parses the command line, environment and settings file.
///
/// Help and version requests are printed and exit 0 here, like any CLI.
pub fn parse(args: Vec<OsString>) -> Result<Invocation, UsageError> {
    let file = config_file(&args);
    let mut command = Cli::command();
    if let Some(path) = file {
        command = apply_file_defaults(command, &path)?;
    }
    let matches = match command.try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(error) => match error.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => error.exit(),
            _ => return Err(UsageError(error.render().to_string())),
        },
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|error| UsageError(error.to_string()))?;
    let invocation = match cli.command {
        None => Invocation::Up(cli.settings),
        Some(Command::Up(settings)) => Invocation::Up(*settings),
        Some(Command::Serve { service, settings }) => Invocation::Serve(service, *settings),
        Some(Command::Auth(AuthCommand::RotateKey(settings))) => Invocation::RotateKey(*settings),
        Some(Command::HealthCheck(check)) => Invocation::HealthCheck(*check),
    };
    match &invocation {
        Invocation::Up(settings)
        | Invocation::Serve(_, settings)
        | Invocation::RotateKey(settings) => {
            settings.needs_only(platform::events::kafka::AVAILABLE)?
        }
        Invocation::HealthCheck(_) => {}
    }
    Ok(invocation)
}

impl Settings {
    /// Refuses a setting that needs a cargo feature this binary was built without, saying how
    /// to get one that has it, rather than ignoring the setting (a distributed deployment whose
    /// services silently kept their events to themselves).
    fn needs_only(&self, kafka_compiled: bool) -> Result<(), UsageError> {
        let wants_kafka = self
            .kafka
            .brokers
            .as_deref()
            .is_some_and(|brokers| !brokers.trim().is_empty());
        if wants_kafka && !kafka_compiled {
            return Err(UsageError(
                "error: --kafka-brokers (MICROSHOP_KAFKA_BROKERS) needs Kafka support, which this \
                 binary was built without: build it with `cargo build --release --features kafka` \
                 (the Docker image and scripts/distributed.sh do)"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

/// The settings file named on the command line (`--config F` or `--config=F`) or in the
/// environment, found before clap runs so its values can become defaults.
fn config_file(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("MICROSHOP_CONFIG")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

fn apply_file_defaults(
    mut command: clap::Command,
    path: &Path,
) -> Result<clap::Command, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        UsageError(format!(
            "error: cannot read the settings file {}: {error}",
            path.display()
        ))
    })?;
    let table: toml::Table = text.parse().map_err(|error| {
        UsageError(format!(
            "error: the settings file {} is not valid TOML: {error}",
            path.display()
        ))
    })?;
    let mut entries = Vec::new();
    flatten("", &table, &mut entries, path)?;
    let known: Vec<String> = command
        .get_arguments()
        .filter_map(|arg| arg.get_long().map(str::to_owned))
        .collect();
    for (key, values) in entries {
        if !known.contains(&key) || key == "config" {
            return Err(UsageError(format!(
                "error: unknown setting `{key}` in {}; see `microshop --help` for the list",
                path.display()
            )));
        }
        // clap keeps defaults for the life of the process; the file is read once per run.
        let values: Vec<&'static str> = values
            .into_iter()
            .map(|value| &*Box::leak(value.into_boxed_str()))
            .collect();
        command = set_default(command, &key, &values);
    }
    Ok(command)
}

/// Sets the default of the option whose long name is `long`, in the command and every
/// subcommand that has it.
fn set_default(mut command: clap::Command, long: &str, values: &[&'static str]) -> clap::Command {
    let id = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
        .map(|arg| arg.get_id().to_string());
    if let Some(id) = id {
        let values = values.to_vec();
        command = command.mut_arg(id, |arg| arg.default_values(values));
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| set_default(sub, long, values));
    }
    command
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut Vec<(String, Vec<String>)>,
    path: &Path,
) -> Result<(), UsageError> {
    for (key, value) in table {
        let key = key.replace('_', "-");
        let full = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}-{key}")
        };
        match value {
            toml::Value::Table(nested) => flatten(&full, nested, out, path)?,
            toml::Value::Array(items) => {
                let values = items
                    .iter()
                    .map(|item| scalar(item, &full, path))
                    .collect::<Result<_, _>>()?;
                out.push((full, values));
            }
            other => out.push((full.clone(), vec![scalar(other, &full, path)?])),
        }
    }
    Ok(())
}

fn scalar(value: &toml::Value, key: &str, path: &Path) -> Result<String, UsageError> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Float(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        _ => Err(UsageError(format!(
            "error: setting `{key}` in {} must be a string, number or boolean",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn no_command_means_up_with_default_ports() {
        let Invocation::Up(settings) = parse(args(&["microshop"])).unwrap() else {
            panic!("expected up");
        };
        assert_eq!(settings.ports.gateway_port, 8000);
        assert_eq!(settings.ports.auth_port, 8001);
    }

    #[test]
    fn serve_takes_a_service_name() {
        let Invocation::Serve(service, settings) =
            parse(args(&["microshop", "serve", "auth", "--auth-port", "0"])).unwrap()
        else {
            panic!("expected serve");
        };
        assert_eq!(service, Service::Auth);
        assert_eq!(settings.ports.auth_port, 0);
    }

    #[test]
    fn kafka_brokers_need_a_binary_built_with_kafka() {
        let Invocation::Serve(_, settings) = parse(args(&[
            "microshop",
            "serve",
            "orders",
            "--kafka-brokers",
            "kafka-1:9092",
        ]))
        .unwrap_or_else(|error| panic!("this test binary has Kafka: {}", error.0)) else {
            panic!("expected serve");
        };
        let error = settings.needs_only(false).unwrap_err();
        assert!(error.0.contains("--kafka-brokers"), "{}", error.0);
        assert!(error.0.contains("--features kafka"), "{}", error.0);
        assert!(settings.needs_only(true).is_ok());

        let Invocation::Up(embedded) = parse(args(&["microshop"])).unwrap() else {
            panic!("expected up");
        };
        assert!(
            embedded.needs_only(false).is_ok(),
            "embedded mode needs no Kafka"
        );
    }

    #[test]
    fn a_bad_value_is_a_usage_error() {
        let error = parse(args(&["microshop", "--gateway-port", "eighty"])).unwrap_err();
        assert!(error.0.contains("gateway-port"), "{}", error.0);
    }

    #[test]
    fn file_values_become_defaults_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("microshop.toml");
        std::fs::write(&path, "gateway-port = 9100\n[auth]\nport = 9101\n").unwrap();
        let file = path.to_str().unwrap();
        let Invocation::Up(settings) = parse(args(&[
            "microshop",
            "--config",
            file,
            "--auth-port",
            "9200",
        ]))
        .unwrap() else {
            panic!("expected up");
        };
        assert_eq!(settings.ports.gateway_port, 9100);
        assert_eq!(settings.ports.auth_port, 9200);

        let Invocation::Serve(_, settings) =
            parse(args(&["microshop", "serve", "gateway", "--config", file])).unwrap()
        else {
            panic!("expected serve");
        };
        assert_eq!(settings.ports.gateway_port, 9100);
    }

    fn serve(list: &[&str]) -> Settings {
        let mut all = vec!["microshop", "serve", "orders"];
        all.extend_from_slice(list);
        let Invocation::Serve(_, settings) = parse(args(&all)).unwrap() else {
            panic!("expected serve");
        };
        settings
    }

    #[test]
    fn neighbours_default_to_their_ports_on_this_machine() {
        let settings = serve(&["--auth-port", "9101", "--users-port", "9102"]);
        assert_eq!(
            settings.neighbour_url(Service::Auth),
            "http://127.0.0.1:9101"
        );
        assert_eq!(settings.neighbours().users, "http://127.0.0.1:9102");
        assert_eq!(settings.neighbours().products, "http://127.0.0.1:8004");
        // A service listening everywhere is still asked on the loopback.
        let settings = serve(&["--host", "::", "--auth-port", "9101"]);
        assert_eq!(settings.neighbour_url(Service::Auth), "http://[::1]:9101");
    }

    #[test]
    fn an_explicit_url_beats_the_gateway_upstream_which_beats_the_port() {
        let settings = serve(&[
            "--auth-port",
            "9101",
            "--gateway-upstream",
            "auth=http://10.0.0.5:7001,http://10.0.0.6:7001",
        ]);
        assert_eq!(
            settings.neighbour_url(Service::Auth),
            "http://10.0.0.5:7001"
        );
        let settings = serve(&[
            "--auth-port",
            "9101",
            "--gateway-upstream",
            "auth=http://10.0.0.5:7001",
            "--auth-url",
            "http://auth.internal:8001/",
        ]);
        assert_eq!(
            settings.neighbour_url(Service::Auth),
            "http://auth.internal:8001"
        );
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("microshop.toml");
        std::fs::write(&path, "gateway-prot = 9100\n").unwrap();
        let error = parse(args(&["microshop", "--config", path.to_str().unwrap()])).unwrap_err();
        assert!(error.0.contains("gateway-prot"), "{}", error.0);
    }
}
