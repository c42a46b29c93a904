//! WAL checkpoints off the writer's thread, with the WAL kept bounded.
//!
//! SQLite runs a checkpoint in whichever connection commits past
//! `wal_autocheckpoint` pages (1,000 by default): it syncs the WAL, copies
//! its pages into the database file, and syncs that file. On the one
//! thread that commits every write, that was a stall of about 10 ms every
//! few dozen commits under load, and every request queued behind it
//! waited it out (the p99 at a constant rate was the checkpoint's length).
//!
//! So the writer's connection does not checkpoint by itself
//! (`wal_autocheckpoint = 0`). A thread of its own, on a connection of its
//! own, runs a `PASSIVE` checkpoint shortly after writes were committed:
//! it never waits for the writer, nor the writer for it. SQLite syncs the
//! database file only when a checkpoint copies the whole WAL, which this
//! thread's rarely do (the writer keeps appending), so the thread syncs
//! the file itself after each one: whoever completes a checkpoint then
//! finds little left to sync.
//!
//! SQLite restarts the WAL from its beginning only when a write begins
//! while every frame has been copied back, which a checkpoint that runs
//! beside a steady stream of commits never achieves: the WAL would grow
//! for as long as the load lasts. So when a checkpoint of the
//! thread sees more frames than the limit, the thread hands over and runs
//! no more checkpoints, and the writer finishes the job before its next
//! transaction: a checkpoint of the few frames committed during that one,
//! after which its write restarts the WAL and the thread takes over again.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::{QueryableByName, RunQueryDsl, SqliteConnection};

/// WAL frames (pages) past which the writer checkpoints before its next
/// transaction: 16,384 frames of 4 KiB, about 64 MiB of WAL. Each time,
/// the writer stops for a copy and two syncs (5 to 11 ms on a slow disk),
/// so the limit sets how often writes wait that out: at 8,192 frames that
/// was about twice a second under a steady 1,200 resends/s, and the
/// stalls set the p99.
pub(super) const WAL_LIMIT: i64 = 16_384;

/// The least time between two checkpoints of the thread: under a steady
/// load one runs every `PACE`, so each covers that much of the WAL (and
/// the writer's own, when the WAL is over the limit, covers about as
/// much), without a sync of both files after every commit.
const PACE: Duration = Duration::from_millis(10);

/// The writer's side: tells the thread that there is something to copy
/// back, and finishes a checkpoint itself when the WAL is too long.
pub(super) struct Checkpoints {
    kick: SyncSender<()>,
    /// The WAL's length in frames as the thread last saw it; over `limit`,
    /// it is the writer's turn to checkpoint.
    seen: Arc<AtomicI64>,
    limit: i64,
    thread: JoinHandle<()>,
}

