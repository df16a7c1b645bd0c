//! The `microshop` binary's library half: settings and the two ways of running services.
//!
//! Embedded mode ([`Stack::start`]) binds every service first (ports may be 0), then builds each
//! one knowing where the others really listen, so the gateway's route table and every service's
//! token verifier point at live addresses. Distributed mode ([`serve_one`]) runs one service and
//! takes the others' URLs from settings. Both stop the same way: stop accepting, drain in-flight
//! requests for at most 10 s.

pub mod settings;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use platform::server::{self, Running};
use platform::{ServiceEnv, Verifier};
use tokio_util::sync::CancellationToken;

use crate::settings::{Service, Settings};

/// Every service of the embedded stack, in start order: auth first, since the others fetch its
/// keys; the gateway last, since it routes to all of them.
pub const EMBEDDED_SERVICES: &[Service] = &[Service::Auth, Service::Gateway];

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
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}",
                settings.data_dir.display()
            )
        })?;
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
        };
        let auth_url = url_of(Service::Auth).unwrap_or_else(|| settings.auth_url.clone());
        let shutdown = CancellationToken::new();
        let mut servers = Vec::new();
        for (service, listener) in listeners {
            let app = match service {
                Service::Auth => auth::app(&settings.auth, &env).await?,
                Service::Gateway => {
                    let mut upstreams = gateway::Upstreams::from_config(&settings.gateway);
                    for &other in EMBEDDED_SERVICES {
                        if other != Service::Gateway
                            && let Some(url) = url_of(other)
                        {
                            upstreams.insert_default(other.name(), &url)?;
                        }
                    }
                    let verifier =
                        Arc::new(Verifier::remote(settings.gateway.issuer.clone(), &auth_url));
                    gateway::app(&settings.gateway, upstreams, verifier)?
                }
            };
            servers.push(server::spawn(
                service.name(),
                listener,
                app,
                shutdown.clone(),
            )?);
        }
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

    /// The gateway's base URL.
    pub fn gateway_url(&self) -> String {
        self.addr(Service::Gateway)
            .map(|addr| format!("http://{addr}"))
            .unwrap_or_default()
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
    let listener = server::bind(&settings.host, settings.ports.of(service)).await?;
    let app = match service {
        Service::Auth => {
            std::fs::create_dir_all(&settings.data_dir).ok();
            auth::app(&settings.auth, &env).await?
        }
        Service::Gateway => {
            let upstreams = gateway::Upstreams::from_config(&settings.gateway);
            let verifier = Arc::new(Verifier::remote(
                settings.gateway.issuer.clone(),
                &settings.auth_url,
            ));
            gateway::app(&settings.gateway, upstreams, verifier)?
        }
    };
    Ok(server::spawn(service.name(), listener, app, shutdown)?)
}

/// `microshop auth rotate-key`.
pub async fn rotate_key(settings: &Settings) -> anyhow::Result<String> {
    std::fs::create_dir_all(&settings.data_dir).ok();
    let env = ServiceEnv {
        data_dir: settings.data_dir.clone(),
        embedded: true,
    };
    auth::rotate_key(&settings.auth, &env).await
}
