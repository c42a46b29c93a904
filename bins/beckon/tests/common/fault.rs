//! A harness for fault tests of the real binary: `beckon serve` processes
//! (killed with SIGKILL, stopped with SIGTERM, restarted on the same port
//! and database), an SMTP server on aiosmtpd that outlives them and logs
//! every message it accepts with the time, Message-ID and recipients, the
//! database read directly (SQLite file or PostgreSQL), a load of client
//! tasks that record every request and how it ended, and a small seeded
//! random generator so that a run can be replayed.
//!
//! Included with `#[path]` by the test binaries that use it.

#![allow(dead_code)] // each test binary uses a part of it

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Integer, Nullable, Text};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::pg::PgDatabase;

/// The variable naming the Python that has aiosmtpd.
pub const PYTHON_VAR: &str = "BECKON_TEST_SMTP_PYTHON";

/// How long a process may take to answer `/readyz`, and the SMTP server to
/// start: anti-hang bounds, not performance targets.
pub const UP_TIMEOUT: Duration = Duration::from_secs(60);

/// Seconds since the Unix epoch, as the SMTP server's `time.time()` gives
/// them: the one time line the test and the server share.
pub fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The wall clock as chrono's instant (the project reads time through its
/// Clock port; a test reads the system's).
pub fn now_utc() -> DateTime<Utc> {
    DateTime::<Utc>::from(SystemTime::now())
}

/// The Python to run the SMTP server with; `None` (after a note) when the
/// variable is unset, which means: skip.
pub fn smtp_python() -> Option<PathBuf> {
    match std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!(
                "skipped: {PYTHON_VAR} unset (run `cargo xtask smtp-venv` and set \
                 {PYTHON_VAR}=$PWD/.venv-smtp/bin/python to run it)"
            );
            None
        }
    }
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

// ---- a seeded random generator -----------------------------------------

/// SplitMix64: small, good enough for schedules, and the same on every
/// machine for one seed.
#[derive(Debug, Clone)]
pub struct Prng(u64);

impl Prng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A duration uniform in `lo..=hi` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }

    /// True with `percent` % probability.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The run's seed: `BECKON_CRASH_SEED` when set (to replay a run),
/// otherwise taken from the clock.
pub fn seed() -> u64 {
    std::env::var("BECKON_CRASH_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

// ---- the SMTP server ----------------------------------------------------

/// The server: aiosmtpd accepting every message, optionally after a pause
/// (`--delay-ms`, an asyncio sleep, so sessions still run side by side),
/// appending `time<TAB>message-id<TAB>rcpt,rcpt` to the log for each one
/// before it answers 250. Prints its port once it listens; exits when its
/// stdin closes, so a test that dies takes it along.
const SMTP_SCRIPT: &str = r#"
import argparse, asyncio, email.parser, email.policy, logging, os, sys, threading, time
from aiosmtpd.smtp import SMTP

class Handler:
    def __init__(self, log, delay):
        self.log = open(log, "a", encoding="utf-8")
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        raw = envelope.original_content or envelope.content
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        mid = " ".join((headers.get("Message-ID") or "-").split())
        rcpts = ",".join(envelope.rcpt_tos) or "-"
        self.log.write(f"{time.time():.6f}\t{mid}\t{rcpts}\n")
        self.log.flush()
        return "250 2.0.0 OK"

def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)

async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True)
    p.add_argument("--delay-ms", type=int, default=0)
    a = p.parse_args()
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    handler = Handler(a.log, a.delay_ms / 1000.0)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="beckon-fault-smtp", ident="Beckon fault SMTP"),
        host="127.0.0.1", port=a.port)
    print(server.sockets[0].getsockname()[1], flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;

/// One message the SMTP server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// `time.time()` when it was accepted (just before the 250).
    pub at: f64,
    pub message_id: String,
    pub rcpts: Vec<String>,
}

impl Received {
    /// The outbox id in a Message-ID `<{outbox-id}@{domain}>`.
    pub fn outbox_id(&self) -> Option<String> {
        let inner = self.message_id.trim().strip_prefix('<')?;
        let (id, _) = inner.split_once('@')?;
        Some(id.to_ascii_lowercase())
    }
}

/// The running SMTP server; killed when dropped.
pub struct Smtp {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
    log: PathBuf,
    dir: TempDir,
}

