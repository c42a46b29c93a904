//! Secrets at rest: after a realistic lifecycle on a real `beckon` (admin
//! CLI, then `beckon serve` with a `file://` mailer), EVERY table of the
//! database is dumped — enumerated from `sqlite_master` or
//! `information_schema.tables`, so a new table is covered without touching
//! this test — and no API key secret, no invite token and no delivered
//! email's link may be found in any row. Only hashes may be stored, and the
//! outbox erases a message's payload once it is delivered.
//!
//! Runs on SQLite and, when `BECKON_TEST_DATABASE_URL` is set, on a fresh
//! PostgreSQL database (skipped with a note otherwise).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/cli.rs"]
mod cli;
#[path = "common/mail.rs"]
mod mail;
#[path = "common/pg.rs"]
mod pg;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use beckon_ports::SecretHash;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, SqliteConnection};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::pg::PgDatabase;

/// Anti-hang bounds, not performance targets.
const UP_TIMEOUT: Duration = Duration::from_secs(60);
const MAIL_TIMEOUT: Duration = Duration::from_secs(60);
/// The length of a secret's window looked for on its own, so that a
/// stored prefix or fragment (a "hint") counts as a leak too: 16 base64url
/// characters are 96 bits, which no unrelated value matches by chance.
const WINDOW: usize = 16;
/// What a rendered accept link contains (`BECKON_ACCEPT_URL` below): no
/// stored row may hold the body of an email that was delivered.
const LINK_MARK: &str = "/invite?token=";

/// The database one run uses.
enum Db {
    Sqlite(PathBuf),
    Postgres(PgDatabase),
}

