//! `spawn_app` and the helpers every API test shares: a real server on port
//! 0 over a fresh database of the backend the test runs on (a temporary
//! SQLite file, or a PostgreSQL database of its own), a `file://` mail
//! folder and a manual clock the test moves; and `on_both_backends!`, which
//! runs one test body on each backend.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use beckon::admin;
use beckon::config::Config;
use beckon::server::{self, Running, ServeOptions};
use beckon::system::{Sources, SystemClock};
use beckon_ports::{Clock, ManualClock};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::pg::PgDatabase;

mod errors;
mod mail;
mod mime;

pub use errors::{assert_error, field, json_ok};
pub use mail::{MAIL_TIMEOUT, SETTLE, header, read_email, token_from_email};
pub use mime::Decoded;

/// The database an API test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the test's temporary folder.
    Sqlite,
    /// A fresh database on the server `BECKON_TEST_DATABASE_URL` names,
    /// dropped at the end of the test.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// Makes two tests of the API test `async fn $name(backend: Backend)`:
/// `$name::sqlite` and `$name::postgres`. The PostgreSQL one passes with a
/// note when `BECKON_TEST_DATABASE_URL` is unset, so that `cargo test` needs
/// nothing but SQLite. Written right above the function, like an attribute.
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::pg::admin_url().is_none() {
                    eprintln!("skipped: BECKON_TEST_DATABASE_URL is unset");
                    return;
                }
                super::$name($crate::helpers::Backend::Postgres).await;
            }
        }
    };
}
pub(crate) use on_both_backends;

/// A running app and everything needed to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// One client for every request.
    pub client: reqwest::Client,
    /// The configuration the app runs with (admin helpers use it too).
    pub cfg: Config,
    /// Where the file mailer writes `.eml` files.
    pub mail_dir: PathBuf,
    /// The app's clock (and the admin helpers'): it stands still unless
    /// the test moves it, so every rule's clock — cooldown, daily cap,
    /// expiry, the API-key cache, outbox backoff — is the test's to drive.
    pub clock: Arc<ManualClock>,
    /// `clock` and the system's randomness, as the app and the admin
    /// helpers are given them.
    pub sources: Sources,
    /// Keeps the SQLite database and the mail folder alive.
    pub _tmp: TempDir,
    /// The server and worker; `None` after `stop`.
    pub running: Option<Running>,
    /// The PostgreSQL database, dropped with the app (declared last, so it
    /// goes after everything that uses it).
    pub _pg: Option<PgDatabase>,
}

/// A tenant with an admin key: what most tests act as.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant id.
    pub tenant: String,
    /// The API key's id.
    pub key_id: String,
    /// The API key (secret).
    pub key: String,
}

/// The database a test app uses: the one seam where it is chosen. SQLite:
/// a file in `dir`. PostgreSQL: a fresh database on the server
/// `BECKON_TEST_DATABASE_URL` names, dropped when the returned guard drops.
pub async fn test_database(dir: &Path, backend: Backend) -> (String, Option<PgDatabase>) {
    match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.join("beckon.db").display()),
            None,
        ),
        Backend::Postgres => {
            let db = PgDatabase::create()
                .await
                .expect("BECKON_TEST_DATABASE_URL is set for a PostgreSQL test");
            (db.url().to_owned(), Some(db))
        }
    }
}

/// Whether the test database is a SQLite file (some tests reach into it).
pub fn sqlite_path(cfg: &Config) -> Option<PathBuf> {
    cfg.database_url
        .strip_prefix("sqlite://")
        .map(PathBuf::from)
}

/// Starts an app on `backend` with the default configuration.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts an app on `backend` after `tweak` has adjusted the configuration.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mail_dir = tmp.path().join("mail");
    let (database_url, pg) = test_database(tmp.path(), backend).await;
    let mut cfg = Config::from_vars(&HashMap::new()).expect("default config");
    cfg.database_url = database_url;
    cfg.mailer = format!("file://{}", mail_dir.display());
    cfg.listen = "127.0.0.1:0".parse().expect("address");
    // Many apps run at once: none takes the metrics port.
    cfg.metrics_listen = None;
    tweak(&mut cfg);
    // Starts at the real time so that timestamps look ordinary.
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let mut app = TestApp {
        base: String::new(),
        client: reqwest::Client::new(),
        cfg,
        mail_dir,
        sources: Sources::with_clock(clock.clone()),
        clock,
        _tmp: tmp,
        running: None,
        _pg: pg,
    };
    app.restart().await;
    app
}

