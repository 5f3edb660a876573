//! The SQLite execution journal: one thread owns a write connection and commits the hot writes
//! of executions — a new execution with its trigger record, each step's record with the state
//! after it, the end — in group commits: whatever arrived while the previous transaction ran
//! goes into the next one, each write in a savepoint of its own. A write answers only after its
//! transaction committed, so "committed before the next step starts" holds; under load many steps
//! share one commit instead of queueing for one each. (sqlx's SQLite driver would cost two thread
//! hand-offs per statement on this path.)
//!
//! Checkpoints (copying the write-ahead log back into the database file, with an fsync) run on
//! a thread of their own instead of inside whichever commit crossed SQLite's threshold, so no
//! step waits for one.
//!
//! When writes do not overlap — nothing queued, no transaction running, and none of either for a
//! few milliseconds — a write is committed on the caller's thread instead: handing it to the
//! journal thread and the answer back costs two thread wake-ups, which on an idle machine are
//! most of a one-write commit's time (a few tens of microseconds each). The caller's thread is
//! held for that one small transaction (WAL, no fsync). Once writes overlap they all queue for
//! the journal thread again, whose group commits do more per transaction than one-write commits
//! on every caller's thread would (measured: 10–20 % fewer executions/s at concurrency 32 when
//! every idle moment was used).
//!
//! An execution its inserting process runs at once (a synchronous webhook's, a sub-flow's) is
//! not written on its own: it takes an id from a block the journal reserved in SQLite's
//! `sqlite_sequence`, and its row waits in memory until its first write — a step commit, its end,
//! or a flush before a step with an effect — and goes into that write's transaction. Nothing it
//! does reaches outside ferry before such a write has committed, so a crash before then loses a
//! run nobody outside saw, as a crash before the request would have (decision 0011).
//!
//! Step records take their ids from a block reserved the same way, so a commit leaves
//! `sqlite_sequence` alone: every page a commit touches is one more 4 KB frame in the log, and
//! AUTOINCREMENT would rewrite that page on every step insert.

use crate::{StoreError, StoreResult};
use ferry_model::ExecutionId;
use rusqlite::{Connection, params};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A write as it travels to the journal thread: owned, JSON already serialized.
pub(crate) enum JournalWrite {
    InsertExecution {
        execution: ExecutionRow,
        /// Taken when the answer goes out: at the commit, or earlier for a claimed execution.
        reply: Option<oneshot::Sender<StoreResult<ExecutionId>>>,
    },
    CommitSteps {
        /// The execution's own row, when this is its first write (see [`Journal::defer_insert`]).
        unwritten: Option<Box<ExecutionRow>>,
        commits: Vec<StepCommitRow>,
        reply: oneshot::Sender<StoreResult<bool>>,
    },
    Finish {
        unwritten: Option<Box<ExecutionRow>>,
        finish: FinishRow,
        reply: oneshot::Sender<StoreResult<bool>>,
    },
}

impl JournalWrite {
    /// The execution a step commit or an end belongs to.
    fn execution(&self) -> Option<ExecutionId> {
        match self {
            JournalWrite::InsertExecution { .. } => None,
            JournalWrite::CommitSteps { commits, .. } => commits.first().map(|c| c.id),
            JournalWrite::Finish { finish, .. } => Some(finish.id),
        }
    }

    /// How many step records committing it inserts, at most (the trigger's record with a row).
    fn step_records(&self) -> usize {
        match self {
            JournalWrite::InsertExecution { .. } => 1,
            JournalWrite::CommitSteps {
                unwritten, commits, ..
            } => usize::from(unwritten.is_some()) + commits.len(),
            JournalWrite::Finish { unwritten, .. } => usize::from(unwritten.is_some()),
        }
    }

    fn unwritten_slot(&mut self) -> Option<&mut Option<Box<ExecutionRow>>> {
        match self {
            JournalWrite::InsertExecution { .. } => None,
            JournalWrite::CommitSteps { unwritten, .. }
            | JournalWrite::Finish { unwritten, .. } => Some(unwritten),
        }
    }
}

/// A step's record with the state after it, for an execution `owner` runs; `ending` (status,
/// error) when it was the last.
pub(crate) struct StepCommitRow {
    pub id: ExecutionId,
    pub owner: String,
    pub step: StepRow,
    pub state: String,
    pub ending: Option<(String, Option<String>)>,
}

