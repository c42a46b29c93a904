//! Database outage: with PostgreSQL unreachable the API answers 503
//! `unavailable` rather than hanging (the pool wait is bounded), `/readyz`
//! answers 503, `/healthz` 200, and nothing changes; when the database
//! returns, service resumes by itself, without a restart. The app runs
//! in-process against PostgreSQL through a TCP proxy the test switches off
//! and on again on the same port, on a manual clock. Skipped, with a note,
//! when `BECKON_TEST_DATABASE_URL` is unset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/mail.rs"]
mod mail;
#[path = "common/pg.rs"]
mod pg;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use beckon::admin;
use beckon::config::Config;
use beckon::server::{self, Running, ServeOptions};
use beckon::system::{Sources, SystemClock};
use beckon_ports::{Clock, ManualClock};
use reqwest::RequestBuilder;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

use crate::pg::{PgDatabase, host_port, with_host_port};

/// How long the test waits for anything at all — one request included —
/// before calling it a hang. Only that: no request's duration is asserted
/// (with the acquire timeout at 1 s, an answer takes about 2 s at most, far
/// inside this bound).
const HANG: Duration = Duration::from_secs(20);
/// How long the workers get to deliver, and "no more mail" is watched for.
const MAIL_TIMEOUT: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_millis(1500);

// ---- the proxy ------------------------------------------------------------