impl Db {
    fn url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(db) => db.url().to_owned(),
        }
    }

    fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tables_hold_no_secret_after_a_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("beckon.db"));
    lifecycle_then_dump(&db, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tables_hold_no_secret_after_a_lifecycle() {
    let Some(pg) = PgDatabase::create().await else {
        eprintln!("skipped: BECKON_TEST_DATABASE_URL is unset");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Postgres(pg);
    lifecycle_then_dump(&db, dir.path()).await;
}

/// `beckon ARGS` on `db` (see `common/cli.rs`).
fn beckon(db: &Db, dir: &Path, args: &[&str]) -> Command {
    cli::beckon(&db.url(), dir, args)
}

/// Runs an admin command and returns the JSON object it prints.
fn admin(db: &Db, dir: &Path, args: &[&str]) -> Value {
    cli::admin(&db.url(), dir, args)
}

/// An API key handed out by `beckon api-key create`.
struct Key {
    id: String,
    /// The whole `bk_<id>_<secret>` string.
    key: String,
}

impl Key {
    fn create(db: &Db, dir: &Path, tenant: &str, role: &str, name: &str) -> Self {
        let out = admin(
            db,
            dir,
            &[
                "api-key", "create", "--tenant", tenant, "--role", role, "--name", name,
            ],
        );
        Self {
            id: out["id"].as_str().unwrap().to_owned(),
            key: out["key"].as_str().unwrap().to_owned(),
        }
    }

    /// The random part: what the key's hash is taken of.
    fn secret(&self) -> &str {
        let secret = self
            .key
            .strip_prefix("bk_")
            .and_then(|rest| rest.get(33..))
            .unwrap();
        assert_eq!(secret.len(), 43, "a 256-bit secret part");
        secret
    }
}

/// `beckon serve`; killed when dropped (if it has not stopped already).
struct Server {
    child: Option<Child>,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    fn start(db: &Db, dir: &Path, mail_dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let log = dir.join("serve.log");
        let child = beckon(db, dir, &["serve"])
            .env("BECKON_LISTEN", format!("127.0.0.1:{port}"))
            .env("BECKON_METRICS_LISTEN", "off")
            .env("BECKON_MAILER", format!("file://{}", mail_dir.display()))
            .env("BECKON_ACCEPT_URL", format!("{base}{LINK_MARK}{{token}}"))
            .env("BECKON_RESEND_COOLDOWN", "0s")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            child: Some(child),
            base,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) {
        let start = Instant::now();
        loop {
            let ready = client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ready {
                return;
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() || start.elapsed() > UP_TIMEOUT {
                panic!("serve did not come up ({exited:?}):\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then waits: a graceful stop settles what the worker sent.
    async fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(
            status.success(),
            "serve stopped with {status}:\n{}",
            self.log()
        );
    }
}

/// A tenant-scoped request with `key`.
fn auth(r: RequestBuilder, key: &Key, tenant: &str) -> RequestBuilder {
    r.header("Authorization", format!("Bearer {}", key.key))
        .header("X-Tenant-ID", tenant)
}

async fn json_of(r: RequestBuilder, want: StatusCode) -> Value {
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, want, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The delivered messages to `addr`, oldest first (named by outbox id, a
/// UUIDv7), each with the token of its accept link.
fn tokens_to(mail_dir: &Path, addr: &str) -> Vec<String> {
    let mut files: Vec<PathBuf> = mail::emails(mail_dir)
        .into_iter()
        .filter(|p| mail::recipient(p).is_some_and(|r| r.eq_ignore_ascii_case(addr)))
        .collect();
    files.sort();
    files.iter().map(|p| token_in(p)).collect()
}

/// The token of a message's accept link (the text part is 7bit, so the
/// link is intact).
fn token_in(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find(LINK_MARK).expect("an accept link") + LINK_MARK.len();
    let token: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(
        beckon_ports::InviteToken::parse(&token).is_some(),
        "a 43-character token: {token:?}"
    );
    token
}

async fn wait_for_emails(mail_dir: &Path, n: usize) {
    let start = Instant::now();
    while mail::emails(mail_dir).len() < n {
        assert!(
            start.elapsed() < MAIL_TIMEOUT,
            "fewer than {n} emails delivered: {:?}",
            mail::emails(mail_dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The invitee erased before the dump.
const ERIN_EMAIL: &str = "erin.erased@example.com";
const ERIN_NAME: &str = "Erin Erasure";

async fn lifecycle_then_dump(db: &Db, dir: &Path) {
    let mail_dir = dir.join("mail");

    // Tenants and keys, with the admin CLI (which migrates).
    let acme = admin(db, dir, &["tenant", "create", "--name", "Acme Rockets"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let globex = admin(db, dir, &["tenant", "create", "--name", "Globex Corp"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_key = Key::create(db, dir, &acme, "admin", "ops");
    let viewer_key = Key::create(db, dir, &acme, "viewer", "dashboard");
    let revoked_key = Key::create(db, dir, &acme, "admin", "leaked laptop");
    let globex_key = Key::create(db, dir, &globex, "admin", "globex ops");
    let revoked = admin(db, dir, &["api-key", "revoke", "--id", &revoked_key.id]);
    assert!(revoked.is_object(), "{revoked}");
    let keys = [&admin_key, &viewer_key, &revoked_key, &globex_key];

    // Acme's events go to an endpoint that is never up, so they stay
    // queued with the addresses they carry: the erasure must clear Erin's.
    let dead_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hook = admin(
        db,
        dir,
        &[
            "webhook",
            "set",
            "--tenant",
            &acme,
            "--url",
            &format!("http://127.0.0.1:{dead_port}/hooks"),
        ],
    );
    assert!(hook["secret"].is_string(), "{hook}");
    let mut server = Server::start(db, dir, &mail_dir);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    server.wait_ready(&client).await;
    let url = |path: &str| format!("{}{path}", server.base);

    // The revoked key no longer works; a viewer may not invite.
    json_of(
        auth(client.get(url("/v1/users")), &revoked_key, &acme),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    json_of(
        auth(client.post(url("/v1/users")), &viewer_key, &acme)
            .json(&json!({ "email": "mallory@example.com" })),
        StatusCode::FORBIDDEN,
    )
    .await;

    // Invites: three in Acme (one under an Idempotency-Key, replayed), one
    // in Globex.
    let invitees = [
        (
            &acme,
            &admin_key,
            "ada.lovelace@example.com",
            "Ada Lovelace",
        ),
        (
            &acme,
            &admin_key,
            "grace.hopper@example.com",
            "Grace Hopper",
        ),
        (&acme, &admin_key, "alan.turing@example.com", "Alan Turing"),
        (
            &globex,
            &globex_key,
            "hank.scorpio@example.com",
            "Hank Scorpio",
        ),
    ];
    let mut ids = BTreeMap::new();
    for (i, (tenant, key, email, name)) in invitees.iter().enumerate() {
        let mut req = auth(client.post(url("/v1/users")), key, tenant)
            .json(&json!({ "email": email, "name": name }));
        if i == 0 {
            req = req.header("Idempotency-Key", "invite-ada");
        }
        let user = json_of(req, StatusCode::CREATED).await;
        ids.insert(*email, user["id"].as_str().unwrap().to_owned());
    }
    let replay = json_of(
        auth(client.post(url("/v1/users")), &admin_key, &acme)
            .header("Idempotency-Key", "invite-ada")
            .json(&json!({ "email": invitees[0].2, "name": invitees[0].3 })),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(replay["id"].as_str(), Some(ids[invitees[0].2].as_str()));

    // Resends: Ada twice (once under an Idempotency-Key), Grace once.
    let ada = ids["ada.lovelace@example.com"].clone();
    let grace = ids["grace.hopper@example.com"].clone();
    for (id, idem) in [(&ada, None), (&ada, Some("resend-ada-2")), (&grace, None)] {
        let mut req = auth(
            client.post(url(&format!("/v1/users/{id}/resend-invite"))),
            &admin_key,
            &acme,
        );
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        json_of(req, StatusCode::OK).await;
    }

    // Four invites and three resends, delivered by the worker.
    wait_for_emails(&mail_dir, 7).await;
    let mut tokens: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (_, _, email, _) in &invitees {
        tokens.insert(*email, tokens_to(&mail_dir, email));
    }
    let sends: Vec<usize> = tokens.values().map(Vec::len).collect();
    assert_eq!(sends, [3, 1, 2, 1], "emails per invitee (by address)");
    let all_tokens: Vec<String> = tokens.values().flatten().cloned().collect();
    let mut distinct = all_tokens.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 7, "every send carries a fresh token");

    // Ada accepts with her latest token; a replaced one is refused. Grace
    // opens the page (which does not consume her token).
    let ada_tokens = &tokens["ada.lovelace@example.com"];
    json_of(
        client
            .post(url("/v1/invites/accept"))
            .json(&json!({ "token": ada_tokens[0] })),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let accepted = json_of(
        client
            .post(url("/v1/invites/accept"))
            .json(&json!({ "token": ada_tokens[2] })),
        StatusCode::OK,
    )
    .await;
    assert_eq!(accepted["user_id"].as_str(), Some(ada.as_str()));
    let grace_token = &tokens["grace.hopper@example.com"][1];
    let page = client
        .get(url(&format!("{LINK_MARK}{grace_token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    // Reads, by the viewer.
    let listed = json_of(
        auth(client.get(url("/v1/users")), &viewer_key, &acme),
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(3));
    let read = json_of(
        auth(
            client.get(url(&format!("/v1/users/{ada}"))),
            &viewer_key,
            &acme,
        ),
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["status"], "active");

    // Erin is invited under an Idempotency-Key (her stored answer holds her
    // address), her email is delivered, then she is erased: afterwards no
    // table may hold her address or name, only her id (in the audit trail).
    let erin = json_of(
        auth(client.post(url("/v1/users")), &admin_key, &acme)
            .header("Idempotency-Key", "invite-erin")
            .json(&json!({ "email": ERIN_EMAIL, "name": ERIN_NAME })),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for_emails(&mail_dir, 8).await;
    tokens.insert(ERIN_EMAIL, tokens_to(&mail_dir, ERIN_EMAIL));
    let erase = || {
        auth(
            client.delete(url(&format!("/v1/users/{erin}"))),
            &admin_key,
            &acme,
        )
    };
    let gone = erase().send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_eq!(gone.text().await.unwrap(), "", "204 has no body");
    json_of(erase(), StatusCode::NOT_FOUND).await;

    // A graceful stop: every message the worker sent is settled.
    server.stop().await;
    assert_eq!(mail::emails(&mail_dir).len(), 8, "no message sent twice");
    // The stopped server closed its connections, and the last close
    // copied the write-ahead log back and removed it: no old page
    // images stay beside the database.
    if let Db::Sqlite(path) = db {
        let wal = format!("{}-wal", path.display());
        assert!(
            !Path::new(&wal).exists(),
            "the stopped server left {wal} behind"
        );
    }

    let dump = dump_every_table(db).await;
    let rows: usize = dump.values().map(Vec::len).sum();
    println!(
        "secrets dump ({}): {} tables, {rows} rows scanned for {} API keys and {} invite tokens",
        db.backend(),
        dump.len(),
        keys.len(),
        all_tokens.len()
    );
    for (table, table_rows) in &dump {
        println!("  {table}: {} rows", table_rows.len());
    }

    // The dump is real: it sees what must be stored, in every place that
    // holds a secret's hash.
    let cells: Vec<(&str, &str)> = dump
        .iter()
        .flat_map(|(t, rows)| rows.iter().map(move |r| (t.as_str(), r.as_str())))
        .collect();
    let found = |needle: &str| cells.iter().any(|(_, row)| row.contains(needle));
    for (_, _, email, _) in &invitees {
        assert!(found(email), "the dump has no row with {email}");
    }
    // The erased user: her id stays in the audit trail, nothing else of her.
    assert!(found(&erin), "the audit trail keeps the erased user's id");
    assert!(
        cells
            .iter()
            .any(|(t, row)| t.ends_with("webhook_events") && row.contains(&erin)),
        "the erasure's event is queued"
    );
    for (table, row) in &cells {
        let row = row.to_lowercase();
        for erased in ["erin.erased", "erin erasure"] {
            assert!(
                !row.contains(erased),
                "{table} still holds the erased user's {erased}: {row}"
            );
        }
        // The audit trail and the events about her (`user.deleted`
        // among them) keep her id, nothing more.
        if !table.ends_with("audit_log") && !table.ends_with("webhook_events") {
            assert!(
                !row.contains(&erin),
                "{table} still mentions the erased user's id: {row}"
            );
        }
    }
    for name in ["Acme Rockets", "Globex Corp", "leaked laptop"] {
        assert!(found(name), "the dump has no row with {name}");
    }
    for key in keys {
        assert!(found(&key.id), "the dump has no row with key id {}", key.id);
        let hash = SecretHash::of(key.secret().as_bytes()).to_hex();
        assert!(found(&hash), "the dump lacks the hash of key {}", key.id);
    }
    // The live (unaccepted) invites are stored as the hash of their latest
    // token; Ada's was consumed.
    for email in [
        "grace.hopper@example.com",
        "alan.turing@example.com",
        "hank.scorpio@example.com",
    ] {
        let live = tokens[email].last().unwrap();
        let hash = SecretHash::of(live.as_bytes()).to_hex();
        assert!(found(&hash), "the dump lacks the token hash for {email}");
    }

    // And no secret, whole or in part, nor a delivered email's link.
    let mut needles: Vec<(String, String)> = Vec::new();
    for key in keys {
        let what = format!("API key {} (secret)", key.id);
        needles.push((what.clone(), key.key.clone()));
        push_windows(&mut needles, &what, key.secret());
    }
    for (email, list) in &tokens {
        for (n, token) in list.iter().enumerate() {
            push_windows(
                &mut needles,
                &format!("invite token #{n} to {email}"),
                token,
            );
        }
    }
    needles.push((
        "a delivered email's accept link".to_owned(),
        LINK_MARK.to_owned(),
    ));
    // One line per table, row and secret, however many windows match.
    let leaks: BTreeSet<String> = cells
        .iter()
        .flat_map(|(table, row)| {
            needles
                .iter()
                .filter(|(_, needle)| row.contains(needle.as_str()))
                .map(move |(what, _)| format!("{table}: {what} in row {row}"))
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "secrets stored in the {} database:\n{}",
        db.backend(),
        leaks.into_iter().collect::<Vec<_>>().join("\n")
    );

    // On SQLite, what an update or delete freed is overwritten as well
    // (`secure_delete`): no token lingers in the file's free pages (nor in
    // a write-ahead log, were one left).
    if let Db::Sqlite(path) = db {
        let mut bytes = std::fs::read(path).unwrap();
        if let Ok(wal) = std::fs::read(format!("{}-wal", path.display())) {
            bytes.extend(wal);
        }
        let lingering: Vec<String> = tokens
            .iter()
            .flat_map(|(email, list)| list.iter().map(move |t| (email, t)))
            .filter(|(_, t)| bytes.windows(t.len()).any(|w| w == t.as_bytes()))
            .map(|(email, _)| format!("a token to {email}"))
            .collect();
        assert!(
            lingering.is_empty(),
            "left in the SQLite file's bytes: {lingering:?}"
        );
    }
}

/// `secret` whole and each of its `WINDOW`-character windows, all under
/// the one label `what`.
fn push_windows(needles: &mut Vec<(String, String)>, what: &str, secret: &str) {
    needles.push((what.to_owned(), secret.to_owned()));
    let chars: Vec<char> = secret.chars().collect();
    for w in chars.windows(WINDOW) {
        needles.push((what.to_owned(), w.iter().collect()));
    }
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    text: String,
}

/// `name` as an SQL identifier (the same quoting on both backends).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every row of every table, each as one line of text, by table name.
async fn dump_every_table(db: &Db) -> BTreeMap<String, Vec<String>> {
    let rows = |conn_rows: Vec<TextRow>| conn_rows.into_iter().map(|r| r.text).collect();
    let mut out = BTreeMap::new();
    match db {
        Db::Sqlite(path) => {
            use diesel::RunQueryDsl;
            let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            let tables: Vec<TextRow> = diesel::sql_query(
                "SELECT name AS text FROM sqlite_master WHERE type = 'table' ORDER BY name",
            )
            .load(&mut conn)
            .unwrap();
            for table in tables {
                let columns: Vec<TextRow> =
                    diesel::sql_query("SELECT name AS text FROM pragma_table_info(?) ORDER BY cid")
                        .bind::<Text, _>(&table.text)
                        .load(&mut conn)
                        .unwrap();
                assert!(!columns.is_empty(), "table {} has columns", table.text);
                // Every column cast to text (a BLOB as its bytes), NULL
                // spelled out, joined with tabs.
                let row = columns
                    .iter()
                    .map(|c| format!("COALESCE(CAST({} AS TEXT), 'NULL')", ident(&c.text)))
                    .collect::<Vec<_>>()
                    .join(" || char(9) || ");
                let sql = format!("SELECT {row} AS text FROM {}", ident(&table.text));
                let loaded: Vec<TextRow> = diesel::sql_query(sql).load(&mut conn).unwrap();
                out.insert(table.text, rows(loaded));
            }
        }
        Db::Postgres(pg) => {
            use diesel_async::RunQueryDsl;
            let mut conn = pg.connect().await;
            let tables: Vec<TextRow> = diesel::sql_query(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS text \
                 FROM information_schema.tables \
                 WHERE table_type = 'BASE TABLE' \
                   AND table_schema NOT IN ('pg_catalog', 'information_schema') \
                 ORDER BY 1",
            )
            .load(&mut conn)
            .await
            .unwrap();
            for table in tables {
                // The whole row as a record literal: every column, NULLs
                // empty, strings quoted only where they must be.
                let sql = format!("SELECT t::text AS text FROM {} AS t", table.text);
                let loaded: Vec<TextRow> = diesel::sql_query(sql).load(&mut conn).await.unwrap();
                out.insert(table.text, rows(loaded));
            }
        }
    }
    assert!(!out.is_empty(), "the database has tables");
    out
}
