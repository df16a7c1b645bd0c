//! Consumer lag from committed offsets: `events_consumer_lag`, measured by a client outside
//! the group.

use super::*;

/// How often the consumer lag is measured.
pub(super) const LAG_INTERVAL: Duration = Duration::from_secs(2);

/// How long one lag measurement may wait for the broker.
pub(super) const LAG_TIMEOUT: Duration = Duration::from_secs(2);

/// Sets `events_consumer_lag` for every partition of `topic` every [`LAG_INTERVAL`], until
/// `shutdown`: the high watermark minus the offset `group` committed (minus the low watermark
/// when it committed nothing yet). Asked through a client of its own that never joins the
/// group, so the measurement neither waits for the member nor depends on what it fetched.
/// While the broker cannot answer, the last values stay.
pub(super) async fn report_lag(
    bus: KafkaBus,
    topic: String,
    group: String,
    shutdown: CancellationToken,
) {
    let name = bus.name(&topic);
    let mut config = base_config(&bus.inner.config, &bus.inner.brokers, &bus.inner.client_id);
    config
        .set("group.id", bus.group_id(&group, &topic))
        .set("enable.auto.commit", "false");
    let client: BaseConsumer<QuietContext> = match config.create_with_context(QuietContext) {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(topic = %name, %group, %error, "cannot measure the consumer lag");
            return;
        }
    };
    let client = Arc::new(client);
    let mut tick = tokio::time::interval(LAG_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (client, asked) = (client.clone(), name.clone());
        // librdkafka's calls block their thread.
        let measured = tokio::task::spawn_blocking(move || committed_lag(&client, &asked)).await;
        match measured {
            Ok(Ok(lags)) => {
                for (partition, lag) in lags {
                    metrics::gauge!(
                        "events_consumer_lag",
                        "service" => group.clone(),
                        "topic" => topic.clone(),
                        "group" => group.clone(),
                        "partition" => partition.to_string()
                    )
                    .set(lag as f64);
                }
            }
            Ok(Err(error)) => {
                tracing::debug!(topic = %name, %group, %error, "cannot measure the consumer lag now");
            }
            Err(_) => return,
        }
    }
}

/// Per partition of `topic`: its high watermark minus the group's committed offset.
pub(super) fn committed_lag(
    client: &BaseConsumer<QuietContext>,
    topic: &str,
) -> Result<Vec<(i32, i64)>, KafkaError> {
    let metadata = client.fetch_metadata(Some(topic), LAG_TIMEOUT)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|found| found.name() == topic)
        .flat_map(|found| found.partitions().iter().map(|partition| partition.id()))
        .collect();
    let mut wanted = TopicPartitionList::new();
    for partition in &partitions {
        wanted.add_partition(topic, *partition);
    }
    let committed = client.committed_offsets(wanted, LAG_TIMEOUT)?;
    let mut lags = Vec::with_capacity(partitions.len());
    for partition in partitions {
        let (low, high) = client.fetch_watermarks(topic, partition, LAG_TIMEOUT)?;
        let position = committed
            .find_partition(topic, partition)
            .and_then(|element| match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            })
            .unwrap_or(low);
        lags.push((partition, (high - position).max(0)));
    }
    Ok(lags)
}
