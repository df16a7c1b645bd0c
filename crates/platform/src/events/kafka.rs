//! The Kafka bus of distributed mode, through librdkafka (the `rdkafka` crate, bundled build).
//!
//! Same contract as the in-process bus, with a real broker behind it:
//!
//! - **Publishing** is idempotent with `acks=all` (a retried produce never duplicates a message
//!   in the log, and a message is confirmed only once every in-sync replica has it); the key is
//!   the aggregate id, so one order's events land on one partition, in order. Topics are created
//!   on first use when missing (`--kafka-partitions`, default 3).
//! - **Events travel in CloudEvents' Kafka binary mode**: the attributes as `ce_*` headers, the
//!   W3C `traceparent` as its own header, `content-type` for the data, and the data itself as
//!   the message value. Any Kafka tool (or a non-Rust consumer) reads them without our types;
//!   a structured-mode message (`application/cloudevents+json` value) is accepted too.
//! - **Consuming** is per consumer group: members of one group share the topic's partitions
//!   (Kafka rebalances them when a member joins or dies) and each partition is handled in
//!   order, one message at a time. An offset is committed only after the handler answered
//!   `Done` or `Reject`, that is after the effect is stored: offsets of handled messages are
//!   committed explicitly every 200 ms and when the member stops, never automatically. A crash
//!   between the effect and the commit redelivers, which idempotent consumers absorb.
//! - **A message that cannot be processed** (not a CloudEvent, or a payload the handler
//!   rejects) is copied to `<topic>.dlq` with a `ce_deadletterreason` header, and consumption
//!   moves on.
//!
//! A service's consumer group on a topic is the Kafka group `<group>.<topic>`
//! (`notifier.order-events`). `--kafka-namespace` prefixes every topic and group, so several
//! deployments (or tests) can share one cluster. Consumer lag per partition comes from librdkafka's statistics
//! (`events_consumer_lag{topic,group,partition}`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

use super::{Bus, Event, Handler, PublishError, dead_letter_topic, deliver};

/// How often the offsets of handled messages are committed.
const COMMIT_INTERVAL: Duration = Duration::from_millis(200);

/// How long librdkafka keeps trying to deliver one message before reporting a failure; shorter
/// than the outbox relay's publish timeout, so the relay sees librdkafka's reason.
const MESSAGE_TIMEOUT_MS: &str = "9000";

/// Delay between attempts to create a topic or park a message while the broker is away
/// (doubling, capped).
const BROKER_RETRY_START: Duration = Duration::from_millis(200);
const BROKER_RETRY_CAP: Duration = Duration::from_secs(5);

/// Where the Kafka cluster is and how microshop uses it.
#[derive(clap::Args, Debug, Clone, Default)]
#[group(id = "kafka-settings")]
#[command(next_help_heading = "Kafka (distributed mode)")]
pub struct KafkaConfig {
    /// Kafka bootstrap servers. Set, events go through Kafka; unset, through an in-process bus
    /// (embedded mode; a service served alone then keeps its events to itself).
    #[arg(
        long = "kafka-brokers",
        id = "kafka-brokers",
        env = "MICROSHOP_KAFKA_BROKERS",
        value_name = "HOST:PORT[,HOST:PORT...]"
    )]
    pub brokers: Option<String>,

    /// Partitions of the topics microshop creates when they are missing (the most consumer
    /// instances of one group that can share a topic).
    #[arg(
        long = "kafka-partitions",
        id = "kafka-partitions",
        env = "MICROSHOP_KAFKA_PARTITIONS",
        value_name = "COUNT",
        default_value_t = 3,
        value_parser = clap::value_parser!(i32).range(1..=10_000)
    )]
    pub partitions: i32,

    /// Replication factor of the topics microshop creates (3 on a production cluster).
    #[arg(
        long = "kafka-replication-factor",
        id = "kafka-replication-factor",
        env = "MICROSHOP_KAFKA_REPLICATION_FACTOR",
        value_name = "COUNT",
        default_value_t = 1,
        value_parser = clap::value_parser!(i32).range(1..=100)
    )]
    pub replication_factor: i32,

    /// Prefix of every topic and consumer group name, so that several deployments can share a
    /// cluster (`staging.` gives `staging.order-events`).
    #[arg(
        long = "kafka-namespace",
        id = "kafka-namespace",
        env = "MICROSHOP_KAFKA_NAMESPACE",
        value_name = "PREFIX",
        default_value = ""
    )]
    pub namespace: String,

    /// Extra librdkafka properties, `name=value` (`security.protocol=SASL_SSL`,
    /// `sasl.mechanisms=PLAIN`, ...); repeat the flag, or separate them with `;` in the
    /// variable.
    #[arg(
        long = "kafka-property",
        id = "kafka-property",
        env = "MICROSHOP_KAFKA_PROPERTIES",
        value_name = "NAME=VALUE",
        value_delimiter = ';',
        value_parser = parse_property,
        hide_env_values = true
    )]
    pub properties: Vec<(String, String)>,
}