pub(crate) struct FinishRow {
    pub id: ExecutionId,
    pub owner: String,
    pub status: String,
    pub error: Option<String>,
    pub now_ms: i64,
}

pub(crate) struct ExecutionRow {
    /// Given for an id taken from the reserved block; `None`: SQLite picks the next one.
    pub id: Option<i64>,
    pub organization_id: i64,
    pub flow_id: i64,
    pub flow_instance_id: i64,
    pub status: &'static str,
    pub trigger_kind: String,
    pub trigger: String,
    pub state: String,
    pub attempt: i64,
    pub parent_execution_id: Option<i64>,
    pub event_id: Option<String>,
    pub object_id: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub run_after: i64,
    pub now_ms: i64,
}

pub(crate) struct StepRow {
    pub seq: i64,
    pub step_name: String,
    pub step_kind: String,
    pub status: &'static str,
    pub input: String,
    pub output: String,
    pub console: String,
    pub error: Option<String>,
    pub attempts: i64,
    pub duration_us: i64,
    pub now_ms: i64,
}

#[derive(Clone)]
pub(crate) struct Journal {
    sender: mpsc::Sender<JournalWrite>,
    shared: Arc<Shared>,
}

/// What the journal thread and callers committing on their own thread share.
struct Shared {
    writer: Mutex<Writer>,
    /// Writes sent to the journal thread that it has not yet taken while holding `writer`. A
    /// caller commits on its own thread only when this is zero, so no earlier write (its own
    /// pending step commit, say) can be overtaken.
    queued: AtomicUsize,
    /// When a write last found another queued or being committed, in microseconds since
    /// `opened`: writes commit on their callers' threads only once that is a while ago.
    last_overlap_us: AtomicU64,
    opened: Instant,
    /// Execution ids reserved in `sqlite_sequence`, handed out in order.
    ids: Mutex<ReservedIds>,
    /// Set when the block runs low; the next transaction reserves more.
    ids_wanted: AtomicBool,
    /// Rows of claimed executions waiting for their first write, by id, with when they began to.
    unwritten: Mutex<HashMap<i64, (ExecutionRow, Instant)>>,
}

/// `next..=last` are reserved: SQLite's AUTOINCREMENT gives no other insert an id up to `last`.
#[derive(Default)]
struct ReservedIds {
    next: i64,
    last: i64,
}

/// Ids reserved at a time, and how few left make the next transaction reserve more.
const ID_BLOCK: i64 = 256;
const IDS_LOW: i64 = 128;

/// How long after writes last overlapped they keep queueing for the journal thread.
const OVERLAP_MEMORY: Duration = Duration::from_millis(5);

impl Shared {
    fn take_id(&self) -> Option<i64> {
        let mut ids = self.ids.lock().expect("reserved ids poisoned");
        if ids.last - ids.next < IDS_LOW {
            self.ids_wanted.store(true, Ordering::Relaxed);
        }
        ids.take()
    }

