//! What every gateway test starts: fake services, a signing key, and the real gateway in front.
//!
//! Nothing is mocked inside the gateway: it is served on a real port (0) exactly as the binary
//! serves it, in front of small axum servers that record what reached them.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use gateway::{Config, Upstreams};
use http::StatusCode;
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{ACCESS_TOKEN_TYPE, Claims, DEFAULT_ISSUER, Jwk, JwkSet, KeySource};
use platform::{Role, Verifier};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Size of the big streamed response.
pub const BIG_BODY_BYTES: usize = 5 * 1024 * 1024;

/// The byte at `index` of the big body: a pattern that catches reordered or dropped chunks.
pub fn big_body_byte(index: usize) -> u8 {
    (index.wrapping_mul(31) ^ (index >> 13)) as u8
}

/// An Ed25519 signing key, its public half as a JWKS, and token minting.
#[derive(Clone)]
pub struct TestKeys {
    pub kid: String,
    pkcs8: Vec<u8>,
    pub public_key: Vec<u8>,
}

impl TestKeys {
    pub fn generate(kid: &str) -> Self {
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(document.as_ref()).unwrap();
        Self {
            kid: kid.to_owned(),
            pkcs8: document.as_ref().to_vec(),
            public_key: pair.public_key().as_ref().to_vec(),
        }
    }

    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![Jwk::ed25519(
                &self.kid,
                URL_SAFE_NO_PAD.encode(&self.public_key),
            )],
        }
    }

    /// Claims of a valid customer token.
    pub fn claims(&self) -> Claims {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Claims {
            iss: DEFAULT_ISSUER.to_owned(),
            sub: Uuid::now_v7(),
            name: "alice".to_owned(),
            role: Role::Customer,
            iat: now,
            exp: now + 900,
            jti: Uuid::now_v7(),
            aud: Some(platform::auth::AUDIENCE.to_owned()),
            client_id: Some(platform::auth::DEFAULT_CLIENT_ID.to_owned()),
        }
    }

    pub fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(self.kid.clone());
        header
    }

    /// Signs `claims` under `header` with this key.
    pub fn sign(&self, header: &Header, claims: &Claims) -> String {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_ed_der(&self.pkcs8)).unwrap()
    }

    /// A valid access token.
    pub fn access_token(&self) -> String {
        self.sign(&self.header(), &self.claims())
    }

    /// A valid access token of an admin.
    pub fn admin_token(&self) -> String {
        let claims = Claims {
            role: Role::Admin,
            ..self.claims()
        };
        self.sign(&self.header(), &claims)
    }
}

/// Keys served straight from memory, as auth's JWKS endpoint would.
struct StaticKeys(JwkSet);

impl KeySource for StaticKeys {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<JwkSet>> + Send + '_>> {
        let set = self.0.clone();
        Box::pin(async move { Ok(set) })
    }
}

/// A fake service instance that answers everything and records what reached it.
///
/// By the last path segment: `big` streams 5 MiB, `slow` waits 3 s, `gated` sends one chunk and
/// waits for [`FakeUpstream::open_gate`], `upload-gated` reports its first request chunk then
/// reads the rest, `hop` answers with hop-by-hop headers, `unavailable` answers 503 the way orders
/// does when payments is down; anything else echoes the request as JSON. `/health/ready` answers
/// as [`FakeUpstream::set_ready`] says and is not counted.
///
/// A broken instance ([`FakeUpstream::set_broken`]) accepts connections and closes them at once,
/// without reading or answering: the transport failure a crashed or wedged process shows.
pub struct FakeUpstream {
    pub addr: SocketAddr,
    state: Arc<FakeState>,
}

struct FakeState {
    name: String,
    requests: AtomicUsize,
    probes: AtomicUsize,
    ready: AtomicBool,
    broken: AtomicBool,
    dropped_connections: AtomicUsize,
    gate: Notify,
    first_chunk_seen: Notify,
}

/// The fake's listener: hands connections to the server, or drops them while broken.
struct FlakyListener {
    inner: tokio::net::TcpListener,
    state: Arc<FakeState>,
}

impl axum::serve::Listener for FlakyListener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.inner.accept().await else {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            if !self.state.broken.load(Ordering::SeqCst) {
                return (stream, addr);
            }
            self.state
                .dropped_connections
                .fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl FakeUpstream {
    pub async fn start(name: &str) -> Self {
        Self::start_with(name, false).await
    }

    /// An instance that starts broken (see [`FakeUpstream::set_broken`]).
    pub async fn start_broken(name: &str) -> Self {
        Self::start_with(name, true).await
    }

    async fn start_with(name: &str, broken: bool) -> Self {
        let state = Arc::new(FakeState {
            name: name.to_owned(),
            requests: AtomicUsize::new(0),
            probes: AtomicUsize::new(0),
            ready: AtomicBool::new(true),
            broken: AtomicBool::new(broken),
            dropped_connections: AtomicUsize::new(0),
            gate: Notify::new(),
            first_chunk_seen: Notify::new(),
        });
        let app = Router::new()
            .route("/health/ready", axum::routing::get(fake_ready))
            .fallback(fake_handler)
            .with_state(state.clone());
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let listener = FlakyListener {
            inner,
            state: state.clone(),
        };
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, state }
    }

