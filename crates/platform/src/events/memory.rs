//! The in-process bus of embedded mode.
//!
//! It behaves like one Kafka partition per topic with consumer groups, so services see in
//! embedded mode the semantics they get in distributed mode: one append-only log per topic; each
//! group reads the whole log (every group sees every message); within a group each message is
//! handed to exactly one member at a time, and a message is committed only once the handler has
//! answered `Done` or `Reject`. Members of one group work in parallel on different keys, but a
//! key's next message is handed out only after the previous one is committed, which keeps the
//! order per key. Messages every group has committed are dropped.
//!
//! The log lives in memory: the durability that matters (an event is never lost between the
//! change and its publication) comes from the outbox, which publishes again after a restart
//! whatever was not yet sent, and from idempotent consumers, which absorb the redeliveries.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Bus, Event, Handler, PublishError, dead_letter_topic};

/// How many messages a topic keeps while no group reads it (a dead-letter topic, a topic whose
/// consumer has not subscribed yet): the newest, so memory stays bounded.
const UNREAD_CAP: usize = 10_000;

struct Message {
    key: Arc<str>,
    event: Arc<Event>,
}

/// One consumer group's progress through a topic.
struct Group {
    /// Every offset below is committed.
    committed: u64,
    /// Every offset below has been looked at: handed out, or queued behind its key.
    dispatched: u64,
    /// Committed offsets above `committed` (members finish out of order across keys).
    done: BTreeSet<u64>,
    /// Keys with a message handed out and not committed, each with the later offsets of that
    /// key waiting their turn.
    keys: HashMap<Arc<str>, VecDeque<u64>>,
    /// Offsets that may be handed out now: a key's next message once the previous one is
    /// committed, or a message a stopping member gave back.
    ready: BTreeSet<u64>,
}

struct Topic {
    /// Offset of `messages[0]`.
    base: u64,
    messages: VecDeque<Message>,
    groups: HashMap<String, Group>,
    /// Wakes the topic's members when there is something new to take.
    notify: Arc<Notify>,
}

/// One message handed to one member.
struct Claim {
    offset: u64,
    key: Arc<str>,
    event: Arc<Event>,
}

impl Topic {
    fn new() -> Self {
        Self {
            base: 0,
            messages: VecDeque::new(),
            groups: HashMap::new(),
            notify: Arc::new(Notify::new()),
        }
    }

    fn end(&self) -> u64 {
        self.base + self.messages.len() as u64
    }

    fn message(&self, offset: u64) -> &Message {
        let index = usize::try_from(offset - self.base).expect("offset within the log");
        &self.messages[index]
    }

    /// Registers `group` (a no-op when it exists); a new group starts at the oldest message kept.
    fn join(&mut self, group: &str) {
        let base = self.base;
        self.groups
            .entry(group.to_owned())
            .or_insert_with(|| Group {
                committed: base,
                dispatched: base,
                done: BTreeSet::new(),
                keys: HashMap::new(),
                ready: BTreeSet::new(),
            });
    }

    /// The group's next message that no member holds and whose key is free, if any.
    fn claim(&mut self, group: &str) -> Option<Claim> {
        let end = self.end();
        let base = self.base;
        let state = self.groups.get_mut(group)?;
        let offset = match state.ready.pop_first() {
            Some(offset) => offset,
            None => loop {
                if state.dispatched >= end {
                    return None;
                }
                let offset = state.dispatched;
                state.dispatched += 1;
                let index = usize::try_from(offset - base).expect("offset within the log");
                let key = &self.messages[index].key;
                match state.keys.get_mut(key) {
                    Some(waiting) => waiting.push_back(offset),
                    None => {
                        state.keys.insert(key.clone(), VecDeque::new());
                        break offset;
                    }
                }
            },
        };
        let message = self.message(offset);
        Some(Claim {
            offset,
            key: message.key.clone(),
            event: message.event.clone(),
        })
    }

    /// Ends a member's hold on `offset`: committed (`done`) or given back to the group.
    fn settle(&mut self, group: &str, offset: u64, key: &Arc<str>, done: bool) {
        let Some(state) = self.groups.get_mut(group) else {
            return;
        };
        if !done {
            state.ready.insert(offset);
            return;
        }
        state.done.insert(offset);
        while state.done.remove(&state.committed) {
            state.committed += 1;
        }
        match state.keys.get_mut(key).and_then(VecDeque::pop_front) {
            Some(next) => {
                state.ready.insert(next);
            }
            None => {
                state.keys.remove(key);
            }
        }
        self.trim();
    }

    /// Drops what every group has committed, or the oldest beyond the cap when nobody reads.
    fn trim(&mut self) {
        match self.groups.values().map(|group| group.committed).min() {
            Some(lowest) => {
                while self.base < lowest && self.messages.pop_front().is_some() {
                    self.base += 1;
                }
            }
            None => {
                while self.messages.len() > UNREAD_CAP && self.messages.pop_front().is_some() {
                    self.base += 1;
                }
            }
        }
    }
}

