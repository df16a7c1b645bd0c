//! A distributed deployment for one test: every service a `microshop serve` process of the real
//! binary, each service on a fresh PostgreSQL database, events through Kafka under a namespace
//! of the test's own, and handles to kill, stop and restart any process.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::PostgresDb;
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_microshop");

/// The environment variable naming the test Kafka brokers (CI starts tansu on 127.0.0.1:9092).
pub const KAFKA_ENV: &str = "MICROSHOP_TEST_KAFKA_BROKERS";

/// The test Kafka brokers, or `None` with the reason printed.
pub fn kafka_brokers(test: &str) -> Option<String> {
    match std::env::var(KAFKA_ENV) {
        Ok(brokers) if !brokers.is_empty() => Some(brokers),
        _ => {
            eprintln!("skipped {test}: set {KAFKA_ENV} (e.g. 127.0.0.1:9092) to run it");
            None
        }
    }
}

/// The services with a database.
const STORED: &[&str] = &[
    "auth", "users", "products", "payments", "orders", "notifier",
];

/// A port nobody listens on right now, for a process started next (or restarted later).
///
/// Chosen below the kernel's ephemeral range (32768–60999 on Linux): a port from `bind(0)` is
/// an ephemeral one, and between handing it out and the process binding it, any outgoing
/// connection on the machine (a Kafka client, a database pool) may take it as its local port;
/// the service then fails to start with "address already in use". Ports handed out in this
/// run are not handed out again.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for _ in 0..1000 {
        // The low bits of a v7 UUID are random.
        let port = 20_000 + (Uuid::now_v7().as_u128() % 12_000) as u16;
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free port below the ephemeral range");
}

/// One service process, restartable with the same settings.
pub struct Process {
    pub service: &'static str,
    pub port: u16,
    envs: Vec<(String, String)>,
    /// Behind a lock so a test can kill a process while load runs on the shared cluster.
    child: Mutex<Option<Child>>,
}