    /// While broken, every new connection is closed as soon as it is accepted.
    pub fn set_broken(&self, broken: bool) {
        self.state.broken.store(broken, Ordering::SeqCst);
    }

    /// Connections closed unanswered while broken: the attempts the gateway made.
    pub fn dropped_connections(&self) -> usize {
        self.state.dropped_connections.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests that reached this instance (readiness probes excluded).
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Readiness probes that reached this instance.
    pub fn probes(&self) -> usize {
        self.state.probes.load(Ordering::SeqCst)
    }

    pub fn set_ready(&self, ready: bool) {
        self.state.ready.store(ready, Ordering::SeqCst);
    }

    /// Lets a `gated` response send its second chunk.
    pub fn open_gate(&self) {
        self.state.gate.notify_one();
    }

    /// Resolves once an `upload-gated` request's first chunk has arrived here.
    pub async fn first_chunk_seen(&self) {
        self.state.first_chunk_seen.notified().await;
    }
}

async fn fake_ready(State(state): State<Arc<FakeState>>) -> StatusCode {
    state.probes.fetch_add(1, Ordering::SeqCst);
    if state.ready.load(Ordering::SeqCst) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn fake_handler(State(state): State<Arc<FakeState>>, request: Request) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let last_segment = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_owned();
    match last_segment.as_str() {
        "big" => {
            let chunks = (0..BIG_BODY_BYTES).step_by(64 * 1024).map(|start| {
                let end = (start + 64 * 1024).min(BIG_BODY_BYTES);
                Ok::<_, std::io::Error>(Bytes::from(
                    (start..end).map(big_body_byte).collect::<Vec<u8>>(),
                ))
            });
            Body::from_stream(futures::stream::iter(chunks)).into_response()
        }
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "finally".into_response()
        }
        "gated" => {
            let state = state.clone();
            let stream = async_stream_two_chunks(state);
            Body::from_stream(stream).into_response()
        }
        "upload-gated" => {
            let mut body = request.into_body();
            let mut total = 0;
            let mut first = true;
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else {
                    return StatusCode::BAD_REQUEST.into_response();
                };
                if let Some(data) = frame.data_ref() {
                    total += data.len();
                    if first && total > 0 {
                        first = false;
                        state.first_chunk_seen.notify_one();
                    }
                }
            }
            axum::Json(json!({"received": total})).into_response()
        }
        "unavailable" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                ("content-type", "application/problem+json"),
                ("retry-after", "5"),
            ],
            json!({
                "type": "about:blank",
                "title": "Service unavailable",
                "status": 503,
                "code": "payment_unavailable",
            })
            .to_string(),
        )
            .into_response(),
        "hop" => (
            [
                ("connection", "x-upstream-private"),
                ("x-upstream-private", "secret"),
                ("keep-alive", "timeout=5"),
                ("x-upstream-public", "yes"),
                ("x-user-id", "set-by-service"),
            ],
            "hop",
        )
            .into_response(),
        _ => echo(&state, request).await,
    }
}

/// The `gated` body: one chunk now, one after the gate opens.
fn async_stream_two_chunks(
    state: Arc<FakeState>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures::stream::unfold(0u8, move |step| {
        let state = state.clone();
        async move {
            match step {
                0 => Some((Ok(Bytes::from_static(b"first;")), 1)),
                1 => {
                    state.gate.notified().await;
                    Some((Ok(Bytes::from_static(b"second")), 2))
                }
                _ => None,
            }
        }
    })
}

async fn echo(state: &FakeState, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut headers = serde_json::Map::new();
    for name in parts.headers.keys() {
        let values: Vec<Value> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|value| Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        headers.insert(name.as_str().to_owned(), Value::Array(values));
    }
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let reply = json!({
        "instance": state.name,
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body_len": body.len(),
        "body": String::from_utf8_lossy(&body[..body.len().min(256)]),
    });
    ([("x-echo-instance", state.name.clone())], axum::Json(reply)).into_response()
}

/// What one echo saw.
pub struct Echo(pub Value);

impl Echo {
    pub fn header(&self, name: &str) -> Option<String> {
        let values = self.0["headers"][name].as_array()?;
        Some(
            values
                .iter()
                .map(|value| value.as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", "),
        )
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.0["headers"].get(name).is_some()
    }
}

/// A running gateway and a client for it.
pub struct TestGateway {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub keys: TestKeys,
    _shutdown: tokio_util::sync::DropGuard,
}

