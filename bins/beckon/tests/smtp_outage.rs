//! Delivery through SMTP faults, on the wall clock: the `beckon` app (HTTP
//! server and outbox worker, as `beckon serve` runs them) on a temporary
//! SQLite file, delivering to the aiosmtpd test server of
//! `crates/mail/tests/support`.
//!
//! - The server goes away for a minute while resends queue: nothing is
//!   lost, nothing goes twice, and the backlog is out within 10 s of the
//!   server's return (the worker probes the server while it is down instead
//!   of letting each message sleep out a growing backoff).
//! - A slow server and two workers on one database: each message goes
//!   once.
//!
//! Skipped with a note when `BECKON_TEST_SMTP_PYTHON` is unset; `.ci/run`
//! sets it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../crates/mail/tests/support/smtp_server.rs"]
mod smtp_server;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use beckon::config::Config;
use beckon::server::{self, Running, ServeOptions};
use beckon::system::Sources;
use reqwest::StatusCode;
use serde_json::{Value, json};
use smtp_server::{Options, SmtpServer, free_port, header, plain_url};
use tempfile::TempDir;

/// How long the SMTP server stays away.
const OUTAGE: Duration = Duration::from_secs(60);
/// The promise: the backlog is delivered within this of the server's return.
const DRAIN_BOUND: Duration = Duration::from_secs(10);
/// How long "no more mail arrives" is watched for (the worker polls every
/// 250 ms).
const SETTLE: Duration = Duration::from_secs(2);
/// Stops a test that would otherwise hang: a bound, not a target.
const HANG: Duration = Duration::from_secs(90);

/// One app (HTTP server and worker) on `db`.
struct App {
    base: String,
    running: Option<Running>,
}

/// A tenant with an admin key on one SQLite file, and a client for it.
struct Tenant {
    client: reqwest::Client,
    id: String,
    key: String,
    cfg: Config,
    _tmp: TempDir,
}

impl Tenant {
    /// A fresh database delivering to `smtp://127.0.0.1:smtp_port`, with
    /// the cooldown and the daily cap off (the test resends at will).
    async fn create(smtp_port: u16) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = Config::from_vars(&HashMap::new()).unwrap();
        // No metrics listener: tests run side by side.
        cfg.metrics_listen = None;
        cfg.database_url = format!("sqlite://{}", tmp.path().join("beckon.db").display());
        cfg.mailer = plain_url(smtp_port);
        cfg.listen = "127.0.0.1:0".parse().unwrap();
        cfg.resend_cooldown = Duration::ZERO;
        cfg.resend_daily_limit = 0;
        let sources = Sources::system();
        let id = beckon::admin::create_tenant(&cfg, "Acme", "en", &sources)
            .await
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let key = beckon::admin::create_api_key(&cfg, &id, "admin", Some("outage"), &sources)
            .await
            .unwrap()["key"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            id,
            key,
            cfg,
            _tmp: tmp,
        }
    }

    /// Starts one more app (server and worker) on the tenant's database.
    async fn start_app(&self) -> App {
        let running = server::start(
            &self.cfg,
            ServeOptions {
                signals: false,
                workers: 1,
            },
            &Sources::system(),
        )
        .await
        .unwrap();
        App {
            base: format!("http://{}", running.addr),
            running: Some(running),
        }
    }

    fn post(&self, app: &App, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", app.base))
            .bearer_auth(&self.key)
            .header("X-Tenant-ID", &self.id)
    }

    /// Invites `email` through `app` (201); returns the user id.
    async fn invite(&self, app: &App, email: &str) -> String {
        let resp = self
            .post(app, "/v1/users")
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "invite {email}");
        let user: Value = resp.json().await.unwrap();
        user["id"].as_str().unwrap().to_owned()
    }

    /// Resends the invite of `user` through `app`; the status.
    async fn resend(&self, app: &App, user: &str) -> StatusCode {
        self.post(app, &format!("/v1/users/{user}/resend-invite"))
            .send()
            .await
            .unwrap()
            .status()
    }
}

impl App {
    async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop(true).await.unwrap();
        }
    }
}

fn smtp_on(python: &Path, port: u16, data_delay: Option<Duration>) -> SmtpServer {
    SmtpServer::start_with(
        python,
        &Options {
            port,
            data_delay,
            ..Options::default()
        },
    )
}

