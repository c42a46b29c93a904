//! Invite email end to end over real SMTP: the `beckon` app (HTTP server and
//! outbox worker, as `beckon serve` runs them) on a temporary SQLite file,
//! delivering to the aiosmtpd test server of `crates/mail/tests/support`.
//! Skipped with a note when `BECKON_TEST_SMTP_PYTHON` is unset; `.ci/run`
//! sets it.
//!
//! The app runs on a manual clock. The worker retries with
//! `DeliveryPolicy::default()` (first retry after 2.5–5 s, the next after
//! 5–10 s of the clock's time); the retry tests move the clock past each
//! backoff instead of waiting it out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../crates/mail/tests/support/smtp_server.rs"]
mod smtp_server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use beckon::config::Config;
use beckon::server::{self, Running, ServeOptions};
use beckon::system::{Sources, SystemClock};
use beckon_ports::{Clock, ManualClock};
use reqwest::StatusCode;
use serde_json::{Value, json};
use smtp_server::{Options, SmtpServer, free_port, header, plain_url};
use tempfile::TempDir;

/// How long a delivery, or a retry the test has made due, may take before
/// the test calls it a hang: a bound, not a performance target.
const PROMPT_WAIT: Duration = Duration::from_secs(15);
/// How far the clock moves per round while a test drives retries: past any
/// backoff of the first attempts (at most 5 s, then 10 s), far below the
/// policy's `max_age` (24 h) however many rounds it takes.
const RETRY_STEP: Duration = Duration::from_secs(60);

/// The app, a tenant and an admin key for it.
struct App {
    base: String,
    client: reqwest::Client,
    tenant: String,
    key: String,
    db: PathBuf,
    python: PathBuf,
    /// The app's clock: a retry comes due only when the test moves it.
    clock: Arc<ManualClock>,
    running: Option<Running>,
    _tmp: TempDir,
}

