//! 503 `unavailable`: when the database cannot take the write, nothing is
//! changed. Provoked on SQLite by holding its write lock from another
//! process (the `sqlite3` shell) past the store's busy timeout, so this test
//! runs on SQLite only; `tests/outage.rs` is its PostgreSQL counterpart.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, assert_error, json_ok, spawn_app_with, sqlite_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_and_invite_answer_503_and_change_nothing_while_the_database_is_locked() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.resend_cooldown = Duration::ZERO).await;
    let Some(db) = sqlite_path(&app.cfg) else {
        eprintln!("skipped: not a SQLite database");
        return;
    };
    if Command::new("sqlite3").arg("-version").output().is_err() {
        eprintln!("skipped: the sqlite3 shell is not installed");
        return;
    }
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    app.wait_for_emails_to("ada@example.com", 1).await;

    // Take the write lock and keep it: the shell waits for more input.
    let mut shell = Command::new("sqlite3")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sqlite3 starts");
    let mut stdin = shell.stdin.take().expect("stdin");
    stdin.write_all(b"BEGIN IMMEDIATE;\nSELECT 1;\n").unwrap();
    stdin.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let body = json!({ "email": "bob@example.com" });
    let (resend, invite) = tokio::join!(app.resend(&c, &id), app.post_user(&c, &body));
    let resend = assert_error(resend, 503, "unavailable").await;
    assert_error(invite, 503, "unavailable").await;
    assert!(
        !resend.to_string().to_lowercase().contains("locked"),
        "no internals: {resend}"
    );

    drop(stdin);
    let _ = shell.kill();
    let _ = shell.wait();

    let user = app.user(&c, &id).await;
    assert_eq!(user["invite"]["sends"], 1);
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.assert_emails_to("ada@example.com", 1).await;
    app.assert_emails_to("bob@example.com", 0).await;
    // And the service recovers.
    json_ok(app.resend(&c, &id).await, 200).await;
}
