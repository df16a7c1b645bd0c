//! The auth service: accounts, passwords, and the tokens every other service trusts.
//!
//! Auth is the only service that knows passwords and holds signing keys. It issues short-lived
//! EdDSA access tokens that any service verifies on its own against the published JWKS, and
//! opaque refresh tokens that only auth can exchange, rotated on every use with reuse detection.
//! The flows are in [`sessions`] and [`registration`], the HTTP surface in [`routes`], the keys
//! in [`keys`], the input types in [`domain`], the database in [`storage`], what auth
//! announces to other services (`user.registered`, through the outbox) in [`events`], and what
//! a deleted user's account becomes (disabled, its tokens refused everywhere) in [`deletion`].

pub mod bootstrap;
pub mod config;
pub mod deletion;
pub mod domain;
pub mod error;
pub mod events;
pub mod keys;
pub mod openapi;
pub mod passwords;
pub mod registration;
pub mod routes;
pub mod sessions;
pub mod state;
pub mod storage;
pub mod tokens;

use anyhow::Context;
use axum::Router;
use platform::Wiring;
use platform::events::outbox;
use platform::http::{Readiness, service_app};

pub use bootstrap::admin_password_path;
pub use config::Config;
pub use error::AuthError;
pub use state::AppState;

/// Where and how auth runs, as the binary decides it.
pub use platform::ServiceEnv as Env;

use storage::Storage;

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Opens the database (running migrations), starts the outbox relay that publishes auth's
/// events on `wiring.bus`, the consumer of `user.deleted` and the poll of its own verifier's
/// disabled accounts, makes sure a signing key and the `admin` account exist, and returns
/// the complete service, ready to serve. Background work stops on `wiring.shutdown`. A
/// PostgreSQL database that cannot be reached yet does not stop the start: the key and the
/// account are made once it can be, and the service answers 503 until then (see
/// [`platform::db::Database::start`]).
///
/// Auth verifies access tokens against its own key store, not with `wiring.verifier` (which
/// fetches auth's JWKS over HTTP).
pub async fn app(config: &Config, env: &Env, wiring: &Wiring) -> anyhow::Result<Router> {
    let database = platform::db::Database::open_for_service(
        "auth",
        config.database_url.as_deref(),
        &env.data_dir,
        config.db_pool_size,
    )?;
    let storage = Storage::new(database.pool().clone());
    let relay = outbox::spawn_relay_once_ready(
        "auth",
        database.clone(),
        wiring.bus.clone(),
        wiring.shutdown.clone(),
    );
    let state = AppState::new(config, storage, relay, wiring.internal_token.clone()).await?;
    let prepared = (state.clone(), config.clone(), env.clone());
    database
        .start(storage::MIGRATIONS, wiring.shutdown.clone(), move || {
            let (state, config, env) = prepared.clone();
            async move {
                state.keys.ensure_signing_key().await?;
                bootstrap::ensure_admin(&state.storage, &state.passwords, &config, &env).await?;
                state.relay.wake();
                Ok(())
            }
        })
        .await
        .context("cannot open the auth database")?;
    deletion::spawn(&state.storage, &wiring.bus, &wiring.shutdown);
    spawn_revocation_poll(&state, &database, config, wiring);
    let readiness = Readiness::new()
        .opened_database(database.clone())
        .bus(wiring.bus.clone());
    Ok(service_app(
        "auth",
        database.guard(router(state)),
        readiness,
    ))
}

/// Polls auth's own list of disabled accounts into its verifier, once the database is ready.
fn spawn_revocation_poll(
    state: &AppState,
    database: &platform::db::Database,
    config: &Config,
    wiring: &Wiring,
) {
    let verifier = state.verifier.clone();
    let database = database.clone();
    let every = config.token_revocation_poll();
    let shutdown = wiring.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            () = database.wait_ready() => {
                verifier.spawn_revocation_poll(every, shutdown);
            }
        }
    });
}

/// Adds a new signing key, used for new tokens by every auth process within its reload delay;
/// older keys stay published until their last token has expired. Returns the new key id.
pub async fn rotate_key(config: &Config, env: &Env) -> anyhow::Result<String> {
    let storage = open_storage(config, env).await?;
    let retention = keys::retention(config.access_token_ttl(), config.signing_key_reload());
    let kid = keys::rotate(&storage, retention).await;
    storage.pool().close().await;
    kid
}

/// The database as `rotate_key` needs it: opened and migrated now, or an error.
async fn open_storage(config: &Config, env: &Env) -> anyhow::Result<Storage> {
    let url = database_url(config, env)?;
    let storage = Storage::connect(&url, config.db_pool_size)
        .await
        .context("cannot open the auth database")?;
    // The URL may carry a password: name the engine only.
    tracing::debug!(engine = ?platform::db::Engine::of(&url)?, "opened the auth database");
    Ok(storage)
}

/// The configured URL, or the SQLite file in the data directory (created if missing).
fn database_url(config: &Config, env: &Env) -> anyhow::Result<String> {
    let url = platform::db::service_url(config.database_url.as_deref(), &env.data_dir, "auth")?;
    Ok(url)
}
