//! Where each service runs: the instances the gateway may send a request to.
//!
//! Instances come from two places. Configuration (`--gateway-upstream orders=http://…`) is what
//! an operator says and always wins; the binary's embedded mode adds the addresses it actually
//! bound as defaults, which fill in only the services configuration left unset. Everything is
//! parsed here, once, at start: a typo in a service name or a URL stops the process with a clear
//! message instead of turning into 404s at run time, and the hot path never parses a URL.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Uri, uri};
use platform::resilience::{BreakerConfig, CircuitBreaker};

/// Every service the gateway knows how to route to (DESIGN §2).
pub const SERVICES: &[&str] = &[
    "auth", "users", "orders", "products", "payments", "notifier", "cars", "agenda", "hits",
];

/// Why an upstream setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("unknown service `{0}` (known services: {list})", list = SERVICES.join(", "))]
    UnknownService(String),
    #[error("`{0}` is not `<service>=<url>[,<url>...]`")]
    MalformedSpec(String),
    #[error("`{url}` is not a usable upstream URL: {reason}")]
    InvalidUrl { url: String, reason: &'static str },
}

/// Resolves a service name to its static spelling, refusing names no route uses.
fn known_service(name: &str) -> Result<&'static str, UpstreamError> {
    SERVICES
        .iter()
        .copied()
        .find(|known| *known == name)
        .ok_or_else(|| UpstreamError::UnknownService(name.to_owned()))
}

/// One instance of a service: a plain-HTTP base URL such as `http://127.0.0.1:8003`.
///
/// A base path (`http://host/orders-api`) is allowed and prepended to every forwarded path.
#[derive(Clone, PartialEq, Eq)]
pub struct Instance {
    url: String,
    scheme: Scheme,
    authority: Authority,
    /// Without a trailing slash; empty for the root.
    base_path: String,
}

