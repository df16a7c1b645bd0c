//! Writes: one writer connection per SQLite file, taken in turns; the pool on PostgreSQL.
//!
//! SQLite has one writer per file; letting every pooled connection write made concurrent
//! writers nap in `SQLITE_BUSY` back-offs while the lock had long been free, so writers queue
//! (first come, first served) for the file's dedicated connection (see the [`super`] docs).

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor, Transaction};
use tokio::sync::OwnedMutexGuard;

use super::pool::SQLITE_SETTINGS;

/// How long a write waits for its turn before failing, like SQLite's own busy timeout.
const WRITE_TURN_TIMEOUT: Duration = Duration::from_secs(5);

/// The writer connection of a SQLite file, and whether a transaction was left open on it by a
/// holder that went away (a cancelled request): the next holder rolls it back first.
pub(super) struct Writer {
    conn: AnyConnection,
    in_transaction: bool,
}

/// One SQLite file's turn to write, with the writer (opened by the first holder).
type Turn = Arc<tokio::sync::Mutex<Option<Writer>>>;

/// A file's turn, and the histogram of how long writers wait for it
/// (`db_write_wait_duration_seconds{service="orders",database="orders"}`): near zero when
/// writes are rare, close
/// to the time the others hold it when the file is the bottleneck.
#[derive(Clone)]
struct Slot {
    turn: Turn,
    wait: metrics::Histogram,
}

/// The writers of the SQLite files this process writes to, by database URL; an entry goes when
/// its pool is closed or dropped.
static WRITERS: LazyLock<Mutex<HashMap<String, Slot>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The turn on `pool`'s file: waits for it (first come, first served), then opens the writer
/// if this is the first write, and rolls back what a previous holder left open.
pub(super) async fn writer_turn(pool: &AnyPool) -> sqlx::Result<OwnedMutexGuard<Option<Writer>>> {
    if pool.is_closed() {
        return Err(sqlx::Error::PoolClosed);
    }
    let options = pool.connect_options();
    let url = options.database_url.as_str();
    let slot = {
        let mut writers = WRITERS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match writers.get(url) {
            Some(slot) => slot.clone(),
            None => {
                let database = Path::new(options.database_url.path())
                    .file_stem()
                    .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
                // The recorder must exist before the histogram is registered, or it is lost.
                crate::metrics::handle();
                // A service's file is `<service>.db` (`sqlite_url`): its stem names the service
                // whose `/metrics` shows the wait.
                let wait = metrics::histogram!(
                    "db_write_wait_duration_seconds",
                    "service" => database.clone(),
                    "database" => database
                );
                let slot = Slot {
                    turn: Turn::default(),
                    wait,
                };
                writers.insert(url.to_owned(), slot.clone());
                forget_on_close(pool, url.to_owned(), &slot.turn);
                slot
            }
        }
    };
    let asked = std::time::Instant::now();
    let mut turn = tokio::time::timeout(WRITE_TURN_TIMEOUT, slot.turn.lock_owned())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?;
    slot.wait.record(asked.elapsed().as_secs_f64());
    match turn.as_mut() {
        None => {
            let mut conn = options.connect().await?;
            conn.execute(SQLITE_SETTINGS).await?;
            *turn = Some(Writer {
                conn,
                in_transaction: false,
            });
        }
        Some(writer) if writer.in_transaction => {
            // Fails harmlessly when the transaction never began (its `BEGIN` was cancelled
            // before it ran) or already ended.
            let _ = writer.conn.execute("ROLLBACK").await;
            writer.in_transaction = false;
        }
        Some(_) => {}
    }
    Ok(turn)
}

/// Drops the writer of `url` once `pool` is closed or dropped, so it does not outlive it.
fn forget_on_close(pool: &AnyPool, url: String, turn: &Turn) {
    let closed = pool.close_event();
    let turn = Arc::downgrade(turn);
    let forget = async move {
        closed.await;
        let mut writers = WRITERS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only this pool's writer: another pool may have opened the file again meanwhile.
        if writers
            .get(&url)
            .is_some_and(|current| std::ptr::eq(Arc::as_ptr(&current.turn), turn.as_ptr()))
        {
            writers.remove(&url);
        }
    };
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(forget);
    }
}

fn is_sqlite(pool: &AnyPool) -> bool {
    pool.connect_options().database_url.scheme() == "sqlite"
}

/// A transaction that writes. On SQLite it runs on the file's writer connection, holding the
/// write turn until it commits, rolls back or is dropped (then it is rolled back, and the turn
/// passes on after that). Use it as the connection (`&mut *tx`, or `&mut tx` where an
/// `&mut AnyConnection` is expected).
pub struct WriteTransaction(TransactionOn);