fn parse_property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

/// The bus over a Kafka cluster. Cheap to clone: clones share the producer.
#[derive(Clone)]
pub struct KafkaBus {
    inner: Arc<Inner>,
}

struct Inner {
    config: KafkaConfig,
    brokers: String,
    /// `client.id` of this process's connections (the service name), seen in broker logs.
    client_id: String,
    /// Replaced by a fresh one when it reports a fatal error or lets messages time out (see
    /// [`KafkaBus::send`]); cloning it is cheap.
    producer: std::sync::RwLock<FutureProducer<QuietContext>>,
    admin: AdminClient<QuietContext>,
    /// Topics known to exist (created by us or found), so publishing does not ask again.
    known_topics: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for KafkaBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBus")
            .field("brokers", &self.inner.brokers)
            .field("namespace", &self.inner.config.namespace)
            .finish_non_exhaustive()
    }
}

impl KafkaBus {
    /// A bus over the cluster `config` names. Nothing connects yet: librdkafka connects on first
    /// use and keeps reconnecting, so a broker that is down at start only delays events.
    pub fn new(config: &KafkaConfig, client_id: &str) -> anyhow::Result<Self> {
        let brokers = config
            .brokers
            .clone()
            .filter(|brokers| !brokers.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("no Kafka brokers configured"))?;
        let base = base_config(config, &brokers, client_id);
        let producer = new_producer(&base)?;
        let admin: AdminClient<QuietContext> = base
            .create_with_context(QuietContext)
            .map_err(|error| anyhow::anyhow!("invalid Kafka settings: {error}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                config: config.clone(),
                brokers,
                client_id: client_id.to_owned(),
                producer: std::sync::RwLock::new(producer),
                admin,
                known_topics: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// The cluster-side name of one of our topics (or groups).
    fn name(&self, topic: &str) -> String {
        format!("{}{topic}", self.inner.config.namespace)
    }

    /// The Kafka consumer group of `group` on `topic`: `<group>.<topic>`. A service that reads
    /// two topics as one logical group (the notifier) gets two Kafka groups, so a rebalance on
    /// one topic never pauses the other, and each group's members all subscribe alike.
    fn group_id(&self, group: &str, topic: &str) -> String {
        self.name(&format!("{group}.{topic}"))
    }

    /// Creates the topic when it does not exist yet.
    async fn ensure_topic(&self, name: &str) -> Result<(), String> {
        if self.known_topics().contains(name) {
            return Ok(());
        }
        let topic = NewTopic::new(
            name,
            self.inner.config.partitions,
            TopicReplication::Fixed(self.inner.config.replication_factor),
        );
        let options = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(5)))
            .request_timeout(Some(Duration::from_secs(5)));
        let results = self
            .inner
            .admin
            .create_topics([&topic], &options)
            .await
            .map_err(|error| format!("cannot create topic {name}: {error}"))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => return Err(format!("cannot create topic {topic}: {code}")),
            }
        }
        self.known_topics().insert(name.to_owned());
        Ok(())
    }

    fn known_topics(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.inner
            .known_topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Sends one message and waits for the broker's acknowledgement.
    async fn send(
        &self,
        name: &str,
        key: &[u8],
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<(), String> {
        self.ensure_topic(name).await?;
        let record = FutureRecord::to(name)
            .key(key)
            .payload(payload)
            .headers(headers);
        let producer = self.producer();
        match producer.send(record, Duration::from_secs(0)).await {
            Ok(_) => Ok(()),
            Err((error, _)) => {
                if is_unknown_topic(&error) {
                    // Deleted behind our back (or a broker that lost its state): create it again
                    // on the next attempt.
                    self.known_topics().remove(name);
                }
                // An idempotent producer whose messages timed out (the broker was away) must
                // resolve its sequence numbers with the broker before producing again, one
                // with a fatal error (fenced, epoch lost) can never produce again: a fresh
                // producer, with a new producer id, is the reliable way back from any failed
                // delivery. Nothing is lost: the outbox publishes the row again.
                self.renew_producer(&producer);
                Err(error.to_string())
            }
        }
    }

    fn producer(&self) -> FutureProducer<QuietContext> {
        self.inner
            .producer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces `failed` with a fresh producer, unless another publish already did.
    fn renew_producer(&self, failed: &FutureProducer<QuietContext>) {
        let base = base_config(
            &self.inner.config,
            &self.inner.brokers,
            &self.inner.client_id,
        );
        let mut current = self
            .inner
            .producer
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if !std::ptr::eq(current.client().native_ptr(), failed.client().native_ptr()) {
            return;
        }
        match new_producer(&base) {
            Ok(fresh) => {
                tracing::info!("Kafka producer renewed after a failed delivery");
                let old = std::mem::replace(&mut *current, fresh);
                // Dropping a producer flushes what it still holds, with a timeout: not on a
                // runtime thread.
                drop(tokio::task::spawn_blocking(move || drop(old)));
            }
            Err(error) => tracing::error!(%error, "cannot renew the Kafka producer"),
        }
    }

    /// Copies a message the consumer could not process to `<topic>.dlq`, trying until the broker
    /// takes it or the member stops; `false` if it stopped first.
    async fn park(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: OwnedHeaders,
        shutdown: &CancellationToken,
    ) -> bool {
        let name = self.name(&dead_letter_topic(topic));
        let mut delay = BROKER_RETRY_START;
        loop {
            match self.send(&name, key, payload, headers.clone()).await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(topic = %name, %error, ?delay, "cannot park a message on the dead-letter topic yet");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(BROKER_RETRY_CAP);
        }
    }

    fn consumer(&self, group: &str, topic: &str) -> Result<StreamConsumer<LagContext>, KafkaError> {
        base_config(
            &self.inner.config,
            &self.inner.brokers,
            &self.inner.client_id,
        )
        .set("group.id", self.group_id(group, topic))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // A member that died hands its partitions over within this time.
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "2000")
        .set("statistics.interval.ms", "5000")
        .create_with_context(LagContext {
            topic: topic.to_owned(),
            group: group.to_owned(),
        })
    }
}

/// The idempotent producer: every message acknowledged by all in-sync replicas, retries that
/// never duplicate, order kept per partition.
fn new_producer(base: &ClientConfig) -> anyhow::Result<FutureProducer<QuietContext>> {
    base.clone()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "1")
        .set("message.timeout.ms", MESSAGE_TIMEOUT_MS)
        .create_with_context(QuietContext)
        .map_err(|error| anyhow::anyhow!("invalid Kafka producer settings: {error}"))
}

