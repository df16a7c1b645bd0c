//! The relay's work: one pass reads the oldest pending rows, pipelines their publishes (in order
//! per key), marks them sent or schedules a retry with backoff, and cleans up old sent rows; on
//! PostgreSQL under an advisory lock, so one instance publishes at a time.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Row};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::relay::{Relay, RelayOptions, Shared};
use super::rows::{age_of, backlog_on};
use crate::events::{Bus, Event};
use crate::millis::{millis, now_millis};

/// The PostgreSQL advisory lock that lets one relay at a time publish a database's outbox.
const RELAY_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

/// How soon a relay that found the relay lock taken tries again (at the latest).
const BUSY_RETRY: Duration = Duration::from_millis(50);

/// Ids per `UPDATE … WHERE id IN (…)`, well under every engine's limit on parameters.
const IDS_PER_STATEMENT: usize = 500;

/// Sent rows deleted per cleanup statement, so one cleanup never holds SQLite's write lock long.
const DELETES_PER_STATEMENT: i64 = 5_000;

/// Starts the worker once `ready` completes (or never, if shutdown comes first).
pub(super) fn spawn_worker(
    service: &'static str,
    pool: AnyPool,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
    options: RelayOptions,
    ready: impl std::future::Future<Output = ()> + Send + 'static,
) -> Relay {
    let shared = Arc::new(Shared {
        wake: Notify::new(),
        handle: Mutex::new(None),
    });
    let worker = Worker {
        service,
        pool,
        bus,
        options,
        shared: shared.clone(),
        postgres: None,
    };
    let handle = tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            () = ready => worker.run(shutdown).await,
        }
    });
    *shared.handle.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
    Relay { shared }
}

/// What one pass found.
enum Pass {
    /// Caught up (as of the read).
    Idle,
    /// A full batch went out: there may be more right away.
    More,
    /// The oldest pending row may not be retried before this unix-millisecond instant.
    Blocked(i64),
    /// Another instance holds the relay lock (PostgreSQL): it publishes what is pending.
    Busy,
}

/// A pending row as read by a pass.
struct Pending {
    id: String,
    topic: String,
    key: String,
    payload: String,
    created_at: i64,
    attempts: i64,
    next_attempt_at: i64,
}

/// The rows a pass read.
struct Batch {
    rows: Vec<Pending>,
    /// As many rows as a batch holds: there may be more.
    full: bool,
}

/// What publishing a batch did.
#[derive(Default)]
struct Published<'b> {
    sent: Vec<&'b str>,
    undecodable: Vec<(&'b str, String)>,
    failure: Option<(&'b Pending, String)>,
    /// The head row is not due before this unix-millisecond instant.
    blocked: Option<i64>,
}

impl Published<'_> {
    /// Nothing to record: no row went out, failed or was dropped.
    fn writes_nothing(&self) -> bool {
        self.sent.is_empty() && self.undecodable.is_empty() && self.failure.is_none()
    }
}

struct Worker {
    service: &'static str,
    pool: AnyPool,
    bus: Arc<dyn Bus>,
    options: RelayOptions,
    shared: Arc<Shared>,
    /// Learnt from the first connection.
    postgres: Option<bool>,
}

