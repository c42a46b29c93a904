//! Several instances (DESIGN "Built to scale out"): two real `beckon serve`
//! processes on one PostgreSQL database keep every rule — the cooldown and
//! the daily cap under concurrency, idempotency across instances, and each
//! outbox message delivered once, by one worker. Each instance writes mail
//! into a folder of its own, so the folders show which worker delivered a
//! message. Instance `b` logs at `debug`; the contention tests and the
//! two-workers test check that its log holds no address, API key secret or
//! accept link. Skipped, with a note, when `BECKON_TEST_DATABASE_URL` is
//! unset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/mail.rs"]
mod mail;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/secrets.rs"]
mod secrets;

use std::collections::{BTreeSet, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::{Integer, Text};
use diesel_async::RunQueryDsl;
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::mail::{recipient, stem};
use crate::pg::PgDatabase;

/// How long a process may take to answer `/readyz`, and the worker to
/// deliver: anti-hang bounds, not performance targets.
const UP_TIMEOUT: Duration = Duration::from_secs(60);
const MAIL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long "no more mail arrives" is watched for (workers poll every 250 ms).
const SETTLE: Duration = Duration::from_millis(2000);

/// One `beckon serve` process; killed when dropped.
struct Instance {
    name: &'static str,
    child: Child,
    base: String,
    mail_dir: PathBuf,
    log: PathBuf,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two instances on one fresh database, and a tenant with an admin key.
struct Cluster {
    a: Instance,
    b: Instance,
    client: reqwest::Client,
    tenant: String,
    key: String,
    _tmp: TempDir,
    /// Declared last: dropped after both processes are gone.
    db: PgDatabase,
}

/// `beckon ARGS` on `db` with no inherited `BECKON_*` but `settings`.
fn beckon(db: &PgDatabase, dir: &Path, settings: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_beckon"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BECKON_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir)
        .env("BECKON_DATABASE_URL", db.url())
        .env("BECKON_LOG", "warn")
        .envs(settings.iter().copied())
        .args(args);
    cmd
}

/// Runs an admin command and returns the JSON object it prints.
fn admin(db: &PgDatabase, dir: &Path, args: &[&str]) -> Value {
    let out = beckon(db, dir, &[], args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Two distinct free ports (held together while chosen, so they differ).
fn free_ports() -> [u16; 2] {
    let l1 = TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = TcpListener::bind("127.0.0.1:0").unwrap();
    [
        l1.local_addr().unwrap().port(),
        l2.local_addr().unwrap().port(),
    ]
}

fn serve(
    name: &'static str,
    db: &PgDatabase,
    dir: &Path,
    port: u16,
    settings: &[(&str, &str)],
) -> Instance {
    let mail_dir = dir.join(format!("mail-{name}"));
    let log = dir.join(format!("serve-{name}.log"));
    let listen = format!("127.0.0.1:{port}");
    let mailer = format!("file://{}", mail_dir.display());
    let mut child = beckon(db, dir, settings, &["serve"]);
    if name == "b" {
        // A sample of the logs at debug, checked by `assert_debug_log_holds_no_secret`.
        child.env("BECKON_LOG", "debug");
    }
    let child = child
        .env("BECKON_LISTEN", &listen)
        .env("BECKON_METRICS_LISTEN", "off")
        .env("BECKON_MAILER", &mailer)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Instance {
        name,
        child,
        base: format!("http://{listen}"),
        mail_dir,
        log,
    }
}

impl Instance {
    /// Waits until `/readyz` answers 200; panics with the log if the
    /// process exits or does not come up.
    async fn wait_ready(&mut self, client: &reqwest::Client) {
        let start = Instant::now();
        loop {
            let ready = client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return;
            }
            let exited = self.child.try_wait().unwrap();
            if exited.is_some() || start.elapsed() > UP_TIMEOUT {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!(
                    "instance {} did not come up ({exited:?}):\n{log}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The delivered messages (`<outbox-id>.eml`) in this instance's folder.
    fn emails(&self) -> Vec<PathBuf> {
        mail::emails(&self.mail_dir)
    }
}

impl Cluster {
    /// Creates a fresh database, a tenant and an admin key with the CLI
    /// (which migrates), then starts two instances with `settings` and
    /// waits until both are ready. `None` when PostgreSQL is not configured.
    async fn start(settings: &[(&str, &str)]) -> Option<Self> {
        let Some(db) = PgDatabase::create().await else {
            eprintln!("skipped: BECKON_TEST_DATABASE_URL is unset");
            return None;
        };
        let tmp = tempfile::tempdir().unwrap();
        let tenant = admin(&db, tmp.path(), &["tenant", "create", "--name", "Acme"])["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let key = admin(
            &db,
            tmp.path(),
            &["api-key", "create", "--tenant", &tenant, "--role", "admin"],
        )["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let [pa, pb] = free_ports();
        let mut a = serve("a", &db, tmp.path(), pa, settings);
        let mut b = serve("b", &db, tmp.path(), pb, settings);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        a.wait_ready(&client).await;
        b.wait_ready(&client).await;
        Some(Self {
            a,
            b,
            client,
            tenant,
            key,
            _tmp: tmp,
            db,
        })
    }

    /// Instance A for even `i`, B for odd.
    fn via(&self, i: usize) -> &Instance {
        if i.is_multiple_of(2) {
            &self.a
        } else {
            &self.b
        }
    }

    fn post(&self, via: &Instance, path: &str) -> RequestBuilder {
        self.client
            .post(format!("{}{path}", via.base))
            .bearer_auth(&self.key)
            .header("X-Tenant-ID", &self.tenant)
    }

    fn invite_req(&self, via: &Instance, email: &str) -> RequestBuilder {
        self.post(via, "/v1/users").json(&json!({ "email": email }))
    }

    /// Invites `email` through `via`; returns the user id.
    async fn invite(&self, via: &Instance, email: &str) -> String {
        let resp = self.invite_req(via, email).send().await.unwrap();
        assert_eq!(resp.status(), 201, "invite {email} via {}", via.name);
        let user: Value = resp.json().await.unwrap();
        user["id"].as_str().unwrap().to_owned()
    }

    fn resend_req(&self, via: &Instance, id: &str) -> RequestBuilder {
        self.post(via, &format!("/v1/users/{id}/resend-invite"))
    }

    /// `GET /v1/users/{id}` through `via`.
    async fn user(&self, via: &Instance, id: &str) -> Value {
        let resp = self
            .client
            .get(format!("{}/v1/users/{id}", via.base))
            .bearer_auth(&self.key)
            .header("X-Tenant-ID", &self.tenant)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// Every delivered message, with the instance that wrote it.
    fn emails(&self) -> Vec<(&'static str, PathBuf)> {
        [&self.a, &self.b]
            .into_iter()
            .flat_map(|i| i.emails().into_iter().map(move |p| (i.name, p)))
            .collect()
    }

    /// Moves the user's sends an hour into the past, in the database both
    /// instances read: the cooldown that the invite started has then run
    /// out, without the test waiting on the instances' wall clock.
    async fn age_sends(&self, id: &str) {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = self.db.connect().await;
        let id = uuid::Uuid::parse_str(id).unwrap();
        conn.batch_execute(&format!(
            "UPDATE users SET invite_last_sent_at = invite_last_sent_at - interval '1 hour' \
             WHERE id = '{id}'; \
             UPDATE invite_sends SET sent_at = sent_at - interval '1 hour' WHERE user_id = '{id}';"
        ))
        .await
        .unwrap();
    }

    fn emails_to(&self, addr: &str) -> usize {
        self.emails()
            .iter()
            .filter(|(_, p)| recipient(p).is_some_and(|r| r.eq_ignore_ascii_case(addr)))
            .count()
    }

    /// Waits until `count()` reaches `n` (or the bound passes), lets the
    /// workers run a few more rounds, and asserts exactly `n`.
    async fn assert_settles_at(&self, what: &str, n: usize, count: impl Fn() -> usize) {
        let start = Instant::now();
        while count() < n && start.elapsed() < MAIL_TIMEOUT {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(SETTLE).await;
        assert_eq!(count(), n, "{what}");
    }

    /// Instance `b`'s log (at debug) holds no address, no API key secret
    /// and no accept link.
    fn assert_debug_log_holds_no_secret(&self) {
        let log = std::fs::read_to_string(&self.b.log).unwrap();
        secrets::assert_none_in(&log, &self.key);
    }

    async fn assert_emails_to(&self, addr: &str, n: usize) {
        self.assert_settles_at(&format!("emails to {addr}"), n, || self.emails_to(addr))
            .await;
    }
}

/// Sends every request at once; returns the statuses and bodies in order.
async fn send_all(reqs: impl IntoIterator<Item = RequestBuilder>) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = reqs
        .into_iter()
        .map(|r| {
            tokio::spawn(async move {
                let resp: Response = r.send().await.expect("request");
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.expect("a JSON body"))
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Asserts that every response is a 200 or a 429 `rate_limited`; returns
/// how many were 200.
fn successes(responses: &[(u16, Value)]) -> usize {
    for (status, body) in responses {
        match status {
            200 => assert_eq!(body, &json!({ "message": "Invite resent." })),
            429 => assert_eq!(body["code"], "rate_limited", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    responses.iter().filter(|(s, _)| *s == 200).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_16_simultaneous_resends_spread_over_two_instances_exactly_one_succeeds() {
    let Some(cl) = Cluster::start(&[("BECKON_RESEND_COOLDOWN", "60s")]).await else {
        return;
    };
    let id = cl.invite(&cl.a, "ada@example.com").await;
    cl.age_sends(&id).await;

    let responses = send_all((0..16).map(|i| cl.resend_req(cl.via(i), &id))).await;
    assert_eq!(
        successes(&responses),
        1,
        "exactly one of 16 resends: {responses:?}"
    );
    cl.assert_emails_to("ada@example.com", 2).await;
    assert_eq!(cl.user(&cl.b, &id).await["invite"]["sends"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_sent_to_both_instances_at_once_answers_200_everywhere_and_sends_one_email()
 {
    let Some(cl) = Cluster::start(&[("BECKON_RESEND_COOLDOWN", "60s")]).await else {
        return;
    };
    let id = cl.invite(&cl.a, "ada@example.com").await;
    cl.age_sends(&id).await;

    let same_key = |i: usize| {
        cl.resend_req(cl.via(i), &id)
            .header("Idempotency-Key", "resend-ada-1")
    };
    let responses = send_all((0..8).map(same_key)).await;
    for (status, body) in &responses {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body, &json!({ "message": "Invite resent." }));
    }
    // A later repeat through either instance replays; without the key the
    // cooldown the one real resend started answers 429.
    let later = send_all([same_key(0), same_key(1)]).await;
    assert!(later.iter().all(|(s, _)| *s == 200), "{later:?}");
    let plain = send_all([cl.resend_req(&cl.b, &id)]).await;
    assert_eq!(successes(&plain), 0);

    cl.assert_emails_to("ada@example.com", 2).await;
    assert_eq!(cl.user(&cl.a, &id).await["invite"]["sends"], 2);
}

/// How many trials the contention tests run, each on a user of its own.
const TRIALS: usize = 100;
/// How many resends each trial sends at once, half through each instance.
const PARALLEL: usize = 50;

impl Cluster {
    /// Invites `n` users (`{prefix}{i}@example.com`) and ages their sends
    /// past the cooldown; returns their ids and addresses.
    async fn invited_and_aged(&self, prefix: &str, n: usize) -> Vec<(String, String)> {
        use diesel_async::SimpleAsyncConnection;
        let mut users = Vec::new();
        for i in 0..n {
            let email = format!("{prefix}{i}@example.com");
            users.push((self.invite(self.via(i), &email).await, email));
        }
        let mut conn = self.db.connect().await;
        conn.batch_execute(
            "UPDATE users SET invite_last_sent_at = invite_last_sent_at - interval '1 hour'; \
             UPDATE invite_sends SET sent_at = sent_at - interval '1 hour';",
        )
        .await
        .unwrap();
        users
    }

    /// Waits until every address in `users` has `n` emails (or the bound
    /// passes), lets the workers run a few more rounds, and asserts exactly
    /// `n` each.
    async fn assert_each_has_emails(&self, users: &[(String, String)], n: usize) {
        let counts = || {
            let mut by_recipient = std::collections::HashMap::<String, usize>::new();
            for (_, path) in self.emails() {
                if let Some(r) = recipient(&path) {
                    *by_recipient.entry(r.to_ascii_lowercase()).or_insert(0) += 1;
                }
            }
            users
                .iter()
                .map(|(_, email)| by_recipient.get(email).copied().unwrap_or(0))
                .collect::<Vec<_>>()
        };
        let start = Instant::now();
        while counts().iter().any(|c| *c < n) && start.elapsed() < MAIL_TIMEOUT {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(SETTLE).await;
        let wrong: Vec<_> = users
            .iter()
            .zip(counts())
            .filter(|(_, c)| *c != n)
            .map(|((_, email), c)| (email.clone(), c))
            .collect();
        assert!(
            wrong.is_empty(),
            "emails per user other than {n}: {wrong:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_50_simultaneous_resends_over_two_instances_one_succeeds_and_49_are_refused_in_each_of_100_trials()
 {
    let Some(cl) = Cluster::start(&[("BECKON_RESEND_COOLDOWN", "60s")]).await else {
        return;
    };
    let users = cl.invited_and_aged("trial", TRIALS).await;
    let mut tally = std::collections::BTreeMap::<u16, usize>::new();
    for (trial, (id, _)) in users.iter().enumerate() {
        let responses = send_all((0..PARALLEL).map(|i| cl.resend_req(cl.via(i), id))).await;
        for (status, _) in &responses {
            *tally.entry(*status).or_insert(0) += 1;
        }
        assert_eq!(
            successes(&responses),
            1,
            "trial {trial}: exactly one of {PARALLEL} resends: {responses:?}"
        );
    }
    println!("contention, {TRIALS} trials of {PARALLEL} resends over two instances: {tally:?}");
    assert_eq!(
        tally,
        std::collections::BTreeMap::from([(200, TRIALS), (429, TRIALS * (PARALLEL - 1))])
    );
    // The invite and the one resend of each trial: two emails per user.
    cl.assert_each_has_emails(&users, 2).await;
    cl.assert_debug_log_holds_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_resends_sharing_one_idempotency_key_over_two_instances_answer_alike_and_send_one_email_in_each_of_100_trials()
 {
    let Some(cl) = Cluster::start(&[("BECKON_RESEND_COOLDOWN", "60s")]).await else {
        return;
    };
    let users = cl.invited_and_aged("idem", TRIALS).await;
    for (trial, (id, _)) in users.iter().enumerate() {
        let key = format!("trial-{trial}");
        let responses = send_all((0..PARALLEL).map(|i| {
            cl.resend_req(cl.via(i), id)
                .header("Idempotency-Key", key.as_str())
        }))
        .await;
        for (status, body) in &responses {
            assert_eq!(
                (*status, body),
                (200, &json!({ "message": "Invite resent." })),
                "trial {trial}: every request answers the first response"
            );
        }
    }
    println!(
        "idempotency, {TRIALS} trials of {PARALLEL} resends with one key over two instances: all 200"
    );
    cl.assert_each_has_emails(&users, 2).await;
    cl.assert_debug_log_holds_no_secret();
}

/// One outbox row as the test reads it.
#[derive(QueryableByName, Debug)]
struct OutboxRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_deliver_each_of_50_messages_exactly_once() {
    let Some(cl) = Cluster::start(&[]).await else {
        return;
    };
    let responses =
        send_all((0..50).map(|i| cl.invite_req(cl.via(i), &format!("u{i}@example.com")))).await;
    for (status, body) in &responses {
        assert_eq!(*status, 201, "{body}");
    }

    cl.assert_settles_at("messages in both folders", 50, || cl.emails().len())
        .await;
    let emails = cl.emails();
    let by_a = emails.iter().filter(|(n, _)| *n == "a").count();
    eprintln!("instance a delivered {by_a}, instance b {}", 50 - by_a);
    // A message delivered by both workers would have a file in each folder.
    let files: BTreeSet<String> = emails.iter().map(|(_, p)| stem(p)).collect();
    assert_eq!(files.len(), 50, "each message in one folder only");
    let to: HashSet<String> = emails.iter().filter_map(|(_, p)| recipient(p)).collect();
    assert_eq!(to.len(), 50, "one message per user");

    // And the outbox agrees: every message sent, claimed exactly once.
    let mut conn = cl.db.connect().await;
    let rows: Vec<OutboxRow> =
        diesel::sql_query("SELECT id::text AS id, status, attempts FROM outbox")
            .load(&mut conn)
            .await
            .unwrap();
    assert_eq!(rows.len(), 50);
    for row in &rows {
        assert_eq!((row.status.as_str(), row.attempts), ("sent", 1), "{row:?}");
    }
    let ids: BTreeSet<String> = rows.into_iter().map(|r| r.id).collect();
    assert_eq!(ids, files, "the files are the outbox's messages");
    cl.assert_debug_log_holds_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_cap_holds_across_instances_under_concurrency() {
    let Some(cl) = Cluster::start(&[
        ("BECKON_RESEND_COOLDOWN", "0s"),
        ("BECKON_RESEND_DAILY_LIMIT", "3"),
    ])
    .await
    else {
        return;
    };
    let id = cl.invite(&cl.b, "ada@example.com").await;

    let responses = send_all((0..16).map(|i| cl.resend_req(cl.via(i), &id))).await;
    assert_eq!(
        successes(&responses),
        2,
        "the invite and two resends make the cap of 3: {responses:?}"
    );
    for via in [&cl.a, &cl.b] {
        let (status, body) = send_all([cl.resend_req(via, &id)]).await.remove(0);
        assert_eq!(status, 429, "{body}");
        let secs = body["details"]["retry_after_seconds"].as_u64().unwrap();
        assert!(secs > 86_000, "the cap, not a cooldown: {secs}");
    }
    cl.assert_emails_to("ada@example.com", 3).await;
    assert_eq!(cl.user(&cl.a, &id).await["invite"]["sends"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_started_together_on_an_empty_database_both_come_up() {
    let Some(db) = PgDatabase::create().await else {
        eprintln!("skipped: BECKON_TEST_DATABASE_URL is unset");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let [pa, pb] = free_ports();
    // Both apply the migrations on start, at the same moment.
    let mut a = serve("a", &db, tmp.path(), pa, &[]);
    let mut b = serve("b", &db, tmp.path(), pb, &[]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    a.wait_ready(&client).await;
    b.wait_ready(&client).await;
    let tenant = admin(&db, tmp.path(), &["tenant", "create", "--name", "Acme"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = admin(
        &db,
        tmp.path(),
        &["api-key", "create", "--tenant", &tenant, "--role", "admin"],
    )["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for (i, inst) in [&a, &b].into_iter().enumerate() {
        let resp = client
            .post(format!("{}/v1/users", inst.base))
            .bearer_auth(&key)
            .header("X-Tenant-ID", &tenant)
            .json(&json!({ "email": format!("u{i}@example.com") }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "via {}", inst.name);
    }
    drop((a, b));
}