/// Settings every client of this process shares.
fn base_config(config: &KafkaConfig, brokers: &str, client_id: &str) -> ClientConfig {
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", brokers)
        .set("client.id", client_id)
        // Connection failures reach us as errors and results (see `QuietContext`); librdkafka's
        // own log would repeat each of them, every few milliseconds while a broker is away.
        .set("log_level", "2");
    for (name, value) in &config.properties {
        base.set(name, value);
    }
    base
}

fn is_unknown_topic(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic)
    )
}

impl Bus for KafkaBus {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        key: &'a str,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            let payload = serde_json::to_vec(&event.data)
                .map_err(|error| PublishError(format!("cannot encode the event: {error}")))?;
            self.send(
                &self.name(topic),
                key.as_bytes(),
                &payload,
                headers_of(event),
            )
            .await
            .map_err(PublishError)
        })
    }

    fn consume(
        &self,
        topic: &str,
        group: &str,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let bus = self.clone();
        let topic = topic.to_owned();
        let group = group.to_owned();
        tokio::spawn(async move {
            let name = bus.name(&topic);
            // Subscribing to a topic that does not exist yet would only log errors until a
            // producer creates it: create it first, waiting for the broker if it is away.
            let mut delay = BROKER_RETRY_START;
            while let Err(error) = bus.ensure_topic(&name).await {
                tracing::warn!(topic = %name, %error, ?delay, "cannot reach Kafka to subscribe yet");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(BROKER_RETRY_CAP);
            }
            let consumer = match bus.consumer(&group, &topic) {
                Ok(consumer) => consumer,
                Err(error) => {
                    tracing::error!(topic = %name, %group, %error, "cannot create the Kafka consumer");
                    return;
                }
            };
            if let Err(error) = consumer.subscribe(&[&name]) {
                tracing::error!(topic = %name, %group, %error, "cannot subscribe");
                return;
            }
            let member = Member {
                bus: &bus,
                consumer: &consumer,
                topic: &topic,
                group: &group,
                handler: &*handler,
                shutdown: &shutdown,
            };
            member.run().await;
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        let bus = self.clone();
        Box::pin(async move {
            // librdkafka's metadata call blocks its thread.
            tokio::task::spawn_blocking(move || {
                bus.producer()
                    .client()
                    .fetch_metadata(None, Duration::from_secs(2))
                    .map(|_| ())
                    .map_err(|error| format!("Kafka is unreachable: {error}"))
            })
            .await
            .unwrap_or_else(|error| Err(error.to_string()))
        })
    }
}

/// One member of a consumer group, reading its assigned partitions.
struct Member<'a> {
    bus: &'a KafkaBus,
    consumer: &'a StreamConsumer<LagContext>,
    topic: &'a str,
    group: &'a str,
    handler: &'a dyn Handler,
    shutdown: &'a CancellationToken,
}

