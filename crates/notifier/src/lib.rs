//! The notifier service: order and agenda events in, notifications out.
//!
//! It consumes `order-events` as the consumer group `notifier` ([`order_events`]). Each event
//! becomes, exactly once, a stored notification for the order's owner, one line on standard
//! output (the seed's "print each order added or deleted") and a push to that user's open
//! Server-Sent Events streams ([`hub`], [`feed`]). It consumes `agenda-events` the same way, as
//! the same group ([`agenda_events`]): each created, updated or cancelled agenda event notifies
//! its organizer. Users read their inbox with `GET /notifications` and follow it live with
//! `GET /notifications/stream` ([`routes`]).

pub mod agenda_events;
pub mod config;
pub mod domain;
pub mod error;
pub mod fanout;
pub mod feed;
pub mod hub;
pub mod openapi;
pub mod order_events;
pub mod recorder;
pub mod routes;
pub mod state;
pub mod storage;
pub mod streams;

use std::sync::Arc;

use axum::Router;
use platform::events::{AGENDA_EVENTS, ORDER_EVENTS};
use platform::http::{Readiness, service_app};
use platform::{ServiceEnv, Wiring};

pub use config::Config;
pub use error::NotifierError;
pub use state::AppState;

use agenda_events::AgendaEventsHandler;
use hub::Hub;
use order_events::{OrderEventsHandler, Stdout};
use storage::Storage;

/// The service's name, in logs, metrics and health answers.
pub const SERVICE: &str = "notifier";

/// The consumer group on `order-events` and `agenda-events`, and the consumer name of processed
/// event ids.
pub const CONSUMER_GROUP: &str = "notifier";

/// The service's routes over `state`, without the common layers.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Opens the database (running migrations), starts consuming `order-events` and
/// `agenda-events` until `wiring.shutdown` fires, and returns the complete service, ready to
/// serve. A PostgreSQL database that cannot be reached yet does not stop the start: the service
/// answers 503 until it can (see [`platform::db::Database::start`]).
pub async fn app(config: &Config, env: &ServiceEnv, wiring: &Wiring) -> anyhow::Result<Router> {
    let database = platform::db::Database::start_for_service(
        SERVICE,
        config.database_url.as_deref(),
        &env.data_dir,
        config.db_pool_size,
        storage::MIGRATIONS,
        wiring.shutdown.clone(),
    )
    .await?;
    let storage = Storage::over(&database);
    let hub = Arc::new(Hub::default());
    if storage.announces()
        && let Some(url) = &config.database_url
    {
        drop(fanout::spawn_listener(
            url.clone(),
            hub.clone(),
            wiring.shutdown.clone(),
        ));
    }
    let handler = OrderEventsHandler::new(storage.clone(), hub.clone(), Arc::new(Stdout));
    // The tasks end on shutdown; nothing needs to wait for them.
    drop(wiring.bus.consume(
        ORDER_EVENTS,
        CONSUMER_GROUP,
        Arc::new(handler),
        wiring.shutdown.clone(),
    ));
    let agenda_handler = AgendaEventsHandler::new(storage.clone(), hub.clone(), Arc::new(Stdout));
    drop(wiring.bus.consume(
        AGENDA_EVENTS,
        CONSUMER_GROUP,
        Arc::new(agenda_handler),
        wiring.shutdown.clone(),
    ));
    drop(platform::events::consumer::spawn_pruning(
        storage.pool().clone(),
        wiring.shutdown.clone(),
    ));
    let state = AppState {
        storage: storage.clone(),
        hub,
        verifier: wiring.verifier.clone(),
        keepalive: config.keepalive(),
        streams: Arc::new(streams::StreamLimits::new(
            config.max_streams_per_user as usize,
            config.max_streams as usize,
        )),
        shutdown: wiring.shutdown.clone(),
    };
    let readiness = Readiness::new()
        .opened_database(database.clone())
        .jwks(wiring.verifier.clone())
        .bus(wiring.bus.clone());
    Ok(service_app(
        SERVICE,
        database.guard(router(state)),
        readiness,
    ))
}
