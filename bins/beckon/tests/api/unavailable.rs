//! 503 `unavailable`: when the database cannot take the write, nothing is
//! changed. Provoked on SQLite by holding its write lock from another
//! connection (as another process would) past the store's busy timeout, so
//! this test runs on SQLite only; `tests/outage.rs` is its PostgreSQL
//! counterpart.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

use serde_json::json;

use crate::helpers::{Backend, assert_error, json_ok, spawn_app_with, sqlite_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_and_invite_answer_503_and_change_nothing_while_the_database_is_locked() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.resend_cooldown = Duration::ZERO).await;
    let Some(db) = sqlite_path(&app.cfg) else {
        eprintln!("skipped: not a SQLite database");
        return;
    };
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    app.wait_for_emails_to("ada@example.com", 1).await;

    // Take the write lock and keep it: the statement returns once it holds.
    let mut holder = SqliteConnection::establish(db.to_str().unwrap()).unwrap();
    holder.batch_execute("BEGIN IMMEDIATE").unwrap();

    let body = json!({ "email": "bob@example.com" });
    let (resend, invite) = tokio::join!(app.resend(&c, &id), app.post_user(&c, &body));
    let resend = assert_error(resend, 503, "unavailable").await;
    assert_error(invite, 503, "unavailable").await;
    assert!(
        !resend.to_string().to_lowercase().contains("locked"),
        "no internals: {resend}"
    );

    holder.batch_execute("ROLLBACK").unwrap();
    drop(holder);

    let user = app.user(&c, &id).await;
    assert_eq!(user["invite"]["sends"], 1);
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.assert_emails_to("ada@example.com", 1).await;
    app.assert_emails_to("bob@example.com", 0).await;
    // And the service recovers.
    json_ok(app.resend(&c, &id).await, 200).await;
}
