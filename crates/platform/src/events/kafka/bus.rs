//! The Kafka bus (the cargo feature `kafka`): see the module above for the contract.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

use super::KafkaConfig;
use crate::events::{Bus, Event, Handler, PublishError, dead_letter_topic, deliver};

mod contexts;
mod lag;
mod member;
mod wire;

use contexts::*;
use lag::*;
use member::*;
use wire::*;

/// How often the offsets of handled messages are committed.
const COMMIT_INTERVAL: Duration = Duration::from_millis(200);

/// Messages one member holds at once, being handled or waiting behind an earlier message of
/// their key: enough to keep a database busy with many keys in parallel, few enough that a
/// stop or a rebalance hands little back.
const MAX_HELD: usize = 64;

/// How long librdkafka keeps trying to deliver one message before reporting a failure; shorter
/// than the outbox relay's publish timeout, so the relay sees librdkafka's reason.
const MESSAGE_TIMEOUT_MS: &str = "9000";

/// The longest a broker may hold a fetch that found nothing new. A broker answers as soon as
/// data arrives only if it implements that wake-up (Kafka does, tansu holds the fetch for the
/// whole wait), so this bounds the delay from publish to consumption; librdkafka's default of
/// 500 ms alone would blow the half-second budget from an order to its notification. A
/// `--kafka-property fetch.wait.max.ms=…` overrides it.
const FETCH_WAIT_MAX_MS: &str = "50";

/// A consumer group member's session timeout and heartbeat interval (Kafka's defaults), unless
/// `--kafka-property` sets them.
const SESSION_TIMEOUT_MS: &str = "45000";
const HEARTBEAT_INTERVAL_MS: &str = "3000";