impl Worker {
    async fn run(mut self, shutdown: CancellationToken) {
        let cleanup_every = self.options.retention.min(Duration::from_secs(1));
        let mut last_cleanup: Option<Instant> = None;
        let mut failed_passes = 0;
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            let pass_started = tokio::time::Instant::now();
            let pass = match self.pass().await {
                Ok(pass) => {
                    failed_passes = 0;
                    pass
                }
                Err(error) => {
                    // The database is down or the table is missing: back off, so the log and
                    // the database are not flooded while it lasts.
                    failed_passes += 1;
                    let delay = backoff(
                        failed_passes,
                        self.options.poll_interval,
                        self.options.backoff_cap.min(Duration::from_secs(5)),
                    );
                    tracing::warn!(service = self.service, %error, ?delay, "outbox relay pass failed");
                    Pass::Blocked(now_millis().saturating_add(millis(delay)))
                }
            };
            if failed_passes == 0 && last_cleanup.is_none_or(|at| at.elapsed() >= cleanup_every) {
                last_cleanup = Some(Instant::now());
                if let Err(error) = self.cleanup().await {
                    tracing::warn!(service = self.service, %error, "outbox cleanup failed");
                }
            }
            let (wait, wakeable) = match pass {
                Pass::More => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Pass::Idle => (self.options.poll_interval, true),
                // Rows this instance writes meanwhile go out with the other instance's next
                // pass; trying again at every wake would only cost statements.
                Pass::Busy => (self.options.poll_interval.min(BUSY_RETRY), false),
                // Nothing can go out before the head row's retry time: new rows wait behind it.
                Pass::Blocked(until) => (
                    Duration::from_millis(u64::try_from(until - now_millis()).unwrap_or(0)),
                    false,
                ),
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.shared.wake.notified(), if wakeable => {
                    // Under a steady flow every commit wakes the relay: gather what the next
                    // few milliseconds bring into one pass rather than pay a pass (five
                    // statements) for each row. After a quiet spell this waits for nothing.
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep_until(pass_started + self.options.pass_spacing) => {}
                    }
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    fn is_postgres(&mut self, conn: &AnyConnection) -> bool {
        *self
            .postgres
            .get_or_insert_with(|| conn.backend_name().eq_ignore_ascii_case("PostgreSQL"))
    }

    async fn pass(&mut self) -> sqlx::Result<Pass> {
        let mut conn = self.pool.acquire().await?;
        if !self.is_postgres(&conn) {
            // SQLite has one writer per file, so one relay per file: no lock needed, and no
            // transaction held across the publishes (it would fail to upgrade to a write). The
            // read's connection goes back before the publishes, and the outcome is written
            // in this process's write turn (see `crate::db`), taken only if there is one.
            let pending = self.read_pending(&mut conn).await?;
            drop(conn);
            let outcome = self.publish(&pending).await;
            if outcome.writes_nothing() {
                return self.conclude(None, &pending, outcome).await;
            }
            let mut conn = crate::db::acquire_write(&self.pool).await?;
            return self.conclude(Some(&mut *conn), &pending, outcome).await;
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            // Another instance is relaying this table right now.
            tx.rollback().await?;
            return Ok(Pass::Busy);
        }
        let pending = self.read_pending(&mut tx).await?;
        let outcome = self.publish(&pending).await;
        let pass = self.conclude(Some(&mut *tx), &pending, outcome).await?;
        tx.commit().await?;
        Ok(pass)
    }

    /// The oldest pending rows, at most a batch.
    async fn read_pending(&self, conn: &mut AnyConnection) -> sqlx::Result<Batch> {
        let batch_size = self.options.batch_size.max(1);
        let rows = sqlx::query(
            "SELECT id, topic, key, payload, created_at, attempts, next_attempt_at FROM outbox \
             WHERE sent_at IS NULL ORDER BY created_at, id LIMIT $1",
        )
        .bind(i64::try_from(batch_size).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await?;
        let full = rows.len() == batch_size;
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            pending.push(Pending {
                id: row.try_get("id")?,
                topic: row.try_get("topic")?,
                key: row.try_get("key")?,
                payload: row.try_get("payload")?,
                created_at: row.try_get("created_at")?,
                attempts: row.try_get("attempts")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
            });
        }
        Ok(Batch {
            rows: pending,
            full,
        })
    }

    /// Publishes the due rows (those before the first row whose retry time has not come),
    /// pipelined: rows start in order, each without waiting for the acknowledgements of the
    /// rows before it, except where order needs the wait:
    ///
    /// - a row whose key has an earlier row still unacknowledged waits for that row's outcome,
    ///   and starts once it succeeded (a bus may lose one message and deliver the next: an
    ///   idempotent Kafka producer whose message timed out goes on with the following ones);
    ///   rows of other keys go on meanwhile;
    /// - a row that failed before (the head of the line after an outage) is awaited before
    ///   anything later starts, so a broker still down costs one publish per pass, not a batch;
    /// - once any publish failed, nothing more starts.
    ///
    /// Rows of other keys started before the failure may still go out; they are recorded as
    /// sent, since order is promised per key only (as the bus itself promises it). A row of
    /// the failed row's key never goes out before it.
    async fn publish<'b>(&self, pending: &'b Batch) -> Published<'b> {
        let now = now_millis();
        let mut outcome = Published::default();
        let due = match pending
            .rows
            .iter()
            .position(|row| row.next_attempt_at > now)
        {
            Some(first_not_due) => {
                outcome.blocked = Some(pending.rows[first_not_due].next_attempt_at);
                &pending.rows[..first_not_due]
            }
            None => &pending.rows[..],
        };
        let mut run = Pipeline {
            service: self.service,
            bus: self.bus.clone(),
            timeout: self.options.publish_timeout,
            due,
            results: vec![None; due.len()],
            lanes: HashMap::new(),
            in_flight: FuturesUnordered::new(),
            undecodable: Vec::new(),
            failed: false,
        };
        for (index, row) in due.iter().enumerate() {
            // Collect what is already acknowledged (this also hands the publishes started
            // since the last look to the bus, without waiting for anything).
            while let Some(Some((done, result))) = run.in_flight.next().now_or_never() {
                run.settle(done, result);
            }
            if run.failed {
                break;
            }
            if let Some(waiting) = run.lanes.get_mut(row.key.as_str()) {
                waiting.push_back(index);
                continue;
            }
            run.lanes.insert(row.key.as_str(), VecDeque::new());
            run.start(index);
            if row.attempts > 0 {
                while run.results[index].is_none() {
                    let Some((done, result)) = run.in_flight.next().await else {
                        break;
                    };
                    run.settle(done, result);
                }
            }
        }
        while let Some((done, result)) = run.in_flight.next().await {
            run.settle(done, result);
        }
        outcome.undecodable = run.undecodable;
        for (row, result) in due.iter().zip(run.results) {
            match result {
                Some(Ok(())) => outcome.sent.push(&row.id),
                Some(Err(error)) if outcome.failure.is_none() => {
                    outcome.failure = Some((row, error));
                }
                _ => {}
            }
        }
        outcome
    }