enum TransactionOn {
    /// `None` only once committed or rolled back.
    Writer(Option<OwnedMutexGuard<Option<Writer>>>),
    Pool(Transaction<'static, Any>),
}

impl std::fmt::Debug for WriteTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTransaction").finish_non_exhaustive()
    }
}

/// Begins a transaction that writes: on SQLite, waits for the write turn and begins with
/// `BEGIN IMMEDIATE` on the writer connection; on PostgreSQL, a transaction from the pool.
pub async fn begin_write(pool: &AnyPool) -> sqlx::Result<WriteTransaction> {
    if !is_sqlite(pool) {
        return Ok(WriteTransaction(TransactionOn::Pool(pool.begin().await?)));
    }
    let mut turn = writer_turn(pool).await?;
    let writer = writer_of(&mut turn);
    // Set first: if this is cancelled once `BEGIN` is sent, the next holder still rolls back.
    writer.in_transaction = true;
    writer.conn.execute("BEGIN IMMEDIATE").await?;
    Ok(WriteTransaction(TransactionOn::Writer(Some(turn))))
}

fn writer_of(turn: &mut OwnedMutexGuard<Option<Writer>>) -> &mut Writer {
    turn.as_mut().expect("the writer is opened with the turn")
}

impl WriteTransaction {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.finish("COMMIT").await
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        self.finish("ROLLBACK").await
    }

    async fn finish(mut self, statement: &'static str) -> sqlx::Result<()> {
        match std::mem::replace(&mut self.0, TransactionOn::Writer(None)) {
            TransactionOn::Pool(tx) if statement == "COMMIT" => tx.commit().await,
            TransactionOn::Pool(tx) => tx.rollback().await,
            TransactionOn::Writer(Some(mut turn)) => {
                let writer = writer_of(&mut turn);
                // On failure the flag stays set: the next holder rolls back.
                writer.conn.execute(statement).await?;
                writer.in_transaction = false;
                Ok(())
            }
            TransactionOn::Writer(None) => Ok(()),
        }
    }
}

impl Drop for WriteTransaction {
    fn drop(&mut self) {
        // Dropped unfinished (an error returned early, a cancelled request): roll back now, in
        // the background, keeping the turn until then. Without a runtime the flag on the writer
        // makes the next holder do it.
        if let TransactionOn::Writer(turn @ Some(_)) = &mut self.0
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
            && let Some(mut turn) = turn.take()
        {
            runtime.spawn(async move {
                let writer = writer_of(&mut turn);
                let _ = writer.conn.execute("ROLLBACK").await;
                writer.in_transaction = false;
            });
        }
    }
}

impl Deref for WriteTransaction {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            TransactionOn::Writer(Some(turn)) => {
                &turn
                    .as_ref()
                    .expect("the writer is opened with the turn")
                    .conn
            }
            TransactionOn::Writer(None) => unreachable!("a finished transaction is consumed"),
            TransactionOn::Pool(tx) => tx,
        }
    }
}

impl DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            TransactionOn::Writer(Some(turn)) => &mut writer_of(turn).conn,
            TransactionOn::Writer(None) => unreachable!("a finished transaction is consumed"),
            TransactionOn::Pool(tx) => tx,
        }
    }
}

/// A connection for writes that are one statement each (every statement is atomic alone, so
/// no `BEGIN`/`COMMIT` round trips): on SQLite the writer connection, holding the write turn
/// until dropped. Drop it as soon as the writes are done; reads that follow belong on the pool.
pub struct WriteConnection(ConnectionOn);

enum ConnectionOn {
    Writer(OwnedMutexGuard<Option<Writer>>),
    Pool(PoolConnection<Any>),
}

impl std::fmt::Debug for WriteConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteConnection").finish_non_exhaustive()
    }
}

/// On SQLite, waits for the write turn and hands out the writer connection; on PostgreSQL, a
/// connection from the pool.
pub async fn acquire_write(pool: &AnyPool) -> sqlx::Result<WriteConnection> {
    if !is_sqlite(pool) {
        return Ok(WriteConnection(ConnectionOn::Pool(pool.acquire().await?)));
    }
    Ok(WriteConnection(ConnectionOn::Writer(
        writer_turn(pool).await?,
    )))
}

impl Deref for WriteConnection {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            ConnectionOn::Writer(turn) => {
                &turn
                    .as_ref()
                    .expect("the writer is opened with the turn")
                    .conn
            }
            ConnectionOn::Pool(conn) => conn,
        }
    }
}

impl DerefMut for WriteConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            ConnectionOn::Writer(turn) => &mut writer_of(turn).conn,
            ConnectionOn::Pool(conn) => conn,
        }
    }
}