impl TestApp {
    /// Starts the server and worker (again, after `stop`) on the same
    /// database and mail folder; the port may change.
    pub async fn restart(&mut self) {
        assert!(self.running.is_none(), "the app is already running");
        let running = server::start(
            &self.cfg,
            ServeOptions {
                signals: false,
                workers: 2,
            },
            &self.sources,
        )
        .await
        .expect("the app starts");
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    /// Stops the server and the worker.
    pub async fn stop(&mut self, graceful: bool) {
        if let Some(running) = self.running.take() {
            running.stop(graceful).await.expect("the app stops cleanly");
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A GET request.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    /// A POST request.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }

    // ---- admin ----------------------------------------------------------

    /// Creates a tenant; returns its id.
    pub async fn tenant(&self, name: &str) -> String {
        self.tenant_in(name, "en").await
    }

    /// Creates a tenant writing in `locale` (`en`, `de`, `fr`); returns its id.
    pub async fn tenant_in(&self, name: &str, locale: &str) -> String {
        let t = admin::create_tenant(&self.cfg, name, locale, &self.sources)
            .await
            .expect("tenant created");
        assert_eq!(t["locale"], locale);
        t["id"].as_str().expect("tenant id").to_owned()
    }

    /// Creates an API key; returns `(id, key)`.
    pub async fn api_key(&self, tenant: &str, role: &str) -> (String, String) {
        let k = admin::create_api_key(&self.cfg, tenant, role, Some("test"), &self.sources)
            .await
            .expect("key created");
        (
            k["id"].as_str().expect("key id").to_owned(),
            k["key"].as_str().expect("key").to_owned(),
        )
    }

    /// A new tenant named `name` and a key of `role` for it.
    pub async fn caller(&self, name: &str, role: &str) -> Caller {
        let tenant = self.tenant(name).await;
        self.caller_in(&tenant, role).await
    }

    /// A key of `role` for an existing tenant.
    pub async fn caller_in(&self, tenant: &str, role: &str) -> Caller {
        let (key_id, key) = self.api_key(tenant, role).await;
        Caller {
            tenant: tenant.to_owned(),
            key_id,
            key,
        }
    }

    /// A new tenant with an admin key.
    pub async fn admin(&self, name: &str) -> Caller {
        self.caller(name, "admin").await
    }

    // ---- API ------------------------------------------------------------

    /// `POST /v1/users` with any JSON body.
    pub async fn post_user(&self, c: &Caller, body: &Value) -> Response {
        self.post("/v1/users")
            .auth(c)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Invites `email`; asserts 201 and returns the user.
    pub async fn invite(&self, c: &Caller, email: &str) -> Value {
        let resp = self.post_user(c, &json!({ "email": email })).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "invite {email}");
        resp.json().await.expect("user json")
    }

    /// Invites `email`; returns the user id.
    pub async fn invite_id(&self, c: &Caller, email: &str) -> String {
        self.invite(c, email).await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// `POST /v1/users/{id}/resend-invite`.
    pub async fn resend(&self, c: &Caller, id: &str) -> Response {
        self.resend_req(c, id).send().await.expect("request")
    }

    /// The resend request, to add headers to.
    pub fn resend_req(&self, c: &Caller, id: &str) -> RequestBuilder {
        self.post(&format!("/v1/users/{id}/resend-invite")).auth(c)
    }

    /// `GET /v1/users/{id}`.
    pub async fn get_user(&self, c: &Caller, id: &str) -> Response {
        self.get(&format!("/v1/users/{id}"))
            .auth(c)
            .send()
            .await
            .expect("request")
    }

    /// `GET /v1/users/{id}`, asserting 200.
    pub async fn user(&self, c: &Caller, id: &str) -> Value {
        let resp = self.get_user(c, id).await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.expect("user json")
    }

    /// `GET /v1/users?{query}`.
    pub async fn list(&self, c: &Caller, query: &str) -> Response {
        self.get(&format!("/v1/users?{query}"))
            .auth(c)
            .send()
            .await
            .expect("request")
    }

    /// `POST /v1/invites/accept`.
    pub async fn accept(&self, token: &str) -> Response {
        self.post("/v1/invites/accept")
            .json(&json!({ "token": token }))
            .send()
            .await
            .expect("request")
    }
}

/// Adds the credential and tenant headers.
pub trait Auth {
    /// `Authorization: Bearer <key>` and `X-Tenant-ID: <tenant>`.
    fn auth(self, c: &Caller) -> Self;
}

impl Auth for RequestBuilder {
    fn auth(self, c: &Caller) -> Self {
        self.bearer_auth(&c.key).header("X-Tenant-ID", &c.tenant)
    }
}

/// A random, well-formed UUID nobody has.
pub fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Sends every request at once and collects the responses in order.
pub async fn send_all(reqs: impl IntoIterator<Item = RequestBuilder>) -> Vec<Response> {
    let tasks: Vec<_> = reqs.into_iter().map(|r| tokio::spawn(r.send())).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("task").expect("request"));
    }
    out
}
