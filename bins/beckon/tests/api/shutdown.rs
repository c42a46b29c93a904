//! Stopping the app loses nothing: an email queued before a graceful stop
//! is delivered, if not before the stop then by the next start.

use std::time::Duration;

use crate::helpers::{Backend, json_ok, on_both_backends, spawn_app_with};

on_both_backends!(emails_queued_before_a_graceful_stop_are_delivered_after_a_restart);
async fn emails_queued_before_a_graceful_stop_are_delivered_after_a_restart(backend: Backend) {
    let mut app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.invite_id(&c, &format!("u{i}@example.com")).await);
    }
    json_ok(app.resend(&c, &ids[0]).await, 200).await;
    app.stop(true).await;
    let before = app.emails().len();
    assert!(before <= 6);

    app.restart().await;
    app.assert_emails_to("u0@example.com", 2).await;
    for i in 1..5 {
        app.assert_emails_to(&format!("u{i}@example.com"), 1).await;
    }
    // The restarted app serves the same data.
    assert_eq!(app.user(&c, &ids[0]).await["invite"]["sends"], 2);
}

on_both_backends!(a_request_answered_before_an_abrupt_stop_still_delivers_its_email);
async fn a_request_answered_before_an_abrupt_stop_still_delivers_its_email(backend: Backend) {
    let mut app = spawn_app_with(backend, |_| {}).await;
    let c = app.admin("Acme").await;
    app.invite_id(&c, "ada@example.com").await;
    app.stop(false).await;
    app.restart().await;
    app.assert_emails_to("ada@example.com", 1).await;
}