impl Member<'_> {
    async fn run(self) {
        // Next offset to commit per partition: set once a message's effect is stored.
        let mut handled: HashMap<i32, i64> = HashMap::new();
        let mut commit_tick = tokio::time::interval(COMMIT_INTERVAL);
        commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = commit_tick.tick() => self.commit(&mut handled, CommitMode::Async),
                received = self.consumer.recv() => {
                    let message = match received {
                        Ok(message) => message,
                        Err(error) => {
                            // Reported by the context too; the consumer reconnects by itself.
                            tracing::debug!(topic = self.topic, group = self.group, %error, "Kafka consumer error");
                            continue;
                        }
                    };
                    let (partition, offset) = (message.partition(), message.offset());
                    if !self.handle(&message).await {
                        // Stopping with this message unfinished: it stays uncommitted.
                        break;
                    }
                    handled.insert(partition, offset + 1);
                }
            }
        }
        self.commit(&mut handled, CommitMode::Sync);
    }

    /// Runs the handler on one message (or parks it); `false` if the member is stopping and the
    /// message may not be finished.
    async fn handle(&self, message: &BorrowedMessage<'_>) -> bool {
        let key = message.key().unwrap_or_default().to_vec();
        match decode(message) {
            Ok(event) => {
                let bus = self.bus.clone();
                let topic = self.topic.to_owned();
                let shutdown = self.shutdown.clone();
                let park_key = key.clone();
                let park = move |parked: Event| -> BoxFuture<'static, ()> {
                    Box::pin(async move {
                        let payload = serde_json::to_vec(&parked.data).unwrap_or_default();
                        bus.park(&topic, &park_key, &payload, headers_of(&parked), &shutdown)
                            .await;
                    })
                };
                let done = deliver(
                    self.topic,
                    self.group,
                    self.handler,
                    &event,
                    park,
                    self.shutdown,
                )
                .await;
                done && !self.shutdown.is_cancelled()
            }
            Err(reason) => {
                tracing::warn!(topic = self.topic, group = self.group, partition = message.partition(), offset = message.offset(), %reason, "message is not an event; parked on the dead-letter topic");
                let mut headers = OwnedHeaders::new();
                if let Some(original) = message.headers() {
                    for header in original.iter() {
                        headers = headers.insert(Header {
                            key: header.key,
                            value: header.value,
                        });
                    }
                }
                let headers = headers.insert(Header {
                    key: "ce_deadletterreason",
                    value: Some(reason.as_str()),
                });
                let payload = message.payload().unwrap_or_default();
                self.bus
                    .park(self.topic, &key, payload, headers, self.shutdown)
                    .await
            }
        }
    }

    /// Commits the offsets of handled messages of the partitions this member still owns (a
    /// partition taken away by a rebalance is the new owner's to commit).
    fn commit(&self, handled: &mut HashMap<i32, i64>, mode: CommitMode) {
        if handled.is_empty() {
            return;
        }
        let name = self.bus.name(self.topic);
        let owned: HashSet<i32> = self
            .consumer
            .assignment()
            .map(|assignment| {
                assignment
                    .elements_for_topic(&name)
                    .iter()
                    .map(|element| element.partition())
                    .collect()
            })
            .unwrap_or_default();
        let mut offsets = TopicPartitionList::new();
        for (partition, offset) in handled.drain() {
            if owned.contains(&partition) {
                // Cannot fail: the partition was just added.
                let _ = offsets.add_partition_offset(&name, partition, Offset::Offset(offset));
            }
        }
        if offsets.count() == 0 {
            return;
        }
        if let Err(error) = self.consumer.commit(&offsets, mode) {
            // The messages will be delivered again (to this member or the partition's next
            // owner) and the handlers will find them already processed.
            tracing::warn!(topic = %name, group = self.group, %error, "committing offsets failed");
        }
    }
}