    /// The row, its lease counted from now: its run went on while it waited.
    fn take_unwritten(&self, id: i64) -> Option<ExecutionRow> {
        let mut unwritten = self.unwritten.lock().expect("unwritten rows poisoned");
        if unwritten.is_empty() {
            return None;
        }
        let (mut row, since) = unwritten.remove(&id)?;
        let waited = i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX);
        row.lease_until = row.lease_until.map(|until| until.saturating_add(waited));
        Some(row)
    }

    /// Publishes ids reserved by a committed transaction: they continue the block when nothing
    /// else took an id in between, else they replace it (the rest of the old block is skipped,
    /// so ids keep following the order of the inserts).
    fn add_ids(&self, first: i64, last: i64) {
        let mut ids = self.ids.lock().expect("reserved ids poisoned");
        if ids.next > 0 && ids.last + 1 == first {
            ids.last = last;
        } else {
            *ids = ReservedIds { next: first, last };
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn note_overlap(&self) {
        self.last_overlap_us.store(self.now_us(), Ordering::Relaxed);
    }

    fn overlapped_recently(&self) -> bool {
        let last = self.last_overlap_us.load(Ordering::Relaxed);
        self.now_us().saturating_sub(last) < OVERLAP_MEMORY.as_micros() as u64
    }
}

struct Writer {
    connection: Connection,
    /// Step record ids reserved in `sqlite_sequence`: a step inserted with one leaves
    /// `sqlite_sequence` alone, where AUTOINCREMENT would rewrite its page on every insert (two
    /// of the dozen or so log pages an execution's commits write).
    step_ids: ReservedIds,
    writes_since_checkpoint: usize,
    checkpoint_due: mpsc::SyncSender<()>,
}

impl Writer {
    fn commit(&mut self, batch: Vec<JournalWrite>, shared: &Shared) {
        self.writes_since_checkpoint += batch.len();
        let reserve = shared.ids_wanted.swap(false, Ordering::Relaxed);
        match commit_batch(&mut self.connection, &mut self.step_ids, batch, reserve) {
            Some((first, last)) => shared.add_ids(first, last),
            None if reserve => shared.ids_wanted.store(true, Ordering::Relaxed),
            None => {}
        }
        if self.writes_since_checkpoint >= WRITES_PER_CHECKPOINT {
            // Full means one is already requested; that one will cover these writes too.
            let _ = self.checkpoint_due.try_send(());
            self.writes_since_checkpoint = 0;
        }
    }
}

/// Writes that arrive together share a transaction, up to this many.
const MAX_BATCH: usize = 512;

fn sqlite_error(error: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("SQLite journal: {error}"))
}

impl Journal {
    pub fn open(path: &Path) -> StoreResult<Journal> {
        let connection = Connection::open(path).map_err(sqlite_error)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; \
                 PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0; \
                 PRAGMA journal_size_limit = 67108864;",
            )
            .map_err(sqlite_error)?;
        // Room for every statement a commit runs (rusqlite keeps 16 by default, fewer than the
        // journal's inserts, updates, id reservations and transaction control).
        connection.set_prepared_statement_cache_capacity(64);
        let checkpoints = Connection::open(path).map_err(sqlite_error)?;
        checkpoints
            .execute_batch("PRAGMA busy_timeout = 10000;")
            .map_err(sqlite_error)?;
        let (checkpoint_due, checkpoint_requests) = mpsc::sync_channel(1);
        let (sender, receiver) = mpsc::channel();
        let shared = Arc::new(Shared {
            writer: Mutex::new(Writer {
                connection,
                step_ids: ReservedIds::default(),
                writes_since_checkpoint: 0,
                checkpoint_due,
            }),
            queued: AtomicUsize::new(0),
            // As if writes had overlapped just before opening: the first ones queue.
            last_overlap_us: AtomicU64::new(0),
            opened: Instant::now(),
            ids: Mutex::new(ReservedIds::default()),
            ids_wanted: AtomicBool::new(true),
            unwritten: Mutex::new(HashMap::new()),
        });
        // Weak: the thread ends once the journal is gone (its request channel closes with it).
        let checkpoint_shared = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("ferry-checkpoint".into())
            .spawn(move || run_checkpoints(&checkpoints, &checkpoint_requests, &checkpoint_shared))
            .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpoint thread: {e}")))?;
        let journal_shared = shared.clone();
        std::thread::Builder::new()
            .name("ferry-journal".into())
            .spawn(move || run(&journal_shared, &receiver))
            .map_err(|e| StoreError::Corrupt(format!("cannot start the journal thread: {e}")))?;
        Ok(Journal { sender, shared })
    }

    /// Commits `write` now on this thread if the journal is idle, or queues it for the journal
    /// thread; either way its reply channel gets the answer.
    pub fn send(&self, mut write: JournalWrite) -> StoreResult<()> {
        match &mut write {
            JournalWrite::InsertExecution { execution, .. } if execution.id.is_none() => {
                // In send order, as AUTOINCREMENT would have numbered them.
                execution.id = self.shared.take_id();
            }
            JournalWrite::InsertExecution { .. } => {}
            _ => {
                if let Some(id) = write.execution()
                    && let Some(row) = self.shared.take_unwritten(id.0)
                    && let Some(slot) = write.unwritten_slot()
                {
                    *slot = Some(Box::new(row));
                }
            }
        }
        let write = match self.commit_here_if_idle(write) {
            None => return Ok(()),
            Some(write) => write,
        };
        self.shared.queued.fetch_add(1, Ordering::SeqCst);
        self.sender.send(write).map_err(|_| {
            self.shared.queued.fetch_sub(1, Ordering::SeqCst);
            StoreError::Corrupt("the journal thread stopped".into())
        })
    }

    /// Takes an id for a claimed execution whose row is written with its first write instead of
    /// on its own; gives the row back when no reserved id is left (the caller inserts it now).
    pub fn defer_insert(&self, mut row: ExecutionRow) -> Result<ExecutionId, Box<ExecutionRow>> {
        let Some(id) = self.shared.take_id() else {
            return Err(Box::new(row));
        };
        row.id = Some(id);
        self.shared
            .unwritten
            .lock()
            .expect("unwritten rows poisoned")
            .insert(id, (row, Instant::now()));
        Ok(ExecutionId(id))
    }

    /// An id from the reserved block for an execution another connection inserts; `None` when
    /// none is left (the database picks one).
    pub fn reserve_id(&self) -> Option<i64> {
        self.shared.take_id()
    }

    /// Whether `id`'s row still waits for its first write.
    pub fn is_unwritten(&self, id: ExecutionId) -> bool {
        self.shared
            .unwritten
            .lock()
            .expect("unwritten rows poisoned")
            .contains_key(&id.0)
    }

    /// Writes `id`'s waiting row on its own (its run is about to do something outside ferry, or
    /// has waited long enough); `None` if it has none.
    pub fn send_unwritten(
        &self,
        id: ExecutionId,
    ) -> StoreResult<Option<oneshot::Receiver<StoreResult<bool>>>> {
        let Some(row) = self.shared.take_unwritten(id.0) else {
            return Ok(None);
        };
        let (reply, answer) = oneshot::channel();
        self.send(JournalWrite::CommitSteps {
            unwritten: Some(Box::new(row)),
            commits: Vec::new(),
            reply,
        })?;
        Ok(Some(answer))
    }

    /// Drops a waiting row whose run ended without writing anything (it panicked, or was dropped).
    pub fn forget_unwritten(&self, id: ExecutionId) {
        self.shared.take_unwritten(id.0);
    }

    /// Gives the write back when it has to queue: something is queued or being committed, or
    /// was a moment ago.
    fn commit_here_if_idle(&self, write: JournalWrite) -> Option<JournalWrite> {
        let shared = &self.shared;
        if shared.queued.load(Ordering::SeqCst) != 0 {
            shared.note_overlap();
            return Some(write);
        }
        if shared.overlapped_recently() {
            return Some(write);
        }
        let Ok(mut writer) = shared.writer.try_lock() else {
            shared.note_overlap();
            return Some(write);
        };
        // Checked again under the lock: a write queued meanwhile must not be overtaken.
        if shared.queued.load(Ordering::SeqCst) != 0 {
            shared.note_overlap();
            return Some(write);
        }
        writer.commit(vec![write], shared);
        None
    }
}

