//! Starting auth for a test, and typed shortcuts for its endpoints.

use std::io::Write;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use auth::{Config, Env};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use platform::Wiring;
use platform::events::memory::MemoryBus;
use platform::events::{Bus, Event, Handled, USER_EVENTS, consumer};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use test_support::TestDatabase;
use tokio_util::sync::CancellationToken;

/// A running auth service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub config: Config,
    pub env: Env,
    /// What the binary would give auth; `wiring.shutdown` stops this process's tasks.
    pub wiring: Wiring,
    /// The in-process bus auth publishes on (shared by siblings).
    pub bus: MemoryBus,
    /// Every event seen on `user-events` (shared by siblings).
    observed: Arc<Mutex<Vec<Event>>>,
    /// The database (shared by siblings), dropped after the service stops.
    database: Arc<TestDatabase>,
    dir: Arc<TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.wiring.shutdown.cancel();
    }
}

/// The consumer group the tests observe `user-events` with.
const OBSERVER: &str = "test-observer";

/// A user that registered and logged in.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub username: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub const PASSWORD: &str = "correct horse battery";

/// Auth with the default configuration, embedded mode, over a fresh database (SQLite, or
/// PostgreSQL when `MICROSHOP_TEST_DATABASE=postgres`).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Auth with a configuration adjusted by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    try_spawn(true, configure).await.expect("auth starts")
}

/// Auth as `microshop serve auth` runs it (distributed mode), or why it refused to start.
pub async fn try_spawn_distributed(configure: impl FnOnce(&mut Config)) -> anyhow::Result<TestApp> {
    try_spawn(false, configure).await
}

async fn try_spawn(embedded: bool, configure: impl FnOnce(&mut Config)) -> anyhow::Result<TestApp> {
    let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
    let database = Arc::new(TestDatabase::create("auth", dir.path()).await);
    let mut config = Config {
        database_url: database.config_url(),
        ..Config::default()
    };
    configure(&mut config);
    let env = Env {
        data_dir: dir.path().to_path_buf(),
        embedded,
    };
    let (wiring, bus) = test_support::wiring(&test_support::TestKeys::new());
    let observed = Arc::new(Mutex::new(Vec::new()));
    let seen = observed.clone();
    let observer = consumer::handler(move |event: Event| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(event);
            Handled::Done
        }
    });
    // Lives as long as the bus: siblings share both.
    bus.consume(USER_EVENTS, OBSERVER, observer, CancellationToken::new());
    start(config, env, database, dir, wiring, bus, observed).await
}