    /// Records what [`Self::publish`] did (on `conn`, which is `None` only when there is
    /// nothing to write) and sets the gauges.
    async fn conclude(
        &self,
        mut conn: Option<&mut AnyConnection>,
        pending: &Batch,
        outcome: Published<'_>,
    ) -> sqlx::Result<Pass> {
        let Published {
            sent,
            undecodable,
            failure,
            mut blocked,
        } = outcome;
        if let Some(conn) = conn.as_deref_mut() {
            let sent_at = now_millis();
            mark_sent(conn, &sent, sent_at).await?;
            for (id, error) in &undecodable {
                sqlx::query("UPDATE outbox SET sent_at = $1, last_error = $2 WHERE id = $3")
                    .bind(sent_at)
                    .bind(error.as_str())
                    .bind(*id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        if !sent.is_empty() {
            metrics::counter!("outbox_published_total", "service" => self.service)
                .increment(sent.len() as u64);
        }
        if let Some((row, error)) = failure {
            let attempts = row.attempts.saturating_add(1);
            let delay = backoff(
                attempts,
                self.options.backoff_start,
                self.options.backoff_cap,
            );
            let next_attempt_at = now_millis().saturating_add(millis(delay));
            tracing::warn!(service = self.service, id = %row.id, topic = %row.topic, attempts, ?delay, %error, "publishing an outbox row failed; it will be retried");
            metrics::counter!("outbox_publish_failures_total", "service" => self.service)
                .increment(1);
            if let Some(conn) = conn.as_deref_mut() {
                sqlx::query(
                    "UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 \
                     WHERE id = $4",
                )
                .bind(attempts)
                .bind(next_attempt_at)
                .bind(error)
                .bind(row.id.as_str())
                .execute(&mut *conn)
                .await?;
            }
            blocked = Some(next_attempt_at);
        }

        // The gauges: exact from the batch when it held every pending row, else counted.
        let full = pending.full;
        let (count, oldest) = match conn {
            Some(conn) if full && blocked.is_none() => backlog_on(conn).await?,
            _ => {
                // Rows of other keys may have gone out after a failed one: what is left is
                // not always a suffix of the batch.
                let handled: HashSet<&str> = sent
                    .iter()
                    .copied()
                    .chain(undecodable.iter().map(|(id, _)| *id))
                    .collect();
                let mut left = pending
                    .rows
                    .iter()
                    .filter(|row| !handled.contains(row.id.as_str()));
                let oldest = left.next().map(|row| age_of(row.created_at));
                (
                    i64::try_from(left.count() + usize::from(oldest.is_some())).unwrap_or(i64::MAX),
                    oldest,
                )
            }
        };
        metrics::gauge!("outbox_pending", "service" => self.service).set(count as f64);
        metrics::gauge!("outbox_oldest_pending_seconds", "service" => self.service)
            .set(oldest.map_or(0.0, |age| age.as_secs_f64()));

        Ok(match blocked {
            Some(until) => Pass::Blocked(until),
            None if full => Pass::More,
            None => Pass::Idle,
        })
    }

    /// Deletes sent rows past the retention, and the oldest beyond `keep_sent`.
    async fn cleanup(&self) -> sqlx::Result<u64> {
        let mut cutoff = now_millis().saturating_sub(millis(self.options.retention));
        let boundary: Option<i64> = sqlx::query_scalar(
            "SELECT sent_at FROM outbox WHERE sent_at IS NOT NULL \
             ORDER BY sent_at DESC LIMIT 1 OFFSET $1",
        )
        .bind(i64::try_from(self.options.keep_sent).unwrap_or(i64::MAX))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(boundary) = boundary {
            cutoff = cutoff.max(boundary.saturating_add(1));
        }
        let deleted = sqlx::query(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
             WHERE sent_at IS NOT NULL AND sent_at < $1 ORDER BY sent_at LIMIT $2)",
        )
        .bind(cutoff)
        .bind(DELETES_PER_STATEMENT)
        .execute(&mut *crate::db::acquire_write(&self.pool).await?)
        .await?;
        Ok(deleted.rows_affected())
    }
}

/// The outcome of one row's publish, once known.
type RowResult = Option<Result<(), String>>;

/// One pass's publishes in progress (see [`Worker::publish`]).
struct Pipeline<'b> {
    service: &'static str,
    bus: Arc<dyn Bus>,
    timeout: Duration,
    due: &'b [Pending],
    /// Per row of `due`, the outcome of its publish.
    results: Vec<RowResult>,
    /// The keys with a row in flight, each with its later rows waiting for that row's outcome.
    lanes: HashMap<&'b str, VecDeque<usize>>,
    in_flight: FuturesUnordered<BoxFuture<'b, (usize, Result<(), String>)>>,
    undecodable: Vec<(&'b str, String)>,
    /// A publish failed: nothing more starts.
    failed: bool,
}

impl<'b> Pipeline<'b> {
    /// Starts publishing row `index` (its key's lane is taken). A row that is not an event is
    /// dropped instead, and its key's next row takes its turn.
    fn start(&mut self, index: usize) {
        let mut next = Some(index);
        while let Some(index) = next {
            let row = &self.due[index];
            match serde_json::from_str::<Event>(&row.payload) {
                Ok(event) => {
                    let bus = self.bus.clone();
                    let timeout = self.timeout;
                    self.in_flight.push(Box::pin(async move {
                        let published = tokio::time::timeout(
                            timeout,
                            bus.publish(&row.topic, &row.key, &event),
                        )
                        .await;
                        let result = match published {
                            Ok(Ok(())) => Ok(()),
                            Ok(Err(error)) => Err(error.to_string()),
                            Err(_) => Err("publishing timed out".to_owned()),
                        };
                        (index, result)
                    }));
                    return;
                }
                Err(error) => {
                    // Only a hand-written row can be malformed; it could never go out, and must
                    // not block the line forever. It is kept (marked sent) with the reason.
                    tracing::error!(service = self.service, id = %row.id, %error, "outbox row is not an event; dropped");
                    self.undecodable
                        .push((&row.id, format!("undecodable payload: {error}")));
                    next = self.next_of(&row.key);
                }
            }
        }
    }

    /// Row `index` has its outcome: records it and, unless a publish failed, starts the next
    /// row of its key.
    fn settle(&mut self, index: usize, result: Result<(), String>) {
        self.failed |= result.is_err();
        self.results[index] = Some(result);
        if self.failed {
            return;
        }
        if let Some(next) = self.next_of(&self.due[index].key) {
            self.start(next);
        }
    }

    /// The next waiting row of `key`, or none (the lane is then free).
    fn next_of(&mut self, key: &str) -> Option<usize> {
        let waiting = self.lanes.get_mut(key)?;
        let next = waiting.pop_front();
        if next.is_none() {
            self.lanes.remove(key);
        }
        next
    }
}

/// Marks rows sent in one statement per chunk of ids (one per batch in practice): the relay's
/// write cost must not grow per event, SQLite serializes writers.
async fn mark_sent(conn: &mut AnyConnection, ids: &[&str], sent_at: i64) -> sqlx::Result<()> {
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "UPDATE outbox SET sent_at = $1 WHERE id IN ({}) AND sent_at IS NULL",
            placeholders.join(", ")
        );
        // Built from placeholders only; the ids are bound. Not cached: the text varies with the
        // batch length.
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .persistent(false)
            .bind(sent_at);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The delay before retry number `attempts` (1 = first retry): doubling from `start`, capped,
/// with "equal jitter" (a random point in the upper half) so instances retrying the same
/// outage spread out.
fn backoff(attempts: i64, start: Duration, cap: Duration) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let ceiling = start.saturating_mul(1 << doublings).min(cap);
    let half = ceiling / 2;
    half + half.mul_f64(random_unit())
}

/// A random number in [0, 1), from the standard library's per-process random hash keys.
fn random_unit() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use tokio::task::JoinHandle;