/// Writes between checkpoint requests: a few thousand log pages, about what SQLite's own
/// threshold (1,000 pages) would let accumulate.
const WRITES_PER_CHECKPOINT: usize = 500;
/// An idle log is checkpointed this often anyway, so a burst does not leave it large.
const IDLE_CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

fn run(shared: &Shared, receiver: &mpsc::Receiver<JournalWrite>) {
    while let Ok(first) = receiver.recv() {
        // A poisoned lock means a commit panicked on a caller's thread; the connection itself
        // is still usable (the transaction was dropped, so rolled back).
        let mut writer = shared
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        // Taken under the lock: from here these writes are ordered before any a caller
        // commits on its own thread.
        shared.queued.fetch_sub(batch.len(), Ordering::SeqCst);
        writer.commit(batch, shared);
    }
}

/// A checkpoint copies the log into the database in passes. The first runs beside the
/// journal's commits and copies the bulk. Commits keep appending meanwhile, so it never reaches
/// the end of the log, and SQLite starts a log over from its beginning only when a write finds
/// every frame copied: under steady load the file grew without end (1.1 GB after 16 s of the
/// flow benchmark), each frame a newly allocated page. A last pass holds the journal's writes
/// back and copies the few frames the others missed; the journal's next transaction then
/// starts the log over, and `journal_size_limit` cuts a file that had grown back to 64 MiB.
fn run_checkpoints(
    connection: &Connection,
    requests: &mpsc::Receiver<()>,
    shared: &std::sync::Weak<Shared>,
) {
    loop {
        match requests.recv_timeout(IDLE_CHECKPOINT_EVERY) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let Some(mut log_frames) = checkpoint(connection) else {
            continue;
        };
        // Passes beside the commits until one finds few new frames, so the pass that holds
        // them back copies (and syncs) little: holding them through a large copy and its fsync
        // stalled the flow benchmark's c=32 calls for up to 140 ms.
        for _ in 0..MAX_CATCH_UP_PASSES {
            match checkpoint(connection) {
                Some(now) if now > log_frames + FEW_FRAMES => log_frames = now,
                Some(now) => {
                    log_frames = now;
                    break;
                }
                None => break,
            }
        }
        // Even a pass that copied the whole log ran beside a transaction that began before it
        // ended, so the log still does not start over unless a pass runs between two writes.
        if log_frames > 0 {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let _writes_held = shared
                .writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            checkpoint(connection);
        }
    }
}

