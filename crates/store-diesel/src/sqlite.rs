//! SQLite: one thread owns the writing connection and runs every write,
//! whole, on it; concurrent writes are committed together (group commit).
//! Reads of a database file run on a second thread with a connection of
//! its own.
//!
//! SQLite allows one writer at a time, and its calls block. Running each
//! statement on tokio's blocking pool (diesel-async's wrapper) cost a thread
//! hand-off per statement, and writers queued on SQLite's busy handler or an
//! in-process lock. Here an operation — a read, or a write transaction's
//! whole body — is one job on a channel. The writer takes every job waiting
//! at that moment and runs the writes in one `BEGIN IMMEDIATE` transaction,
//! each in a savepoint of its own (a failing one is rolled back alone),
//! commits once and only then answers the writers: a 200 still means
//! committed. Under load, one commit serves many requests.
//!
//! In WAL mode a reader neither waits for the writer nor holds it up, so
//! reads go to the reading thread: a request's read does not queue behind
//! a group commit, and the writer's time goes to writes alone. Each read
//! sees what was committed when it began; a write answers only after its
//! commit, so whatever a caller reads after a write sees that write. An
//! in-memory database is one connection, the writer's, which runs the
//! reads too.
//!
//! The bodies are the generic ones of `repo/`, on [`SqliteConn`]: each
//! statement completes inside its call, so a body's future is complete on
//! its first poll and the thread polls it once.
//!
//! WAL checkpoints run on a thread of their own (`checkpoint`), so that
//! the writer seldom stops to sync files. When the last handle is dropped
//! the threads end and their connections close, the writer's last: that
//! close copies the WAL back into the database file and removes it.

mod checkpoint;

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use anyhow::anyhow;
use beckon_ports::StoreError;
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

use crate::conn::SqliteConn;
use crate::errors::{TxError, translate};
use checkpoint::{Checkpoints, WAL_LIMIT};

/// The most writes committed together: bounds how long the first of them
/// waits for the others.
const MAX_GROUP: usize = 64;

/// A job that runs outside any transaction (reads, migrations, pings).
type PlainJob = Box<dyn FnOnce(Result<&SqliteConn, StoreError>) + Send>;
/// A write's body: runs in the shared transaction; says whether it
/// succeeded and how to answer once the commit's outcome is known.
type WriteJob = Box<dyn FnOnce(Result<&SqliteConn, StoreError>) -> Option<(bool, Answer)> + Send>;
/// Answers a writer with the commit's outcome.
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

enum Job {
    Plain(PlainJob),
    Write(WriteJob),
}

/// The handle to the SQLite threads. Cheap to clone; the threads and their
/// connections end when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteDb {
    threads: Arc<Threads>,
}

/// The threads' queues, and the threads, joined when the last handle goes.
struct Threads {
    /// The writer's queue (every job of an in-memory database).
    jobs: Option<mpsc::Sender<Job>>,
    /// The reading thread's queue; `None` for an in-memory database.
    reads: Option<mpsc::Sender<PlainJob>>,
    writer: Option<JoinHandle<()>>,
    reader: Option<JoinHandle<()>>,
}

impl Drop for Threads {
    /// Closes each queue and waits for its thread to finish the jobs
    /// already queued and close its connection: the reader first, so that
    /// the writer's close is the last one and removes the WAL. A process
    /// that exits after dropping its store leaves no WAL behind.
    fn drop(&mut self) {
        self.reads = None;
        join(self.reader.take());
        self.jobs = None;
        join(self.writer.take());
    }
}

/// Waits for `thread` to end, unless it is the calling thread (a job that
/// dropped the last handle): that one ends by itself once its queue empties.
fn join(thread: Option<JoinHandle<()>>) {
    if let Some(thread) = thread
        && thread.thread().id() != std::thread::current().id()
        && thread.join().is_err()
    {
        tracing::error!("a SQLite thread panicked");
    }
}

impl SqliteDb {
    /// Starts the threads for the database at `path` (a file, or
    /// `:memory:`: then the writer's one connection *is* the database). The
    /// connections open on first use, so a file that cannot be opened shows
    /// up as `Unavailable` then, not here.
    pub fn open(path: &str, memory: bool) -> Result<Self, StoreError> {
        Self::open_with_wal_limit(path, memory, WAL_LIMIT)
    }

