//! PostgreSQL failover under load: a primary and its synchronous streaming
//! standby, both clusters of the test's own (initdb, pg_basebackup, on free
//! ports; the machine's server is not touched). `beckon serve` is given both
//! hosts with `target_session_attrs=read-write`. While clients resend, the
//! primary is stopped at once and the standby promoted: Beckon answers 503
//! during the switch — never a 500 — recovers by itself, and, replication
//! being synchronous, every request it answered 200 is on the new primary.
//!
//! Skipped with a note when `BECKON_TEST_DATABASE_URL` is unset (like every
//! PostgreSQL test; `.ci/run` sets it); fails when it is set but PostgreSQL's
//! programs (`initdb`, `pg_ctl`, `pg_basebackup`) are missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/cli.rs"]
mod cli;
#[path = "../../../crates/store-diesel/tests/common/cluster.rs"]
mod cluster;
#[path = "common/secrets.rs"]
mod secrets;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::cluster::{Cluster, free_port};

/// Anti-hang bounds, not performance targets.
const UP_TIMEOUT: Duration = Duration::from_secs(60);
const RECOVERY_BOUND: Duration = Duration::from_secs(60);
/// Load before the primary goes, and after the standby is promoted.
const BEFORE: Duration = Duration::from_secs(3);
const AFTER: Duration = Duration::from_secs(5);
/// How long the database is without a primary.
const GAP: Duration = Duration::from_secs(1);
const CLIENTS: usize = 4;

use cli::{admin, beckon};

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(QueryableByName)]
struct RequestId {
    #[diesel(sql_type = Text)]
    request_id: String,
}

/// The request ids of the audit trail on the server at `port`.
async fn stored_request_ids(port: u16) -> BTreeSet<String> {
    use diesel_async::RunQueryDsl;
    let mut conn = AsyncPgConnection::establish(&format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"
    ))
    .await
    .unwrap();
    diesel::sql_query("SELECT request_id FROM audit_log WHERE request_id LIKE 'failover-%'")
        .load::<RequestId>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.request_id)
        .collect()
}

#[derive(QueryableByName)]
struct SyncState {
    #[diesel(sql_type = Text)]
    sync_state: String,
}

