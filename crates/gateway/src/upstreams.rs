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

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Uri, uri};

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

/// The instances of one service with a round-robin cursor.
#[derive(Debug)]
pub(crate) struct Balancer {
    instances: Box<[Instance]>,
    next: AtomicUsize,
}

impl Balancer {
    pub(crate) fn new(instances: &[Instance]) -> Option<Self> {
        (!instances.is_empty()).then(|| Self {
            instances: instances.into(),
            next: AtomicUsize::new(0),
        })
    }

    /// The next instance in turn. Relaxed is enough: only the spread matters, not an order
    /// between threads.
    pub(crate) fn pick(&self) -> &Instance {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        &self.instances[turn % self.instances.len()]
    }

    pub(crate) fn len(&self) -> usize {
        self.instances.len()
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

    #[test]
    fn balancer_takes_turns() {
        let instances = [
            Instance::parse("http://a:1").unwrap(),
            Instance::parse("http://b:1").unwrap(),
        ];
        let balancer = Balancer::new(&instances).unwrap();
        let picks: Vec<_> = (0..4).map(|_| balancer.pick().url().to_owned()).collect();
        assert_eq!(
            picks,
            ["http://a:1", "http://b:1", "http://a:1", "http://b:1"]
        );
    }
}