impl Smtp {
    /// Starts it on a free port; `delay_ms` before each 250.
    pub fn start(python: &Path, delay_ms: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fault_smtp.py");
        std::fs::write(&script, SMTP_SCRIPT).unwrap();
        let log = dir.path().join("received.tsv");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let mut child = Command::new(python)
            .arg(&script)
            .arg("--log")
            .arg(&log)
            .arg("--delay-ms")
            .arg(delay_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("{PYTHON_VAR}={}: {e}", python.display()));
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(UP_TIMEOUT).unwrap_or_default();
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
            panic!("the fault SMTP server did not start (first line {line:?}):\n{err}");
        };
        Self {
            child,
            _stdin: stdin,
            port,
            log,
            dir,
        }
    }

    /// `BECKON_MAILER` for it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Every message accepted so far, in order (complete lines only).
    pub fn received(&self) -> Vec<Received> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .filter_map(|l| {
                let mut f = l.trim_end().split('\t');
                let at = f.next()?.parse().ok()?;
                let message_id = f.next()?.to_owned();
                let rcpts = f
                    .next()?
                    .split(',')
                    .map(|r| r.to_ascii_lowercase())
                    .collect();
                Some(Received {
                    at,
                    message_id,
                    rcpts,
                })
            })
            .collect()
    }

    /// Its stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- the database -------------------------------------------------------

/// The service's database, read and written directly by the test.
pub enum Db {
    Sqlite(PathBuf),
    Pg(PgDatabase),
}

/// One outbox row with its recipient.
#[derive(QueryableByName, Debug, Clone)]
pub struct OutboxRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// RFC 3339, UTC; `None` when not leased.
    #[diesel(sql_type = Nullable<Text>)]
    pub claimed_until: Option<String>,
}

impl OutboxRow {
    /// Whether its lease reaches past `now`.
    pub fn leased_past(&self, now: DateTime<Utc>) -> bool {
        self.claimed_until
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t > now)
    }
}

/// One audit line.
#[derive(QueryableByName, Debug, Clone)]
pub struct AuditRow {
    #[diesel(sql_type = Text)]
    pub request_id: String,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = Text)]
    pub outcome: String,
}

const PG_OUTBOX: &str = "SELECT o.id::text AS id, u.email AS email, o.status AS status, \
     o.attempts AS attempts, \
     to_char(o.claimed_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
     AS claimed_until \
     FROM outbox o JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id";
const SQLITE_OUTBOX: &str = "SELECT o.id AS id, u.email AS email, o.status AS status, \
     o.attempts AS attempts, o.claimed_until AS claimed_until \
     FROM outbox o JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id";
const AUDIT: &str = "SELECT request_id, action, outcome FROM audit_log";

impl Db {
    /// `BECKON_DATABASE_URL` for it.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Pg(db) => db.url().to_owned(),
        }
    }

    fn sqlite(path: &Path) -> diesel::SqliteConnection {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut c = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        c.batch_execute("PRAGMA busy_timeout = 10000;").unwrap();
        c
    }

    /// Every outbox row.
    pub async fn outbox(&self) -> Vec<OutboxRow> {
        match self {
            Self::Sqlite(path) => {
                diesel::RunQueryDsl::load(diesel::sql_query(SQLITE_OUTBOX), &mut Self::sqlite(path))
                    .unwrap()
            }
            Self::Pg(db) => diesel_async::RunQueryDsl::load(
                diesel::sql_query(PG_OUTBOX),
                &mut db.connect().await,
            )
            .await
            .unwrap(),
        }
    }

    /// Every audit line.
    pub async fn audit(&self) -> Vec<AuditRow> {
        match self {
            Self::Sqlite(path) => {
                diesel::RunQueryDsl::load(diesel::sql_query(AUDIT), &mut Self::sqlite(path))
                    .unwrap()
            }
            Self::Pg(db) => {
                diesel_async::RunQueryDsl::load(diesel::sql_query(AUDIT), &mut db.connect().await)
                    .await
                    .unwrap()
            }
        }
    }

    /// Ends every lease that still runs: what the lease's own expiry does
    /// (90 s with the SMTP mailer's timeouts), without waiting for it. Only
    /// sound while no process serves this database — leases of the dead.
    /// Returns how many rows it released.
    pub async fn expire_leases(&self) -> usize {
        match self {
            Self::Sqlite(path) => {
                let now = now_utc();
                let text =
                    |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                let past = text(now - chrono::TimeDelta::seconds(1));
                diesel::RunQueryDsl::execute(
                    diesel::sql_query(
                        "UPDATE outbox SET claimed_until = ? \
                         WHERE status = 'pending' AND claimed_until > ?",
                    )
                    .bind::<Text, _>(past)
                    .bind::<Text, _>(text(now)),
                    &mut Self::sqlite(path),
                )
                .unwrap()
            }
            Self::Pg(db) => diesel_async::RunQueryDsl::execute(
                diesel::sql_query(
                    "UPDATE outbox SET claimed_until = now() - interval '1 second' \
                     WHERE status = 'pending' AND claimed_until > now()",
                ),
                &mut db.connect().await,
            )
            .await
            .unwrap(),
        }
    }
}

