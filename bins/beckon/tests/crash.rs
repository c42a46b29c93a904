//! Faults of the real binary under load, on SQLite and on PostgreSQL, with
//! delivery over SMTP to an aiosmtpd server that outlives every process.
//!
//! - Crash safety: eight clients resend (and now and then invite) while
//!   `beckon serve` is killed with SIGKILL ten times at random moments and
//!   restarted on the same port and database. Afterwards every accepted
//!   request's email has arrived, no email went out for a request that was
//!   refused, and a Message-ID arrived twice only across a kill. The last
//!   process logs at `debug`; its log holds no address, key or link.
//! - Graceful shutdown: SIGTERM while clients send requests and the worker
//!   delivers a backlog over a slow SMTP server. Every request the server
//!   took up got a complete answer, the process exits 0, and no outbox row
//!   is left leased.
//!
//! Each request carries its own `X-Request-ID`, which the audit trail keeps
//! beside the outcome, and the audit line of a success is written in the
//! transaction that queues its email: so the test knows, for a request
//! whose answer a kill swallowed, whether it took effect.
//!
//! A killed process leaves the batch it was sending leased; the lease runs
//! out after 90 s (the SMTP mailer's timeouts), and only then does another
//! process send those messages again. The crash test does not wait that
//! long: while no process runs, right after each kill, it ends the running
//! leases in the database — what their expiry would do, earlier.
//! `BECKON_CRASH_REAL_LEASES=1` waits them out instead (about 2 minutes
//! more).
//!
//! Skipped with a note when `BECKON_TEST_SMTP_PYTHON` is unset (both), or
//! `BECKON_TEST_DATABASE_URL` (PostgreSQL). The kill schedule comes from a
//! seed that is printed; `BECKON_CRASH_SEED=N` replays it (the requests'
//! interleaving is the scheduler's, not the seed's).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/fault.rs"]
mod fault;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/secrets.rs"]
mod secrets;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::fault::{
    AuditRow, Db, LoadOptions, OutboxRow, Outcome, Pool, Prng, Received, Record, ServeConfig,
    Server, Smtp, Target, audit_by_request, client_loop, free_port, invite_pool, now_utc,
    smtp_python, wall,
};
use crate::pg::PgDatabase;