/// Delay between attempts to create a topic or park a message while the broker is away
/// (doubling, capped).
const BROKER_RETRY_START: Duration = Duration::from_millis(200);
const BROKER_RETRY_CAP: Duration = Duration::from_secs(5);

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

    fn consumer(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<StreamConsumer<MemberContext>, KafkaError> {
        let mut config = base_config(
            &self.inner.config,
            &self.inner.brokers,
            &self.inner.client_id,
        );
        if !self.has_property("fetch.wait.max.ms") {
            config.set("fetch.wait.max.ms", FETCH_WAIT_MAX_MS);
        }
        // A member silent for this long is out of the group and its partitions go to the others
        // (a member that stops cleanly leaves at once). Kafka's default: shorter, a broker that
        // hangs for longer than this (a long GC pause, a frozen VM) expels every member at once
        // when it comes back, and rebalances everything instead of carrying on.
        for (name, value) in [
            ("session.timeout.ms", SESSION_TIMEOUT_MS),
            ("heartbeat.interval.ms", HEARTBEAT_INTERVAL_MS),
        ] {
            if !self.has_property(name) {
                config.set(name, value);
            }
        }
        config
            .set("group.id", self.group_id(group, topic))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create_with_context(MemberContext {
                rebalances: AtomicU64::new(0),
            })
    }

    /// Whether the settings name librdkafka property `name` (`--kafka-property`).
    fn has_property(&self, name: &str) -> bool {
        self.inner
            .config
            .properties
            .iter()
            .any(|(property, _)| property == name)
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
            let reporter = tokio::spawn(report_lag(
                bus.clone(),
                topic.clone(),
                group.clone(),
                shutdown.clone(),
            ));
            let member = Member {
                bus: &bus,
                consumer: &consumer,
                topic: &topic,
                group: &group,
                handler: &*handler,
                shutdown: &shutdown,
            };
            member.run().await;
            reporter.abort();
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

#[cfg(test)]
mod tests {
    use crate::events::Handled;

    use super::*;

    #[test]
    fn a_bus_needs_brokers() {
        let error = KafkaBus::new(&KafkaConfig::default(), "test").unwrap_err();
        assert!(error.to_string().contains("no Kafka brokers"), "{error}");
    }

    #[test]
    fn a_partition_commits_only_below_its_lowest_unhandled_offset() {
        let mut progress = Progress::default();
        for offset in 10..15 {
            progress.received(0, offset);
        }
        assert!(
            progress.committable(false).is_empty(),
            "nothing handled yet"
        );

        // Later messages (other keys) finish first: the commit stays below offset 10.
        progress.handled(0, 12);
        progress.handled(0, 13);
        assert_eq!(progress.committable(false), [(0, 10)]);
        progress.handled(0, 10);
        assert_eq!(progress.committable(false), [(0, 11)]);
        assert!(
            progress.committable(false).is_empty(),
            "unchanged offsets are not committed again"
        );
        progress.handled(0, 11);
        assert_eq!(progress.committable(false), [(0, 14)], "14 is still held");
        progress.handled(0, 14);
        assert_eq!(progress.committable(false), [(0, 15)]);
        assert_eq!(
            progress.committable(true),
            [(0, 15)],
            "a final commit repeats it"
        );
    }

    #[test]
    fn partitions_progress_independently() {
        let mut progress = Progress::default();
        progress.received(0, 5);
        progress.received(1, 7);
        progress.received(1, 8);
        progress.handled(1, 8);
        progress.handled(0, 5);
        let mut offsets = progress.committable(false);
        offsets.sort_unstable();
        assert_eq!(offsets, [(0, 6), (1, 7)]);
    }

    #[test]
    fn an_offset_received_twice_is_held_until_both_deliveries_are_handled() {
        let mut progress = Progress::default();
        progress.received(0, 3);
        progress.received(0, 3);
        progress.received(0, 4);
        progress.handled(0, 3);
        progress.handled(0, 4);
        assert_eq!(progress.committable(false), [(0, 3)]);
        progress.handled(0, 3);
        assert_eq!(progress.committable(false), [(0, 5)]);
    }

    #[test]
    fn a_reset_forgets_what_was_tracked_before_a_rebalance() {
        let mut progress = Progress::default();
        progress.received(0, 100);
        progress.handled(0, 100);
        progress.reset();
        // Handled before the rebalance: not reported once the partition restarts.
        progress.handled(0, 100);
        assert!(progress.committable(true).is_empty());
        progress.received(0, 40);
        progress.handled(0, 40);
        assert_eq!(progress.committable(false), [(0, 41)]);
    }

    /// A bus on the test broker (`MICROSHOP_TEST_KAFKA_BROKERS`) under a namespace of its own,
    /// with one partition per topic; `None` (the test is skipped) without a broker.
    fn single_partition_bus(test: &str) -> Option<KafkaBus> {
        let Some(brokers) = std::env::var("MICROSHOP_TEST_KAFKA_BROKERS")
            .ok()
            .filter(|brokers| !brokers.is_empty())
        else {
            eprintln!("skipped {test}: set MICROSHOP_TEST_KAFKA_BROKERS (e.g. 127.0.0.1:9092)");
            return None;
        };
        let config = KafkaConfig {
            brokers: Some(brokers),
            partitions: 1,
            replication_factor: 1,
            namespace: format!("t{}.", uuid::Uuid::now_v7().simple()),
            properties: Vec::new(),
        };
        Some(KafkaBus::new(&config, "platform-unit-tests").unwrap())
    }

    fn labelled(key: &str, label: &str) -> Event {
        Event::new(
            "/test",
            "thing.happened",
            key,
            serde_json::json!({ "label": label }),
        )
    }

    fn label_of(event: &Event) -> String {
        event.data["label"].as_str().unwrap_or_default().to_owned()
    }

    async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
        let started = std::time::Instant::now();
        while !check() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "timed out waiting for: {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stuck_message_holds_back_its_key_and_the_commit_but_not_other_keys() {
        let Some(bus) = single_partition_bus("kafka: a stuck message") else {
            return;
        };
        let topic = "stuck";
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let handler = crate::events::consumer::handler(move |event: Event| {
            let into = into.clone();
            async move {
                if label_of(&event) == "s1" {
                    return Handled::Retry("not today".into());
                }
                into.lock().unwrap().push(label_of(&event));
                Handled::Done
            }
        });
        let first_stop = CancellationToken::new();
        let first = bus.consume(topic, "g", handler, first_stop.clone());
        let published = ["s1", "k1", "k2", "k3", "s2", "k4"];
        for label in published {
            let key = if label.starts_with('s') { "s" } else { label };
            bus.publish(topic, key, &labelled(key, label))
                .await
                .unwrap();
        }
        wait_until("the other keys are handled around the stuck one", || {
            seen.lock().unwrap().len() == 4
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            *seen.lock().unwrap(),
            ["k1", "k2", "k3", "k4"],
            "s2 waits behind s1"
        );
        // Everything was fetched, nothing committed: the lag says so.
        let lag = |value: u32| {
            format!(
                "events_consumer_lag{{service=\"g\",topic=\"{topic}\",group=\"g\",partition=\"0\"}} {value}"
            )
        };
        crate::metrics::handle();
        wait_until("the lag counts the uncommitted messages", || {
            crate::metrics::render("g")
                .lines()
                .any(|line| line == lag(6))
        })
        .await;
        first_stop.cancel();
        first.await.unwrap();

        // The next member of the group starts from the stuck message: nothing after it in the
        // partition was committed, although handled.
        let (handler, second_seen) = recording();
        let second_stop = CancellationToken::new();
        let _stop = second_stop.clone().drop_guard();
        drop(bus.consume(topic, "g", handler, second_stop));
        wait_until("every message is delivered again", || {
            second_seen.lock().unwrap().len() == published.len()
        })
        .await;
        let second = second_seen.lock().unwrap().clone();
        let position = |label: &str| second.iter().position(|seen| seen == label).unwrap();
        assert!(position("s1") < position("s2"), "{second:?}");
        wait_until("the lag comes down once all is committed", || {
            crate::metrics::render("g")
                .lines()
                .any(|line| line == lag(0))
        })
        .await;
    }

    fn recording() -> (Arc<dyn Handler>, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let handler = crate::events::consumer::handler(move |event: Event| {
            let into = into.clone();
            async move {
                into.lock().unwrap().push(label_of(&event));
                Handled::Done
            }
        });
        (handler, seen)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_handling_keeps_each_keys_order() {
        let Some(bus) = single_partition_bus("kafka: order per key under concurrency") else {
            return;
        };
        let topic = "ordered";
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most_in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (now, most) = (in_flight.clone(), most_in_flight.clone());
        let handler = crate::events::consumer::handler(move |event: Event| {
            let (into, now, most) = (into.clone(), now.clone(), most.clone());
            async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(running, Ordering::SeqCst);
                // Later messages of a key take less time: a key's order would break at once
                // if its messages ran side by side.
                let index: u64 = label_of(&event)[2..].parse().unwrap();
                tokio::time::sleep(Duration::from_millis(40 - index)).await;
                into.lock().unwrap().push(label_of(&event));
                now.fetch_sub(1, Ordering::SeqCst);
                Handled::Done
            }
        });
        let shutdown = CancellationToken::new();
        let _stop = shutdown.clone().drop_guard();
        let mut published = Vec::new();
        for index in 0..10 {
            for key in ["a", "b", "c", "d"] {
                let label = format!("{key}-{index}");
                bus.publish(topic, key, &labelled(key, &label))
                    .await
                    .unwrap();
                published.push(label);
            }
        }
        drop(bus.consume(topic, "g", handler, shutdown));
        wait_until("all 40 are handled", || seen.lock().unwrap().len() == 40).await;
        let seen = seen.lock().unwrap().clone();
        for key in ["a", "b", "c", "d"] {
            let order: Vec<&String> = seen.iter().filter(|l| l.starts_with(key)).collect();
            let expected: Vec<&String> = published.iter().filter(|l| l.starts_with(key)).collect();
            assert_eq!(order, expected, "key {key}");
        }
        let most = most_in_flight.load(Ordering::SeqCst);
        assert!(
            (2..=4).contains(&most),
            "{most} handlers ran at once (one per key at most)"
        );
    }
}