    /// `open`, with the WAL length (in frames) past which the writer
    /// checkpoints before its next write: for tests of that bound.
    fn open_with_wal_limit(path: &str, memory: bool, wal_limit: i64) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel();
        let mut threads = Threads {
            jobs: Some(jobs),
            reads: None,
            writer: None,
            reader: None,
        };
        let owned = path.to_owned();
        threads.writer = Some(spawn("beckon-sqlite", move || {
            serve(&owned, memory, wal_limit, &queue);
        })?);
        if !memory {
            let (reads, queue) = mpsc::channel();
            let owned = path.to_owned();
            threads.reader = Some(spawn("beckon-sqlite-read", move || {
                serve_reads(&owned, &queue);
            })?);
            threads.reads = Some(reads);
        }
        Ok(Self {
            threads: Arc::new(threads),
        })
    }

    /// Runs a read-only body: on the reading thread, or on the writer's
    /// for an in-memory database.
    pub async fn read<T, F>(&self, op: F) -> Result<T, TxError>
    where
        T: Send + 'static,
        F: AsyncFnOnce(&SqliteConn) -> Result<T, TxError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: PlainJob = Box::new(move |conn| {
            let result = match conn {
                Ok(conn) => run_once(conn, op),
                Err(e) => Err(TxError::Store(e)),
            };
            let _ = answer.send(result);
        });
        match &self.threads.reads {
            Some(reads) => reads.send(job).map_err(|_| stopped())?,
            None => self.submit(Job::Plain(job))?,
        }
        answered.await.map_err(|_| stopped())?
    }

    /// Runs a write body in the shared transaction; answers after its commit.
    pub async fn write<T, F>(&self, op: F) -> Result<T, TxError>
    where
        T: Send + 'static,
        F: AsyncFnOnce(&SqliteConn) -> Result<T, TxError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.submit(Job::Write(Box::new(move |conn| {
            let conn = match conn {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = answer.send(Err(TxError::Store(e)));
                    return None;
                }
            };
            let result = run_once(conn, op);
            let ok = result.is_ok();
            let deliver: Answer = Box::new(move |commit: Result<(), String>| {
                let outcome = match (commit, result) {
                    (Err(why), Ok(_)) => Err(TxError::Store(StoreError::Unavailable(anyhow!(
                        "committing to SQLite failed: {why}"
                    )))),
                    (_, result) => result,
                };
                let _ = answer.send(outcome);
            });
            Some((ok, deliver))
        })))?;
        answered.await.map_err(|_| stopped())?
    }

    /// Runs `f` on the connection outside any transaction: migrations
    /// (which manage their own) and pings.
    pub async fn with_connection<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.submit(Job::Plain(Box::new(move |conn| {
            let _ = answer.send(conn.and_then(|c| f(&mut c.raw())));
        })))
        .map_err(|e| e.into_store("reaching SQLite"))?;
        answered
            .await
            .map_err(|_| stopped().into_store("reaching SQLite"))?
    }

    /// `Unavailable` when the database file cannot be opened or is locked.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.with_connection(|c: &mut SqliteConnection| {
            c.batch_execute("SELECT 1")
                .map_err(|e| translate(e, "pinging the database"))
        })
        .await
    }

    fn submit(&self, job: Job) -> Result<(), TxError> {
        let jobs = self.threads.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send(job).map_err(|_| stopped())
    }
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .map_err(|e| StoreError::Unexpected(anyhow!("starting the thread {name}: {e}")))
}

fn stopped() -> TxError {
    TxError::Store(StoreError::Unexpected(anyhow!("the SQLite thread stopped")))
}

/// Polls a body's future once: on `SqliteConn` every statement completes
/// inside its call, so the body is done. Pending would mean a body awaited
/// something else (a timer, another task), which no body may do here.
fn run_once<T, F>(conn: &SqliteConn, op: F) -> Result<T, TxError>
where
    F: AsyncFnOnce(&SqliteConn) -> Result<T, TxError>,
{
    let fut = pin!(op(conn));
    match fut.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(TxError::Store(StoreError::Unexpected(anyhow!(
            "a SQLite body waited on something other than SQLite"
        )))),
    }
}