#[derive(Default)]
struct Inner {
    topics: Mutex<HashMap<String, Topic>>,
}

/// The in-process [`Bus`].
#[derive(Clone, Default)]
pub struct MemoryBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus").finish_non_exhaustive()
    }
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages published to `topic` and not yet committed by every group (for tests and
    /// metrics). A topic nobody consumes keeps its newest 10 000.
    pub fn retained(&self, topic: &str) -> usize {
        self.topics()
            .get(topic)
            .map_or(0, |topic| topic.messages.len())
    }

    /// The events `retained` counts, oldest first (to inspect a dead-letter topic, or what a
    /// service published when nothing consumes it).
    pub fn retained_events(&self, topic: &str) -> Vec<Event> {
        self.topics().get(topic).map_or_else(Vec::new, |topic| {
            topic
                .messages
                .iter()
                .map(|message| (*message.event).clone())
                .collect()
        })
    }

    /// How many messages of `topic` `group` has not committed yet; `None` for an unknown group.
    pub fn lag(&self, topic: &str, group: &str) -> Option<u64> {
        let topics = self.topics();
        let topic = topics.get(topic)?;
        let state = topic.groups.get(group)?;
        Some(topic.end() - state.committed)
    }

    fn topics(&self) -> MutexGuard<'_, HashMap<String, Topic>> {
        // The lock guards plain bookkeeping that every method leaves consistent, so a panic
        // elsewhere while it was held does not make the state unusable.
        self.inner.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn append(&self, topic: &str, key: &str, event: Event) {
        let notify = {
            let mut topics = self.topics();
            let log = topics.entry(topic.to_owned()).or_insert_with(Topic::new);
            log.messages.push_back(Message {
                key: key.into(),
                event: Arc::new(event),
            });
            if log.groups.is_empty() {
                log.trim();
            }
            log.notify.clone()
        };
        notify.notify_waiters();
    }

    /// Registers `group` on `topic` and returns the topic's wake-up signal.
    fn join(&self, topic: &str, group: &str) -> Arc<Notify> {
        let mut topics = self.topics();
        let log = topics.entry(topic.to_owned()).or_insert_with(Topic::new);
        log.join(group);
        log.notify.clone()
    }

    fn claim(&self, topic: &str, group: &str) -> Option<Claim> {
        self.topics().get_mut(topic)?.claim(group)
    }

    fn settle(&self, topic: &str, group: &str, offset: u64, key: &Arc<str>, done: bool) {
        let (notify, lag) = {
            let mut topics = self.topics();
            let Some(log) = topics.get_mut(topic) else {
                return;
            };
            log.settle(group, offset, key, done);
            let lag = log
                .groups
                .get(group)
                .map_or(0, |state| log.end() - state.committed);
            (log.notify.clone(), lag)
        };
        notify.notify_waiters();
        if done {
            // One partition per topic here; the label keeps the series shaped like Kafka's.
            metrics::gauge!(
                "events_consumer_lag",
                "service" => group.to_owned(),
                "topic" => topic.to_owned(),
                "group" => group.to_owned(),
                "partition" => "0"
            )
            .set(lag as f64);
        }
    }
}

/// A member's hold on one message; dropping it without [`Delivery::commit`] gives the message
/// back to the group, so a member that stops (or whose task dies) never strands it.
struct Delivery<'a> {
    bus: &'a MemoryBus,
    topic: &'a str,
    group: &'a str,
    offset: u64,
    key: Arc<str>,
    settled: bool,
}

impl Delivery<'_> {
    fn commit(mut self) {
        self.settled = true;
        self.bus
            .settle(self.topic, self.group, self.offset, &self.key, true);
    }
}

impl Drop for Delivery<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.bus
                .settle(self.topic, self.group, self.offset, &self.key, false);
        }
    }
}

impl Bus for MemoryBus {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        key: &'a str,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        self.append(topic, key, event.clone());
        Box::pin(async { Ok(()) })
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
        // Register the group now, so messages published from here on are kept for it.
        let notify = bus.join(&topic, &group);
        tokio::spawn(async move {
            loop {
                let notified = notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if shutdown.is_cancelled() {
                    return;
                }
                let Some(claim) = bus.claim(&topic, &group) else {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = notified => continue,
                    }
                };
                let delivery = Delivery {
                    bus: &bus,
                    topic: &topic,
                    group: &group,
                    offset: claim.offset,
                    key: claim.key.clone(),
                    settled: false,
                };
                let park = |parked: Event| {
                    bus.append(&dead_letter_topic(&topic), &claim.key, parked);
                    futures::future::ready(()).boxed()
                };
                let delivered =
                    super::deliver(&topic, &group, &*handler, &claim.event, park, &shutdown).await;
                if !delivered {
                    // Shutting down in the middle of retries: `delivery` gives the message back.
                    return;
                }
                delivery.commit();
            }
        })
    }
}
