//! What every service's integration tests need and nothing ships: a signing key that the
//! services' verifiers trust, tokens minted for any user and role, the [`Wiring`] a service
//! gets from the binary (in-process bus, verifier, internal token), and the database a service
//! runs over ([`TestDatabase`]: SQLite by default, PostgreSQL with one switch).
//!
//! Tests that need the real auth service start it; these keys are for testing a service alone.

pub mod proxy;

use std::sync::{Arc, Mutex};

use base64::Engine;
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{ACCESS_TOKEN_TYPE, InternalToken, Jwk, JwkSet, KeySource};
use platform::events::memory::MemoryBus;
use platform::{Claims, Role, ServiceUrls, Verifier, Wiring};
use ring::signature::{Ed25519KeyPair, KeyPair};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Issuer the test verifier expects.
pub const ISSUER: &str = platform::auth::DEFAULT_ISSUER;

/// An Ed25519 signing key with its JWKS, for minting access tokens.
#[derive(Clone)]
pub struct TestKeys {
    kid: String,
    pkcs8: Arc<Vec<u8>>,
    set: Arc<Mutex<JwkSet>>,
}

impl std::fmt::Debug for TestKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKeys").field("kid", &self.kid).finish()
    }
}

impl Default for TestKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl TestKeys {
    pub fn new() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("key generation works");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("fresh key parses");
        let kid = Uuid::now_v7().to_string();
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Self {
            set: Arc::new(Mutex::new(JwkSet {
                keys: vec![Jwk::ed25519(&kid, x)],
            })),
            kid,
            pkcs8: Arc::new(pkcs8.as_ref().to_vec()),
        }
    }

    /// A verifier trusting these keys.
    pub fn verifier(&self) -> Arc<Verifier> {
        Arc::new(Verifier::new(ISSUER, self.clone()))
    }

    /// Signs arbitrary claims (expired ones, wrong issuers...).
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8))
            .expect("signing works")
    }

    /// A valid 15-minute access token.
    pub fn token(&self, user_id: Uuid, username: &str, role: Role) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.sign(&Claims {
            iss: ISSUER.to_owned(),
            sub: user_id,
            name: username.to_owned(),
            role,
            iat: now,
            exp: now + 900,
            jti: Uuid::now_v7(),
            aud: Some(platform::auth::AUDIENCE.to_owned()),
            client_id: Some(platform::auth::DEFAULT_CLIENT_ID.to_owned()),
        })
    }
}

impl KeySource for TestKeys {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<JwkSet>> {
        let set = self.set.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Box::pin(async move { Ok(set) })
    }
}

/// A test user with a token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub token: String,
}

impl TestKeys {
    pub fn user(&self, username: &str) -> TestUser {
        self.user_with_role(username, Role::Customer)
    }

    pub fn admin(&self) -> TestUser {
        self.user_with_role("admin", Role::Admin)
    }

    pub fn user_with_role(&self, username: &str, role: Role) -> TestUser {
        let id = Uuid::now_v7();
        TestUser {
            id,
            username: username.to_owned(),
            role,
            token: self.token(id, username, role),
        }
    }
}

/// The wiring a service gets in embedded mode: a fresh in-process bus, a verifier trusting
/// `keys`, a random internal token and its own shutdown token. Set `urls` as needed.
pub fn wiring(keys: &TestKeys) -> (Wiring, MemoryBus) {
    let bus = MemoryBus::new();
    let wiring = Wiring {
        bus: Arc::new(bus.clone()),
        verifier: keys.verifier(),
        urls: ServiceUrls::default(),
        internal_token: InternalToken::random(),
        shutdown: CancellationToken::new(),
    };
    (wiring, bus)
}

/// A throwaway PostgreSQL database for one test, dropped when this value is dropped.
///
/// The server comes from `MICROSHOP_TEST_POSTGRES_URL` (an admin connection, such as
/// `postgres://postgres@127.0.0.1:5432/postgres`). Without that variable, [`PostgresDb::create`]
/// prints why the test is skipped and returns `None`, so `cargo test` passes on a fresh
/// machine; with it (CI sets it), an unreachable server fails the test instead of skipping.
#[derive(Debug)]
pub struct PostgresDb {
    admin_url: String,
    name: String,
    /// Connection URL of the new database (same server, same credentials and options).
    pub url: String,
}