/// The writer: takes every job waiting, runs the plain ones, then the
/// writes as one group commit; until every handle is gone. A database file
/// gets its checkpoint thread (an in-memory one has no WAL), which stops
/// before the writer's connection closes: that close is the last.
fn serve(path: &str, memory: bool, wal_limit: i64, queue: &mpsc::Receiver<Job>) {
    let checkpoints = if memory {
        None
    } else {
        Checkpoints::start(path, wal_limit, |file| open(file, false))
    };
    let db = Db {
        path,
        memory,
        checkpoints: checkpoints.as_ref(),
    };
    let mut slot = None;
    while let Ok(first) = queue.recv() {
        let mut writes = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Plain(run) => run(db.connection(&mut slot)),
                Job::Write(run) => writes.push(run),
            }
            if writes.len() < MAX_GROUP {
                next = queue.try_recv().ok();
            }
        }
        if !writes.is_empty() {
            commit_group(&db, &mut slot, writes);
        }
    }
    if let Some(checkpoints) = checkpoints {
        checkpoints.stop();
    }
    drop(slot);
}

/// The reading thread: runs each read on its own connection, opened on
/// first use (and again after it could not be), until every handle is
/// gone. The connection is `query_only`: a body that tried to write here
/// would fail, not write outside the writer's transactions.
fn serve_reads(path: &str, queue: &mpsc::Receiver<PlainJob>) {
    let mut slot = None;
    while let Ok(run) = queue.recv() {
        run(lazily(&mut slot, || {
            let mut conn = open(path, false)?;
            conn.batch_execute("PRAGMA query_only = ON;")
                .map_err(|e| translate(e, "setting up the SQLite connection"))?;
            Ok(conn)
        }));
    }
}

/// The connection in `slot`, opened by `open` if there is none yet.
fn lazily(
    slot: &mut Option<SqliteConn>,
    open: impl FnOnce() -> Result<SqliteConnection, StoreError>,
) -> Result<&SqliteConn, StoreError> {
    if slot.is_none() {
        *slot = Some(SqliteConn::new(open()?));
    }
    slot.as_ref()
        .ok_or_else(|| StoreError::Unexpected(anyhow!("no SQLite connection")))
}

/// What the thread opens its connection with.
struct Db<'a> {
    path: &'a str,
    memory: bool,
    checkpoints: Option<&'a Checkpoints>,
}

/// Runs `writes` in one transaction, each in a savepoint, commits, answers.
fn commit_group(db: &Db<'_>, slot: &mut Option<SqliteConn>, writes: Vec<WriteJob>) {
    let conn = match db.connection(slot) {
        Ok(conn) => conn,
        Err(e) => {
            let why = format!("{e:#}");
            for run in writes {
                run(Err(StoreError::Unavailable(anyhow!("{why}"))));
            }
            return;
        }
    };
    if let Some(checkpoints) = db.checkpoints {
        checkpoints.before_write(&mut conn.raw());
    }
    let sql = |statements: &str| conn.raw().batch_execute(statements);
    if let Err(e) = sql("BEGIN IMMEDIATE") {
        let why = format!("{:#}", translate(e, "beginning a SQLite transaction"));
        for run in writes {
            run(Err(StoreError::Unavailable(anyhow!("{why}"))));
        }
        return;
    }
    let mut answers = Vec::with_capacity(writes.len());
    for run in writes {
        if let Err(e) = sql("SAVEPOINT job") {
            run(Err(translate(e, "opening a savepoint")));
            continue;
        }
        let Some((ok, answer)) = run(Ok(conn)) else {
            let _ = sql("ROLLBACK TO job; RELEASE job");
            continue;
        };
        let end = if ok {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        match sql(end) {
            Ok(()) => answers.push(answer),
            // The savepoint is gone or the transaction broke: this job's
            // effect is unknown, so it must not commit as if it succeeded.
            Err(e) => answer(Err(e.to_string())),
        }
    }
    let commit = sql("COMMIT").map_err(|e| e.to_string());
    if commit.is_err() {
        let _ = sql("ROLLBACK");
    } else if let Some(checkpoints) = db.checkpoints {
        checkpoints.committed();
    }
    for answer in answers {
        answer(commit.clone());
    }
}

impl Db<'_> {
    /// The thread's connection, opened (and set up) on first use. With a
    /// checkpoint thread, its own commits no longer checkpoint.
    fn connection<'s>(
        &self,
        slot: &'s mut Option<SqliteConn>,
    ) -> Result<&'s SqliteConn, StoreError> {
        lazily(slot, || {
            let mut conn = open(self.path, self.memory)?;
            if self.checkpoints.is_some() {
                checkpoint::writer_pragmas(&mut conn)
                    .map_err(|e| translate(e, "setting up the SQLite connection"))?;
            }
            Ok(conn)
        })
    }
}

