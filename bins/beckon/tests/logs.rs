//! The logs of a real `beckon serve` never contain an email address, an
//! invite token or an API key — at `debug`, with every crate's debug lines,
//! as text and as JSON (`BECKON_LOG_FORMAT=json`: every line one object,
//! the request line carrying the caller's request id).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What one run of the flow logged, and what must not be in it.
struct Logged {
    /// Everything `serve` wrote to stderr.
    stderr: String,
    /// `(what, text)` pairs that must appear nowhere.
    secrets: Vec<(&'static str, String)>,
}

/// The request id the resend is sent with.
const RESEND_REQUEST_ID: &str = "resend 42/x";

/// Runs `beckon serve` with `BECKON_LOG=debug` and the given log format
/// through an invite, a resend, the page, an accept and a failed
/// authentication, stops it and answers what it logged.
async fn run_flow(format: &str) -> Logged {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mail = dir.path().join("mail");
    let cmd = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_beckon"));
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("BECKON_")) {
            c.env_remove(k);
        }
        c.env(
            "BECKON_DATABASE_URL",
            format!("sqlite://{}/b.db", dir.path().display()),
        )
        .env("BECKON_MAILER", format!("file://{}", mail.display()))
        .env("BECKON_LISTEN", format!("127.0.0.1:{port}"))
        .env("BECKON_METRICS_LISTEN", "off")
        .env("BECKON_RESEND_COOLDOWN", "0s")
        .env("BECKON_LOG", "debug")
        .env("BECKON_LOG_FORMAT", format)
        .args(args);
        c
    };
    let json_out = |args: &[&str]| -> Value {
        let out = cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let tenant = json_out(&["tenant", "create", "--name", "Acme"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = json_out(&["api-key", "create", "--tenant", &tenant, "--role", "admin"])["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut server = cmd(&["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let email = "grace.hopper@example.com";
    let auth = |r: reqwest::RequestBuilder| {
        r.header("Authorization", format!("Bearer {key}"))
            .header("X-Tenant-ID", &tenant)
    };
    let user: Value = auth(client.post(format!("{base}/v1/users")))
        .json(&json!({ "email": email, "name": "Grace Hopper" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = user["id"].as_str().unwrap();
    let resent = auth(client.post(format!("{base}/v1/users/{id}/resend-invite")))
        .header("X-Request-ID", RESEND_REQUEST_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), 200);

    // Wait for both emails, then take the live token from the newest one.
    let token = loop {
        let mut files: Vec<_> = std::fs::read_dir(&mail)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        if files.len() >= 2 {
            // Named by outbox id, a UUIDv7: the latest send sorts last. (Not
            // by mtime: the worker writes a batch's files concurrently.)
            files.sort();
            let text = std::fs::read_to_string(files.last().unwrap()).unwrap();
            let at = text.find("token=").unwrap() + "token=".len();
            break text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<String>();
        }
        assert!(Instant::now() < deadline, "emails not delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The page (token in the query string), then the form and the JSON accept.
    let page = client
        .get(format!("{base}/invite?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let accepted = client
        .post(format!("{base}/v1/invites/accept"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    // A wrong key and a used token, so failure paths log too.
    let denied = client
        .get(format!("{base}/v1/users"))
        .header("Authorization", format!("Bearer {key}x"))
        .header("X-Tenant-ID", &tenant)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);

    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let _ = server.wait();
        let mut s = String::new();
        std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut s).unwrap();
        s
    })
    .await
    .unwrap();

    // `bk_<id>_<secret>`: the secret may itself hold `_`, so split twice
    // from the left.
    let secret_part = key.splitn(3, '_').nth(2).unwrap_or(&key).to_owned();
    assert!(secret_part.len() >= 40, "{secret_part}");
    Logged {
        stderr: out,
        secrets: vec![
            ("the email address", email.to_owned()),
            ("the local part", "grace.hopper".to_owned()),
            ("the token", token),
            ("the API key", key.clone()),
            ("the key's secret part", secret_part),
        ],
    }
}

fn assert_no_secrets(logged: &Logged) {
    for (what, needle) in &logged.secrets {
        assert!(!needle.is_empty());
        assert!(
            !logged.stderr.contains(needle.as_str()),
            "the logs contain {what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_at_debug_contain_no_address_token_or_key() {
    let logged = run_flow("text").await;
    assert!(
        logged.stderr.contains("invite resent"),
        "the logs are captured: {}",
        logged.stderr
    );
    assert_no_secrets(&logged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_with_the_request_id_and_no_secret() {
    let logged = run_flow("json").await;
    assert_no_secrets(&logged);
    let lines: Vec<Value> = logged
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(lines.len() > 5, "{}", logged.stderr);
    for line in &lines {
        let obj = line
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {line}"));
        for field in ["timestamp", "level", "target", "message"] {
            assert!(obj.contains_key(field), "no {field}: {line}");
        }
    }
    assert!(lines.iter().any(|l| l["message"] == "invite resent"));
    // The resend's request line: method, route template, status, latency,
    // in the span that carries the id the caller sent.
    let request = lines
        .iter()
        .find(|l| l["message"] == "request" && l["span"]["request_id"] == RESEND_REQUEST_ID)
        .unwrap_or_else(|| panic!("no request line for the resend: {}", logged.stderr));
    assert_eq!(request["method"], "POST");
    assert_eq!(request["route"], "/v1/users/{id}/resend-invite");
    assert_eq!(request["status"], 200);
    assert!(
        request["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{request}"
    );
    // The use case's own line is inside the same request's span.
    let in_request = |l: &Value| {
        l["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|s| s["request_id"] == RESEND_REQUEST_ID))
    };
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "invite resent" && in_request(l)),
        "{}",
        logged.stderr
    );
}