impl Checkpoints {
    /// Starts the checkpoint thread for the database file at `path`;
    /// `None` (and SQLite's own checkpoints stay on) when no thread can be
    /// started. The thread ends when this is dropped or stopped.
    pub(super) fn start(path: &str, limit: i64, open: OpenFn) -> Option<Self> {
        let (kick, kicked) = mpsc::sync_channel(1);
        let seen = Arc::new(AtomicI64::new(0));
        let path = path.to_owned();
        let shared = Arc::clone(&seen);
        let spawned = std::thread::Builder::new()
            .name("beckon-sqlite-checkpoint".into())
            .spawn(move || run(&path, open, &kicked, &shared, limit));
        match spawned {
            Ok(thread) => Some(Self {
                kick,
                seen,
                limit,
                thread,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the SQLite checkpoint thread; the writer checkpoints itself");
                None
            }
        }
    }

    /// Ends the thread and waits until its connection is closed.
    pub(super) fn stop(self) {
        let Self { kick, thread, .. } = self;
        drop(kick);
        if thread.join().is_err() {
            tracing::error!("the SQLite checkpoint thread panicked");
        }
    }

    /// After a commit: there are frames to copy back. A kick already
    /// waiting is enough (the channel is full then); the channel is
    /// disconnected only if the thread panicked, and nothing here can
    /// bring it back.
    pub(super) fn committed(&self) {
        let _ = self.kick.try_send(());
    }

    /// Before a write transaction on the writer's connection `conn`: when
    /// the thread saw a WAL over the limit, checkpoints what is left, so
    /// that the write restarts the WAL, and gives the thread its turn back.
    pub(super) fn before_write(&self, conn: &mut SqliteConnection) {
        if self.seen.load(Ordering::Relaxed) <= self.limit {
            return;
        }
        match passive(conn) {
            // Every frame is back in the database file, and this write
            // starts the WAL over; or another process's reader held some
            // back, and the thread will see the WAL over the limit again.
            // Either way the thread's turn comes back, so the writer
            // checkpoints at most once per checkpoint of the thread.
            Ok(Some(Checkpointed { busy: 0, .. })) => self.seen.store(0, Ordering::Relaxed),
            // Another process's checkpoint was running: the next write
            // tries again.
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a WAL checkpoint failed"),
        }
    }
}

/// Opens a connection set up like the writer's.
pub(super) type OpenFn = fn(&str) -> Result<SqliteConnection, beckon_ports::StoreError>;

/// The thread: a checkpoint after each kick, at most one per `PACE`,
/// none while it is the writer's turn, until the writer's side is dropped.
/// While it cannot open the database (it tries again at each kick), the
/// WAL only grows.
fn run(path: &str, open: OpenFn, kicked: &Receiver<()>, seen: &AtomicI64, limit: i64) {
    // The connection that checkpoints, and the file it syncs.
    let mut opened: Option<(SqliteConnection, std::fs::File)> = None;
    while kicked.recv().is_ok() {
        if seen.load(Ordering::Relaxed) > limit {
            continue;
        }
        if opened.is_none() {
            match open(path).and_then(|conn| Ok((conn, sync_handle(path)?))) {
                Ok(pair) => opened = Some(pair),
                Err(e) => {
                    tracing::warn!(error = %e, "the SQLite checkpoint thread cannot open the database")
                }
            }
        }
        if let Some((conn, file)) = opened.as_mut() {
            match passive(conn) {
                Ok(Some(Checkpointed { busy: 0, log })) => {
                    // What the checkpoint wrote into the file reaches the
                    // disk now, not in the next complete checkpoint's sync.
                    if let Err(e) = file.sync_data() {
                        tracing::warn!(error = %e, "syncing the SQLite database file failed");
                    }
                    seen.store(i64::from(log), Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "a WAL checkpoint failed");
                    opened = None;
                }
            }
        }
        std::thread::sleep(PACE);
    }
}

/// The database file, opened for syncing only.
fn sync_handle(path: &str) -> Result<std::fs::File, beckon_ports::StoreError> {
    std::fs::File::open(path).map_err(|e| {
        beckon_ports::StoreError::Unavailable(
            anyhow::Error::new(e).context("opening the SQLite database file to sync it"),
        )
    })
}

/// The row `PRAGMA wal_checkpoint` answers.
#[derive(QueryableByName)]
pub(super) struct Checkpointed {
    /// 1 when another checkpoint was running, and this one did nothing.
    #[diesel(sql_type = Integer)]
    pub(super) busy: i32,
    /// Frames in the WAL.
    #[diesel(sql_type = Integer)]
    pub(super) log: i32,
}

/// A `PASSIVE` checkpoint: copies back what no reader still needs and
/// waits for nobody.
fn passive(conn: &mut SqliteConnection) -> Result<Option<Checkpointed>, diesel::result::Error> {
    let mut rows: Vec<Checkpointed> =
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").load(conn)?;
    Ok(rows.pop())
}

/// Turns SQLite's own checkpoints off on the writer's connection.
pub(super) fn writer_pragmas(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.batch_execute("PRAGMA wal_autocheckpoint = 0;")
}
