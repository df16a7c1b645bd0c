//! Events between services: the CloudEvents envelope, the bus, the transactional outbox and
//! idempotent consumption.
//!
//! A service never publishes straight to the bus from a request: it writes the event into its
//! own `outbox` table in the same transaction as the change ([`outbox::enqueue`]), and a relay
//! ([`outbox::spawn_relay`]) publishes pending rows and marks them sent. A crash or a broker
//! outage therefore loses nothing: rows wait and flow later. Consumers record each processed
//! event id in the same transaction as their effect ([`consumer::mark_processed`]), so a
//! redelivered event has no second effect.
//!
//! The [`Bus`] trait hides the transport: [`memory::MemoryBus`] in embedded mode, Kafka in
//! distributed mode. Both deliver at least once, per consumer group, in order per key.

pub mod consumer;
pub mod kafka;
pub mod memory;
pub mod outbox;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

/// Topic of order lifecycle events (the seed's name).
pub const ORDER_EVENTS: &str = "order-events";
/// Topic of account events (`user.registered`).
pub const USER_EVENTS: &str = "user-events";
/// Topic of the agenda's events (`event.created`, ...).
pub const AGENDA_EVENTS: &str = "agenda-events";

/// The topic where events a consumer rejected are parked: `<topic>.dlq`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// A CloudEvents 1.0 envelope (JSON format), with the W3C `traceparent` carried alongside
/// (the CloudEvents distributed-tracing extension attribute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub specversion: String,
    /// Unique per event; consumers deduplicate on it.
    pub id: String,
    /// The producing service, as a URI reference such as `/orders`.
    pub source: String,
    /// Such as `order.created`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The aggregate the event is about (an order id); also the bus key.
    pub subject: String,
    pub datacontenttype: String,
    pub data: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// Why a consumer rejected the event (a CloudEvents extension attribute, set only on the
    /// copy parked on `<topic>.dlq`; `data` stays as published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadletterreason: Option<String>,
}

impl Event {
    /// A new event with a fresh UUIDv7 id and the current time, in the current trace (its
    /// `traceparent`, when traces are exported): the consumer's work joins the request's trace.
    pub fn new(source: &str, kind: &str, subject: impl Into<String>, data: impl Serialize) -> Self {
        Self {
            specversion: "1.0".to_owned(),
            id: Uuid::now_v7().to_string(),
            source: source.to_owned(),
            kind: kind.to_owned(),
            time: OffsetDateTime::now_utc(),
            subject: subject.into(),
            datacontenttype: "application/json".to_owned(),
            data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
            traceparent: crate::traces::current_traceparent(),
            deadletterreason: None,
        }
    }

    /// Decodes `data` into a typed payload.
    pub fn data_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.data.clone())
    }
}

/// Why a publish failed; the outbox keeps the row and retries.
#[derive(Debug, thiserror::Error)]
#[error("publishing to the bus failed: {0}")]
pub struct PublishError(pub String);

/// What a handler says about one delivered event.
#[derive(Debug)]
pub enum Handled {
    /// The effect is stored (or the event was a duplicate): commit and move on.
    Done,
    /// A transient failure (database busy, dependency down): deliver again later.
    Retry(String),
    /// The event can never be processed (bad payload): park it on `<topic>.dlq` with the reason
    /// and move on.
    Reject(String),
}

/// A consumer of one topic within one group.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Handled>;
}

/// A message transport with consumer groups: every group sees every message at least once,
/// messages with the same key in publish order.
pub trait Bus: Send + Sync + 'static {
    /// Publishes one event under `key` (the aggregate id).
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        key: &'a str,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), PublishError>>;

    /// Runs `handler` over `topic` as a member of `group` until `shutdown` fires. A message is
    /// committed only after the handler answered `Done` or `Reject`; `Retry` redelivers it after
    /// a backoff.
    ///
    /// `group` is the consuming service's name (`notifier`, `users`, `auth`): the group's lag is
    /// that service's series (`events_consumer_lag{service=<group>}`) and its deliveries run in
    /// that service's spans.
    fn consume(
        &self,
        topic: &str,
        group: &str,
        handler: std::sync::Arc<dyn Handler>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()>;

    /// Whether the transport is reachable (for `/health/ready`).
    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Delay before a message whose handler asked for a retry is delivered again (doubling, capped).
const RETRY_START: Duration = Duration::from_millis(50);
const RETRY_CAP: Duration = Duration::from_secs(5);

/// Runs `handler` on one event until it is done with it, the same way on every bus: `Retry`
/// delivers it again after a capped exponential backoff (the message holds its key's place, so
/// order per key survives), `Reject` hands a copy carrying the reason to `park` (the bus puts it
/// on `<topic>.dlq`), a panic counts as a transient failure. `false` when `shutdown` interrupted
/// the retries and the event is still pending.
pub(crate) async fn deliver<P>(
    topic: &str,
    group: &str,
    handler: &dyn Handler,
    event: &Event,
    park: P,
    shutdown: &tokio_util::sync::CancellationToken,
) -> bool
where
    P: FnOnce(Event) -> BoxFuture<'static, ()>,
{
    let mut backoff = RETRY_START;
    let span = consumer_span(topic, group, event);
    loop {
        // A panicking handler must not take the member down with the message held.
        let outcome = AssertUnwindSafe(handler.handle(event))
            .catch_unwind()
            .instrument(span.clone())
            .await
            .unwrap_or_else(|_| Handled::Retry("the handler panicked".to_owned()));
        match outcome {
            Handled::Done => return true,
            Handled::Reject(reason) => {
                span.record("otel.status_code", "error");
                tracing::warn!(%topic, %group, event_id = %event.id, %reason, "event rejected to the dead-letter topic");
                let mut parked = event.clone();
                parked.deadletterreason = Some(reason);
                park(parked).await;
                return true;
            }
            Handled::Retry(reason) => {
                tracing::warn!(%topic, %group, event_id = %event.id, %reason, ?backoff, "event will be redelivered");
                tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(RETRY_CAP);
            }
        }
    }
}

/// The span a delivery runs in when traces are exported (see [`crate::traces`]): a consumer span
/// continuing the trace of the request that emitted the event, so the trace reaches across
/// the bus.
fn consumer_span(topic: &str, group: &str, event: &Event) -> tracing::Span {
    if !crate::traces::is_exporting() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "consume",
        otel.name = %format_args!("{topic} process"),
        otel.kind = "consumer",
        messaging.destination.name = topic,
        messaging.consumer.group.name = group,
        messaging.message.id = event.id.as_str(),
        cloudevents.event_type = event.kind.as_str(),
        cloudevents.event_subject = event.subject.as_str(),
        otel.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    // The group is the consuming service (see `Bus::consume`).
    crate::traces::continue_from_traceparent(group, &span, event.traceparent.as_deref());
    span
}
