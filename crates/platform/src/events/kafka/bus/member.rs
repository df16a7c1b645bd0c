//! One consumer-group member: keys handled concurrently, one key in order, offsets committed
//! below the lowest unfinished message of each partition.

use super::*;

/// One member of a consumer group, reading its assigned partitions.
pub(super) struct Member<'a> {
    pub(super) bus: &'a KafkaBus,
    pub(super) consumer: &'a StreamConsumer<MemberContext>,
    pub(super) topic: &'a str,
    pub(super) group: &'a str,
    pub(super) handler: &'a dyn Handler,
    pub(super) shutdown: &'a CancellationToken,
}

/// A received message, detached from the consumer so that it can wait for its turn.
pub(super) struct Received {
    message: OwnedMessage,
    /// The member's assignment generation when it arrived (see [`MemberContext::generation`]).
    pub(super) generation: u64,
}

impl Received {
    /// The messages that must be handled one after another: a key within a partition.
    fn lane(&self) -> (i32, Vec<u8>) {
        (
            self.message.partition(),
            self.message.key().unwrap_or_default().to_vec(),
        )
    }
}

impl Member<'_> {
    pub(super) async fn run(self) {
        let mut progress = Progress::default();
        let mut generation = self.consumer.context().generation();
        // A lane is present while one of its messages is being handled, and holds the lane's
        // later messages in arrival (offset) order.
        let mut lanes: HashMap<(i32, Vec<u8>), VecDeque<Received>> = HashMap::new();
        let mut running: FuturesUnordered<BoxFuture<'_, (Received, bool)>> =
            FuturesUnordered::new();
        let mut held = 0_usize;
        let mut stopping = false;
        let mut commit_tick = tokio::time::interval(COMMIT_INTERVAL);
        commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled(), if !stopping => stopping = true,
                _ = commit_tick.tick() => self.commit(&mut progress, CommitMode::Async),
                Some((received, done)) = running.next(), if !running.is_empty() => {
                    held -= 1;
                    if !done {
                        // Stopping with this message unfinished: it stays uncommitted, and so
                        // does everything after it in its partition.
                        stopping = true;
                    } else if received.generation == generation {
                        progress.handled(received.message.partition(), received.message.offset());
                    }
                    let lane = received.lane();
                    match lanes.get_mut(&lane).and_then(VecDeque::pop_front) {
                        Some(next) if !stopping => running.push(Box::pin(self.handle(next))),
                        _ => {
                            lanes.remove(&lane);
                        }
                    }
                }
                received = self.consumer.recv(), if !stopping && held < MAX_HELD => {
                    let message = match received {
                        Ok(message) => message.detach(),
                        Err(error) => {
                            // Reported by the context too; the consumer reconnects by itself.
                            tracing::debug!(topic = self.topic, group = self.group, %error, "Kafka consumer error");
                            continue;
                        }
                    };
                    // A rebalance (run inside `recv`) restarts every assigned partition from its
                    // committed offset: what was tracked before no longer describes it.
                    let current = self.consumer.context().generation();
                    if current != generation {
                        progress.reset();
                        generation = current;
                    }
                    progress.received(message.partition(), message.offset());
                    held += 1;
                    let received = Received { message, generation };
                    let lane = received.lane();
                    match lanes.get_mut(&lane) {
                        Some(waiting) => waiting.push_back(received),
                        None => {
                            lanes.insert(lane, VecDeque::new());
                            running.push(Box::pin(self.handle(received)));
                        }
                    }
                }
            }
            if stopping && running.is_empty() {
                break;
            }
        }
        self.commit(&mut progress, CommitMode::Sync);
    }

    /// Runs the handler on one message (or parks it) and hands the message back, with whether
    /// it is finished: `false` if the member is stopping and the message may not be.
    async fn handle(&self, received: Received) -> (Received, bool) {
        let done = self.process(&received.message).await;
        (received, done)
    }

    /// [`Member::handle`]'s work: the handler through [`deliver`], or the dead-letter topic for
    /// a message that is not an event.
    async fn process(&self, message: &OwnedMessage) -> bool {
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
                deliver(
                    self.topic,
                    self.group,
                    self.handler,
                    &event,
                    park,
                    self.shutdown,
                )
                .await
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

    /// Commits, for the partitions this member still owns (a partition taken away by a
    /// rebalance is the new owner's to commit), the offsets below which every message is
    /// handled; a synchronous commit (at the stop) repeats them all, in case an asynchronous
    /// one was lost.
    fn commit(&self, progress: &mut Progress, mode: CommitMode) {
        let committable = progress.committable(matches!(mode, CommitMode::Sync));
        if committable.is_empty() {
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
        for (partition, offset) in committable {
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

/// Which received messages of each partition are handled. Messages of different keys finish
/// out of order, so the offset committed for a partition is the lowest one still held (or one
/// past the highest handled when none is held): a commit never covers a message whose effect
/// is not stored, whatever finished after it.
#[derive(Debug, Default)]
pub(super) struct Progress {
    partitions: HashMap<i32, PartitionProgress>,
}

#[derive(Debug, Default)]
pub(super) struct PartitionProgress {
    /// Offsets received and not handled yet, with how many times each is held.
    held: BTreeMap<i64, usize>,
    /// One past the highest offset handled.
    after_handled: Option<i64>,
    /// The offset last handed out for a commit.
    committed: Option<i64>,
}

impl Progress {
    pub(super) fn received(&mut self, partition: i32, offset: i64) {
        *self
            .partitions
            .entry(partition)
            .or_default()
            .held
            .entry(offset)
            .or_default() += 1;
    }

    pub(super) fn handled(&mut self, partition: i32, offset: i64) {
        let Some(progress) = self.partitions.get_mut(&partition) else {
            return;
        };
        let Some(count) = progress.held.get_mut(&offset) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            progress.held.remove(&offset);
        }
        progress.after_handled = Some(
            progress
                .after_handled
                .map_or(offset + 1, |after| after.max(offset + 1)),
        );
    }

    /// Per partition, the offset below which every received message is handled: where it
    /// moved since the last call, or everywhere with `all`.
    pub(super) fn committable(&mut self, all: bool) -> Vec<(i32, i64)> {
        let mut offsets = Vec::new();
        for (&partition, progress) in &mut self.partitions {
            let Some(after_handled) = progress.after_handled else {
                continue;
            };
            let safe = progress
                .held
                .keys()
                .next()
                .map_or(after_handled, |&lowest| lowest.min(after_handled));
            if all || progress.committed.is_none_or(|committed| safe > committed) {
                progress.committed = Some(safe);
                offsets.push((partition, safe));
            }
        }
        offsets
    }

    /// Forgets everything (after a rebalance).
    pub(super) fn reset(&mut self) {
        self.partitions.clear();
    }
}