/// A TCP proxy on a fixed local port to the PostgreSQL server.
struct Proxy {
    addr: SocketAddr,
    upstream: String,
    accept: Option<JoinHandle<()>>,
    /// Every connection it forwards (or holds), to cut them.
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    /// While true, nothing is forwarded: open connections stall and new
    /// ones are accepted but never answered — a network partition.
    stalled: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut proxy = Self {
            addr: listener.local_addr().unwrap(),
            upstream,
            accept: None,
            conns: Arc::default(),
            stalled: watch::Sender::new(false),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let conns = self.conns.clone();
        let stalled = self.stalled.subscribe();
        self.accept = Some(tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let task = tokio::spawn(forward(client, upstream.clone(), stalled.clone()));
                conns.lock().unwrap().push(task.abort_handle());
            }
        }));
    }

    /// Closes every connection it holds (both ends see them go).
    fn cut(&self) {
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }

    /// The database is gone: the port refuses connections and every open
    /// connection is cut.
    async fn down(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await; // the listener is closed once it returns
        }
        self.cut();
    }

    /// The database stops answering without closing anything.
    fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// Forwarding again, on the same port; stalled connections are cut
    /// (the bytes they swallowed are gone).
    async fn up(&mut self) {
        self.stalled.send_replace(false);
        self.cut();
        if self.accept.is_some() {
            return;
        }
        let start = Instant::now();
        let listener = loop {
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(true).unwrap();
            match socket.bind(self.addr).and_then(|()| socket.listen(128)) {
                Ok(l) => break l,
                Err(e) if start.elapsed() < HANG => {
                    eprintln!("rebinding {}: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }
}

/// Copies both ways until either side closes or the proxy stalls; a
/// stalled connection stays open and silent until it is cut.
async fn forward(mut client: TcpStream, upstream: String, mut stalled: watch::Receiver<bool>) {
    if *stalled.borrow() {
        return std::future::pending().await;
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let stall = async {
        // Not held: a `watch::Ref` must not live across an await.
        drop(stalled.wait_for(|s| *s).await);
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        () = stall => std::future::pending().await,
    }
}

// ---- the app --------------------------------------------------------------

/// The app on a fresh database behind the proxy, a tenant with an admin
/// key, and one invited user.
struct Outage {
    running: Option<Running>,
    base: String,
    client: reqwest::Client,
    tenant: String,
    key: String,
    user: String,
    mail_dir: PathBuf,
    proxy: Proxy,
    /// The app's clock: the API-key cache's time passes only when it moves.
    clock: Arc<ManualClock>,
    _tmp: TempDir,
    /// Declared last: dropped after everything that uses it.
    _db: PgDatabase,
}

impl Outage {
    async fn start() -> Option<Self> {
        let Some(db) = PgDatabase::create().await else {
            eprintln!("skipped: BECKON_TEST_DATABASE_URL is unset");
            return None;
        };
        let proxy = Proxy::start(host_port(db.url())).await;
        let tmp = tempfile::tempdir().unwrap();
        let mail_dir = tmp.path().join("mail");
        let mut cfg = Config::from_vars(&HashMap::new()).unwrap();
        // No metrics listener: tests run side by side.
        cfg.metrics_listen = None;
        cfg.database_url = with_host_port(db.url(), &proxy.addr.to_string());
        cfg.database_max_connections = 4;
        cfg.database_acquire_timeout = Duration::from_secs(1);
        cfg.mailer = format!("file://{}", mail_dir.display());
        cfg.listen = "127.0.0.1:0".parse().unwrap();
        cfg.resend_cooldown = Duration::ZERO;
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let sources = Sources::with_clock(clock.clone());

        let tenant = admin::create_tenant(&cfg, "Acme", "en", &sources)
            .await
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let key = admin::create_api_key(&cfg, &tenant, "admin", None, &sources)
            .await
            .unwrap()["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let opts = ServeOptions {
            signals: false,
            workers: 2,
        };
        let running = server::start(&cfg, opts, &sources).await.unwrap();
        let mut app = Self {
            base: format!("http://{}", running.addr),
            running: Some(running),
            client: reqwest::Client::builder().timeout(HANG).build().unwrap(),
            tenant,
            key,
            user: String::new(),
            mail_dir,
            proxy,
            clock,
            _tmp: tmp,
            _db: db,
        };
        let resp = app.invite("ada@example.com").send().await.unwrap();
        assert_eq!(resp.status(), 201);
        app.user = resp.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.assert_emails_to("ada@example.com", 1).await;
        Some(app)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.base))
    }

    fn authed(&self, req: RequestBuilder) -> RequestBuilder {
        req.bearer_auth(&self.key)
            .header("X-Tenant-ID", &self.tenant)
    }

    fn resend(&self) -> RequestBuilder {
        let url = format!("{}/v1/users/{}/resend-invite", self.base, self.user);
        self.authed(self.client.post(url))
    }

    fn invite(&self, email: &str) -> RequestBuilder {
        let url = format!("{}/v1/users", self.base);
        self.authed(self.client.post(url).json(&json!({ "email": email })))
    }

    fn read(&self) -> RequestBuilder {
        self.authed(self.get(&format!("/v1/users/{}", self.user)))
    }

    fn list(&self) -> RequestBuilder {
        self.authed(self.get("/v1/users"))
    }

    /// The four API requests, named.
    fn api_requests(&self) -> Vec<(&'static str, RequestBuilder)> {
        vec![
            ("resend", self.resend()),
            ("invite", self.invite("bob@example.com")),
            ("read", self.read()),
            ("list", self.list()),
        ]
    }

    /// Asserts that every API route and `/readyz` answer — at all, within
    /// the client's `HANG` timeout — 503 `unavailable`, and `/healthz` 200.
    async fn assert_unavailable(&self, round: &str) {
        let mut reqs = self.api_requests();
        reqs.push(("readyz", self.get("/readyz")));
        for (name, req) in reqs {
            let (status, body, took) = timed(req).await;
            eprintln!("{round}: {name} answered {status} in {took:?}");
            assert_eq!(status, 503, "{round}: {name}: {body}");
            assert_error_shape(&body, "unavailable", self.proxy.addr.port());
        }
        let (status, body, _) = timed(self.get("/healthz")).await;
        assert_eq!(status, 200, "{round}: healthz: {body}");
    }

    /// Polls `/readyz` until it answers 200; returns how long that took.
    async fn wait_ready(&self) -> Duration {
        let start = Instant::now();
        loop {
            let ready = self
                .get("/readyz")
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < HANG,
                "readyz not 200 {HANG:?} after the database returned"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn assert_emails_to(&self, addr: &str, n: usize) {
        let start = Instant::now();
        while mail::count_to(&self.mail_dir, addr) < n && start.elapsed() < MAIL_TIMEOUT {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(SETTLE).await;
        assert_eq!(mail::count_to(&self.mail_dir, addr), n, "emails to {addr}");
    }

    /// After the outage: the requests made during it changed nothing, and
    /// the same requests succeed now.
    async fn assert_nothing_changed_and_service_resumed(&self) {
        let (status, user, _) = timed(self.read()).await;
        assert_eq!(status, 200, "{user}");
        assert_eq!(
            user["invite"]["sends"], 1,
            "the failed resend changed nothing"
        );
        let (status, page, _) = timed(self.list()).await;
        assert_eq!(status, 200, "{page}");
        let emails: Vec<&Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| &u["email"])
            .collect();
        assert_eq!(
            emails,
            [&json!("ada@example.com")],
            "the failed invite created nothing"
        );
        self.assert_emails_to("ada@example.com", 1).await;
        self.assert_emails_to("bob@example.com", 0).await;

        let (status, body, _) = timed(self.resend()).await;
        assert_eq!(status, 200, "resend: {body}");
        let (status, body, _) = timed(self.invite("bob@example.com")).await;
        assert_eq!(status, 201, "invite: {body}");
        let (status, user, _) = timed(self.read()).await;
        assert_eq!((status, &user["invite"]["sends"]), (200, &json!(2)));
        let (status, page, _) = timed(self.list()).await;
        assert_eq!(status, 200);
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        self.assert_emails_to("ada@example.com", 2).await;
        self.assert_emails_to("bob@example.com", 1).await;
    }

    async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop(false).await.unwrap();
        }
    }
}

/// Sends `req`; returns the status, the JSON body (or the text as a string)
/// and how long the answer took (for the log only). A request unanswered
/// after `HANG` fails the test.
async fn timed(req: RequestBuilder) -> (u16, Value, Duration) {
    let start = Instant::now();
    let resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) => panic!("no answer after {:?}: {e}", start.elapsed()),
    };
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let took = start.elapsed();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body, took)
}