// ---- the server process -------------------------------------------------

/// How to run `beckon serve` (and the admin commands) on one database.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub db_url: String,
    pub mailer: String,
    pub port: u16,
    /// `BECKON_*` settings beyond the database, listener and mailer.
    pub settings: Vec<(String, String)>,
    /// Where logs go (and the working directory).
    pub dir: PathBuf,
}

impl ServeConfig {
    /// `beckon ARGS` with no inherited `BECKON_*` but these settings.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_beckon"));
        for (k, _) in std::env::vars() {
            if k.starts_with("BECKON_") {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(&self.dir)
            .env("BECKON_DATABASE_URL", &self.db_url)
            .env("BECKON_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("BECKON_METRICS_LISTEN", "off")
            .env("BECKON_MAILER", &self.mailer)
            .env("BECKON_LOG", "warn")
            .envs(self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(args);
        cmd
    }

    /// Runs an admin command; returns the JSON object it prints.
    pub fn admin(&self, args: &[&str]) -> Value {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        // Its output is one short line: it fits the pipe while we wait.
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > UP_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("beckon {args:?} did not finish within {UP_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    /// Creates a tenant and an admin key: `(tenant id, key)`.
    pub fn tenant_and_key(&self) -> (String, String) {
        let tenant = self.admin(&["tenant", "create", "--name", "Acme"])["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let key = self.admin(&["api-key", "create", "--tenant", &tenant, "--role", "admin"])["key"]
            .as_str()
            .unwrap()
            .to_owned();
        (tenant, key)
    }

    /// The API's base URL.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// One `beckon serve` process; killed when dropped.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub log: PathBuf,
    pub started: Instant,
    /// Wall clock at spawn.
    pub spawned_at: f64,
}

impl Server {
    /// Starts `beckon serve`; `n` numbers its log file.
    pub fn spawn(cfg: &ServeConfig, n: usize) -> Self {
        let log = cfg.dir.join(format!("serve-{n:02}.log"));
        let spawned_at = wall();
        let started = Instant::now();
        let child = cfg
            .command(&["serve"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            pid: child.id(),
            child,
            log,
            started,
            spawned_at,
        }
    }

    /// Waits until `/readyz` answers 200; returns the time from spawn.
    /// Panics with the log if the process exits or does not come up.
    pub async fn wait_ready(&mut self, cfg: &ServeConfig) -> Duration {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        loop {
            let ready = client
                .get(format!("{}/readyz", cfg.base()))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return self.started.elapsed();
            }
            let exited = self.child.try_wait().unwrap();
            if exited.is_some() || self.started.elapsed() > UP_TIMEOUT {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("beckon serve did not come up ({exited:?}):\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, and reaps it; returns when it was killed (wall clock).
    pub fn kill9(&mut self) -> f64 {
        let at = wall();
        self.child.kill().unwrap(); // SIGKILL on Unix
        self.child.wait().unwrap();
        at
    }

    /// SIGTERM (through kill(1): no unsafe code here).
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {}: {status}", self.pid);
    }

    /// Waits for the process to exit, up to `bound`; `None` if it did not.
    pub async fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if start.elapsed() > bound {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- the load -----------------------------------------------------------

/// What a request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Invite,
    Resend,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A complete answer: status and the whole body (its `code` for errors).
    Answered { status: u16, code: Option<String> },
    /// A status line, then the connection broke while reading the body.
    Truncated { status: u16, error: String },
    /// The connection could not be made: the request never left.
    NotSent(String),
    /// Sent (or maybe sent), no status came back.
    NoAnswer(String),
}

/// One request and how it ended.
#[derive(Debug, Clone)]
pub struct Record {
    /// Its `X-Request-ID` (unique): finds its audit line.
    pub request_id: String,
    pub op: Op,
    /// The user a resend named (`None` for an invite).
    pub user_id: Option<String>,
    /// The recipient of the email it would queue.
    pub email: String,
    pub outcome: Outcome,
    /// Wall clock at send and at the end.
    pub sent_at: f64,
    pub ended_at: f64,
}

/// The users resends pick from: `(id, email)`.
pub type Pool = Arc<Mutex<Vec<(String, String)>>>;

/// What every client shares.
#[derive(Clone)]
pub struct Target {
    pub base: String,
    pub tenant: String,
    pub key: String,
}

impl Target {
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            // Anti-hang bounds only.
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    }

    /// Sends one request and records how it ended. A 201 adds the new
    /// user to `pool`.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        op: Op,
        request_id: String,
        user: Option<&str>,
        email: &str,
        pool: &Pool,
    ) -> Record {
        let req = match op {
            Op::Invite => client
                .post(format!("{}/v1/users", self.base))
                .json(&json!({ "email": email })),
            Op::Resend => client.post(format!(
                "{}/v1/users/{}/resend-invite",
                self.base,
                user.unwrap_or_default()
            )),
        };
        let sent_at = wall();
        let result = req
            .bearer_auth(&self.key)
            .header("X-Tenant-ID", &self.tenant)
            .header("X-Request-ID", &request_id)
            .send()
            .await;
        let outcome = match result {
            Err(e) if e.is_connect() => Outcome::NotSent(error_chain(&e)),
            Err(e) => Outcome::NoAnswer(error_chain(&e)),
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Err(e) => Outcome::Truncated {
                        status,
                        error: error_chain(&e),
                    },
                    Ok(body) => {
                        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        if status == 201
                            && let Some(id) = body["id"].as_str()
                        {
                            pool.lock().unwrap().push((id.to_owned(), email.to_owned()));
                        }
                        Outcome::Answered {
                            status,
                            code: body["code"].as_str().map(str::to_owned),
                        }
                    }
                }
            }
        };
        Record {
            request_id,
            op,
            user_id: user.map(str::to_owned),
            email: email.to_owned(),
            outcome,
            sent_at,
            ended_at: wall(),
        }
    }
}

/// An error with its sources: reqwest's own message rarely says what broke.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// How a load client behaves.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Percent of requests that invite a new user (the rest resend).
    pub invite_percent: u64,
    /// How long to wait after a refused connection (the server is down)
    /// before the next request: no hot loop while it restarts.
    pub pause_after_refused: Duration,
}

/// Sends requests until `stop` is set — or, once `refused_ends` is set,
/// until a connection is refused. Returns every request's record.
pub async fn client_loop(
    idx: usize,
    target: Target,
    pool: Pool,
    seed: u64,
    opts: LoadOptions,
    stop: Arc<AtomicBool>,
    refused_ends: Arc<AtomicBool>,
) -> Vec<Record> {
    let client = Target::client();
    let mut rng = Prng::new(seed ^ (idx as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut records = Vec::new();
    let mut n = 0usize;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let request_id = format!("c{idx}-{n}");
        let record = if rng.chance(opts.invite_percent) {
            let email = format!("c{idx}-n{n}@example.com");
            target
                .send(&client, Op::Invite, request_id, None, &email, &pool)
                .await
        } else {
            let (id, email) = {
                let users = pool.lock().unwrap();
                let i = rng.below(users.len() as u64) as usize;
                users[i].clone()
            };
            target
                .send(&client, Op::Resend, request_id, Some(&id), &email, &pool)
                .await
        };
        let refused = matches!(record.outcome, Outcome::NotSent(_));
        records.push(record);
        if refused {
            if refused_ends.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(opts.pause_after_refused).await;
        }
    }
    records
}

/// Invites `n` users `u{i}@example.com`, 8 at a time; every one must answer
/// 201. Returns their records (and fills `pool`).
pub async fn invite_pool(target: &Target, pool: &Pool, n: usize) -> Vec<Record> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (target, pool, next) = (target.clone(), pool.clone(), next.clone());
        tasks.spawn(async move {
            let client = Target::client();
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    return out;
                }
                let email = format!("u{i}@example.com");
                let r = target
                    .send(
                        &client,
                        Op::Invite,
                        format!("pool-{i}"),
                        None,
                        &email,
                        &pool,
                    )
                    .await;
                assert!(
                    matches!(r.outcome, Outcome::Answered { status: 201, .. }),
                    "inviting {email}: {:?}",
                    r.outcome
                );
                out.push(r);
            }
        });
    }
    let mut all = Vec::new();
    while let Some(part) = tasks.join_next().await {
        all.extend(part.unwrap());
    }
    all
}

/// Audit lines by request id.
pub fn audit_by_request(rows: Vec<AuditRow>) -> HashMap<String, Vec<AuditRow>> {
    let mut map: HashMap<String, Vec<AuditRow>> = HashMap::new();
    for r in rows {
        map.entry(r.request_id.clone()).or_default().push(r);
    }
    map
}