/// How a test wants its gateway.
pub struct GatewaySetup {
    pub config: Config,
    pub upstreams: Upstreams,
    /// The signing keys the gateway trusts; fresh ones unless a test shares them.
    pub keys: Option<TestKeys>,
    /// The peers whose `X-Forwarded-For` the gateway believes (`--trusted-proxies`).
    pub trusted_proxies: Vec<platform::http::Network>,
    /// Whose callers are operators (`--ops-networks`); loopback, the tests' own, by default.
    pub ops_networks: Vec<platform::http::Network>,
}

impl GatewaySetup {
    pub fn new() -> Self {
        Self {
            config: Config::default(),
            upstreams: Upstreams::new(),
            keys: None,
            trusted_proxies: Vec::new(),
            ops_networks: platform::ops::loopback(),
        }
    }

    /// Serves the tests as it serves the public: they are not operators unless they send an
    /// admin's token.
    pub fn public(mut self) -> Self {
        self.ops_networks = Vec::new();
        self
    }

    /// Believes `X-Forwarded-For` from the test's own loopback connections, as if the tests
    /// were a load balancer in front of the gateway: each test request can then come "from"
    /// the address its header names.
    pub fn behind_a_loopback_proxy(mut self) -> Self {
        self.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        self
    }

    /// Trusts `keys`, so several gateways accept the same tokens.
    pub fn keys(mut self, keys: &TestKeys) -> Self {
        self.keys = Some(keys.clone());
        self
    }

    /// `per_ip` and `per_user` requests per second (0 turns a limit off), with bursts of
    /// `burst_secs` seconds' worth.
    pub fn rate_limits(mut self, per_ip: u32, per_user: u32, burst_secs: u32) -> Self {
        self.config.rate_limit_per_ip = per_ip;
        self.config.rate_limit_per_user = per_user;
        self.config.rate_limit_burst_secs = burst_secs;
        self
    }

    /// Shares the rate limits through the Redis at `url`, under keys starting with `prefix`.
    pub fn redis(mut self, url: &str, prefix: &str) -> Self {
        self.config.redis_url = Some(url.parse().unwrap());
        self.config.redis_prefix = prefix.to_owned();
        // Generous: a loaded test machine must not turn a shared check into a local one.
        self.config.redis_timeout_ms = 1000;
        self
    }

    /// Every known service answered by the same instances.
    pub fn all_services(urls: &[String]) -> Self {
        let mut setup = Self::new();
        for service in gateway::SERVICES {
            setup = setup.service(service, urls);
        }
        setup
    }

    pub fn service(mut self, service: &str, urls: &[String]) -> Self {
        let spec = format!("{service}={}", urls.join(","));
        self.upstreams.add(spec.parse().unwrap());
        self
    }

    pub fn upstream_timeout(mut self, timeout: Duration) -> Self {
        self.config.upstream_timeout_ms = timeout.as_millis() as u64;
        self
    }

    /// Each instance's breaker opens after `failures` failures in a row and stays open for
    /// `open_secs`.
    pub fn breaker(mut self, failures: u32, open_secs: u64) -> Self {
        self.config.breaker_failures = failures;
        self.config.breaker_open_secs = open_secs;
        self
    }

    pub async fn start(self) -> TestGateway {
        let keys = self.keys.unwrap_or_else(|| TestKeys::generate("test-key"));
        let verifier = Arc::new(Verifier::new(DEFAULT_ISSUER, StaticKeys(keys.jwks())));
        let app = gateway::app(&self.config, self.upstreams, verifier.clone()).unwrap();
        let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
        let shutdown = CancellationToken::new();
        let options = platform::server::ServerOptions {
            trust: Arc::new(platform::http::ProxyTrust::new(self.trusted_proxies, None)),
            ops: Arc::new(platform::ops::OpsAccess::new(
                self.ops_networks,
                None,
                Some(verifier.clone()),
            )),
            ..Default::default()
        };
        let running =
            platform::server::spawn_with("gateway", listener, app, shutdown.clone(), options)
                .unwrap();
        let client = platform::client::http_builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        TestGateway {
            addr: running.addr,
            client,
            keys,
            _shutdown: shutdown.drop_guard(),
        }
    }
}

impl TestGateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// A request carrying a valid access token.
    pub fn authed(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(self.keys.access_token())
    }

    /// `GET /health`'s body.
    pub async fn health(&self) -> Value {
        self.get("/health")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `GET /metrics`' text.
    pub async fn metrics(&self) -> String {
        self.get("/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Sends and parses the upstream's echo, asserting the exchange succeeded.
    pub async fn echo(&self, request: reqwest::RequestBuilder) -> Echo {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        Echo(response.json().await.unwrap())
    }
}

/// Asserts an RFC 9457 answer with `status` and `code`, returning its body.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    body
}

/// An address where nothing listens: bound, then released.
pub async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