    use super::super::{SQLITE_TABLE, enqueue, spawn_relay_with};
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let start = Duration::from_millis(50);
        let cap = Duration::from_secs(30);
        for _ in 0..100 {
            let first = backoff(1, start, cap);
            assert!(
                first >= Duration::from_millis(25) && first <= start,
                "{first:?}"
            );
            let third = backoff(3, start, cap);
            assert!(
                third >= Duration::from_millis(100) && third <= Duration::from_millis(200),
                "{third:?}"
            );
            let late = backoff(40, start, cap);
            assert!(late >= cap / 2 && late <= cap, "{late:?}");
        }
    }

    #[test]
    fn jitter_varies() {
        let draws: std::collections::HashSet<u64> =
            (0..20).map(|_| random_unit().to_bits()).collect();
        assert!(draws.len() > 10);
    }

    /// A bus whose publishes wait until the test settles them one by one, recording the order
    /// in which they started: what the relay has in flight at any moment is visible.
    #[derive(Default)]
    struct GatedBus {
        started: Mutex<Vec<String>>,
        gates: Mutex<HashMap<String, tokio::sync::oneshot::Sender<Result<(), String>>>>,
    }

    impl GatedBus {
        fn started(&self) -> Vec<String> {
            self.started.lock().unwrap().clone()
        }

        /// Settles the publish in flight for the event labelled `label`.
        fn settle(&self, label: &str, result: Result<(), String>) {
            let gate = self.gates.lock().unwrap().remove(label);
            gate.expect("that publish is in flight")
                .send(result)
                .unwrap();
        }

        async fn wait_started(&self, count: usize) {
            for _ in 0..2_000 {
                if self.started.lock().unwrap().len() >= count {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            panic!("{count} publishes never started: {:?}", self.started());
        }
    }

    impl Bus for GatedBus {
        fn publish<'a>(
            &'a self,
            _topic: &'a str,
            _key: &'a str,
            event: &'a Event,
        ) -> futures::future::BoxFuture<'a, Result<(), crate::events::PublishError>> {
            let label = event.data["label"].as_str().unwrap().to_owned();
            let (gate, settled) = tokio::sync::oneshot::channel();
            self.gates.lock().unwrap().insert(label.clone(), gate);
            self.started.lock().unwrap().push(label);
            Box::pin(async move {
                settled
                    .await
                    .unwrap_or_else(|_| Err("gate dropped".to_owned()))
                    .map_err(crate::events::PublishError)
            })
        }

        fn consume(
            &self,
            _topic: &str,
            _group: &str,
            _handler: Arc<dyn crate::events::Handler>,
            _shutdown: CancellationToken,
        ) -> JoinHandle<()> {
            tokio::spawn(async {})
        }
    }

    async fn outbox_with(events: &[(&str, &str)]) -> (tempfile::TempDir, AnyPool) {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::sqlite_url(dir.path(), "outbox");
        let pool = crate::db::connect(&url, 4, crate::db::Migrations::NONE)
            .await
            .unwrap();
        sqlx::raw_sql(SQLITE_TABLE).execute(&pool).await.unwrap();
        for (key, label) in events {
            let event = Event::new("/test", "thing.happened", *key, json!({ "label": label }));
            let mut tx = pool.begin().await.unwrap();
            enqueue(&mut tx, "things", &event).await.unwrap();
            tx.commit().await.unwrap();
        }
        (dir, pool)
    }

    fn spawn(pool: &AnyPool, bus: &Arc<GatedBus>) -> (Relay, tokio_util::sync::DropGuard) {
        let shutdown = CancellationToken::new();
        let options = RelayOptions {
            backoff_start: Duration::from_millis(10),
            backoff_cap: Duration::from_millis(20),
            poll_interval: Duration::from_millis(20),
            ..RelayOptions::default()
        };
        let relay = spawn_relay_with(
            "pipeline-test",
            pool.clone(),
            bus.clone(),
            shutdown.clone(),
            options,
        );
        (relay, shutdown.drop_guard())
    }

    /// The labels of the rows marked sent, in enqueue order.
    async fn sent(pool: &AnyPool) -> Vec<String> {
        let payloads: Vec<String> = sqlx::query_scalar(
            "SELECT payload FROM outbox WHERE sent_at IS NOT NULL ORDER BY created_at, id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        payloads
            .iter()
            .map(|payload| {
                let event: Event = serde_json::from_str(payload).unwrap();
                event.data["label"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    async fn eventually_sent(pool: &AnyPool, expected: &[&str]) {
        for _ in 0..2_000 {
            if sent(pool).await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("sent rows: {:?}, expected {expected:?}", sent(pool).await);
    }

    #[tokio::test]
    async fn publishes_of_different_keys_are_in_flight_together_and_a_keys_next_row_waits() {
        let (_dir, pool) = outbox_with(&[("a", "a1"), ("b", "b1"), ("c", "c1"), ("a", "a2")]).await;
        let bus = Arc::new(GatedBus::default());
        let (_relay, _stop) = spawn(&pool, &bus);

        bus.wait_started(3).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            bus.started(),
            ["a1", "b1", "c1"],
            "three keys in flight at once, a2 behind a1"
        );
        bus.settle("b1", Ok(()));
        bus.settle("c1", Ok(()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            bus.started().len(),
            3,
            "a2 started before a1 was acknowledged"
        );

        bus.settle("a1", Ok(()));
        bus.wait_started(4).await;
        assert_eq!(bus.started()[3], "a2");
        bus.settle("a2", Ok(()));
        eventually_sent(&pool, &["a1", "b1", "c1", "a2"]).await;
    }

    #[tokio::test]
    async fn a_relay_waiting_for_its_database_publishes_nothing_before_it_is_ready() {
        let (_dir, pool) = outbox_with(&[("a", "a1")]).await;
        let bus = Arc::new(GatedBus::default());
        let (ready, is_ready) = tokio::sync::oneshot::channel::<()>();
        let shutdown = CancellationToken::new();
        let _stop = shutdown.clone().drop_guard();
        let options = RelayOptions {
            poll_interval: Duration::from_millis(20),
            ..RelayOptions::default()
        };
        let relay = spawn_worker(
            "waiting-test",
            pool.clone(),
            bus.clone(),
            shutdown,
            options,
            async move {
                let _ = is_ready.await;
            },
        );
        relay.wake();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            bus.started().is_empty(),
            "published before the database was ready"
        );

        ready.send(()).unwrap();
        bus.wait_started(1).await;
        bus.settle("a1", Ok(()));
        eventually_sent(&pool, &["a1"]).await;
    }

    #[tokio::test]
    async fn a_waiting_row_does_not_hold_back_later_rows_of_other_keys() {
        let (_dir, pool) = outbox_with(&[("a", "a1"), ("a", "a2"), ("b", "b1"), ("c", "c1")]).await;
        let bus = Arc::new(GatedBus::default());
        let (_relay, _stop) = spawn(&pool, &bus);

        bus.wait_started(3).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(bus.started(), ["a1", "b1", "c1"]);
        for label in ["b1", "c1", "a1"] {
            bus.settle(label, Ok(()));
        }
        bus.wait_started(4).await;
        bus.settle("a2", Ok(()));
        eventually_sent(&pool, &["a1", "a2", "b1", "c1"]).await;
    }

    async fn failure_of(pool: &AnyPool, label: &str) -> (i64, Option<String>) {
        let rows: Vec<(String, i64, Option<String>)> =
            sqlx::query_as("SELECT payload, attempts, last_error FROM outbox")
                .fetch_all(pool)
                .await
                .unwrap();
        rows.into_iter()
            .find(|(payload, _, _)| payload.contains(&format!("\"label\":\"{label}\"")))
            .map(|(_, attempts, error)| (attempts, error))
            .unwrap()
    }

    #[tokio::test]
    async fn a_failed_row_holds_back_its_key_and_stops_the_pass() {
        let (_dir, pool) = outbox_with(&[
            ("a", "a1"),
            ("b", "b1"),
            ("a", "a2"),
            ("c", "c1"),
            ("b", "b2"),
        ])
        .await;
        let bus = Arc::new(GatedBus::default());
        let (_relay, _stop) = spawn(&pool, &bus);

        // One row per key in flight; a2 and b2 wait for a1 and b1.
        bus.wait_started(3).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(bus.started(), ["a1", "b1", "c1"]);
        bus.settle("a1", Err("the broker is down".to_owned()));
        bus.settle("b1", Ok(()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            bus.started(),
            ["a1", "b1", "c1"],
            "after a failure nothing more starts: neither a2 nor b2"
        );
        // c1 was already on its way: it goes out and is marked sent, like b1; a1 is not.
        bus.settle("c1", Ok(()));
        eventually_sent(&pool, &["b1", "c1"]).await;
        for _ in 0..2_000 {
            if failure_of(&pool, "a1").await.0 > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (attempts, error) = failure_of(&pool, "a1").await;
        assert_eq!(attempts, 1);
        assert!(error.unwrap().contains("broker is down"));

        // The retry of a1 goes out alone; the rest follows once it is acknowledged.
        bus.wait_started(4).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(bus.started(), ["a1", "b1", "c1", "a1"]);
        bus.settle("a1", Ok(()));
        bus.wait_started(6).await;
        let mut rest = bus.started()[4..].to_vec();
        rest.sort();
        assert_eq!(rest, ["a2", "b2"]);
        bus.settle("a2", Ok(()));
        bus.settle("b2", Ok(()));
        eventually_sent(&pool, &["a1", "b1", "a2", "c1", "b2"]).await;
        let started = bus.started();
        for once in ["b1", "c1"] {
            assert_eq!(
                started.iter().filter(|label| *label == once).count(),
                1,
                "{once} went out before and is not published again"
            );
        }
    }
}
