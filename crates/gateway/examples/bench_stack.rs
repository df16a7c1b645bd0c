//! A minimal stack for measuring the proxy's own cost: a trivial upstream and a gateway in front
//! of it, in separate processes, with a throwaway signing key so a load generator can send a
//! valid token.
//!
//! ```text
//! cargo run --release -p gateway --example bench_stack -- upstream 9101
//! cargo run --release -p gateway --example bench_stack -- gateway 9100 http://127.0.0.1:9101 token.txt
//! wrk -t2 -c50 -d10s -H "Authorization: Bearer $(cat token.txt)" http://127.0.0.1:9100/orders/ping
//! ```
//!
//! The upstream answers every path with a small JSON body behind the same common layers every
//! service has, so "direct", "through the gateway" and "through nginx" differ only by the proxy.
//!
//! `BENCH_WORKERS=N` sets the tokio worker threads (`0`: a current-thread runtime) and
//! `BENCH_NO_LOG=1` skips the log subscriber, to see what each costs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::routing::any;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{ACCESS_TOKEN_TYPE, Claims, DEFAULT_ISSUER, Jwk, JwkSet, KeySource};
use platform::http::{Readiness, service_app};
use platform::{Role, Verifier};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use tokio_util::sync::CancellationToken;

struct StaticKeys(JwkSet);

impl KeySource for StaticKeys {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<JwkSet>> + Send + '_>> {
        let set = self.0.clone();
        Box::pin(async move { Ok(set) })
    }
}

fn main() -> anyhow::Result<()> {
    let runtime = match std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        Some(0) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Some(workers) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?,
        None => tokio::runtime::Runtime::new()?,
    };
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    // Logging as the binary sets it up, so its per-request cost is part of the measurement.
    if std::env::var_os("BENCH_NO_LOG").is_none() {
        platform::telemetry::init(platform::telemetry::LogFormat::Human, "bench")?;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shutdown = CancellationToken::new();
    let running = match args.first().map(String::as_str) {
        Some("upstream") => {
            let port = args.get(1).map_or(Ok(9101), |port| port.parse())?;
            let routes = Router::new().route(
                "/{*path}",
                any(|| async { axum::Json(serde_json::json!({"hits": 1, "message": "ok"})) }),
            );
            let app = service_app("bench-upstream", routes, Readiness::new());
            let listener = platform::server::bind("127.0.0.1", port).await?;
            platform::server::spawn("bench-upstream", listener, app, shutdown.clone())?
        }
        Some("gateway") => {
            let port = args.get(1).map_or(Ok(9100), |port| port.parse())?;
            let upstream = args
                .get(2)
                .cloned()
                .unwrap_or_else(|| "http://127.0.0.1:9101".to_owned());
            let token_file = args.get(3).cloned().unwrap_or_else(|| "token.txt".into());

            let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("key generation failed"))?;
            let pair = Ed25519KeyPair::from_pkcs8(document.as_ref())
                .map_err(|_| anyhow::anyhow!("key parsing failed"))?;
            let jwks = JwkSet {
                keys: vec![Jwk::ed25519(
                    "bench",
                    URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                )],
            };
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let claims = Claims {
                iss: DEFAULT_ISSUER.to_owned(),
                sub: uuid::Uuid::now_v7(),
                name: "bench".into(),
                role: Role::Customer,
                iat: now,
                exp: now + 3600,
                jti: uuid::Uuid::now_v7(),
                aud: Some(platform::auth::AUDIENCE.to_owned()),
                client_id: Some(platform::auth::DEFAULT_CLIENT_ID.to_owned()),
            };
            let mut header = Header::new(Algorithm::EdDSA);
            header.typ = Some(ACCESS_TOKEN_TYPE.into());
            header.kid = Some("bench".into());
            let token = jsonwebtoken::encode(
                &header,
                &claims,
                &EncodingKey::from_ed_der(document.as_ref()),
            )?;
            std::fs::write(&token_file, &token)?;

            let mut upstreams = gateway::Upstreams::new();
            for service in gateway::SERVICES {
                upstreams.insert_default(service, &upstream)?;
            }
            let verifier = Arc::new(Verifier::new(DEFAULT_ISSUER, StaticKeys(jwks)));
            let app = gateway::app(&gateway::Config::default(), upstreams, verifier)?;
            let listener = platform::server::bind("127.0.0.1", port).await?;
            platform::server::spawn("gateway", listener, app, shutdown.clone())?
        }
        _ => anyhow::bail!(
            "usage: bench_stack upstream [PORT] | gateway [PORT] [UPSTREAM_URL] [TOKEN_FILE]"
        ),
    };
    eprintln!("{} listening on {}", running.name, running.addr);
    platform::server::shutdown_signal().await;
    shutdown.cancel();
    platform::server::drain(vec![running]).await;
    Ok(())
}