async fn start(
    config: Config,
    env: Env,
    database: Arc<TestDatabase>,
    dir: Arc<TempDir>,
    wiring: Wiring,
    bus: MemoryBus,
    observed: Arc<Mutex<Vec<Event>>>,
) -> anyhow::Result<TestApp> {
    let router = auth::app(&config, &env, &wiring).await?;
    let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
    // As the binary runs it: `X-Forwarded-For` believed only from the deployment's gateway.
    let options = platform::server::ServerOptions {
        trust: Arc::new(platform::http::ProxyTrust::new(
            Vec::new(),
            Some(&wiring.internal_token),
        )),
        ..Default::default()
    };
    let running =
        platform::server::spawn_with("auth", listener, router, wiring.shutdown.clone(), options)
            .unwrap();
    Ok(TestApp {
        address: format!("http://{}", running.addr),
        client: platform::client::http_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        config,
        env,
        wiring,
        bus,
        observed,
        database,
        dir,
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A second auth process over the same database.
    pub async fn spawn_sibling(&self) -> TestApp {
        self.spawn_sibling_with(|_| {}, self.env.embedded)
            .await
            .expect("auth starts")
    }

    /// Another auth process over the same data, configured differently.
    pub async fn spawn_sibling_with(
        &self,
        configure: impl FnOnce(&mut Config),
        embedded: bool,
    ) -> anyhow::Result<TestApp> {
        let mut config = self.config.clone();
        configure(&mut config);
        let env = Env {
            embedded,
            ..self.env.clone()
        };
        let wiring = Wiring {
            shutdown: CancellationToken::new(),
            ..self.wiring.clone()
        };
        start(
            config,
            env,
            self.database.clone(),
            self.dir.clone(),
            wiring,
            self.bus.clone(),
            self.observed.clone(),
        )
        .await
    }

    /// Every event published on `user-events` so far, once the outbox is drained and the
    /// observer has caught up (so "exactly one" assertions are not racing the relay).
    pub async fn published_user_events(&self) -> Vec<Event> {
        let db = self.db().await;
        for _ in 0..500 {
            let (pending,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
                    .fetch_one(&db)
                    .await
                    .unwrap();
            if pending == 0 && self.bus.retained(USER_EVENTS) == 0 {
                db.close().await;
                return self.observed.lock().unwrap().clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the outbox was not published in time");
    }

    /// The `user.registered` events published for `user_id`.
    pub async fn registrations_of(&self, user_id: &str) -> Vec<Event> {
        self.published_user_events()
            .await
            .into_iter()
            .filter(|event| event.kind == "user.registered" && event.subject == user_id)
            .collect()
    }

    /// A direct connection to the service's database, for checks the API cannot show.
    pub async fn db(&self) -> sqlx::AnyPool {
        self.database.connect().await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/auth/register",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Registers as if from `ip`, forwarded by the gateway (see [`TestApp::login_from`]).
    pub async fn register_from(&self, username: &str, ip: &str) -> Response {
        self.client
            .post(self.url("/auth/register"))
            .header("x-forwarded-for", ip)
            .header(
                &platform::http::FORWARDED_BY_GATEWAY,
                self.wiring.internal_token.forwarding_proof(),
            )
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.login_from(username, password, "127.0.0.1").await
    }

    /// Logs in as if from `ip`, forwarded as the gateway forwards: `X-Forwarded-For` with the
    /// deployment's forwarding proof, without which auth does not believe the header.
    pub async fn login_from(&self, username: &str, password: &str, ip: &str) -> Response {
        self.client
            .post(self.url("/auth/login"))
            .header("x-forwarded-for", ip)
            .header(
                &platform::http::FORWARDED_BY_GATEWAY,
                self.wiring.internal_token.forwarding_proof(),
            )
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Logs in with an `X-Forwarded-For` of the caller's choosing and no proof: what an
    /// attacker calling auth directly can send.
    pub async fn login_claiming(&self, username: &str, password: &str, ip: &str) -> Response {
        self.client
            .post(self.url("/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json("/auth/refresh", &json!({"refresh_token": refresh_token}))
            .await
    }

    pub async fn logout(&self, access_token: &str, refresh_token: &str) -> Response {
        self.client
            .post(self.url("/auth/logout"))
            .bearer_auth(access_token)
            .json(&json!({"refresh_token": refresh_token}))
            .send()
            .await
            .unwrap()
    }

    pub async fn me(&self, access_token: &str) -> Response {
        self.client
            .get(self.url("/auth/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    pub async fn jwks(&self) -> Value {
        let response = self
            .client
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Registers `username` with [`PASSWORD`] and logs in.
    pub async fn signed_in(&self, username: &str) -> Session {
        let registered = self.register(username, PASSWORD).await;
        assert_eq!(registered.status(), StatusCode::CREATED);
        let id = registered.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let tokens = self.logged_in(username, PASSWORD).await;
        Session {
            id,
            username: username.to_owned(),
            access_token: tokens.0,
            refresh_token: tokens.1,
        }
    }

    /// Logs in, expecting success; `(access_token, refresh_token)`.
    pub async fn logged_in(&self, username: &str, password: &str) -> (String, String) {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        tokens_of(response).await
    }

    /// The password of the generated admin account.
    pub fn admin_password(&self) -> String {
        std::fs::read_to_string(self.env.data_dir.join("admin-password"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Signs `claims` with the service's current private key, under `header` (merged over
    /// `{"alg":"EdDSA","typ":"at+jwt","kid":<current>}`): tokens the service itself could not
    /// have issued, such as expired ones.
    pub async fn forge(&self, header: Value, claims: Value) -> String {
        let db = self.db().await;
        let (kid, private_key): (String, String) = sqlx::query_as(
            "SELECT kid, private_key FROM signing_keys WHERE superseded_at IS NULL \
             ORDER BY created_at DESC LIMIT 1",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        let mut full_header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid});
        merge(&mut full_header, header);
        let der = STANDARD.decode(private_key).unwrap();
        sign_ed25519(&full_header, &claims, &der)
    }
}

/// Signs a JWT by hand, so tests can write headers jsonwebtoken would refuse to produce.
pub fn sign_ed25519(header: &Value, claims: &Value, pkcs8: &[u8]) -> String {
    use ring::signature::Ed25519KeyPair;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8).unwrap();
    let signature = pair.sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
}

fn merge(target: &mut Value, patch: Value) {
    if let (Some(target), Value::Object(patch)) = (target.as_object_mut(), patch) {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(&key);
            } else {
                target.insert(key, value);
            }
        }
    }
}

/// Valid claims for `session`'s user, from now on, overridden by `patch` (`null` removes).
pub fn claims_for(session: &Session, patch: Value) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = json!({
        "iss": platform::auth::DEFAULT_ISSUER,
        "sub": session.id,
        "name": session.username,
        "role": "customer",
        "iat": now,
        "exp": now + 600,
        "jti": uuid::Uuid::now_v7(),
    });
    merge(&mut claims, patch);
    claims
}

/// The `(access_token, refresh_token)` of a token response.
pub async fn tokens_of(response: Response) -> (String, String) {
    let body: Value = response.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Asserts a problem answer with `status` and `code`; returns the body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "unexpected problem: {body}");
    assert_eq!(body["status"], status.as_u16());
    body
}

/// Decodes a JWT's header and claims without checking anything.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let header = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    let claims = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    (
        serde_json::from_slice(&header).unwrap(),
        serde_json::from_slice(&claims).unwrap(),
    )
}

/// Log lines written while a guard from [`CapturedLogs::install`] lives on this thread.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Routes this thread's logs (and so a current-thread runtime's tasks') into the capture.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