/// Users invited before the load starts; resends pick among them (and the
/// users the load invites).
const POOL: usize = 300;
const CLIENTS: usize = 8;
const KILLS: usize = 10;
/// The random gap before each kill.
const KILL_GAP_MS: (u64, u64) = (300, 1500);
/// Anti-hang bounds, not performance targets: the worker's drain after the
/// load, and a stopping process's exit (actix waits up to 30 s for open
/// connections).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(45);
/// The drain bound when the leases of killed processes are waited out
/// (`BECKON_CRASH_REAL_LEASES=1`): past their 90 s.
const REAL_LEASE_DRAIN_TIMEOUT: Duration = Duration::from_secs(150);
/// A request sent this close to SIGTERM may cross the server's closing of
/// an idle kept-alive connection: it is not read, not answered, and has no
/// effect. One sent earlier must be taken up and answered.
const RACE: f64 = 0.05;
/// How long "no more mail arrives" is watched once all is delivered.
const SETTLE: Duration = Duration::from_millis(1500);
/// How late the SMTP server may log a message a killed process had wholly
/// sent (it reads what is buffered after the kill) and still be counted to
/// that process rather than the next one.
const SLACK: f64 = 0.25;

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The database, or `None` (after a note) when it cannot be had.
    async fn database(self, dir: &Path) -> Option<Db> {
        match self {
            Self::Sqlite => Some(Db::Sqlite(dir.join("beckon.db"))),
            Self::Postgres => match PgDatabase::create().await {
                Some(db) => Some(Db::Pg(db)),
                None => {
                    eprintln!("skipped: BECKON_TEST_DATABASE_URL is unset");
                    None
                }
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_ten_times_under_load_loses_no_email() {
    crash_under_load(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_ten_times_under_load_loses_no_email() {
    crash_under_load(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigterm_under_load_answers_every_request_and_leaves_nothing_leased() {
    sigterm_under_load(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigterm_under_load_answers_every_request_and_leaves_nothing_leased() {
    sigterm_under_load(Backend::Postgres).await;
}

/// The SMTP server, how to run `beckon serve`, and the tenant's key. The
/// caller declares the database before it (and its servers after it), so
/// that the database outlives every process using it.
struct Rig {
    cfg: ServeConfig,
    target: Target,
    smtp: Smtp,
}

fn rig(db: &Db, dir: &Path, python: &Path, smtp_delay_ms: u64, settings: &[(&str, &str)]) -> Rig {
    let smtp = Smtp::start(python, smtp_delay_ms);
    let cfg = ServeConfig {
        db_url: db.url(),
        mailer: smtp.url(),
        port: free_port(),
        settings: settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        dir: dir.to_owned(),
    };
    let (tenant, key) = cfg.tenant_and_key();
    let target = Target {
        base: cfg.base(),
        tenant,
        key,
    };
    Rig { cfg, target, smtp }
}

fn start_clients(
    target: &Target,
    pool: &Pool,
    seed: u64,
    opts: LoadOptions,
    stop: &Arc<AtomicBool>,
    refused_ends: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Record>>> {
    (0..CLIENTS)
        .map(|i| {
            tokio::spawn(client_loop(
                i,
                target.clone(),
                pool.clone(),
                seed,
                opts,
                stop.clone(),
                refused_ends.clone(),
            ))
        })
        .collect()
}

/// Waits until no outbox row is pending and every sent row's message has
/// arrived (or the bound passes); returns whether it got there, and when.
async fn wait_drained(db: &Db, smtp: &Smtp, bound: Duration) -> (bool, Duration) {
    let start = Instant::now();
    loop {
        let rows = db.outbox().await;
        let got: std::collections::HashSet<String> = smtp
            .received()
            .iter()
            .filter_map(Received::outbox_id)
            .collect();
        let done = rows
            .iter()
            .all(|r| r.status != "pending" && (r.status != "sent" || got.contains(&r.id)));
        if done || start.elapsed() > bound {
            return (done, start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Receipts per outbox id.
fn receipts(received: &[Received]) -> HashMap<String, Vec<Received>> {
    let mut map: HashMap<String, Vec<Received>> = HashMap::new();
    for r in received {
        let key = r.outbox_id().unwrap_or_else(|| r.message_id.clone());
        map.entry(key).or_default().push(r.clone());
    }
    for v in map.values_mut() {
        v.sort_by(|a, b| a.at.total_cmp(&b.at));
    }
    map
}

fn status_of(o: &Outcome) -> Option<u16> {
    match o {
        Outcome::Answered { status, .. } | Outcome::Truncated { status, .. } => Some(*status),
        _ => None,
    }
}

fn succeeded(audit: &HashMap<String, Vec<AuditRow>>, request_id: &str) -> bool {
    audit
        .get(request_id)
        .is_some_and(|lines| lines.iter().any(|a| a.outcome == "succeeded"))
}

/// Emails per recipient, checked against the requests that should have
/// queued them: every row sent and not leased, every sent row's message
/// received, as many rows per recipient as accepted requests. Returns
/// `(lost, extra, duplicates)`; duplicates are checked by `dup_ok`.
fn check_emails(
    expected: &HashMap<String, usize>,
    outbox: &[OutboxRow],
    got: &HashMap<String, Vec<Received>>,
    dup_ok: &dyn Fn(&Received, &Received) -> bool,
    failures: &mut Vec<String>,
) -> (usize, usize, usize) {
    let mut rows_to: HashMap<String, usize> = HashMap::new();
    let mut delivered_to: HashMap<String, usize> = HashMap::new();
    let mut duplicates = 0;
    for row in outbox {
        let email = row.email.to_ascii_lowercase();
        *rows_to.entry(email.clone()).or_default() += 1;
        if row.status != "sent" {
            failures.push(format!(
                "outbox {} to {email} ended {} after {} attempts",
                row.id, row.status, row.attempts
            ));
        }
        if row.claimed_until.is_some() {
            failures.push(format!(
                "outbox {} left leased until {:?} ({})",
                row.id, row.claimed_until, row.status
            ));
        }
        let Some(copies) = got.get(&row.id) else {
            continue;
        };
        *delivered_to.entry(email.clone()).or_default() += 1;
        if !copies.iter().all(|c| c.rcpts == [email.clone()]) {
            failures.push(format!(
                "outbox {} to {email} arrived as {copies:?}",
                row.id
            ));
        }
        duplicates += copies.len() - 1;
        for pair in copies.windows(2) {
            if !dup_ok(&pair[0], &pair[1]) {
                failures.push(format!(
                    "outbox {} arrived again at {:.3} after {:.3} with no restart between",
                    row.id, pair[1].at, pair[0].at
                ));
            }
        }
    }
    let ids: std::collections::HashSet<&str> = outbox.iter().map(|r| r.id.as_str()).collect();
    for (id, copies) in got {
        if !ids.contains(id.as_str()) {
            failures.push(format!(
                "a message no outbox row queued arrived: {copies:?}"
            ));
        }
    }
    let (mut lost, mut extra) = (0, 0);
    let mut emails: Vec<&String> = expected.keys().chain(rows_to.keys()).collect();
    emails.sort();
    emails.dedup();
    for email in emails {
        let want = expected.get(email).copied().unwrap_or(0);
        let rows = rows_to.get(email).copied().unwrap_or(0);
        let delivered = delivered_to.get(email).copied().unwrap_or(0);
        if delivered < want {
            lost += want - delivered;
            failures.push(format!(
                "{email}: {want} accepted sends, {rows} outbox rows, {delivered} delivered"
            ));
        }
        if rows > want {
            extra += rows - want;
            failures.push(format!(
                "{email}: {rows} emails queued for {want} accepted sends \
                 (an email for a refused request)"
            ));
        }
    }
    (lost, extra, duplicates)
}

fn fail_with(name: &str, failures: &[String], logs: &str) {
    if failures.is_empty() {
        return;
    }
    let shown: Vec<&String> = failures.iter().take(40).collect();
    panic!(
        "{name}: {} failure(s):\n  {}\n--- server logs (tail) ---\n{}",
        failures.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        tail(logs, 60)
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Every server log of a run, named.
fn logs(dir: &Path) -> String {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("serve-"))
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|p| {
            format!(
                "== {}\n{}",
                p.display(),
                std::fs::read_to_string(p).unwrap_or_default()
            )
        })
        .collect()
}

fn statuses(records: &[Record]) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for r in records {
        let key = match &r.outcome {
            Outcome::Answered { status, .. } => status.to_string(),
            Outcome::Truncated { status, .. } => format!("{status}-cut"),
            Outcome::NotSent(_) => "refused".to_owned(),
            Outcome::NoAnswer(_) => "no-answer".to_owned(),
        };
        *by.entry(key).or_default() += 1;
    }
    by.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- crash safety ---------------------------------------------------------

async fn crash_under_load(backend: Backend) {
    let began = Instant::now();
    let name = format!("crash[{}]", backend.name());
    let Some(python) = smtp_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(db) = backend.database(tmp.path()).await else {
        return;
    };
    let seed = fault::seed();
    let real_leases = std::env::var_os("BECKON_CRASH_REAL_LEASES").is_some_and(|v| v == "1");
    println!(
        "{name}: seed {seed} (BECKON_CRASH_SEED={seed} replays the kill schedule){}",
        if real_leases {
            "; leases of killed processes run out on their own (90 s)"
        } else {
            ""
        }
    );
    let Rig {
        cfg,
        target,
        mut smtp,
    } = rig(
        &db,
        tmp.path(),
        &python,
        0,
        &[
            ("BECKON_RESEND_COOLDOWN", "1s"),
            ("BECKON_RESEND_DAILY_LIMIT", "25"),
        ],
    );
    let (cfg, target) = (&cfg, &target);

    let mut server = Server::spawn(cfg, 0);
    let mut ready = vec![server.wait_ready(cfg).await];
    let pool: Pool = Arc::default();
    let mut records = invite_pool(target, &pool, POOL).await;

    let stop = Arc::new(AtomicBool::new(false));
    let never = Arc::new(AtomicBool::new(false));
    let opts = LoadOptions {
        invite_percent: 10,
        pause_after_refused: Duration::from_millis(20),
    };
    let clients = start_clients(target, &pool, seed, opts, &stop, &never);

    let mut rng = Prng::new(seed);
    let mut kills = Vec::new();
    let mut spawns = Vec::new();
    let mut released = 0;
    for k in 1..=KILLS {
        tokio::time::sleep(rng.millis(KILL_GAP_MS.0, KILL_GAP_MS.1)).await;
        kills.push(server.kill9());
        // The killed process's leases would run out on their own (90 s
        // with the SMTP mailer's timeouts); while no process runs, end them
        // now — unless the run is asked to wait them out.
        if !real_leases {
            released += db.expire_leases().await;
        }
        // The last process logs at debug (a sample: ten lives of debug
        // lines under this load would be large), checked below for secrets.
        server = if k == KILLS {
            Server::spawn(&at_debug(cfg), k)
        } else {
            Server::spawn(cfg, k)
        };
        spawns.push(server.spawned_at);
        ready.push(server.wait_ready(cfg).await);
    }
    // Some load on the last process too, then stop it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        records.extend(c.await.unwrap());
    }
    let load_time = began.elapsed();

    let drain_bound = if real_leases {
        REAL_LEASE_DRAIN_TIMEOUT
    } else {
        DRAIN_TIMEOUT
    };
    let (drained, drain_time) = wait_drained(&db, &smtp, drain_bound).await;
    tokio::time::sleep(SETTLE).await;
    server.sigterm();
    let exit = server.wait_exit(EXIT_TIMEOUT).await;

    // ---- what happened ----
    let mut failures = Vec::new();
    if !drained {
        failures.push(format!("the outbox did not drain within {drain_bound:?}"));
    }
    if !exit.is_some_and(|s| s.success()) {
        failures.push(format!(
            "the last process, stopped with SIGTERM, ended {exit:?}"
        ));
    }
    if !smtp.alive() {
        failures.push(format!("the SMTP server died:\n{}", smtp.stderr()));
    }
    let outbox = db.outbox().await;
    let audit = audit_by_request(db.audit().await);
    let received = smtp.received();
    let got = receipts(&received);

    let mut expected: HashMap<String, usize> = HashMap::new();
    let (mut accepted, mut unanswered_committed, mut unanswered) = (0, 0, 0);
    for r in &records {
        let done = succeeded(&audit, &r.request_id);
        let email = r.email.to_ascii_lowercase();
        match (&r.outcome, status_of(&r.outcome)) {
            (_, Some(status @ (200 | 201))) => {
                accepted += 1;
                *expected.entry(email.clone()).or_default() += 1;
                if !done {
                    failures.push(format!(
                        "{} ({:?} {email}) answered {status}, but no succeeded audit line",
                        r.request_id, r.op
                    ));
                }
            }
            (_, Some(status @ (429 | 503))) => {
                if done {
                    failures.push(format!(
                        "{} ({:?} {email}) answered {status}, yet its change was committed",
                        r.request_id, r.op
                    ));
                }
            }
            (o, Some(status)) => failures.push(format!(
                "{} ({:?} {email}) answered {status}: {o:?}",
                r.request_id, r.op
            )),
            (Outcome::NotSent(e), None) => {
                if audit.contains_key(&r.request_id) {
                    failures.push(format!("{} was refused ({e}) yet audited", r.request_id));
                }
            }
            (_, None) => {
                unanswered += 1;
                if done {
                    unanswered_committed += 1;
                    *expected.entry(email).or_default() += 1;
                }
            }
        }
    }
    // A copy may arrive again only from a later process than the one that
    // sent it first (which was killed before it recorded the delivery): a
    // restart must lie between the two.
    let dup_ok = |first: &Received, again: &Received| {
        spawns
            .iter()
            .any(|&s| first.at <= s + SLACK && s <= again.at)
    };
    let (lost, extra, duplicates) = check_emails(&expected, &outbox, &got, &dup_ok, &mut failures);

    let restarts = &ready[1..];
    let mean_restart = restarts.iter().sum::<Duration>() / restarts.len().max(1) as u32;
    println!(
        "{name}: requests {} ({}); accepted {accepted} (+{unanswered_committed} committed of \
         {unanswered} unanswered at a kill); emails received {} ({} distinct), expected {}, \
         lost {lost}, duplicates {duplicates} (all across a kill unless listed below), \
         for refused requests {extra}; leases of killed processes ended early {released}; \
         kills {}; restart-to-ready max {:.0} ms, mean {:.0} ms (first start {:.0} ms); \
         drain {:.1} s; load {:.1} s; total {:.1} s; seed {seed}",
        records.len(),
        statuses(&records),
        received.len(),
        got.len(),
        expected.values().sum::<usize>(),
        kills.len(),
        restarts
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        mean_restart.as_secs_f64() * 1e3,
        ready[0].as_secs_f64() * 1e3,
        drain_time.as_secs_f64(),
        load_time.as_secs_f64(),
        began.elapsed().as_secs_f64(),
    );
    // The last process's debug log holds no address, key or token.
    let last = std::fs::read_to_string(&server.log).unwrap();
    assert!(last.contains("DEBUG"), "the last process logs at debug");
    failures.extend(secrets::in_log(&last, &target.key));
    fail_with(&name, &failures, &logs(tmp.path()));
}

/// `cfg` with `BECKON_LOG=debug`.
fn at_debug(cfg: &ServeConfig) -> ServeConfig {
    let mut debug = cfg.clone();
    debug
        .settings
        .push(("BECKON_LOG".to_owned(), "debug".to_owned()));
    debug
}

// ---- graceful shutdown ------------------------------------------------------

async fn sigterm_under_load(backend: Backend) {
    let began = Instant::now();
    let name = format!("sigterm[{}]", backend.name());
    let Some(python) = smtp_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(db) = backend.database(tmp.path()).await else {
        return;
    };
    let seed = fault::seed();
    // A slow-ish SMTP server: 150 ms before each 250, so the invites below
    // are a backlog the worker is still sending when SIGTERM comes.
    let Rig { cfg, target, smtp } = rig(
        &db,
        tmp.path(),
        &python,
        150,
        &[
            ("BECKON_RESEND_COOLDOWN", "0s"),
            ("BECKON_RESEND_DAILY_LIMIT", "0"),
            // Every crate's debug lines, through a shutdown under load, a
            // slow mail server and a restart: checked below for secrets.
            ("BECKON_LOG", "debug"),
        ],
    );
    let (cfg, target) = (&cfg, &target);
    let mut server = Server::spawn(cfg, 0);
    server.wait_ready(cfg).await;
    let pool: Pool = Arc::default();
    let mut records = invite_pool(target, &pool, POOL).await;

    let stop = Arc::new(AtomicBool::new(false));
    let refused_ends = Arc::new(AtomicBool::new(false));
    let opts = LoadOptions {
        invite_percent: 5,
        pause_after_refused: Duration::from_millis(20),
    };
    let clients = start_clients(target, &pool, seed, opts, &stop, &refused_ends);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let backlog = db
        .outbox()
        .await
        .iter()
        .filter(|r| r.status == "pending")
        .count();
    refused_ends.store(true, Ordering::SeqCst);
    let term_at = wall();
    let term = Instant::now();
    server.sigterm();
    let exit = server.wait_exit(EXIT_TIMEOUT).await;
    let exit_after = term.elapsed();
    // Clients end at their first refused connection; none starts a new
    // request once the process is gone.
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        records.extend(c.await.unwrap());
    }

    let mut failures = Vec::new();
    if backlog == 0 {
        failures.push("no backlog when SIGTERM came: the test tested nothing".to_owned());
    }
    match exit {
        Some(s) if s.success() => {}
        other => failures.push(format!(
            "after SIGTERM the process ended {other:?} (waited {exit_after:?})"
        )),
    }

    // Every request the server took up got a complete answer.
    let audit = audit_by_request(db.audit().await);
    let (mut answered_after_term, mut refused_after_term, mut unread) = (0, 0, Vec::new());
    let mut first_refusal = None;
    let mut expected: HashMap<String, usize> = HashMap::new();
    for r in &records {
        let email = r.email.to_ascii_lowercase();
        match &r.outcome {
            Outcome::Answered { status, code } => {
                if r.ended_at >= term_at {
                    answered_after_term += 1;
                }
                if matches!(status, 200 | 201) {
                    *expected.entry(email).or_default() += 1;
                    if !succeeded(&audit, &r.request_id) {
                        failures.push(format!(
                            "{} answered {status} without a succeeded audit line",
                            r.request_id
                        ));
                    }
                } else {
                    failures.push(format!(
                        "{} ({:?}) answered {status} {code:?}",
                        r.request_id, r.op
                    ));
                }
            }
            Outcome::Truncated { status, error } => failures.push(format!(
                "{} ({:?}): status {status}, then the answer broke off: {error}",
                r.request_id, r.op
            )),
            Outcome::NotSent(e) => {
                if r.sent_at < term_at {
                    failures.push(format!("{} refused before SIGTERM: {e}", r.request_id));
                } else {
                    refused_after_term += 1;
                    let after = r.ended_at - term_at;
                    first_refusal = Some(first_refusal.map_or(after, |f: f64| f.min(after)));
                }
            }
            Outcome::NoAnswer(e) => match audit.get(&r.request_id) {
                Some(lines) => failures.push(format!(
                    "{} ({:?} {email}) reached the operation ({:?}) but got no answer: {e}",
                    r.request_id,
                    r.op,
                    lines.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>()
                )),
                // Not taken up: sent on a kept-alive connection the server
                // closed as idle when the shutdown began (the request crossed
                // the close; it had no effect). Only a request sent well
                // before SIGTERM must have been taken up.
                None if r.sent_at >= term_at - RACE => unread.push(format!(
                    "{} sent {:+.3} s from SIGTERM: {e}",
                    r.request_id,
                    r.sent_at - term_at
                )),
                None => failures.push(format!(
                    "{} ({:?} {email}) sent {:.3} s before SIGTERM, dropped unanswered: {e}",
                    r.request_id,
                    r.op,
                    term_at - r.sent_at
                )),
            },
        }
    }

    // Nothing left leased; what arrived is recorded as sent.
    let now = now_utc();
    let outbox = db.outbox().await;
    let leased: Vec<&OutboxRow> = outbox
        .iter()
        .filter(|r| r.claimed_until.is_some())
        .collect();
    let leased_ahead = leased.iter().filter(|r| r.leased_past(now)).count();
    for r in &leased {
        failures.push(format!(
            "outbox {} left leased until {:?} ({}) after the stop",
            r.id, r.claimed_until, r.status
        ));
    }
    let received = smtp.received();
    let got = receipts(&received);
    let by_id: HashMap<&str, &OutboxRow> = outbox.iter().map(|r| (r.id.as_str(), r)).collect();
    for (id, copies) in &got {
        match by_id.get(id.as_str()) {
            Some(row) if row.status == "sent" => {}
            Some(row) => failures.push(format!(
                "outbox {id} arrived {} time(s) but is {} after the stop: it would be sent again",
                copies.len(),
                row.status
            )),
            None => failures.push(format!("unknown message arrived: {copies:?}")),
        }
    }
    let sent_at_stop = outbox.iter().filter(|r| r.status == "sent").count();
    let pending_at_stop = outbox.iter().filter(|r| r.status == "pending").count();

    // The next start delivers the rest, each message once.
    let mut again = Server::spawn(cfg, 1);
    again.wait_ready(cfg).await;
    let (drained, drain_time) = wait_drained(&db, &smtp, DRAIN_TIMEOUT).await;
    tokio::time::sleep(SETTLE).await;
    again.sigterm();
    let exit2 = again.wait_exit(EXIT_TIMEOUT).await;
    if !drained {
        failures.push(format!("the rest did not drain within {DRAIN_TIMEOUT:?}"));
    }
    if !exit2.is_some_and(|s| s.success()) {
        failures.push(format!(
            "the second process, idle, ended {exit2:?} after SIGTERM"
        ));
    }
    let outbox = db.outbox().await;
    let got = receipts(&smtp.received());
    let no_dups = |_: &Received, _: &Received| false;
    let (lost, extra, duplicates) = check_emails(&expected, &outbox, &got, &no_dups, &mut failures);

    println!(
        "{name}: requests {} ({}); backlog at SIGTERM {backlog} pending; exit {} after {:.0} ms; \
         answered after SIGTERM {answered_after_term}; refused after SIGTERM \
         {refused_after_term} (the first {:.0} ms after it); closed unread (no audit line, no effect) {}; left leased {} \
         ({leased_ahead} in the future); at the stop {sent_at_stop} sent, {pending_at_stop} \
         pending; after a restart all delivered in {:.1} s: lost {lost}, duplicates \
         {duplicates}, for refused requests {extra}; total {:.1} s",
        records.len(),
        statuses(&records),
        exit.map_or("none".to_owned(), |s| s.to_string()),
        exit_after.as_secs_f64() * 1e3,
        first_refusal.unwrap_or(f64::NAN) * 1e3,
        unread.len(),
        leased.len(),
        drain_time.as_secs_f64(),
        began.elapsed().as_secs_f64(),
    );
    for u in unread.iter().take(10) {
        println!("{name}:   closed unread: {u}");
    }
    // The debug logs of both processes hold no address, key or token.
    let logged = logs(tmp.path());
    failures.extend(secrets::in_log(&logged, &target.key));
    assert!(logged.contains("DEBUG"), "the logs are at debug");
    fail_with(&name, &failures, &logged);
}