/// Opens and sets up one connection. busy_timeout comes first so that
/// switching the file to WAL waits for other processes instead of failing;
/// foreign keys are off by default in SQLite; `secure_delete` overwrites
/// what a delete or update frees, so a delivered email's token (the outbox
/// payload, cleared once sent) does not linger in the file's free pages;
/// `temp_store = MEMORY` keeps the statement journal of the savepoints in
/// memory (a group commit's grew past SQLite's 64 KiB spill threshold, so
/// each group created, wrote and deleted a temporary file). Other
/// processes (the admin CLI) still share the file: their writes wait up to
/// 5 s for ours.
fn open(path: &str, memory: bool) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::establish(path).map_err(|e| {
        StoreError::Unavailable(anyhow::Error::new(e).context("opening the SQLite database"))
    })?;
    let pragmas = if memory {
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
    } else {
        "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;"
    };
    conn.batch_execute(pragmas)
        .map_err(|e| translate(e, "setting up the SQLite connection"))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use diesel::{QueryableByName, RunQueryDsl, sql_query, sql_types::Integer};

    #[derive(QueryableByName)]
    struct TempStore {
        #[diesel(sql_type = Integer)]
        temp_store: i32,
    }

    fn temp_store(path: &str, memory: bool) -> i32 {
        let mut conn = super::open(path, memory).unwrap();
        let row: TempStore = sql_query("PRAGMA temp_store")
            .get_result(&mut conn)
            .unwrap();
        row.temp_store
    }

    /// 2 is MEMORY: the savepoints' statement journal never becomes a file.
    #[test]
    fn connections_keep_temporary_data_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("beckon.db");
        assert_eq!(temp_store(file.to_str().unwrap(), false), 2);
        assert_eq!(temp_store(":memory:", true), 2);
    }

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// Writes one after another, each committed before the next, so that
    /// the checkpoint thread never finds the WAL without new frames: only
    /// the writer's own checkpoint past the limit lets the WAL start over.
    /// Each row fills about half a page: 6,000 writes append some 12,000
    /// frames (48 MiB), and a WAL that only grew would be that long.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_past_its_limit_under_a_steady_stream_of_writes() {
        const LIMIT: i64 = 64;
        const WRITES: i64 = 6_000;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("beckon.db");
        let path = file.to_str().unwrap().to_owned();
        let db =
            with_rows_table(super::SqliteDb::open_with_wal_limit(&path, false, LIMIT).unwrap())
                .await;
        for _ in 0..WRITES {
            insert_row(&db, 2_000).await;
        }
        assert_eq!(count_rows(&db).await, WRITES);
        let wal = std::fs::metadata(format!("{path}-wal")).unwrap().len();
        // The WAL's high-water mark: the limit, plus what the writer
        // appended while the thread's longest checkpoint ran (its copy and
        // the sync of the database file). That is a few hundred frames on
        // an idle machine; a run beside other tests' syncs saw a sync long
        // enough for 2,000 (8 MiB). A third of all frames leaves room for
        // twice that and still fails a WAL that does not start over.
        assert!(wal < 16 * 1024 * 1024, "the WAL grew to {wal} bytes");
    }

    /// `db` with one table, `rows`.
    async fn with_rows_table(db: super::SqliteDb) -> super::SqliteDb {
        use diesel::connection::SimpleConnection;
        db.with_connection(|c| {
            c.batch_execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
                .map_err(|e| super::translate(e, "creating the table"))
        })
        .await
        .unwrap();
        db
    }

    /// Writes one row of `bytes` zero bytes, committed before it returns.
    async fn insert_row(db: &super::SqliteDb, bytes: i32) {
        use crate::conn::Conn;
        db.write(async move |c: &super::SqliteConn| {
            c.execute(
                sql_query("INSERT INTO rows (body) VALUES (zeroblob(?))").bind::<Integer, _>(bytes),
            )
            .await?;
            Ok(())
        })
        .await
        .unwrap();
    }

    async fn count_rows(db: &super::SqliteDb) -> i64 {
        use crate::conn::Conn;
        let rows = db
            .read(async |c: &super::SqliteConn| {
                Ok(
                    c.load::<Count, _>(sql_query("SELECT count(*) AS n FROM rows"))
                        .await?,
                )
            })
            .await
            .unwrap();
        rows[0].n
    }

    /// A write holds its transaction open (its body waits for the test);
    /// a read meanwhile is answered, with what was committed before the
    /// write. Were reads queued behind writes, the read would be answered
    /// only once the body gave up waiting, and the body would report that.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_is_answered_while_a_write_is_in_progress() {
        use crate::conn::Conn;
        use std::sync::mpsc;
        use std::time::Duration;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beckon.db").to_str().unwrap().to_owned();
        let db = with_rows_table(super::SqliteDb::open(&path, false).unwrap()).await;
        insert_row(&db, 100).await;

        let (started, has_started) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let writer = db.clone();
        let write = tokio::spawn(async move {
            writer
                .write(async move |c: &super::SqliteConn| {
                    c.execute(sql_query("INSERT INTO rows (body) VALUES (zeroblob(100))"))
                        .await?;
                    started.send(()).unwrap();
                    // Blocks the writer thread: the test's release, or a
                    // timeout that only a read stuck behind this write sees.
                    Ok(released.recv_timeout(Duration::from_secs(30)).is_ok())
                })
                .await
                .unwrap()
        });
        tokio::task::spawn_blocking(move || has_started.recv().unwrap())
            .await
            .unwrap();

        assert_eq!(count_rows(&db).await, 1, "the read saw an uncommitted row");
        release.send(()).unwrap();
        assert!(
            write.await.unwrap(),
            "the read was answered only after the write gave up waiting"
        );
        assert_eq!(
            count_rows(&db).await,
            2,
            "a read after a write's answer misses it"
        );
    }

    /// A read ends its snapshot when it is answered: a checkpoint that
    /// must copy every frame back (it waits for readers, 5 s at most) is
    /// not held up by the reading thread's idle connection. SQLite refuses
    /// it at once (busy, log -1) while the checkpoint thread is running
    /// one of its own, which does not wait for readers; then it is asked
    /// again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_reader_holds_no_snapshot() {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beckon.db").to_str().unwrap().to_owned();
        let db = with_rows_table(super::SqliteDb::open(&path, false).unwrap()).await;
        for _ in 0..10 {
            insert_row(&db, 100).await;
        }
        assert_eq!(count_rows(&db).await, 10);

        let mut other = diesel::SqliteConnection::establish(&path).unwrap();
        other.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
        let mut truncate = || {
            let rows: Vec<super::checkpoint::Checkpointed> =
                sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .load(&mut other)
                    .unwrap();
            (rows[0].busy, rows[0].log)
        };
        let mut done = truncate();
        for _ in 0..100 {
            if done != (1, -1) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            done = truncate();
        }
        assert_eq!(done, (0, 0));
        // The reader's connection still works after the WAL started over.
        assert_eq!(count_rows(&db).await, 10);
    }

    /// The process that drops its store leaves no WAL behind: the threads
    /// close their connections, and the writer's close, the last, copies
    /// the WAL back into the file and removes it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_last_handle_closes_every_connection_and_removes_the_wal() {
        use diesel::Connection;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beckon.db").to_str().unwrap().to_owned();
        let wal = format!("{path}-wal");
        let db = with_rows_table(super::SqliteDb::open(&path, false).unwrap()).await;
        for _ in 0..100 {
            insert_row(&db, 100).await;
        }
        assert_eq!(count_rows(&db).await, 100);
        assert!(std::path::Path::new(&wal).exists());

        let clone = db.clone();
        drop(db);
        assert!(
            std::path::Path::new(&wal).exists(),
            "a clone still holds it"
        );
        drop(clone);
        assert!(
            !std::path::Path::new(&wal).exists(),
            "the WAL was left behind"
        );

        let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
        let rows: Vec<Count> = sql_query("SELECT count(*) AS n FROM rows")
            .load(&mut conn)
            .unwrap();
        assert_eq!(rows[0].n, 100);
    }

    /// An in-memory database is the writer's one connection: reads run
    /// there and see the writes.
    #[tokio::test]
    async fn an_in_memory_database_reads_on_its_one_connection() {
        use diesel::connection::SimpleConnection;
        let db = super::SqliteDb::open(":memory:", true).unwrap();
        db.with_connection(|c| {
            c.batch_execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
                .map_err(|e| super::translate(e, "creating the table"))
        })
        .await
        .unwrap();
        insert_row(&db, 100).await;
        assert_eq!(count_rows(&db).await, 1);
    }
}