/// The environment variable naming the test PostgreSQL server.
pub const POSTGRES_ENV: &str = "MICROSHOP_TEST_POSTGRES_URL";

/// The environment variable naming the test Redis server.
pub const REDIS_ENV: &str = "MICROSHOP_TEST_REDIS_URL";

/// The test Redis URL, or `None` (with the reason printed) when `MICROSHOP_TEST_REDIS_URL` is
/// not set.
pub fn redis_url(test: &str) -> Option<String> {
    match std::env::var(REDIS_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped {test}: set {REDIS_ENV} (e.g. redis://127.0.0.1:6379) to run it");
            None
        }
    }
}

impl PostgresDb {
    /// Creates a fresh database, or `None` when no server is configured (see the type docs).
    pub async fn create(test: &str) -> Option<Self> {
        let admin_url = match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                eprintln!(
                    "skipped {test}: set {POSTGRES_ENV} (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run it"
                );
                return None;
            }
        };
        sqlx::any::install_default_drivers();
        let name = format!("microshop_test_{}", Uuid::now_v7().simple());
        let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
            .await
            .unwrap_or_else(|error| panic!("{POSTGRES_ENV} is set but unreachable: {error}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("the test role may create databases");
        let url = with_database(&admin_url, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// The database URL with extra query options, such as `sslmode=require`.
    pub fn url_with(&self, options: &str) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}{options}", self.url)
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee: use a small one of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut admin) =
                    <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await
                {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}

/// The environment variable that chooses the engine the services' suites run on: unset (or
/// `sqlite`) for a fresh SQLite file per service, as embedded mode stores data; `postgres` for
/// a fresh PostgreSQL database per service on the server of [`POSTGRES_ENV`], as distributed
/// mode does. One switch, so the same suite runs twice rather than being copied.
pub const DATABASE_ENV: &str = "MICROSHOP_TEST_DATABASE";

/// Where one service under test keeps its data: the SQLite file a service makes in its data
/// directory by default, or a throwaway PostgreSQL database (see [`DATABASE_ENV`]).
///
/// Keep it as long as the service runs: dropping it drops the PostgreSQL database.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    postgres: Option<PostgresDb>,
}

impl TestDatabase {
    /// The database of `service` (its name, such as `orders`) whose data directory is
    /// `data_dir`, on the engine [`DATABASE_ENV`] names.
    ///
    /// # Panics
    ///
    /// When the switch asks for PostgreSQL without a server in [`POSTGRES_ENV`], or names an
    /// engine that does not exist: a run that asked for PostgreSQL must not pass on SQLite.
    pub async fn create(service: &str, data_dir: &std::path::Path) -> Self {
        match std::env::var(DATABASE_ENV).as_deref() {
            Err(_) | Ok("" | "sqlite") => Self {
                url: platform::db::sqlite_url(data_dir, service),
                postgres: None,
            },
            Ok("postgres") => {
                if std::env::var(POSTGRES_ENV).map_or(true, |url| url.is_empty()) {
                    panic!(
                        "{DATABASE_ENV}=postgres needs a server: set {POSTGRES_ENV} (e.g. \
                         postgres://postgres@127.0.0.1:5432/postgres)"
                    );
                }
                let postgres = PostgresDb::create(service)
                    .await
                    .expect("the server is configured");
                Self {
                    url: postgres.url.clone(),
                    postgres: Some(postgres),
                }
            }
            Ok(other) => panic!("{DATABASE_ENV}={other} is not an engine: use sqlite or postgres"),
        }
    }

    /// The `database_url` to configure the service with: `None` on SQLite, so the service
    /// opens its default file exactly as embedded mode does; the database's URL on PostgreSQL.
    pub fn config_url(&self) -> Option<String> {
        self.postgres.as_ref().map(|postgres| postgres.url.clone())
    }

    /// The database's URL (on SQLite, the file the service opens by default).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A small pool of its own on the database, for checks the API cannot show (close it
    /// when done). Queries must suit both engines: `$N` placeholders, `BIGINT` results.
    pub async fn connect(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("the test cannot open its database: {error}"))
    }
}

/// `postgres://user@host:port/db?opts` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base
        .find("://")
        .map(|scheme| scheme + 3)
        .and_then(|start| base[start..].find('/').map(|slash| start + slash))
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}
