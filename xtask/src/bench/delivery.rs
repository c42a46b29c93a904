//! Delivery: how fast the outbox worker empties a queue into a local SMTP
//! sink (Postfix's smtp-sink), beside smtp-source pushing the same number
//! of messages into the same sink, and (PostgreSQL) how many write
//! transactions the worker spends per delivered message.

use std::io::{BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::db::Db;
use super::floors::EMAIL_BYTES;
use super::server::{self, Beckon};
use super::sys::{self, Guard};

/// smtp-sink, started once for the whole run: the resend runs deliver to it
/// too, so that their worker does what it does in production.
pub struct Sink {
    pub port: u16,
    counter: Arc<Mutex<Counter>>,
    _process: Guard,
}

/// smtp-sink's running message count (`-c`), as a reader thread sees it.
#[derive(Default)]
struct Counter {
    messages: u64,
    /// Where a measurement starts counting from.
    mark: u64,
    /// When the first message after `mark` arrived.
    first_after_mark: Option<Instant>,
}

impl Sink {
    pub fn start() -> anyhow::Result<Self> {
        let port = sys::free_port()?;
        let mut cmd = Command::new(sys::program("smtp-sink"));
        // -c: print "sess=… quit=… mesg=…" on every message, which is how
        // the delivery measurement sees messages arrive without polling the
        // database (polls would count as transactions there).
        cmd.arg("-c");
        if sys::is_root() {
            // smtp-sink refuses to keep root privileges.
            cmd.args(["-u", "nobody"]);
        }
        let mut child = cmd
            .arg(format!("127.0.0.1:{port}"))
            .arg("1000")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting smtp-sink")?;
        let stdout = child.stdout.take().context("smtp-sink's stdout")?;
        let process = Guard::new("smtp-sink", child);
        let counter = Arc::new(Mutex::new(Counter::default()));
        let shared = Arc::clone(&counter);
        std::thread::spawn(move || read_counts(stdout, &shared));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("smtp-sink did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            port,
            counter,
            _process: process,
        })
    }

    pub fn mailer(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    fn counter(&self) -> MutexGuard<'_, Counter> {
        // A reader thread that panicked leaves the count as it was.
        self.counter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts counting from now.
    fn mark(&self) {
        let mut c = self.counter();
        c.mark = c.messages;
        c.first_after_mark = None;
    }

    /// Messages since the mark, and when the first of them arrived.
    fn since_mark(&self) -> (u64, Option<Instant>) {
        let c = self.counter();
        (c.messages - c.mark, c.first_after_mark)
    }
}

/// Follows smtp-sink's `\r`-separated counter lines.
fn read_counts(stdout: impl Read, counter: &Mutex<Counter>) {
    let mut line = Vec::new();
    for byte in BufReader::new(stdout).bytes() {
        let Ok(b) = byte else { return };
        if b != b'\r' && b != b'\n' {
            line.push(b);
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let messages = text
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("mesg="))
            .and_then(|n| n.parse::<u64>().ok());
        line.clear();
        if let Some(n) = messages {
            let mut c = counter
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            c.messages = n;
            if n > c.mark && c.first_after_mark.is_none() {
                c.first_after_mark = Some(Instant::now());
            }
        }
    }
}

/// What the delivery measurement found.
pub struct Delivery {
    pub messages: u64,
    pub emails_per_sec: f64,
    pub smtp_source_per_sec: f64,
    /// PostgreSQL only.
    pub write_tx_per_message: Option<f64>,
}

/// Queues `n` invites, then times the worker delivering them to the sink.
///
/// The queue is filled by a first server whose mailer points at a closed
/// port (its attempts fail as transient and are retried later), so that
/// the second server starts on a full queue and its rate is the worker's
/// own, not the rate the API queues at. Between the two the failed attempts
/// are reset, so every message is due at once with no attempt counted.
pub fn measure(beckon: &Beckon, db: &Db, sink: &Sink, n: usize) -> anyhow::Result<Delivery> {
    let closed = sys::free_port()?;
    let queueing = beckon.with_mailer(format!("smtp://127.0.0.1:{closed}?tls=none"));
    let tenant = beckon.setup()?;
    let server = queueing.serve()?;
    server::invite(queueing.port, &tenant, "deliver", n)?;
    server.stop();

    let pending = db.count("SELECT count(*) FROM outbox WHERE status = 'pending'")?;
    if pending != n as i64 {
        bail!("expected {n} pending messages, found {pending}");
    }
    db.execute(
        "UPDATE outbox SET attempts = 0, next_attempt_at = created_at, claimed_until = NULL, \
         last_error = NULL WHERE status = 'pending'",
    )?;

    let before = pg_counters(db)?;
    sink.mark();
    let server = beckon.with_mailer(sink.mailer()).serve()?;
    let deadline = Instant::now() + Duration::from_secs(120 + n as u64 / 10);
    while sink.since_mark().0 < n as u64 {
        if Instant::now() > deadline {
            bail!(
                "the worker delivered {} of {n} messages in time",
                sink.since_mark().0
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every message has arrived; the last batch's settle may still be on
    // its way to the database.
    while db.count("SELECT count(*) FROM outbox WHERE status = 'sent'")? < n as i64 {
        if Instant::now() > deadline {
            bail!("the outbox did not show all {n} messages sent in time");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let done = Instant::now();
    let after_xid = pg_counters(db)?.map(|c| c.next_xid);
    server.stop();
    let first = sink.since_mark().1.context("no message reached the sink")?;
    let emails_per_sec = n as f64 / done.duration_since(first).as_secs_f64();

    let write_tx_per_message = match (before, after_xid) {
        (Some(before), Some(next_xid)) => {
            // Let the stopped server's backends exit and flush their stats.
            std::thread::sleep(Duration::from_millis(500));
            let after = pg_counters(db)?.context("PostgreSQL counters")?;
            let by_xid = next_xid.saturating_sub(before.next_xid);
            let by_commits = after.commits.saturating_sub(before.commits);
            Some(by_xid.min(by_commits) as f64 / n as f64)
        }
        _ => None,
    };

    Ok(Delivery {
        messages: n as u64,
        emails_per_sec,
        smtp_source_per_sec: smtp_source(sink, n)?,
        write_tx_per_message,
    })
}

/// Two upper bounds on the write transactions run meanwhile: transaction
/// ids are only assigned to transactions that write (but the counter is
/// the whole cluster's, so other databases' writers add to it), and the
/// commits of this database (which include its read-only transactions).
/// The smaller one is reported.
struct PgCounters {
    next_xid: u64,
    commits: u64,
}

fn pg_counters(db: &Db) -> anyhow::Result<Option<PgCounters>> {
    let Db::Postgres(pg) = db else {
        return Ok(None);
    };
    // pg_current_snapshot()'s xmax is the next id to be assigned; reading
    // it assigns none (txid_current() would). Both are read from the
    // maintenance database so that the reading adds no commit here.
    let next_xid =
        pg.admin_scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")?;
    let commits = pg.admin_scalar(&format!(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = '{}'",
        pg.name()
    ))?;
    Ok(Some(PgCounters {
        next_xid: u64::try_from(next_xid)?,
        commits: u64::try_from(commits)?,
    }))
}

/// smtp-source sending `n` messages of Beckon's size over 16 sessions to
/// the sink: what a plain SMTP client gets from it. Messages per second.
fn smtp_source(sink: &Sink, n: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    sys::output(Command::new(sys::program("smtp-source")).args([
        "-s",
        "16",
        "-m",
        &n.to_string(),
        "-l",
        &EMAIL_BYTES.to_string(),
        &format!("127.0.0.1:{}", sink.port),
    ]))?;
    Ok(n as f64 / started.elapsed().as_secs_f64())
}