/// Waits until the primary at `port` replicates synchronously to a standby
/// (`pg_stat_replication.sync_state = 'sync'`), so that a commit it reports
/// is on the standby too.
async fn wait_for_sync_standby(port: u16) {
    use diesel_async::RunQueryDsl;
    let mut conn = AsyncPgConnection::establish(&format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"
    ))
    .await
    .unwrap();
    let start = Instant::now();
    loop {
        let states: Vec<String> =
            diesel::sql_query("SELECT sync_state::text AS sync_state FROM pg_stat_replication")
                .load::<SyncState>(&mut conn)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.sync_state)
                .collect();
        if states.iter().any(|s| s == "sync") {
            return;
        }
        assert!(
            start.elapsed() < UP_TIMEOUT,
            "the standby never became synchronous: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One answered request.
struct Answer {
    request_id: String,
    status: u16,
    at: Instant,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_primary_gone_and_the_standby_promoted_beckon_answers_503_then_recovers_losing_no_200()
 {
    if std::env::var_os("BECKON_TEST_DATABASE_URL").is_none() {
        eprintln!("skipped: BECKON_TEST_DATABASE_URL is unset");
        return;
    }
    // A primary, and a standby streaming from it; then the primary waits
    // for the standby on every commit.
    let mut primary = Cluster::init();
    primary.append_conf("wal_level = replica\nmax_wal_senders = 5\n");
    primary.start();
    let mut standby = Cluster::standby_of(&primary);
    standby.start();
    primary.append_conf("synchronous_standby_names = '*'\nsynchronous_commit = on\n");
    primary.reload();
    wait_for_sync_standby(primary.port).await;

    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres\
         ?target_session_attrs=read-write&sslmode=disable",
        primary.port, standby.port
    );
    let tmp = tempfile::tempdir().unwrap();
    let tenant = admin(&url, tmp.path(), &["tenant", "create", "--name", "Acme"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = admin(
        &url,
        tmp.path(),
        &["api-key", "create", "--tenant", &tenant, "--role", "admin"],
    )["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = tmp.path().join("serve.log");
    let _serve = Serve(
        beckon(&url, tmp.path(), &["serve"])
            .env("BECKON_LISTEN", format!("127.0.0.1:{port}"))
            .env("BECKON_METRICS_LISTEN", "off")
            .env(
                "BECKON_MAILER",
                format!("file://{}", tmp.path().join("mail").display()),
            )
            .env("BECKON_RESEND_COOLDOWN", "0s")
            .env("BECKON_RESEND_DAILY_LIMIT", "0")
            .env("BECKON_DATABASE_ACQUIRE_TIMEOUT", "1s")
            // Checked at the end: through the switch, nothing secret.
            .env("BECKON_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let start = Instant::now();
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            start.elapsed() < UP_TIMEOUT,
            "beckon did not come up:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut users = Vec::new();
    for i in 0..20 {
        let resp = client
            .post(format!("{base}/v1/users"))
            .bearer_auth(&key)
            .header("X-Tenant-ID", &tenant)
            .json(&json!({ "email": format!("u{i}@example.com") }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let user: Value = resp.json().await.unwrap();
        users.push(user["id"].as_str().unwrap().to_owned());
    }

    // Clients resend until told to stop, each request with an id of its own.
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let counter = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (stop, answers, counter) = (stop.clone(), answers.clone(), counter.clone());
        let (client, base, key, tenant, users) = (
            client.clone(),
            base.clone(),
            key.clone(),
            tenant.clone(),
            users.clone(),
        );
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let request_id = format!("failover-{c}-{n}");
                let user = &users[n % users.len()];
                let resp = client
                    .post(format!("{base}/v1/users/{user}/resend-invite"))
                    .bearer_auth(&key)
                    .header("X-Tenant-ID", &tenant)
                    .header("X-Request-ID", &request_id)
                    .send()
                    .await
                    .expect("beckon itself stays up");
                let status = resp.status().as_u16();
                answers.lock().await.push(Answer {
                    request_id,
                    status,
                    at: Instant::now(),
                });
                if status != 200 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }

    tokio::time::sleep(BEFORE).await;
    let cut = Instant::now();
    primary.stop();
    tokio::time::sleep(GAP).await;
    standby.promote();
    let promoted = Instant::now();
    // Load goes on until a 200 has come back and AFTER has passed.
    loop {
        let recovered = answers
            .lock()
            .await
            .iter()
            .any(|a| a.status == 200 && a.at > promoted);
        if recovered && promoted.elapsed() >= AFTER {
            break;
        }
        assert!(
            promoted.elapsed() < RECOVERY_BOUND,
            "no 200 within {RECOVERY_BOUND:?} of the promotion:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    let answers = answers.lock().await;
    let mut statuses = BTreeMap::<u16, usize>::new();
    for a in answers.iter() {
        *statuses.entry(a.status).or_insert(0) += 1;
    }
    let during: BTreeMap<u16, usize> =
        answers
            .iter()
            .filter(|a| a.at > cut)
            .fold(BTreeMap::new(), |mut m, a| {
                *m.entry(a.status).or_insert(0) += 1;
                m
            });
    let first_200_after = answers
        .iter()
        .filter(|a| a.status == 200 && a.at > promoted)
        .map(|a| a.at)
        .min()
        .unwrap();
    let last_200_before = answers
        .iter()
        .filter(|a| a.status == 200 && a.at <= cut)
        .map(|a| a.at)
        .max();

    // Every 200 is on the new primary: its audit line (with the request
    // id) is committed with the change itself.
    let stored = stored_request_ids(standby.port).await;
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    let lost: Vec<&str> = ok
        .iter()
        .filter(|a| !stored.contains(&a.request_id))
        .map(|a| a.request_id.as_str())
        .collect();
    println!(
        "failover: {} requests {statuses:?}; after the cut {during:?}; \
         first 200 {:?} after the promotion ({:?} after the cut, the last 200 before it \
         {:?} earlier); {} of {} 200s on the new primary, {} lost",
        answers.len(),
        first_200_after - promoted,
        first_200_after - cut,
        last_200_before.map(|t| cut - t),
        ok.len() - lost.len(),
        ok.len(),
        lost.len(),
    );
    let unexpected: Vec<_> = statuses
        .keys()
        .filter(|s| ![200, 503].contains(*s))
        .collect();
    assert!(
        unexpected.is_empty(),
        "only 200 and 503 may be answered: {statuses:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        during.get(&503).copied().unwrap_or(0) > 0,
        "the switch answers 503: {during:?}"
    );
    assert!(lost.is_empty(), "200s missing on the new primary: {lost:?}");

    // The debug log, through the switch, holds no address, no API key
    // secret (`bk_<32 hex id>_<secret>`) and no accept link.
    secrets::assert_none_in(&std::fs::read_to_string(&log).unwrap(), &key);
}