/// The CloudEvents binary-mode headers of an event.
fn headers_of(event: &Event) -> OwnedHeaders {
    let time = event.time.format(&Rfc3339).unwrap_or_default();
    let mut headers = OwnedHeaders::new_with_capacity(9);
    for (key, value) in [
        ("ce_specversion", event.specversion.as_str()),
        ("ce_id", event.id.as_str()),
        ("ce_source", event.source.as_str()),
        ("ce_type", event.kind.as_str()),
        ("ce_time", time.as_str()),
        ("ce_subject", event.subject.as_str()),
        ("content-type", event.datacontenttype.as_str()),
    ] {
        headers = headers.insert(Header {
            key,
            value: Some(value),
        });
    }
    if let Some(traceparent) = &event.traceparent {
        headers = headers.insert(Header {
            key: "traceparent",
            value: Some(traceparent.as_str()),
        });
    }
    if let Some(reason) = &event.deadletterreason {
        headers = headers.insert(Header {
            key: "ce_deadletterreason",
            value: Some(reason.as_str()),
        });
    }
    headers
}

/// Rebuilds the event of a message, in binary mode (`ce_*` headers) or structured mode (the
/// whole event as the value); the reason when it is neither.
fn decode(message: &BorrowedMessage<'_>) -> Result<Event, String> {
    let mut attributes: HashMap<&str, String> = HashMap::new();
    if let Some(headers) = message.headers() {
        for header in headers.iter() {
            if let Some(value) = header.value {
                let value = std::str::from_utf8(value)
                    .map_err(|_| format!("header {} is not UTF-8", header.key))?;
                attributes.insert(header.key, value.to_owned());
            }
        }
    }
    let payload = message.payload().unwrap_or_default();
    let Some(id) = attributes.remove("ce_id") else {
        return serde_json::from_slice::<Event>(payload).map_err(|error| {
            format!("neither a binary-mode nor a structured CloudEvent: {error}")
        });
    };
    let mut required = |name: &str| {
        attributes
            .remove(name)
            .ok_or_else(|| format!("header {name} is missing"))
    };
    let specversion = required("ce_specversion")?;
    let source = required("ce_source")?;
    let kind = required("ce_type")?;
    let subject = match attributes.remove("ce_subject") {
        Some(subject) => subject,
        None => String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
    };
    let time = match attributes.remove("ce_time") {
        Some(text) => OffsetDateTime::parse(&text, &Rfc3339)
            .map_err(|error| format!("header ce_time is not RFC 3339: {error}"))?,
        None => OffsetDateTime::now_utc(),
    };
    let data = serde_json::from_slice(payload)
        .map_err(|error| format!("the data is not JSON: {error}"))?;
    Ok(Event {
        specversion,
        id,
        source,
        kind,
        time,
        subject,
        datacontenttype: attributes
            .remove("content-type")
            .unwrap_or_else(|| "application/json".to_owned()),
        data,
        traceparent: attributes
            .remove("traceparent")
            .or_else(|| attributes.remove("ce_traceparent")),
        deadletterreason: attributes.remove("ce_deadletterreason"),
    })
}