impl Instance {
    /// Parses a base URL; only `http` is accepted (services speak plain HTTP inside the
    /// platform, TLS ends in front of the gateway).
    pub fn parse(text: &str) -> Result<Self, UpstreamError> {
        let invalid = |reason| UpstreamError::InvalidUrl {
            url: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        let uri: Uri = trimmed.parse().map_err(|_| invalid("not a URL"))?;
        let parts = uri.into_parts();
        match parts.scheme {
            Some(ref scheme) if *scheme == Scheme::HTTP => {}
            Some(_) => return Err(invalid("only http:// upstreams are supported")),
            None => return Err(invalid("missing http:// scheme")),
        }
        let authority = parts.authority.ok_or_else(|| invalid("missing host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("credentials in the URL are not supported"));
        }
        let base_path = match parts.path_and_query {
            Some(path_and_query) => {
                if path_and_query.query().is_some() {
                    return Err(invalid("a query string is not allowed"));
                }
                path_and_query.path().trim_end_matches('/').to_owned()
            }
            None => String::new(),
        };
        Ok(Self {
            url: format!("http://{authority}{base_path}"),
            scheme: Scheme::HTTP,
            authority,
            base_path,
        })
    }

    /// The normalised base URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The absolute URI of `path_and_query` on this instance.
    pub(crate) fn uri_for(&self, path_and_query: &PathAndQuery) -> Result<Uri, http::Error> {
        let path_and_query = if self.base_path.is_empty() {
            // Cheap: the parts are reference-counted bytes, nothing is copied.
            path_and_query.clone()
        } else {
            PathAndQuery::try_from(format!("{}{}", self.base_path, path_and_query))?
        };
        let mut parts = uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Ok(Uri::from_parts(parts)?)
    }
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl FromStr for Instance {
    type Err = UpstreamError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// One `--gateway-upstream` value: `<service>=<url>[,<url>...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSpec {
    pub service: &'static str,
    pub instances: Vec<Instance>,
}

impl FromStr for UpstreamSpec {
    type Err = UpstreamError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (service, urls) = text
            .split_once('=')
            .ok_or_else(|| UpstreamError::MalformedSpec(text.to_owned()))?;
        let service = known_service(service.trim())?;
        let instances = urls
            .split(',')
            .filter(|url| !url.trim().is_empty())
            .map(Instance::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if instances.is_empty() {
            return Err(UpstreamError::MalformedSpec(text.to_owned()));
        }
        Ok(Self { service, instances })
    }
}

#[derive(Debug, Clone, Default)]
struct Entry {
    instances: Vec<Instance>,
    /// Set by configuration: defaults no longer apply to this service.
    configured: bool,
}

/// Service name → the instances serving it.
#[derive(Debug, Clone, Default)]
pub struct Upstreams {
    services: BTreeMap<&'static str, Entry>,
}

impl Upstreams {
    /// No service has an instance yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The instances configuration names (`--gateway-upstream`, `MICROSHOP_GATEWAY_UPSTREAMS`).
    pub fn from_config(config: &crate::Config) -> Self {
        let mut upstreams = Self::new();
        for spec in &config.upstreams {
            upstreams.add(spec.clone());
        }
        upstreams
    }

    /// Adds configured instances; a service named twice gets the instances of both.
    pub fn add(&mut self, spec: UpstreamSpec) {
        let entry = self.services.entry(spec.service).or_default();
        if !entry.configured {
            // Configuration replaces whatever defaults were there.
            entry.instances.clear();
            entry.configured = true;
        }
        entry.instances.extend(spec.instances);
    }

    /// Adds `url` as an instance of `service` unless configuration already set that service.
    ///
    /// This is how the binary wires the addresses it bound in embedded mode, while an operator's
    /// `--gateway-upstream` still takes precedence.
    pub fn insert_default(&mut self, service: &str, url: &str) -> Result<(), UpstreamError> {
        let service = known_service(service)?;
        let instance = Instance::parse(url)?;
        let entry = self.services.entry(service).or_default();
        if !entry.configured && !entry.instances.contains(&instance) {
            entry.instances.push(instance);
        }
        Ok(())
    }

    /// The instances of `service`; empty when it has none.
    pub fn instances(&self, service: &str) -> &[Instance] {
        self.services
            .get(service)
            .map(|entry| entry.instances.as_slice())
            .unwrap_or(&[])
    }

    /// Every service with at least one instance, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[Instance])> {
        self.services
            .iter()
            .filter(|(_, entry)| !entry.instances.is_empty())
            .map(|(service, entry)| (*service, entry.instances.as_slice()))
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// One instance and the circuit breaker that keeps requests away from it while it fails.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) instance: Instance,
    pub(crate) breaker: CircuitBreaker,
}

/// The instances of one service with a round-robin cursor.
///
/// Each instance has its own breaker, named `<service>@<url>` (the `upstream` label of
/// `circuit_breaker_state`; the set is fixed by configuration, so the labels stay bounded). A
/// request's turn skips instances whose breaker refuses it, so an instance that keeps failing
/// gets no traffic until its breaker lets a probe through.
#[derive(Debug)]
pub(crate) struct Balancer {
    members: Box<[Member]>,
    next: AtomicUsize,
}

impl Balancer {
    pub(crate) fn new(
        service: &'static str,
        instances: &[Instance],
        breaker: &BreakerConfig,
    ) -> Option<Self> {
        (!instances.is_empty()).then(|| Self {
            members: instances
                .iter()
                .map(|instance| Member {
                    breaker: CircuitBreaker::new(
                        crate::proxy::SERVICE,
                        format!("{service}@{}", instance.url()),
                        breaker.clone(),
                    ),
                    instance: instance.clone(),
                })
                .collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// Every instance once, starting with the one whose turn it is. Relaxed is enough: only the
    /// spread matters, not an order between threads.
    pub(crate) fn turn(&self) -> impl Iterator<Item = &Member> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let len = self.members.len();
        (0..len).map(move |offset| &self.members[(start + offset) % len])
    }

    /// Called when a request passed over an instance whose breaker refused it: the next request
    /// starts one further, so the instances still serving share the load evenly instead of the
    /// one after the refused instance taking its share too.
    pub(crate) fn skipped(&self) {
        self.next.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn members(&self) -> &[Member] {
        &self.members
    }

    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// When every breaker refused: whole seconds until the first one lets a probe through
    /// (rounded up, at least 1), the `Retry-After` of the 503.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        let soonest = self
            .members
            .iter()
            // A half-open breaker (a probe in flight) reports no remaining time: it decides soon.
            .map(|member| member.breaker.open_remaining().unwrap_or(Duration::ZERO))
            .min()
            .unwrap_or(Duration::ZERO);
        let secs = soonest.as_secs() + u64::from(soonest.subsec_nanos() > 0);
        secs.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_several_instances() {
        let spec: UpstreamSpec = "orders=http://127.0.0.1:1,http://10.0.0.2:8003/"
            .parse()
            .unwrap();
        assert_eq!(spec.service, "orders");
        let urls: Vec<_> = spec.instances.iter().map(Instance::url).collect();
        assert_eq!(urls, ["http://127.0.0.1:1", "http://10.0.0.2:8003"]);
    }

    #[test]
    fn unknown_services_and_bad_urls_are_refused() {
        assert!(matches!(
            "order=http://x:1".parse::<UpstreamSpec>(),
            Err(UpstreamError::UnknownService(_))
        ));
        assert!("orders".parse::<UpstreamSpec>().is_err());
        assert!("orders=".parse::<UpstreamSpec>().is_err());
        assert!(Instance::parse("https://x:1").is_err());
        assert!(Instance::parse("127.0.0.1:8003").is_err());
        assert!(Instance::parse("http://x:1/?a=b").is_err());
    }

    #[test]
    fn base_paths_are_prepended() {
        let instance = Instance::parse("http://host:9/api/").unwrap();
        let uri = instance
            .uri_for(&PathAndQuery::from_static("/orders?page=2"))
            .unwrap();
        assert_eq!(uri.to_string(), "http://host:9/api/orders?page=2");
    }

    #[test]
    fn configuration_wins_over_defaults() {
        let mut upstreams = Upstreams::new();
        upstreams
            .insert_default("auth", "http://127.0.0.1:1")
            .unwrap();
        upstreams.add("auth=http://127.0.0.1:2".parse().unwrap());
        upstreams
            .insert_default("auth", "http://127.0.0.1:3")
            .unwrap();
        upstreams
            .insert_default("users", "http://127.0.0.1:4")
            .unwrap();
        assert_eq!(upstreams.instances("auth")[0].url(), "http://127.0.0.1:2");
        assert_eq!(upstreams.instances("auth").len(), 1);
        assert_eq!(upstreams.instances("users").len(), 1);
        assert!(upstreams.instances("orders").is_empty());
        assert!(upstreams.insert_default("nope", "http://x:1").is_err());
    }

    fn two_instances() -> [Instance; 2] {
        [
            Instance::parse("http://a:1").unwrap(),
            Instance::parse("http://b:1").unwrap(),
        ]
    }

    fn first_choice(balancer: &Balancer) -> String {
        let member = balancer
            .turn()
            .find(|member| {
                let permit = member.breaker.try_acquire();
                let acquired = permit.is_ok();
                if let Ok(permit) = permit {
                    permit.success();
                } else {
                    balancer.skipped();
                }
                acquired
            })
            .unwrap();
        member.instance.url().to_owned()
    }

    #[test]
    fn balancer_takes_turns() {
        let balancer = Balancer::new("hits", &two_instances(), &BreakerConfig::default()).unwrap();
        let picks: Vec<_> = (0..4).map(|_| first_choice(&balancer)).collect();
        assert_eq!(
            picks,
            ["http://a:1", "http://b:1", "http://a:1", "http://b:1"]
        );
        let names: Vec<_> = balancer
            .members()
            .iter()
            .map(|member| member.breaker.name().to_owned())
            .collect();
        assert_eq!(names, ["hits@http://a:1", "hits@http://b:1"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_instance_is_passed_over_and_retry_after_rounds_up() {
        let config = BreakerConfig {
            consecutive_failures: 1,
            open_for: Duration::from_millis(2500),
            ..BreakerConfig::default()
        };
        let balancer = Balancer::new("hits", &two_instances(), &config).unwrap();
        balancer.members()[0]
            .breaker
            .try_acquire()
            .unwrap()
            .failure();
        let picks: Vec<_> = (0..3).map(|_| first_choice(&balancer)).collect();
        assert_eq!(picks, ["http://b:1", "http://b:1", "http://b:1"]);

        balancer.members()[1]
            .breaker
            .try_acquire()
            .unwrap()
            .failure();
        assert_eq!(balancer.retry_after_secs(), 3);
        tokio::time::advance(Duration::from_millis(2000)).await;
        assert_eq!(balancer.retry_after_secs(), 1);
        tokio::time::advance(Duration::from_millis(600)).await;
        // Half-open: a probe may go now; still "retry in a second" for whoever is refused.
        assert_eq!(balancer.retry_after_secs(), 1);
        assert_eq!(first_choice(&balancer), "http://a:1");
    }
}