/// Catch-up passes beside the commits before the one that holds them back, at most; and how
/// few frames written during a pass let the next one hold them.
const MAX_CATCH_UP_PASSES: usize = 4;
const FEW_FRAMES: i64 = 256;

/// A passive checkpoint (it never waits for readers or the writer); how many frames the log
/// holds, `None` if it failed.
fn checkpoint(connection: &Connection) -> Option<i64> {
    match connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        row.get::<_, i64>(1)
    }) {
        Ok(log_frames) => Some(log_frames),
        Err(error) => {
            tracing::warn!(%error, "checkpointing the SQLite log failed; the next attempt retries");
            None
        }
    }
}

enum Outcome {
    Id(StoreResult<ExecutionId>),
    Applied(StoreResult<bool>),
}

/// An execution the inserting process runs at once (a synchronous webhook, a sub-flow) learns its
/// id as soon as its row is written, before the commit: it may run its harmless steps meanwhile.
/// Nothing it does leaves ferry before a later write of it has committed, and the journal commits
/// in order, so the row is durable by then; if this commit fails instead, those later writes find
/// no row and the run stops. An execution only queued is answered after the commit: its id is
/// handed to a caller as a promise that it exists.
fn answers_before_commit(execution: &ExecutionRow) -> bool {
    execution.lease_owner.is_some()
}

