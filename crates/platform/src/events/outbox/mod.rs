//! The transactional outbox: events leave a service only after the change they describe is
//! committed, and always do eventually.
//!
//! Publishing to the bus from a request handler would either lose the event (a crash after the
//! commit, a broker outage) or announce a change that then rolls back. Instead the service
//! writes the event into its own `outbox` table in the same transaction as the change
//! ([`enqueue`]), and a relay ([`spawn_relay`]) publishes pending rows in order and marks them
//! sent. If publishing fails the row stays, and is retried with a capped exponential backoff;
//! rows are durable, so a restart (or another instance polling the same table) resumes where
//! the relay stopped. Delivery is therefore at least once: consumers deduplicate on the event
//! id (see [`super::consumer`]).
//!
//! Order and throughput: a pass reads the oldest pending rows (by enqueue time, then id; ids
//! are UUIDv7, so in creation order within a process) and *pipelines* their publishes: each
//! row starts without waiting for the acknowledgement of the rows before it, so a batch costs
//! about one broker round trip, not one per row (awaiting each acknowledgement in turn capped
//! the relay at a few hundred events per second, below what one orders process produces).
//! Order is kept per key, which is all the bus promises consumers: a row does not start before
//! its key's previous row is acknowledged (a bus may lose a message and deliver the next one —
//! an idempotent Kafka producer whose message timed out goes on with the following ones — so
//! handing the bus both at once would not be enough). When a publish fails nothing more
//! starts, and the failed row, with its backoff, is the head of the line: nothing behind it
//! goes out before its retry time, and its retry is published alone before the rest follows,
//! so no later event of its key overtakes it and a broker that is still down costs one publish
//! per attempt. Rows of other keys already on their way when it failed may still go out; they
//! are marked sent like any other (they owed the failed row no order). On PostgreSQL several
//! instances of a service share the table: a transaction-scoped advisory lock lets one relay
//! publish at a time.
//!
//! Wiring in a service:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use platform::events::{Bus, Event, ORDER_EVENTS, outbox};
//! # async fn f(pool: sqlx::AnyPool, bus: Arc<dyn Bus>,
//! #            shutdown: tokio_util::sync::CancellationToken) -> sqlx::Result<()> {
//! let relay = outbox::spawn_relay("orders", pool.clone(), bus, shutdown);
//! // In a request:
//! let mut tx = platform::db::begin_write(&pool).await?;
//! // ... the change, on `&mut *tx` ...
//! let event = Event::new("/orders", "order.created", "0193…", serde_json::json!({}));
//! outbox::enqueue(&mut tx, ORDER_EVENTS, &event).await?;
//! tx.commit().await?;
//! relay.wake(); // publish now rather than at the next poll
//! # Ok(()) }
//! ```
//!
//! By concern: `rows` is what a producer writes (the table, [`enqueue`], [`OutboxRow`]) and
//! the backlog gauges read, `relay` the handle and its start functions, and `worker` the
//! passes that read, publish, mark and clean up rows. All of it is re-exported here, so callers
//! keep naming `platform::events::outbox::…`.

mod relay;
mod rows;
mod worker;

pub use relay::{Relay, RelayOptions, spawn_relay, spawn_relay_once_ready, spawn_relay_with};
pub use rows::{OutboxRow, POSTGRES_TABLE, SQLITE_TABLE, backlog, enqueue};
