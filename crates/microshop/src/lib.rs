//! The `microshop` binary's library half: settings and the two ways of running services.
//!
//! Embedded mode ([`Stack::start`]) binds every service first (ports may be 0), then builds each
//! one knowing where the others really listen, so the gateway's route table, every service's
//! clients and every token verifier point at live addresses. Distributed mode ([`serve_one`])
//! runs one service and takes the others' URLs from settings. Both stop the same way: stop
//! accepting, drain in-flight requests for at most 10 s, end background tasks.

pub mod health_check;
pub mod settings;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use platform::auth::{HttpRevocationSource, InternalToken};
use platform::events::Bus;
use platform::events::memory::MemoryBus;
use platform::server::{self, Running};
use platform::{ServiceEnv, ServiceUrls, Verifier, Wiring};
use tokio_util::sync::CancellationToken;

use crate::settings::{Service, Settings};

/// Every service of the embedded stack, in start order: auth first, since the others fetch its
/// keys; the gateway last, since it routes to all of them.
pub const EMBEDDED_SERVICES: &[Service] = &[
    Service::Auth,
    Service::Users,
    Service::Products,
    Service::Payments,
    Service::Orders,
    Service::Notifier,
    Service::Cars,
    Service::Agenda,
    Service::Hits,
    Service::Gateway,
];

/// A running set of services.
#[derive(Debug)]
pub struct Stack {
    /// Where each service really listens.
    pub addrs: Vec<(Service, SocketAddr)>,
    shutdown: CancellationToken,
    servers: Vec<Running>,
}

impl Stack {
    /// Starts every service in this process (`microshop up`).
    pub async fn start(settings: &Settings) -> anyhow::Result<Self> {
        platform::files::private_dir(&settings.data_dir)?;
        let env = ServiceEnv {
            data_dir: settings.data_dir.clone(),
            embedded: true,
        };
        let mut listeners = Vec::new();
        for &service in EMBEDDED_SERVICES {
            let listener = server::bind(&settings.host, settings.ports.of(service)).await?;
            listeners.push((service, listener));
        }
        let addrs: Vec<(Service, SocketAddr)> = listeners
            .iter()
            .map(|(service, listener)| Ok((*service, listener.local_addr()?)))
            .collect::<std::io::Result<_>>()?;
        let url_of = |wanted: Service| {
            addrs
                .iter()
                .find(|(service, _)| *service == wanted)
                .map(|(_, addr)| format!("http://{addr}"))
                .unwrap_or_default()
        };
        let urls = ServiceUrls {
            auth: url_of(Service::Auth),
            users: url_of(Service::Users),
            orders: url_of(Service::Orders),
            products: url_of(Service::Products),
            payments: url_of(Service::Payments),
            notifier: url_of(Service::Notifier),
        };
        let bus = event_bus(settings, "microshop")?;
        let shutdown = CancellationToken::new();
        let internal_token = InternalToken::random();
        // One verifier for the process: the gateway's and every service's, all refusing the
        // tokens of the accounts auth lists as disabled.
        let verifier = Verifier::remote(settings.auth.issuer.clone(), &urls.auth).with_revocations(
            HttpRevocationSource::new(&urls.auth, internal_token.clone()),
        );
        let wiring = Wiring {
            bus,
            verifier: Arc::new(verifier),
            urls,
            internal_token,
            shutdown: shutdown.clone(),
        };
        let options = settings
            .http
            .server_options(Some(&wiring.internal_token), wiring.verifier.clone());
        let mut servers = Vec::new();
        for (service, listener) in listeners {
            let app = if service == Service::Gateway {
                let mut upstreams = gateway::Upstreams::from_config(&settings.gateway);
                for &other in EMBEDDED_SERVICES {
                    if other != Service::Gateway {
                        upstreams.insert_default(other.name(), &url_of(other))?;
                    }
                }
                gateway::app_with_docs(
                    &settings.gateway,
                    upstreams,
                    wiring.verifier.clone(),
                    api_docs(),
                    Some(wiring.internal_token.forwarding_proof()),
                )?
            } else {
                build(service, settings, &env, &wiring).await?
            };
            servers.push(server::spawn_with(
                service.name(),
                listener,
                app,
                shutdown.clone(),
                options.clone(),
            )?);
        }
        // Auth serves now: the first poll finds it.
        wiring
            .verifier
            .spawn_revocation_poll(settings.auth.token_revocation_poll(), shutdown.clone());
        Ok(Self {
            addrs,
            shutdown,
            servers,
        })
    }