/// Commits the batch; with `reserve`, reserves the next [`ID_BLOCK`] execution ids in the same
/// transaction and returns them once committed.
fn commit_batch(
    connection: &mut Connection,
    step_ids: &mut ReservedIds,
    mut batch: Vec<JournalWrite>,
    reserve: bool,
) -> Option<(i64, i64)> {
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut reserved = None;
    let committed = (|| -> rusqlite::Result<()> {
        let transaction = OpenTransaction::begin(connection)?;
        let connection = transaction.connection;
        // Before any savepoint, so no rollback of one can undo the reservation under ids in use.
        let steps_needed = batch.iter().map(JournalWrite::step_records).sum::<usize>();
        if step_ids.available() < steps_needed as i64 {
            let block = ID_BLOCK.max(steps_needed as i64);
            // Failing, the steps take AUTOINCREMENT's ids as before.
            *step_ids = reserve_ids(connection, "step_executions", block)
                .map(|last| ReservedIds {
                    next: last - block + 1,
                    last,
                })
                .unwrap_or_default();
        }
        let ids = &mut *step_ids;
        for write in &mut batch {
            run_cached(connection, "SAVEPOINT write")?;
            let outcome = match write {
                JournalWrite::InsertExecution { execution, reply } => {
                    let inserted =
                        insert_execution(connection, ids, execution).map_err(sqlite_error);
                    if let Ok(id) = &inserted
                        && answers_before_commit(execution)
                        && let Some(reply) = reply.take()
                    {
                        let _ = reply.send(Ok(*id));
                    }
                    Outcome::Id(inserted)
                }
                JournalWrite::CommitSteps {
                    unwritten, commits, ..
                } => Outcome::Applied(
                    insert_unwritten(connection, ids, unwritten.as_deref())
                        .and_then(|()| commit_steps(connection, ids, commits))
                        .map_err(sqlite_error),
                ),
                JournalWrite::Finish {
                    unwritten,
                    finish: row,
                    ..
                } => Outcome::Applied(
                    insert_unwritten(connection, ids, unwritten.as_deref())
                        .and_then(|()| finish(connection, row))
                        .map_err(sqlite_error),
                ),
            };
            let failed = matches!(&outcome, Outcome::Id(Err(_)) | Outcome::Applied(Err(_)));
            if failed {
                run_cached(connection, "ROLLBACK TO write")?;
            }
            run_cached(connection, "RELEASE write")?;
            outcomes.push(outcome);
        }
        // After the batch's own inserts, so the block continues their ids. A failed
        // reservation costs the batch nothing: the next transaction tries again.
        if reserve {
            run_cached(connection, "SAVEPOINT reserve")?;
            match reserve_ids(connection, "executions", ID_BLOCK) {
                Ok(last) => reserved = Some((last - ID_BLOCK + 1, last)),
                Err(_) => run_cached(connection, "ROLLBACK TO reserve")?,
            }
            run_cached(connection, "RELEASE reserve")?;
        }
        transaction.commit()
    })();
    if committed.is_err() {
        // The reservation may have rolled back with the transaction.
        *step_ids = ReservedIds::default();
    }
    for (write, outcome) in batch.into_iter().zip(
        outcomes
            .into_iter()
            .map(Some)
            .chain(std::iter::repeat_with(|| None)),
    ) {
        let failure = || {
            StoreError::Corrupt(format!(
                "the journal could not commit: {}",
                committed
                    .as_ref()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ))
        };
        match (write, outcome) {
            (
                JournalWrite::InsertExecution {
                    reply: Some(reply), ..
                },
                Some(Outcome::Id(result)),
            ) if committed.is_ok() => {
                let _ = reply.send(result);
            }
            (
                JournalWrite::InsertExecution {
                    reply: Some(reply), ..
                },
                _,
            ) => {
                let _ = reply.send(Err(failure()));
            }
            (JournalWrite::InsertExecution { reply: None, .. }, _) => {}
            (
                JournalWrite::CommitSteps { reply, .. } | JournalWrite::Finish { reply, .. },
                Some(Outcome::Applied(result)),
            ) if committed.is_ok() => {
                let _ = reply.send(result);
            }
            (JournalWrite::CommitSteps { reply, .. } | JournalWrite::Finish { reply, .. }, _) => {
                let _ = reply.send(Err(failure()));
            }
        }
    }
    reserved.filter(|_| committed.is_ok())
}

/// Runs a statement kept prepared: the journal's transaction control would otherwise be parsed
/// again for every commit (two to four statements a write).
fn run_cached(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([]).map(drop)
}

/// `BEGIN IMMEDIATE` … `COMMIT` with kept statements; rolled back when dropped uncommitted (an
/// error, or a panic on a caller's thread), so the connection is never left inside one.
struct OpenTransaction<'c> {
    connection: &'c Connection,
    open: bool,
}

impl<'c> OpenTransaction<'c> {
    fn begin(connection: &'c Connection) -> rusqlite::Result<Self> {
        run_cached(connection, "BEGIN IMMEDIATE")?;
        Ok(OpenTransaction {
            connection,
            open: true,
        })
    }

    fn commit(mut self) -> rusqlite::Result<()> {
        run_cached(self.connection, "COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl Drop for OpenTransaction<'_> {
    fn drop(&mut self) {
        if self.open && !self.connection.is_autocommit() {
            let _ = run_cached(self.connection, "ROLLBACK");
        }
    }
}

/// Moves `sqlite_sequence` for `table` past its next `block` ids (never below an id in use) and
/// returns the last of them: AUTOINCREMENT gives any later insert, on any connection, a higher id.
fn reserve_ids(connection: &Connection, table: &'static str, block: i64) -> rusqlite::Result<i64> {
    connection
        .prepare_cached(&format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', 0 \
             WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{table}')"
        ))?
        .execute([])?;
    connection
        .prepare_cached(&format!(
            "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT max(id) FROM {table}), 0)) + ?1 \
             WHERE name = '{table}' RETURNING seq"
        ))?
        .query_row([block], |row| row.get(0))
}

impl ReservedIds {
    /// The next reserved id; `None` once they run out (SQLite then picks one).
    fn take(&mut self) -> Option<i64> {
        (self.next <= self.last && self.next > 0).then(|| {
            self.next += 1;
            self.next - 1
        })
    }

