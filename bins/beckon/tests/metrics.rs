//! `GET /metrics` of a real `beckon serve` (CONTRACT §7), read with a real
//! parser: `prometheus_client`'s, from the Python that
//! `BECKON_TEST_SMTP_PYTHON` names (`cargo xtask smtp-venv` installs it).
//! Without that variable the test is skipped with a note, except under CI
//! (`CI` set), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PYTHON_VAR: &str = "BECKON_TEST_SMTP_PYTHON";

/// Reads the text exposition on stdin with `prometheus_client`'s parser and
/// prints every sample as JSON.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"family": family.name, "type": family.type, "name": s.name,
                    "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;

fn python() -> Option<PathBuf> {
    match std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CI").is_some() => {
            panic!("{PYTHON_VAR} is unset under CI: the metrics test must run there")
        }
        None => {
            eprintln!(
                "{PYTHON_VAR} unset: metrics test skipped (run `cargo xtask smtp-venv` and set \
                 {PYTHON_VAR}=$PWD/.venv-smtp/bin/python to run it)"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One sample, as the parser saw it.
#[derive(Debug)]
struct Sample {
    family: String,
    kind: String,
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// Parses `text` with prometheus_client; panics when the parser refuses it.
fn parse(python: &PathBuf, text: &str) -> Vec<Sample> {
    let mut child = Command::new(python)
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    samples
        .into_iter()
        .map(|s| {
            let mut labels: Vec<(String, String)> = s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            labels.sort();
            Sample {
                family: s["family"].as_str().unwrap().to_owned(),
                kind: s["type"].as_str().unwrap().to_owned(),
                name: s["name"].as_str().unwrap().to_owned(),
                labels,
                value: s["value"].as_f64().unwrap(),
            }
        })
        .collect()
}

/// The value of the sample `name` with exactly `labels`, if any.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut want: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_listener_and_count_what_was_sent() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
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
        .env("BECKON_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))
        .env("BECKON_LOG", "warn")
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
    let key = |role: &str| {
        json_out(&["api-key", "create", "--tenant", &tenant, "--role", role])["key"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (admin, viewer) = (key("admin"), key("viewer"));

    let _server = Server(
        cmd(&["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Waits on the metrics listener, so that the API's counters hold only
    // what the test sends.
    while client.get(&metrics_url).send().await.is_err() {
        assert!(Instant::now() < deadline, "serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let auth = |r: reqwest::RequestBuilder, key: &str| {
        r.header("Authorization", format!("Bearer {key}"))
            .header("X-Tenant-ID", &tenant)
    };
    let mut ids = Vec::new();
    for email in ["ada@example.com", "grace@example.com"] {
        let resp = auth(client.post(format!("{base}/v1/users")), &admin)
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let user: Value = resp.json().await.unwrap();
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let resp = auth(client.get(format!("{base}/v1/users/{id}")), &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let denied = auth(client.post(format!("{base}/v1/users")), &viewer)
        .json(&json!({ "email": "eve@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    for path in ["/no/such/route", "/metrics"] {
        let resp = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path} on the API listener");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{path}: {body}");
    }

    // Both emails delivered: then the worker has settled them.
    let delivered = loop {
        let n = std::fs::read_dir(&mail).map_or(0, |d| d.count());
        if n >= 2 {
            break n;
        }
        assert!(Instant::now() < deadline, "emails not delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(delivered, 2);
    // The settle follows the files: scrape until it shows.
    let samples = loop {
        let resp = client.get(&metrics_url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
        let samples = parse(&python, &resp.text().await.unwrap());
        let sent = value(
            &samples,
            "beckon_deliveries_total",
            &[("kind", "email"), ("outcome", "sent")],
        );
        if sent == Some(2.0) {
            break samples;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries not counted: {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let requests = "beckon_http_requests_total";
    for (route, method, status, n) in [
        ("/v1/users", "POST", "201", 2.0),
        ("/v1/users", "POST", "403", 1.0),
        ("/v1/users/{id}", "GET", "200", 2.0),
        ("unmatched", "GET", "404", 2.0),
    ] {
        let got = value(
            &samples,
            requests,
            &[("route", route), ("method", method), ("status", status)],
        );
        assert_eq!(got, Some(n), "{method} {route} {status}");
    }
    // Route templates only: no raw path, no id, no label but the three.
    for s in samples.iter().filter(|s| s.name == requests) {
        let keys: Vec<&str> = s.labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["method", "route", "status"]);
        let route = &s.labels[1].1;
        assert!(route == "unmatched" || route.starts_with('/'), "{route}");
        for id in &ids {
            assert!(!route.contains(id.as_str()), "a raw path: {route}");
        }
        assert!(!route.contains("no/such"), "a raw path: {route}");
    }
    assert!(
        samples
            .iter()
            .all(|s| !s.labels.iter().any(|(_, v)| ids.contains(v)))
    );

    let histogram: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.family == "beckon_http_request_duration_seconds")
        .collect();
    assert!(histogram.iter().all(|s| s.kind == "histogram"));
    let count = value(
        &samples,
        "beckon_http_request_duration_seconds_count",
        &[("route", "/v1/users/{id}")],
    );
    assert_eq!(count, Some(2.0));
    let inf = value(
        &samples,
        "beckon_http_request_duration_seconds_bucket",
        &[("route", "/v1/users/{id}"), ("le", "+Inf")],
    );
    assert_eq!(inf, Some(2.0));

    for (action, decision, n) in [
        ("InviteUser", "allow", 2.0),
        ("InviteUser", "deny", 1.0),
        ("ReadUser", "allow", 2.0),
    ] {
        let got = value(
            &samples,
            "beckon_authz_decisions_total",
            &[("action", action), ("decision", decision)],
        );
        assert_eq!(got, Some(n), "{action} {decision}");
    }
    assert_eq!(
        value(&samples, "beckon_outbox_pending", &[("kind", "email")]),
        Some(0.0)
    );
    // Webhook events are an outbox kind of their own (none here: no
    // tenant has an endpoint).
    assert_eq!(
        value(&samples, "beckon_outbox_pending", &[("kind", "webhook")]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "beckon_outbox_oldest_pending_seconds",
            &[("kind", "email")]
        ),
        Some(0.0)
    );
    for family in [
        "beckon_http_requests",
        "beckon_deliveries",
        "beckon_authz_decisions",
    ] {
        assert!(
            samples
                .iter()
                .any(|s| s.family == family && s.kind == "counter"),
            "{family} is a counter"
        );
    }
    for family in [
        "beckon_outbox_pending",
        "beckon_outbox_oldest_pending_seconds",
    ] {
        assert!(
            samples
                .iter()
                .any(|s| s.family == family && s.kind == "gauge"),
            "{family} is a gauge"
        );
    }
}