    /// Where a service listens.
    pub fn addr(&self, service: Service) -> Option<SocketAddr> {
        self.addrs
            .iter()
            .find(|(candidate, _)| *candidate == service)
            .map(|(_, addr)| *addr)
    }

    /// A service's base URL.
    pub fn url(&self, service: Service) -> String {
        self.addr(service)
            .map(|addr| format!("http://{addr}"))
            .unwrap_or_default()
    }

    /// The gateway's base URL.
    pub fn gateway_url(&self) -> String {
        self.url(Service::Gateway)
    }

    /// A token that fires when the stack is stopped.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting and drains in-flight requests; `false` if the drain had to be cut short.
    pub async fn stop(self) -> bool {
        self.shutdown.cancel();
        server::drain(self.servers).await
    }
}

/// Builds one service's router (not the gateway's).
async fn build(
    service: Service,
    settings: &Settings,
    env: &ServiceEnv,
    wiring: &Wiring,
) -> anyhow::Result<Router> {
    match service {
        Service::Auth => auth::app(&settings.auth, env, wiring).await,
        Service::Users => users::app(&settings.users, env, wiring).await,
        Service::Orders => orders::app(&settings.orders, env, wiring).await,
        Service::Products => products::app(&settings.products, env, wiring).await,
        Service::Payments => payments::app(&settings.payments, env, wiring).await,
        Service::Notifier => notifier::app(&settings.notifier, env, wiring).await,
        Service::Cars => cars::app(&settings.cars, env, wiring).await,
        Service::Agenda => agenda::app(&settings.agenda, env, wiring).await,
        Service::Hits => hits::app(&settings.hits, env, wiring).await,
        Service::Gateway => unreachable!("the gateway is built from its upstreams"),
    }
    .with_context(|| format!("the {} service cannot start", service.name()))
}

/// The event bus: Kafka when `--kafka-brokers` is set, else the in-process bus (in `serve`
/// mode a lone service then keeps its events to itself, which the log says).
fn event_bus(settings: &Settings, client_id: &str) -> anyhow::Result<Arc<dyn Bus>> {
    if settings
        .kafka
        .brokers
        .as_deref()
        .is_some_and(|b| !b.trim().is_empty())
    {
        kafka_bus(settings, client_id)
    } else {
        if client_id != "microshop" {
            tracing::warn!("no --kafka-brokers: this service's events stay in its own process");
        }
        Ok(Arc::new(MemoryBus::new()))
    }
}

#[cfg(feature = "kafka")]
fn kafka_bus(settings: &Settings, client_id: &str) -> anyhow::Result<Arc<dyn Bus>> {
    let bus = platform::events::kafka::KafkaBus::new(&settings.kafka, client_id)?;
    tracing::info!(brokers = ?settings.kafka.brokers, namespace = %settings.kafka.namespace, "events go through Kafka");
    Ok(Arc::new(bus))
}

/// Unreachable from the binary, whose settings refuse `--kafka-brokers` without the feature;
/// a caller building [`Settings`] by hand gets the same answer.
#[cfg(not(feature = "kafka"))]
fn kafka_bus(_: &Settings, _: &str) -> anyhow::Result<Arc<dyn Bus>> {
    Err(
        MissingSetting("--kafka-brokers needs a binary built with `--features kafka`".to_owned())
            .into(),
    )
}

/// A setting that `serve` mode needs and was not given: the binary exits 64.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MissingSetting(pub String);

