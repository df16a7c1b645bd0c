//! Starting hits over each counter backend, and typed shortcuts for its endpoints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hits::{Config, Env, RedisUrl};
use platform::Wiring;
use reqwest::{Response, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;
use tempfile::TempDir;

/// A running hits service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub config: Config,
    pub env: Env,
    pub wiring: Wiring,
    dir: Arc<TempDir>,
    /// Dropped after the service: the PostgreSQL database or Redis key it counts in.
    _store: Option<Arc<dyn Send + Sync>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.wiring.shutdown.cancel();
    }
}

/// A visit's answer, as the API sends it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    pub hits: u64,
    pub message: String,
}

/// Hits counting in a fresh SQLite file (the embedded default).
pub async fn sqlite() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Hits counting in a fresh PostgreSQL database, or `None` (skip) when no server is configured.
pub async fn postgres(test: &str) -> Option<TestApp> {
    let database = test_support::PostgresDb::create(test).await?;
    let url = database.url.clone();
    let mut app = spawn_app_with(|config| config.database_url = Some(url)).await;
    app._store = Some(Arc::new(database));
    Some(app)
}

/// Hits counting in the test Redis under a key of its own (deleted when the app is dropped), or
/// `None` (skip) when `MICROSHOP_TEST_REDIS_URL` is not set.
pub async fn redis(test: &str) -> Option<TestApp> {
    let url = test_support::redis_url(test)?;
    let key = RedisKey::new(&url);
    Some(spawn_on_redis(&url, key).await)
}

/// Hits counting in the Redis at `url` (which may be down), under `key`.
pub async fn spawn_on_redis(url: &str, key: RedisKey) -> TestApp {
    let redis_url = RedisUrl::parse(url).expect("a valid Redis URL");
    let name = key.key.clone();
    let mut app = spawn_app_with(|config| {
        config.redis_url = Some(redis_url);
        config.redis_key = name;
    })
    .await;
    app._store = Some(Arc::new(key));
    app
}

/// Hits with a configuration adjusted by `configure`, over a fresh data folder.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
    let mut config = Config::default();
    configure(&mut config);
    start(config, dir).await
}

async fn start(config: Config, dir: Arc<TempDir>) -> TestApp {
    let env = Env {
        data_dir: dir.path().to_path_buf(),
        embedded: true,
    };
    let (wiring, _bus) = test_support::wiring(&test_support::TestKeys::new());
    let router = hits::app(&config, &env, &wiring)
        .await
        .expect("hits starts");
    let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
    let running =
        platform::server::spawn("hits", listener, router, wiring.shutdown.clone()).unwrap();
    TestApp {
        address: format!("http://{}", running.addr),
        client: platform::client::http_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        config,
        env,
        wiring,
        dir,
        _store: None,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The same service started again over the same data (a restart).
    pub async fn restarted(self) -> TestApp {
        let config = self.config.clone();
        let dir = self.dir.clone();
        let store = self._store.clone();
        drop(self);
        let mut app = start(config, dir).await;
        app._store = store;
        app
    }

    pub fn database_path(&self) -> PathBuf {
        self.env.data_dir.join("hits.db")
    }

    /// `GET /hits`, whatever the answer.
    pub async fn get_hits(&self) -> Response {
        self.client.get(self.url("/hits")).send().await.unwrap()
    }

    /// A visit that must be counted.
    pub async fn visit(&self) -> Visit {
        let response = self.get_hits().await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET /hits answered {body}");
        serde_json::from_str(&body).unwrap_or_else(|error| panic!("{error}: {body}"))
    }

    /// `GET /health/ready`: the status and the body.
    pub async fn readiness(&self) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url("/health/ready"))
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

/// Checks a problem answer's status and `code`, and returns its body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    body
}

/// A Redis key for one test, deleted when dropped so tests sharing a server leave nothing.
pub struct RedisKey {
    url: String,
    pub key: String,
}

impl RedisKey {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            key: format!("microshop-test:hits:{}", uuid::Uuid::now_v7().simple()),
        }
    }

    /// A direct connection to the test Redis, for setting up what the API cannot.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url.as_str())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("the test Redis is reachable")
    }
}

impl Drop for RedisKey {
    fn drop(&mut self) {
        // A closed-port URL has nothing to clean up; never fail a test over cleanup.
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        if let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_secs(1)) {
            let _: Result<i64, _> = redis::cmd("DEL").arg(&self.key).query(&mut connection);
        }
    }
}

/// A URL no server listens on: a port that was free a moment ago.
pub fn closed_port_url() -> String {
    // A socket bound but never listening holds the port for the whole test run, so connections
    // are refused: a port merely released could be handed to another test's server meanwhile.
    static RESERVED: std::sync::OnceLock<(tokio::net::TcpSocket, u16)> = std::sync::OnceLock::new();
    let (_, port) = RESERVED.get_or_init(|| {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("a port to hold");
        let port = socket.local_addr().expect("its address").port();
        (socket, port)
    });
    format!("redis://127.0.0.1:{port}")
}