/// Client errors at the level they deserve: a broker that cannot be reached is a condition the
/// outbox and the consumers ride out (debug), anything else is worth a warning.
fn log_client_error(error: &KafkaError, reason: &str) {
    match error.rdkafka_error_code() {
        Some(
            RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::Resolve,
        ) => tracing::debug!(%error, reason, "Kafka broker unreachable"),
        _ => tracing::warn!(%error, reason, "Kafka client error"),
    }
}

/// The producer's and the admin client's context: errors through [`log_client_error`].
#[derive(Clone, Copy)]
struct QuietContext;

impl ClientContext for QuietContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_client_message(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(&error, reason);
    }
}

/// librdkafka's own log lines: connection failures are reported as errors too (and logged by
/// [`log_client_error`]), so only the severe ones are warnings here.
fn log_client_message(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
            tracing::error!(facility, "librdkafka: {message}");
        }
        RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
            tracing::debug!(facility, "librdkafka: {message}");
        }
        _ => tracing::trace!(facility, "librdkafka: {message}"),
    }
}

/// A consumer's context: errors through [`log_client_error`], and each partition's consumer
/// lag from librdkafka's statistics.
struct LagContext {
    topic: String,
    group: String,
}

impl ClientContext for LagContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_client_message(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(&error, reason);
    }

    fn stats(&self, statistics: Statistics) {
        for topic in statistics.topics.values() {
            for (partition, stats) in &topic.partitions {
                // -1 is librdkafka's internal "unassigned" partition; a negative lag means
                // "not known yet".
                if *partition < 0 || stats.consumer_lag < 0 {
                    continue;
                }
                metrics::gauge!(
                    "events_consumer_lag",
                    "topic" => self.topic.clone(),
                    "group" => self.group.clone(),
                    "partition" => partition.to_string()
                )
                .set(stats.consumer_lag as f64);
            }
        }
    }
}

impl ConsumerContext for LagContext {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_name_value_pairs() {
        assert_eq!(
            parse_property("security.protocol = SASL_SSL").unwrap(),
            ("security.protocol".to_owned(), "SASL_SSL".to_owned())
        );
        assert!(parse_property("no-equals-sign").is_err());
        assert!(parse_property("=value").is_err());
    }

    #[test]
    fn a_bus_needs_brokers() {
        let error = KafkaBus::new(&KafkaConfig::default(), "test").unwrap_err();
        assert!(error.to_string().contains("no Kafka brokers"), "{error}");
    }
}
