//! The logs of a real `beckon serve` never contain an email address, an
//! invite token or an API key — at `debug`, with every crate's debug lines.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_at_debug_contain_no_address_token_or_key() {
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

    assert!(
        out.contains("invite resent"),
        "the logs are captured: {out}"
    );
    let secret_part = key.rsplit_once('_').map_or(key.as_str(), |(_, s)| s);
    for (what, needle) in [
        ("the email address", email),
        ("the local part", "grace.hopper"),
        ("the token", token.as_str()),
        ("the API key", key.as_str()),
        ("the key's secret part", secret_part),
    ] {
        assert!(!needle.is_empty());
        assert!(!out.contains(needle), "the logs contain {what}");
    }
}