    fn available(&self) -> i64 {
        if self.next > 0 {
            self.last - self.next + 1
        } else {
            0
        }
    }
}

fn insert_unwritten(
    connection: &Connection,
    ids: &mut ReservedIds,
    row: Option<&ExecutionRow>,
) -> rusqlite::Result<()> {
    if let Some(row) = row {
        insert_execution(connection, ids, row)?;
    }
    Ok(())
}

fn insert_step(
    connection: &Connection,
    ids: &mut ReservedIds,
    execution: i64,
    step: &StepRow,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO step_executions (execution_id, seq, step_name, step_kind, status, input, output, console, \
             error, attempts, duration_us, created_at, id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            execution,
            step.seq,
            step.step_name,
            step.step_kind,
            step.status,
            step.input,
            step.output,
            step.console,
            step.error,
            step.attempts,
            step.duration_us,
            step.now_ms,
            ids.take()
        ])?;
    Ok(())
}

fn insert_execution(
    connection: &Connection,
    ids: &mut ReservedIds,
    row: &ExecutionRow,
) -> rusqlite::Result<ExecutionId> {
    connection
        .prepare_cached(
            "INSERT INTO executions (organization_id, flow_id, flow_instance_id, status, trigger_kind, trigger_values, \
             state, attempt, parent_execution_id, event_id, object_id, lease_owner, lease_until, run_after, created_at, \
             updated_at, id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16)",
        )?
        .execute(params![
            row.organization_id,
            row.flow_id,
            row.flow_instance_id,
            row.status,
            row.trigger_kind,
            row.trigger,
            row.state,
            row.attempt,
            row.parent_execution_id,
            row.event_id,
            row.object_id,
            row.lease_owner,
            row.lease_until,
            row.run_after,
            row.now_ms,
            row.id
        ])?;
    let id = connection.last_insert_rowid();
    insert_step(
        connection,
        ids,
        id,
        &StepRow {
            seq: 0,
            step_name: "trigger".into(),
            step_kind: row.trigger_kind.clone(),
            status: "success",
            input: "null".into(),
            output: row.trigger.clone(),
            console: "[]".into(),
            error: None,
            attempts: 1,
            duration_us: 0,
            now_ms: row.now_ms,
        },
    )?;
    Ok(ExecutionId(id))
}

/// Applies the steps in order; the first refused one stops the rest.
fn commit_steps(
    connection: &Connection,
    ids: &mut ReservedIds,
    commits: &[StepCommitRow],
) -> rusqlite::Result<bool> {
    for commit in commits {
        if !commit_step(connection, ids, commit)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn commit_step(
    connection: &Connection,
    ids: &mut ReservedIds,
    commit: &StepCommitRow,
) -> rusqlite::Result<bool> {
    let StepCommitRow {
        id,
        owner,
        step,
        state,
        ending,
    } = commit;
    let updated = match ending {
        None => connection
            .prepare_cached(
                "UPDATE executions SET state = ?1, updated_at = ?2 WHERE id = ?3 AND lease_owner = ?4 AND status = 'pending'",
            )?
            .execute(params![state, step.now_ms, id.0, owner])?,
        Some((status, error)) => connection
            .prepare_cached(
                "UPDATE executions SET state = ?1, updated_at = ?2, status = ?5, error = ?6, finished_at = ?2, \
                 lease_owner = NULL, lease_until = NULL WHERE id = ?3 AND lease_owner = ?4 AND status = 'pending'",
            )?
            .execute(params![state, step.now_ms, id.0, owner, status, error])?,
    };
    if updated == 0 {
        return Ok(false);
    }
    insert_step(connection, ids, id.0, step)?;
    Ok(true)
}

fn finish(connection: &Connection, row: &FinishRow) -> rusqlite::Result<bool> {
    let updated = connection
        .prepare_cached(
            "UPDATE executions SET status = ?1, error = ?2, finished_at = ?3, updated_at = ?3, lease_owner = NULL, \
             lease_until = NULL WHERE id = ?4 AND lease_owner = ?5 AND status = 'pending'",
        )?
        .execute(params![row.status, row.error, row.now_ms, row.id.0, row.owner])?;
    Ok(updated == 1)
}