impl App {
    /// Starts the app with `BECKON_MAILER=smtp://127.0.0.1:PORT?tls=none`.
    async fn start(python: &Path, smtp_port: u16) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("beckon.db");
        let mut cfg = Config::from_vars(&HashMap::new()).unwrap();
        // No metrics listener: tests run side by side.
        cfg.metrics_listen = None;
        cfg.database_url = format!("sqlite://{}", db.display());
        cfg.mailer = plain_url(smtp_port);
        cfg.listen = "127.0.0.1:0".parse().unwrap();
        cfg.resend_cooldown = Duration::ZERO;
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let sources = Sources::with_clock(clock.clone());
        let tenant = beckon::admin::create_tenant(&cfg, "Acme", "en", &sources)
            .await
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let key =
            beckon::admin::create_api_key(&cfg, &tenant, "admin", Some("smtp test"), &sources)
                .await
                .unwrap()["key"]
                .as_str()
                .unwrap()
                .to_owned();
        let running = server::start(
            &cfg,
            ServeOptions {
                signals: false,
                workers: 2,
            },
            &sources,
        )
        .await
        .unwrap();
        Self {
            base: format!("http://{}", running.addr),
            client: reqwest::Client::new(),
            tenant,
            key,
            db,
            python: python.to_owned(),
            clock,
            running: Some(running),
            _tmp: tmp,
        }
    }

    /// Invites `email` over HTTP (201); returns the user id.
    async fn invite(&self, email: &str) -> String {
        let resp = self
            .client
            .post(format!("{}/v1/users", self.base))
            .bearer_auth(&self.key)
            .header("X-Tenant-ID", &self.tenant)
            .json(&json!({ "email": email, "name": "Ada Lovelace" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "invite {email}");
        let user: Value = resp.json().await.unwrap();
        user["id"].as_str().unwrap().to_owned()
    }

    /// `POST /v1/invites/accept`.
    async fn accept(&self, token: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}/v1/invites/accept", self.base))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    /// The outbox rows of `user` (read from the SQLite file with Python's
    /// sqlite3: the store has no API to read the outbox, by design).
    fn outbox(&self, user: &str) -> Vec<OutboxRow> {
        const QUERY: &str = "\
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
rows = c.execute('select id, status, attempts, last_error, payload from outbox '
                 'where user_id = ? order by created_at', (sys.argv[2],)).fetchall()
print(json.dumps(rows))";
        let out = std::process::Command::new(&self.python)
            .arg("-c")
            .arg(QUERY)
            .arg(&self.db)
            .arg(user)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<Vec<Value>> = serde_json::from_slice(&out.stdout).unwrap();
        rows.into_iter()
            .map(|r| OutboxRow {
                id: r[0].as_str().unwrap().to_owned(),
                status: r[1].as_str().unwrap().to_owned(),
                attempts: r[2].as_i64().unwrap(),
                last_error: r[3].as_str().map(str::to_owned),
                payload: r[4].as_str().map(str::to_owned),
            })
            .collect()
    }

    /// Polls the one outbox row of `user` until `done` holds.
    async fn outbox_row_until(
        &self,
        user: &str,
        timeout: Duration,
        done: impl Fn(&OutboxRow) -> bool,
    ) -> OutboxRow {
        self.poll_outbox_row(user, timeout, done, || {}).await
    }

    /// Like `outbox_row_until`, but moves the clock `RETRY_STEP` forward
    /// every round, so that each retry comes due as soon as the one before
    /// has been settled — whenever that is, so no round is timed.
    async fn outbox_row_driving_retries_until(
        &self,
        user: &str,
        done: impl Fn(&OutboxRow) -> bool,
    ) -> OutboxRow {
        self.poll_outbox_row(user, PROMPT_WAIT, done, || {
            self.clock.advance(RETRY_STEP);
        })
        .await
    }

    /// Polls the one outbox row of `user` until `done` holds, calling
    /// `each_round` between two looks.
    async fn poll_outbox_row(
        &self,
        user: &str,
        timeout: Duration,
        done: impl Fn(&OutboxRow) -> bool,
        each_round: impl Fn(),
    ) -> OutboxRow {
        let start = Instant::now();
        loop {
            let rows = self.outbox(user);
            assert_eq!(rows.len(), 1, "one outbox message per invite: {rows:#?}");
            if done(&rows[0]) {
                return rows.into_iter().next().unwrap();
            }
            assert!(
                start.elapsed() < timeout,
                "the outbox row did not get there within {timeout:?}: {:#?}",
                rows[0]
            );
            each_round();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop(true).await.unwrap();
        }
    }
}

#[derive(Debug, Clone)]
struct OutboxRow {
    id: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    payload: Option<String>,
}

impl OutboxRow {
    /// The Message-ID the mailer gives this message.
    fn message_id(&self) -> String {
        format!("<{}@localhost>", self.id)
    }
}

/// The token of the accept link in a received message's text part.
fn token_in(message: &str) -> String {
    let start = message.find("/invite?token=").expect("an accept link") + "/invite?token=".len();
    message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_made_over_http_is_delivered_over_smtp_and_its_link_accepts_the_invite() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let smtp = SmtpServer::start(&python);
    let app = App::start(&python, smtp.port()).await;

    let user = app.invite("ada@example.com").await;

    let messages = smtp.wait_for_messages(1, PROMPT_WAIT).await;
    let row = app
        .outbox_row_until(&user, PROMPT_WAIT, |r| r.status == "sent")
        .await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(header(m, "Message-ID"), Some(row.message_id()));
    assert_eq!(
        header(m, "Subject").as_deref(),
        Some("You're invited to join Acme")
    );
    assert!(m.contains("Content-Type: text/plain"), "{m}");
    assert!(m.contains("Content-Type: text/html"), "{m}");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.payload, None, "the stored token is erased once sent");
    assert_eq!(smtp.attempts()[0].rcpts, ["ada@example.com"]);

    let (status, body) = app.accept(&token_in(m)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user_id"], json!(user));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_the_server_rejects_with_550_ends_failed_at_once_with_the_reason_recorded() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let smtp = SmtpServer::start(&python);
    let app = App::start(&python, smtp.port()).await;

    let user = app.invite("reject@example.com").await;

    let row = app
        .outbox_row_until(&user, PROMPT_WAIT, |r| r.status != "pending")
        .await;
    assert_eq!(row.status, "failed", "{row:#?}");
    assert_eq!(row.attempts, 1, "a permanent rejection is not retried");
    let reason = row.last_error.clone().unwrap();
    assert!(reason.contains("550"), "{reason}");
    assert!(reason.contains("User unknown"), "{reason}");
    assert!(!reason.contains("reject@example.com"), "{reason}");
    assert_eq!(row.payload, None, "the stored token is erased once failed");
    // Still failed, still one attempt, an hour later (well past any backoff)
    // and after the worker has looked a few more times: nothing retries it.
    app.clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.outbox(&user)[0].attempts, 1);
    let attempts = smtp.attempts();
    assert_eq!(attempts.len(), 1, "{attempts:#?}");
    assert_eq!(attempts[0].code, 550);
    assert!(smtp.messages().is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_queued_while_the_smtp_server_is_down_are_all_delivered_once_it_is_up() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let port = free_port();
    let app = App::start(&python, port).await;

    let users = [
        app.invite("ada@example.com").await,
        app.invite("grace@example.com").await,
        app.invite("linus@example.com").await,
    ];
    // Each has been tried, refused, and scheduled for a retry.
    for user in &users {
        let row = app
            .outbox_row_until(user, PROMPT_WAIT, |r| r.last_error.is_some())
            .await;
        assert_eq!(row.status, "pending", "{row:#?}");
    }

    let smtp = SmtpServer::start_with(
        &python,
        &Options {
            port,
            ..Options::default()
        },
    );
    // The clock moved nothing while the server was down; now each retry
    // comes due and finds it up.
    let mut expected = Vec::new();
    for user in &users {
        let row = app
            .outbox_row_driving_retries_until(user, |r| r.status == "sent")
            .await;
        assert_eq!(row.attempts, 2, "{row:#?}");
        expected.push(row.message_id());
    }
    let messages = smtp.wait_for_messages(users.len(), PROMPT_WAIT).await;
    let mut received: Vec<String> = messages
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    received.sort();
    expected.sort();
    assert_eq!(received, expected, "each invite arrives exactly once");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_fails_transiently_twice_is_delivered_with_the_same_message_id_each_time() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let smtp = SmtpServer::start_with(
        &python,
        &Options {
            flaky_failures: Some(2),
            ..Options::default()
        },
    );
    let app = App::start(&python, smtp.port()).await;

    let user = app.invite("flaky@example.com").await;

    let row = app
        .outbox_row_driving_retries_until(&user, |r| r.status == "sent")
        .await;
    assert_eq!(row.attempts, 3, "{row:#?}");
    let messages = smtp.wait_for_messages(1, PROMPT_WAIT).await;
    let expected = row.message_id();
    let seen: Vec<(u16, Option<String>)> = smtp
        .attempts()
        .into_iter()
        .map(|a| (a.code, a.message_id))
        .collect();
    assert_eq!(
        seen,
        [
            (451, Some(expected.clone())),
            (451, Some(expected.clone())),
            (250, Some(expected.clone())),
        ]
    );
    assert_eq!(messages.len(), 1);
    assert_eq!(header(&messages[0], "Message-ID"), Some(expected));
    app.stop().await;
}

/// Not a test: how many invite emails per second `beckon serve`'s outbox
/// worker delivers to the local aiosmtpd server. Queues N invites over HTTP
/// (8 at a time) and times from the first request until the N-th message has
/// arrived. Run it with `BECKON_TEST_SMTP_PYTHON=$PWD/.venv-smtp/bin/python
/// cargo test --release -p beckon --test smtp_delivery -- --ignored
/// --nocapture measure_worker_smtp_throughput`; `BECKON_SMTP_BENCH_MESSAGES`
/// (default 500) changes N.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run with --ignored --nocapture"]
async fn measure_worker_smtp_throughput() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let total = std::env::var("BECKON_SMTP_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(500);
    let smtp = SmtpServer::start(&python);
    let app = std::sync::Arc::new(App::start(&python, smtp.port()).await);

    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (app, next) = (app.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= total {
                        break;
                    }
                    app.invite(&format!("user{n}@example.com")).await;
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    let queued = started.elapsed();
    let wait = Duration::from_secs(60 + u64::try_from(total).unwrap() / 5);
    smtp.wait_for_messages(total, wait).await;
    let delivered = started.elapsed();

    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "worker SMTP throughput: {total} invites queued over HTTP in {:.2} s, all delivered \
         {:.2} s after the first request ({build} build, SQLite, aiosmtpd on 127.0.0.1): \
         {:.1} messages/second",
        queued.as_secs_f64(),
        delivered.as_secs_f64(),
        total as f64 / delivered.as_secs_f64()
    );
    if let Ok(app) = std::sync::Arc::try_unwrap(app) {
        app.stop().await;
    }
}