/// CONTRACT §1's error shape, and nothing about the database in it.
fn assert_error_shape(body: &Value, code: &str, port: u16) {
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("not JSON: {body}"));
    assert_eq!(obj.get("code"), Some(&json!(code)), "{body}");
    let message = obj["message"].as_str().unwrap();
    assert!(!message.trim().is_empty());
    for key in obj.keys() {
        assert!(
            ["code", "message", "details", "notices"].contains(&key.as_str()),
            "unexpected field {key} in {body}"
        );
    }
    let text = body.to_string().to_lowercase();
    for leak in ["refused", "postgres", "timed out", &port.to_string()] {
        assert!(!text.contains(leak), "no internals ({leak}): {body}");
    }
}

// ---- the tests ------------------------------------------------------------

/// Longer than the API-key cache holds a verified key (5 s).
const KEY_CACHE_PASSED: Duration = Duration::from_secs(6);

/// The server is gone: connections are refused, open ones are cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_routes_answer_503_and_service_resumes_without_a_restart() {
    let Some(mut app) = Outage::start().await else {
        return;
    };

    app.proxy.down().await;
    app.assert_unavailable("down").await;
    // Past the API-key cache too: the credential lookup itself fails now.
    app.clock.advance(KEY_CACHE_PASSED);
    app.assert_unavailable("down, key cache expired").await;

    app.proxy.up().await;
    let took = app.wait_ready().await;
    eprintln!("readyz 200 again {took:?} after the database returned");
    app.assert_nothing_changed_and_service_resumed().await;
    app.stop().await;
}

/// A network partition: the connections stay open, nothing comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_silent_routes_answer_503_and_service_resumes_without_a_restart() {
    let Some(mut app) = Outage::start().await else {
        return;
    };

    app.proxy.stall();
    app.assert_unavailable("silent").await;
    app.clock.advance(KEY_CACHE_PASSED);
    app.assert_unavailable("silent, key cache expired").await;

    app.proxy.up().await;
    let took = app.wait_ready().await;
    eprintln!("readyz 200 again {took:?} after the database returned");
    app.assert_nothing_changed_and_service_resumed().await;
    app.stop().await;
}