/// Runs one service alone (`microshop serve <service>`), until `shutdown` fires.
pub async fn serve_one(
    service: Service,
    settings: &Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let env = ServiceEnv {
        data_dir: settings.data_dir.clone(),
        embedded: false,
    };
    let configured_token = settings
        .internal_token
        .as_ref()
        .filter(|token| !token.is_empty())
        .map(|token| InternalToken::new(token.clone()));
    let internal_token = match (&configured_token, service) {
        (Some(token), _) => token.clone(),
        // These services neither make nor accept internal calls.
        (_, Service::Gateway | Service::Auth | Service::Cars | Service::Agenda | Service::Hits) => {
            InternalToken::random()
        }
        _ => {
            return Err(MissingSetting(format!(
                "error: `serve {}` needs MICROSHOP_INTERNAL_TOKEN (the same secret for every \
                 service of the deployment)",
                service.name()
            ))
            .into());
        }
    };
    let urls = settings.neighbours();
    tracing::info!(auth = %urls.auth, "auth's keys (JWKS) are fetched from here");
    let mut verifier = Verifier::remote(settings.auth.issuer.clone(), &urls.auth);
    // Auth verifies with its own verifier, over its own list of disabled accounts.
    if service == Service::Auth {
        if configured_token.is_none() {
            tracing::warn!(
                "no MICROSHOP_INTERNAL_TOKEN: the other services cannot ask this auth for \
                 disabled accounts, so they accept the tokens of deleted users until they expire"
            );
        }
    } else {
        match &configured_token {
            Some(token) => {
                verifier =
                    verifier.with_revocations(HttpRevocationSource::new(&urls.auth, token.clone()));
            }
            None => tracing::warn!(
                "no MICROSHOP_INTERNAL_TOKEN: this {} cannot ask auth for disabled accounts, so it \
                 accepts the tokens of deleted users until they expire",
                service.name()
            ),
        }
    }
    let wiring = Wiring {
        bus: event_bus(settings, service.name())?,
        verifier: Arc::new(verifier),
        urls,
        internal_token,
        shutdown: shutdown.clone(),
    };
    let listener = server::bind(&settings.host, settings.ports.of(service)).await?;
    // Best effort: a service on PostgreSQL may run with a read-only data folder.
    platform::files::private_dir(&settings.data_dir).ok();
    let app = if service == Service::Gateway {
        let upstreams = gateway::Upstreams::from_config(&settings.gateway);
        if configured_token.is_none() {
            tracing::warn!(
                "no MICROSHOP_INTERNAL_TOKEN: the services will not believe the client addresses \
                 this gateway forwards (give it the deployment's token, or list it in their \
                 --trusted-proxies)"
            );
        }
        gateway::app_with_docs(
            &settings.gateway,
            upstreams,
            wiring.verifier.clone(),
            api_docs(),
            configured_token
                .as_ref()
                .map(InternalToken::forwarding_proof),
        )?
    } else {
        build(service, settings, &env, &wiring).await?
    };
    let options = settings
        .http
        .server_options(configured_token.as_ref(), wiring.verifier.clone());
    wiring
        .verifier
        .spawn_revocation_poll(settings.auth.token_revocation_poll(), shutdown.clone());
    Ok(server::spawn_with(
        service.name(),
        listener,
        app,
        shutdown,
        options,
    )?)
}

/// The API reference the gateway serves at `/docs`: every service's own document (each
/// generated from its code), merged by the gateway into its public part.
pub fn api_docs() -> gateway::ApiDocs {
    gateway::ApiDocs::merge([
        auth::openapi::openapi(),
        users::openapi::openapi(),
        products::openapi::openapi(),
        orders::openapi::openapi(),
        payments::openapi::openapi(),
        notifier::openapi::openapi(),
        cars::openapi::openapi(),
        agenda::openapi::openapi(),
        hits::openapi::openapi(),
    ])
}

/// `microshop auth rotate-key`.
pub async fn rotate_key(settings: &Settings) -> anyhow::Result<String> {
    // Best effort: a service on PostgreSQL may run with a read-only data folder.
    platform::files::private_dir(&settings.data_dir).ok();
    let env = ServiceEnv {
        data_dir: settings.data_dir.clone(),
        embedded: true,
    };
    auth::rotate_key(&settings.auth, &env).await
}
