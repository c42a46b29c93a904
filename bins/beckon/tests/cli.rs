//! The command line (CONTRACT §2, §3), through the real binary: admin
//! subcommands print one JSON object; bad input prints one line on stderr,
//! nothing on stdout, exits non-zero and changes nothing; `serve` refuses a
//! bad policy set and stops gracefully on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

/// A scratch folder with its own database and mail folder.
struct Env {
    dir: TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("beckon.db")
    }

    /// `beckon ARGS` with no inherited `BECKON_*` and this folder's database.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_beckon"));
        for (k, _) in std::env::vars() {
            if k.starts_with("BECKON_") {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(self.dir.path())
            .env(
                "BECKON_DATABASE_URL",
                format!("sqlite://{}", self.db().display()),
            )
            .env(
                "BECKON_MAILER",
                format!("file://{}", self.dir.path().join("mail").display()),
            )
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs, asserts success and one JSON object on stdout.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stdout.trim_end().lines().count(), 1, "one line: {stdout}");
        let v: Value = serde_json::from_str(&stdout).expect("JSON on stdout");
        assert!(v.is_object(), "{v}");
        v
    }

    fn tenant(&self, name: &str) -> String {
        self.ok(&["tenant", "create", "--name", name])["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Asserts failure, nothing on stdout and one line on stderr; returns it.
fn fails(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected failure; stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line on stderr: {stderr:?}"
    );
    stderr
}

fn is_uuid(v: &Value) -> bool {
    v.as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .is_some()
}

#[test]
fn migrate_prints_json() {
    let env = Env::new();
    let out = env.ok(&["migrate"]);
    assert_eq!(out["migrated"], true);
    assert!(env.db().exists());
    env.ok(&["migrate"]); // twice is fine
}

#[test]
fn tenant_create_prints_its_id_name_and_locale() {
    let env = Env::new();
    let out = env.ok(&["tenant", "create", "--name", "Acme <b>&co"]);
    assert!(is_uuid(&out["id"]), "{out}");
    assert_eq!(out["name"], "Acme <b>&co");
    assert_eq!(out["locale"], "en", "English unless told");
    assert_eq!(out.as_object().unwrap().len(), 3, "{out}");
    // The command closed the database before it exited: the write-ahead
    // log was copied back and removed.
    assert!(!wal(&env).exists(), "the command left its WAL behind");
}

/// The SQLite write-ahead log beside the database.
fn wal(env: &Env) -> PathBuf {
    let mut path = env.db().into_os_string();
    path.push("-wal");
    PathBuf::from(path)
}

#[test]
fn tenant_create_takes_each_locale() {
    let env = Env::new();
    for locale in ["en", "de", "fr"] {
        let out = env.ok(&["tenant", "create", "--name", "Acme", "--locale", locale]);
        assert!(is_uuid(&out["id"]), "{out}");
        assert_eq!(out["locale"], locale, "{out}");
    }
}

#[test]
fn an_unknown_locale_is_refused_naming_the_ones_there_are() {
    let env = Env::new();
    for bad in ["es", "DE", "de-DE", ""] {
        let line = fails(&env.run(&["tenant", "create", "--name", "Acme", "--locale", bad]));
        assert!(line.contains("--locale"), "{line}");
        assert!(line.contains("en, de or fr"), "{line}");
        assert!(!env.db().exists(), "--locale {bad:?} touched the database");
    }
}

#[test]
fn api_key_create_and_revoke_print_what_the_contract_says() {
    let env = Env::new();
    let tenant = env.tenant("Acme");
    let key = env.ok(&[
        "api-key", "create", "--tenant", &tenant, "--role", "admin", "--name", "ci",
    ]);
    assert!(is_uuid(&key["id"]), "{key}");
    assert_eq!(key["tenant_id"], tenant.as_str());
    assert_eq!(key["role"], "admin");
    assert!(key["key"].as_str().is_some_and(|k| k.len() >= 32), "{key}");
    let upper = env.ok(&[
        "api-key",
        "create",
        "--tenant",
        &tenant.to_uppercase(),
        "--role",
        "support-tier_2",
    ]);
    assert_eq!(
        upper["tenant_id"],
        tenant.as_str(),
        "returned in lower case"
    );
    assert_ne!(upper["key"], key["key"]);

    let id = key["id"].as_str().unwrap();
    let revoked = env.ok(&["api-key", "revoke", "--id", id]);
    assert_eq!(revoked, json!({ "id": id, "revoked": true }));
}

#[test]
fn bad_input_fails_with_one_line_and_creates_nothing() {
    let env = Env::new();
    let missing = uuid::Uuid::new_v4().to_string();
    let long = "x".repeat(201);
    let refused_before_the_database: &[&[&str]] = &[
        &["tenant", "create"],
        &["tenant", "create", "--name", ""],
        &["tenant", "create", "--name", "   "],
        &["tenant", "create", "--name", "Acme\r\nBcc: x"],
        &["tenant", "create", "--name", &long],
        &["tenant", "create", "--name", "Acme", "--locale", "xx"],
        &["tenant", "create", "--name", "Acme", "--locale"],
        &[
            "api-key",
            "create",
            "--tenant",
            "not-a-uuid",
            "--role",
            "admin",
        ],
        &[
            "api-key", "create", "--tenant", &missing, "--role", "bad role",
        ],
        &["api-key", "create", "--tenant", &missing],
        &[
            "api-key", "create", "--tenant", &missing, "--role", "admin", "--name", &long,
        ],
        &["api-key", "revoke", "--id", "not-a-uuid"],
        &["tenant", "delete", "--name", "x"],
    ];
    for args in refused_before_the_database {
        fails(&env.run(args));
        // Not even the database file was created.
        assert!(!env.db().exists(), "{args:?} touched the database");
    }
    let out = env.run(&["api-key", "create", "--tenant", &missing, "--role", "admin"]);
    let line = fails(&out);
    assert!(line.contains("tenant") || line.contains(&missing), "{line}");
    fails(&env.run(&["api-key", "revoke", "--id", &missing]));
}

#[test]
fn policy_check_prints_json_for_the_built_in_policies() {
    let env = Env::new();
    let out = env.ok(&["policy", "check"]);
    assert_eq!(out["valid"], true, "{out}");
}

/// A copy of the built-in policies in `dir`, plus `extra` as another file.
fn policy_dir(dir: &Path, extra: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let dst = dir.join("policies");
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
    std::fs::write(dst.join("extra.cedar"), extra).unwrap();
    dst
}

const INVALID_POLICY: &str = "@id(\"broken\")\npermit (principal, action, resource)\n\
    when { principal.no_such_attribute == \"x\" };\n";

#[test]
fn policy_check_fails_with_the_validators_message_for_an_invalid_policy() {
    let env = Env::new();
    let dir = policy_dir(env.dir.path(), INVALID_POLICY);
    let out = env
        .cmd(&["policy", "check"])
        .env("BECKON_POLICY_DIR", &dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_attribute"), "{stderr}");

    let dir = policy_dir(&env.dir.path().join("syntax"), "permit (principal, action,");
    let out = env
        .cmd(&["policy", "check"])
        .env("BECKON_POLICY_DIR", &dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!out.stderr.is_empty());
    // A valid custom folder passes.
    let dir = policy_dir(&env.dir.path().join("fine"), "");
    let out = env
        .cmd(&["policy", "check"])
        .env("BECKON_POLICY_DIR", &dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_configuration_value_stops_the_process_naming_the_variable() {
    let env = Env::new();
    for (var, value) in [
        ("BECKON_INVITE_TTL", "7x"),
        ("BECKON_RESEND_COOLDOWN", "soon"),
        ("BECKON_RESEND_DAILY_LIMIT", "-1"),
        ("BECKON_LISTEN", "localhost"),
        ("BECKON_LOG_FORMAT", "xml"),
        ("BECKON_METRICS_LISTEN", "nowhere"),
    ] {
        for args in [
            &["migrate"][..],
            &["tenant", "create", "--name", "Acme"][..],
        ] {
            let out = env.cmd(args).env(var, value).output().unwrap();
            let line = fails(&out);
            assert!(line.contains(var), "{var}: {line}");
        }
    }
    assert!(!env.db().exists());
}

/// Waits for a child to exit, up to `timeout`.
fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Kills a child this test started, if it is still running.
fn reap(child: &mut Child) {
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn serve_refuses_to_start_with_an_invalid_policy_set() {
    let env = Env::new();
    let dir = policy_dir(env.dir.path(), INVALID_POLICY);
    let mut child = env
        .cmd(&["serve"])
        .env("BECKON_POLICY_DIR", &dir)
        .env("BECKON_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("BECKON_METRICS_LISTEN", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_for_exit(&mut child, Duration::from_secs(30));
    reap(&mut child);
    let status = status.expect("serve exits on its own");
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("no_such_attribute"), "{stderr}");
}

#[test]
fn serve_refuses_to_start_when_the_metrics_port_is_taken() {
    let env = Env::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics = taken.local_addr().unwrap();
    let mut child = env
        .cmd(&["serve"])
        .env("BECKON_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("BECKON_METRICS_LISTEN", metrics.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_for_exit(&mut child, Duration::from_secs(30));
    reap(&mut child);
    let status = status.expect("serve exits on its own");
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("BECKON_METRICS_LISTEN"), "{stderr}");
    drop(taken);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_with_keys_made_by_the_cli_and_stops_gracefully_on_sigterm() {
    let env = Env::new();
    let tenant = env.tenant("Acme");
    let key = env.ok(&["api-key", "create", "--tenant", &tenant, "--role", "admin"]);
    let key = key["key"].as_str().unwrap().to_owned();
    let port = free_port();
    let mut child = env
        .cmd(&["serve"])
        .env("BECKON_LISTEN", format!("127.0.0.1:{port}"))
        .env("BECKON_METRICS_LISTEN", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let start = Instant::now();
    let up = loop {
        let ok = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok || start.elapsed() > Duration::from_secs(60) {
            break ok;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if !up {
        reap(&mut child);
        panic!("serve did not come up");
    }
    let resp = client
        .post(format!("{base}/v1/users"))
        .bearer_auth(&key)
        .header("X-Tenant-ID", &tenant)
        .json(&json!({ "email": "ada@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_for_exit(&mut child, Duration::from_secs(10));
    reap(&mut child);
    assert!(
        status.expect("serve stops within 10 s").success(),
        "{status:?}"
    );
    assert!(
        !wal(&env).exists(),
        "the stopped server left its WAL behind"
    );
}

/// The newest invite token in `mail`, waiting (up to 30 s) for the
/// server's worker to deliver `count` messages.
async fn token_from_mail(mail: &Path, count: usize) -> String {
    let start = Instant::now();
    loop {
        let mut files: Vec<PathBuf> = std::fs::read_dir(mail)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|x| x == "eml"));
        if files.len() >= count {
            files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
            let text = std::fs::read_to_string(files.last().unwrap()).unwrap();
            let at = text.find("token=").expect("a link with a token") + "token=".len();
            return text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no {count} messages in {}",
            mail.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// CONTRACT §6's happy path through the built binary, as a client sees it:
/// invite → revoke (twice) → the resend answers 409 `invite_revoked` and
/// the emailed link is dead → the audit trail says so → delete → the user
/// answers 404 → the address is invited again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_revokes_audits_erases_and_invites_again_through_the_binary() {
    let env = Env::new();
    let tenant = env.tenant("Acme");
    let key = env.ok(&["api-key", "create", "--tenant", &tenant, "--role", "admin"]);
    let key = key["key"].as_str().unwrap().to_owned();
    let port = free_port();
    let mut child = env
        .cmd(&["serve"])
        .env("BECKON_LISTEN", format!("127.0.0.1:{port}"))
        .env("BECKON_METRICS_LISTEN", "off")
        .env("BECKON_RESEND_COOLDOWN", "0s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let start = Instant::now();
    let up = loop {
        let ok = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok || start.elapsed() > Duration::from_secs(60) {
            break ok;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if !up {
        reap(&mut child);
        panic!("serve did not come up");
    }
    let call = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&key)
            .header("X-Tenant-ID", &tenant)
    };
    let answer = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str::<Value>(&text).unwrap()
        };
        (status, body)
    };
    use reqwest::Method;

    let (status, user) = answer(
        call(Method::POST, "/v1/users")
            .json(&json!({ "email": "ada@example.com", "name": "Ada" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let token = token_from_mail(&env.dir.path().join("mail"), 1).await;
    assert_eq!(token.len(), 43, "{token}");

    let revoke = format!("/v1/users/{id}/revoke-invite");
    for _ in 0..2 {
        let got = answer(call(Method::POST, &revoke).send().await.unwrap()).await;
        assert_eq!(got, (200, json!({ "message": "Invite revoked." })));
    }
    let (status, read) = answer(
        call(Method::GET, &format!("/v1/users/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&read["status"], &read["invite"]),
        (&json!("revoked"), &Value::Null)
    );
    assert!(read["revoked_at"].is_string(), "{read}");

    let resend = format!("/v1/users/{id}/resend-invite");
    let (status, body) = answer(call(Method::POST, &resend).send().await.unwrap()).await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("invite_revoked")),
        "{body}"
    );
    let (status, body) = answer(
        client
            .post(format!("{base}/v1/invites/accept"))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("invalid_token")),
        "{body}"
    );

    let (status, page) = answer(
        call(Method::GET, &format!("/v1/audit?user_id={id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let trail: Vec<(&str, &str)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        [
            ("AcceptInvite", "invite_revoked"),
            ("ResendInvite", "invite_revoked"),
            ("RevokeInvite", "succeeded"),
            ("RevokeInvite", "succeeded"),
            ("InviteUser", "succeeded"),
        ],
        "{page}"
    );

    let got = answer(
        call(Method::DELETE, &format!("/v1/users/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got, (204, Value::Null));
    for (method, path) in [
        (Method::GET, format!("/v1/users/{id}")),
        (Method::DELETE, format!("/v1/users/{id}")),
        (Method::POST, revoke.clone()),
        (Method::POST, resend.clone()),
    ] {
        let (status, body) = answer(call(method.clone(), &path).send().await.unwrap()).await;
        assert_eq!(
            (status, &body["code"]),
            (404, &json!("not_found")),
            "{method} {path}: {body}"
        );
    }

    let (status, again) = answer(
        call(Method::POST, "/v1/users")
            .json(&json!({ "email": "ada@example.com" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{again}");
    assert_ne!(again["id"], id.as_str());
    assert_eq!(
        (&again["status"], &again["invite"]["sends"]),
        (&json!("invited"), &json!(1))
    );

    reap(&mut child);
}