/// How many times each Message-ID arrived, over every server given.
fn arrivals(servers: &[&SmtpServer]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for server in servers {
        for m in server.messages() {
            *seen.entry(header(&m, "Message-ID").unwrap()).or_insert(0) += 1;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_long_smtp_outage_loses_nothing_and_the_backlog_drains_within_10_s_of_its_return()
{
    let Some(python) = smtp_server::python() else {
        return;
    };
    let port = free_port();
    let before = smtp_on(&python, port, None);
    let tenant = Tenant::create(port).await;
    let app = tenant.start_app().await;

    // 100 invites, delivered while the server is up.
    let mut users = Vec::new();
    for i in 0..100 {
        users.push(tenant.invite(&app, &format!("user{i}@example.com")).await);
    }
    before.wait_for_messages(users.len(), HANG).await;

    // The server goes; 300 resends queue over the minute it is away.
    let cut = Instant::now();
    let before_ids = arrivals(&[&before]);
    drop(before);
    let resends = 300;
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for i in 0..resends {
        let due = OUTAGE.mul_f64(f64::from(i) / f64::from(resends));
        tokio::time::sleep(due.saturating_sub(cut.elapsed())).await;
        let status = tenant.resend(&app, &users[i as usize % users.len()]).await;
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
    }
    assert_eq!(
        statuses,
        BTreeMap::from([(200, resends as usize)]),
        "every resend is accepted while only the mail server is away"
    );
    tokio::time::sleep(OUTAGE.saturating_sub(cut.elapsed())).await;

    // Back: the backlog goes out promptly, each message once.
    let after = smtp_on(&python, port, None);
    let back = Instant::now();
    after.wait_for_messages(resends as usize, HANG).await;
    let drained = back.elapsed();
    tokio::time::sleep(SETTLE).await;
    let after_ids = arrivals(&[&after]);
    let all = arrivals(&[&after]).into_iter().chain(before_ids.clone());
    let duplicates: usize = all
        .fold(BTreeMap::<String, usize>::new(), |mut m, (id, n)| {
            *m.entry(id).or_insert(0) += n;
            m
        })
        .values()
        .map(|n| n - 1)
        .sum();
    println!(
        "smtp outage of {OUTAGE:?}: {resends} resends (200: {}), {} emails before the cut, \
         {} after the return, {duplicates} duplicates, drained {drained:?} after the return",
        statuses.get(&200).copied().unwrap_or(0),
        before_ids.values().sum::<usize>(),
        after_ids.values().sum::<usize>(),
    );
    assert_eq!(
        after_ids.len(),
        resends as usize,
        "one message per accepted resend"
    );
    // Nothing was in flight at the cut (the invites had all arrived), so
    // no message may arrive twice.
    assert_eq!(duplicates, 0, "{after_ids:#?}");
    assert!(
        drained <= DRAIN_BOUND,
        "the backlog took {drained:?} to drain after the server's return"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_smtp_server_and_two_workers_on_one_database_deliver_each_message_once() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let port = free_port();
    // Each message is answered 2 s after its data: both workers hold
    // claimed messages in flight at once, for longer than a poll.
    let smtp = smtp_on(&python, port, Some(Duration::from_secs(2)));
    let tenant = Tenant::create(port).await;
    let a = tenant.start_app().await;
    let b = tenant.start_app().await;

    // 40 invites through both apps over about 4 s, so that both workers
    // find messages due and claim them while others are being sent.
    let messages = 40;
    for i in 0..messages {
        let app = if i % 2 == 0 { &a } else { &b };
        tenant.invite(app, &format!("slow{i}@example.com")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    smtp.wait_for_messages(messages, HANG).await;
    tokio::time::sleep(SETTLE + Duration::from_secs(2)).await;

    let seen = arrivals(&[&smtp]);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    let accepted = smtp.attempts().iter().filter(|a| a.code == 250).count();
    println!(
        "slow smtp, two workers: {messages} invites, {} distinct messages, {accepted} accepted",
        seen.len()
    );
    assert_eq!(seen.len(), messages, "every invite arrives");
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(accepted, messages, "{:#?}", smtp.attempts());
    a.stop().await;
    b.stop().await;
}
