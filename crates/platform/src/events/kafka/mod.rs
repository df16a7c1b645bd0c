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
//!   (Kafka rebalances them when a member joins or dies). A member handles messages of
//!   different keys concurrently (up to 64 held at once) and the messages of one key (within
//!   a partition) one after another, in offset order: one handler at a time, each waiting for
//!   a database round trip, could not keep up with what the producers publish. An offset is
//!   committed only after the handler answered `Done` or `Reject` for it *and for every earlier
//!   message of its partition*, that is after all those effects are stored: offsets are
//!   committed explicitly every 200 ms and when the member stops, never automatically. A crash
//!   between an effect and the commit redelivers, which idempotent consumers absorb.
//! - **A message that cannot be processed** (not a CloudEvent, or a payload the handler
//!   rejects) is copied to `<topic>.dlq` with a `ce_deadletterreason` header, and consumption
//!   moves on.
//!
//! A service's consumer group on a topic is the Kafka group `<group>.<topic>`
//! (`notifier.order-events`). `--kafka-namespace` prefixes every topic and group, so several
//! deployments (or tests) can share one cluster. Consumer lag per partition
//! (`events_consumer_lag{topic,group,partition}`) is the group's committed offset against the
//! partition's high watermark, both asked of the broker every few seconds: what is not
//! committed is not handled, whatever the member has fetched (librdkafka's own statistics count
//! a fetched message as consumed, and stop moving when fetching stops).
//!
//! Here: [`KafkaConfig`], the settings, always compiled, so that a binary built without Kafka
//! can still say that `--kafka-brokers` needs it; and, behind the cargo feature `kafka`
//! (librdkafka is minutes of C to compile, and embedded mode never needs it), `bus`: the bus and
//! publishing, with `member` (consuming and commits), `lag`, `wire` (CloudEvents binary mode)
//! and `contexts` (librdkafka's logs and rebalances in ours).

mod config;
pub use config::KafkaConfig;

#[cfg(feature = "kafka")]
mod bus;
#[cfg(feature = "kafka")]
pub use bus::KafkaBus;

/// Whether this binary can talk to Kafka (built with the cargo feature `kafka`).
pub const AVAILABLE: bool = cfg!(feature = "kafka");