impl Process {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&self) {
        let child = Command::new(BINARY)
            .args([
                "serve",
                self.service,
                &format!("--{}-port", self.service),
                &self.port.to_string(),
            ])
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the microshop binary starts");
        *self.child() = Some(child);
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&self) {
        let child = self.child().take();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (what `kill <pid>`, `docker stop` and Kubernetes send), then wait for the exit.
    pub fn terminate(&self) {
        let child = self.child().take();
        if let Some(mut child) = child {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again (same port, same settings) and waits until it is ready.
    pub async fn restart(&self) {
        self.kill();
        self.spawn();
        wait_ready(&self.url()).await;
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a test changes in the deployment.
pub struct Options {
    pub orders_instances: usize,
    pub notifier_instances: usize,
    /// Brokers the services use, when not the test brokers (a broker of the test's own).
    pub kafka_brokers: Option<String>,
    /// Extra `MICROSHOP_…` settings for every process.
    pub envs: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            orders_instances: 1,
            notifier_instances: 1,
            kafka_brokers: None,
            envs: Vec::new(),
        }
    }
}

/// A running distributed deployment.
pub struct Cluster {
    /// By name: `auth`, `orders-1`, `orders-2`, `notifier-1`, `gateway`...
    pub processes: HashMap<String, Process>,
    pub client: reqwest::Client,
    pub admin_password: String,
    databases: HashMap<&'static str, PostgresDb>,
    _data: tempfile::TempDir,
}

impl Cluster {
    /// Starts the deployment, or `None` (reason printed) when the backends are not configured.
    pub async fn start(test: &str, options: Options) -> Option<Self> {
        let brokers = match options.kafka_brokers.clone() {
            Some(brokers) => brokers,
            None => kafka_brokers(test)?,
        };
        let mut databases = HashMap::new();
        for service in STORED {
            databases.insert(*service, PostgresDb::create(test).await?);
        }
        let data = tempfile::tempdir().expect("a temporary directory");
        let admin_password = format!("admin-{}", Uuid::now_v7().simple());
        let ports: HashMap<&str, u16> = [
            "gateway", "auth", "users", "products", "payments", "orders", "notifier",
        ]
        .into_iter()
        .map(|service| (service, free_port()))
        .collect();
        let url = |service: &str| format!("http://127.0.0.1:{}", ports[service]);
        let mut common: Vec<(String, String)> = vec![
            ("MICROSHOP_LOG".into(), "warn".into()),
            ("MICROSHOP_KAFKA_BROKERS".into(), brokers),
            (
                "MICROSHOP_KAFKA_NAMESPACE".into(),
                format!("t{}.", Uuid::now_v7().simple()),
            ),
            (
                "MICROSHOP_INTERNAL_TOKEN".into(),
                Uuid::now_v7().simple().to_string(),
            ),
            (
                "MICROSHOP_AUTH_ADMIN_PASSWORD".into(),
                admin_password.clone(),
            ),
            ("MICROSHOP_PAYMENTS_DECLINE_RATE".into(), "0".into()),
            // The load of these tests comes from one client; the limits are tested elsewhere.
            (
                "MICROSHOP_GATEWAY_RATE_LIMIT_PER_IP".into(),
                "100000".into(),
            ),
            (
                "MICROSHOP_GATEWAY_RATE_LIMIT_PER_USER".into(),
                "100000".into(),
            ),
            // A restarted instance gets traffic again within a second or two.
            ("MICROSHOP_GATEWAY_BREAKER_OPEN_SECS".into(), "1".into()),
        ];
        for service in [
            "auth", "users", "orders", "products", "payments", "notifier",
        ] {
            common.push((
                format!("MICROSHOP_{}_URL", service.to_uppercase()),
                url(service),
            ));
        }
        for (service, database) in &databases {
            common.push((
                format!("MICROSHOP_{}_DATABASE_URL", service.to_uppercase()),
                database.url.clone(),
            ));
        }
        // Debugging aid: librdkafka properties for every process (`debug=cgrp`, ...).
        if let Ok(properties) = std::env::var("MICROSHOP_TEST_KAFKA_PROPERTIES") {
            common.push(("MICROSHOP_KAFKA_PROPERTIES".into(), properties));
        }
        for (key, value) in &options.envs {
            common.push(((*key).to_owned(), value.clone()));
        }
        let mut processes = HashMap::new();
        let mut add =
            |name: String, service: &'static str, port: u16, extra: Vec<(String, String)>| {
                let dir: PathBuf = data.path().join(&name);
                let mut envs = common.clone();
                envs.push(("MICROSHOP_DATA_DIR".into(), dir.display().to_string()));
                envs.extend(extra);
                processes.insert(
                    name,
                    Process {
                        service,
                        port,
                        envs,
                        child: Mutex::new(None),
                    },
                );
            };
        add("auth".into(), "auth", ports["auth"], vec![]);
        add("users".into(), "users", ports["users"], vec![]);
        add("products".into(), "products", ports["products"], vec![]);
        add("payments".into(), "payments", ports["payments"], vec![]);
        let mut orders_urls = Vec::new();
        for instance in 1..=options.orders_instances {
            let port = if instance == 1 {
                ports["orders"]
            } else {
                free_port()
            };
            orders_urls.push(format!("http://127.0.0.1:{port}"));
            add(format!("orders-{instance}"), "orders", port, vec![]);
        }
        let mut notifier_urls = Vec::new();
        for instance in 1..=options.notifier_instances {
            let port = if instance == 1 {
                ports["notifier"]
            } else {
                free_port()
            };
            notifier_urls.push(format!("http://127.0.0.1:{port}"));
            add(format!("notifier-{instance}"), "notifier", port, vec![]);
        }
        let upstreams = format!(
            "auth={};users={};products={};payments={};orders={};notifier={}",
            url("auth"),
            url("users"),
            url("products"),
            url("payments"),
            orders_urls.join(","),
            notifier_urls.join(",")
        );
        add(
            "gateway".into(),
            "gateway",
            ports["gateway"],
            vec![("MICROSHOP_GATEWAY_UPSTREAMS".into(), upstreams)],
        );
        // auth first: the others fetch its keys.
        let auth = &processes["auth"];
        auth.spawn();
        wait_ready(&auth.url()).await;
        for (name, process) in &processes {
            if name != "auth" {
                process.spawn();
            }
        }
        for process in processes.values() {
            wait_ready(&process.url()).await;
        }
        Some(Self {
            processes,
            client: platform::client::http_builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("a client"),
            admin_password,
            databases,
            _data: data,
        })
    }

    pub fn process(&self, name: &str) -> &Process {
        self.processes
            .get(name)
            .unwrap_or_else(|| panic!("no process {name}"))
    }

    /// The database URL of a service.
    pub fn database_url(&self, service: &str) -> String {
        self.databases[service].url.clone()
    }

    pub fn gateway(&self) -> String {
        self.processes["gateway"].url()
    }

    /// Signs in (creating the account first) and returns an access token.
    pub async fn sign_in(&self, username: &str) -> String {
        let password = "correct horse battery";
        let created = self
            .client
            .post(format!("{}/auth/register", self.gateway()))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("register answers");
        assert!(
            created.status() == StatusCode::CREATED || created.status() == StatusCode::CONFLICT,
            "register: {}",
            created.status()
        );
        self.login(username, password).await
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let tokens: Value = self
            .client
            .post(format!("{}/auth/login", self.gateway()))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login answers")
            .json()
            .await
            .expect("a token response");
        tokens["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {tokens}"))
            .to_owned()
    }

    /// As admin, a product with plenty of stock; returns its id.
    pub async fn product(&self, stock: i64) -> i64 {
        let admin = self.login("admin", &self.admin_password).await;
        let product: Value = self
            .client
            .post(format!("{}/products", self.gateway()))
            .bearer_auth(admin)
            .json(&json!({"name": format!("Crate {}", Uuid::now_v7().simple()), "price_cents": 1250, "stock": stock}))
            .send()
            .await
            .expect("create product answers")
            .json()
            .await
            .expect("a product");
        product["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no product id: {product}"))
    }

    /// Places an order through the gateway: the status and the body (or the transport error).
    pub async fn place_order(
        &self,
        token: &str,
        product: i64,
        key: &str,
    ) -> Result<(StatusCode, Value), String> {
        let response = self
            .client
            .post(format!("{}/orders", self.gateway()))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&json!({"items": [{"product_id": product, "quantity": 1}], "shipping_address": "1 rue du Test, Paris"}))
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// Every notification of a user (newest first), paging through the inbox.
    pub async fn notifications(&self, token: &str) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let page: Value = self
                .client
                .get(format!(
                    "{}/notifications?limit=100&offset={}",
                    self.gateway(),
                    all.len()
                ))
                .bearer_auth(token)
                .send()
                .await
                .expect("the inbox answers")
                .json()
                .await
                .expect("an inbox page");
            let items = page["items"]
                .as_array()
                .unwrap_or_else(|| panic!("an inbox page has items: {page}"))
                .clone();
            let done = items.len() < 100;
            all.extend(items);
            if done {
                return all;
            }
        }
    }

    /// Waits until every order in `orders` has exactly the notification kinds `expected` per
    /// order, and no notification is duplicated; panics with the difference after `limit`.
    pub async fn await_notifications(
        &self,
        token: &str,
        orders: &[String],
        expected: &[&str],
        limit: Duration,
    ) {
        let deadline = Instant::now() + limit;
        loop {
            let notifications = self.notifications(token).await;
            // Distinct notification ids per (order, kind): offset paging over an inbox that
            // grows at the head may show one notification on two pages.
            let mut ids: HashMap<(String, String), std::collections::HashSet<String>> =
                HashMap::new();
            for notification in &notifications {
                let order = notification["order_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let kind = notification["kind"].as_str().unwrap_or_default().to_owned();
                let id = notification["id"].as_str().unwrap_or_default().to_owned();
                ids.entry((order, kind)).or_default().insert(id);
            }
            let seen: HashMap<(String, String), usize> =
                ids.into_iter().map(|(key, ids)| (key, ids.len())).collect();
            let duplicates: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
            assert!(duplicates.is_empty(), "notified twice: {duplicates:?}");
            let missing: Vec<(String, &str)> = orders
                .iter()
                .flat_map(|order| expected.iter().map(move |kind| (order.clone(), *kind)))
                .filter(|(order, kind)| !seen.contains_key(&(order.clone(), (*kind).to_owned())))
                .collect();
            if missing.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                let stored: (i64,) = {
                    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(
                        &self.database_url("notifier"),
                    )
                    .await
                    .expect("the notifier database");
                    sqlx::query_as("SELECT COUNT(*) FROM notifications")
                        .fetch_one(&mut db)
                        .await
                        .expect("a count")
                };
                panic!(
                    "{} notifications still missing after {limit:?} ({} in the inbox, {} stored), such as {:?}",
                    missing.len(),
                    notifications.len(),
                    stored.0,
                    &missing[..missing.len().min(3)]
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Waits until `base/health/ready` answers 200.
pub async fn wait_ready(base: &str) {
    let client = platform::client::http_client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client
            .get(format!("{base}/health/ready"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            && response.status() == StatusCode::OK
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
