//! `Idempotency-Key` on resend and invite: replays, concurrency, reuse for
//! another request, failures not recorded, invalid keys.

use std::time::Duration;

use reqwest::header::HeaderValue;
use serde_json::json;

use crate::helpers::{
    Auth, Backend, TestApp, assert_error, field, json_ok, on_both_backends, random_id, send_all,
    spawn_app, spawn_app_with,
};

/// The default cooldown, which the invite itself starts.
const COOLDOWN: Duration = Duration::from_secs(60);

/// Moves the app's clock to the end of the invite's cooldown.
fn after_cooldown(app: &TestApp) {
    app.clock.advance(COOLDOWN);
}

on_both_backends!(a_repeated_key_replays_200_inside_the_cooldown_and_sends_nothing_more);
async fn a_repeated_key_replays_200_inside_the_cooldown_and_sends_nothing_more(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    after_cooldown(&app);

    let first = app.resend_req(&c, &id).header("Idempotency-Key", "k-1");
    let first = json_ok(first.send().await.unwrap(), 200).await;
    // The first resend started a new cooldown: without the key this is 429.
    assert_error(app.resend(&c, &id).await, 429, "rate_limited").await;
    let again = app.resend_req(&c, &id).header("Idempotency-Key", "k-1");
    let again = json_ok(again.send().await.unwrap(), 200).await;
    assert_eq!(first, again);
    assert_eq!(again, json!({ "message": "Invite resent." }));
    app.assert_emails_to("ada@example.com", 2).await;
    assert_eq!(app.user(&c, &id).await["invite"]["sends"], 2);
}

on_both_backends!(simultaneous_requests_with_one_key_all_answer_200_and_send_one_email);
async fn simultaneous_requests_with_one_key_all_answer_200_and_send_one_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    after_cooldown(&app);

    let reqs = (0..8).map(|_| app.resend_req(&c, &id).header("Idempotency-Key", "same"));
    for resp in send_all(reqs).await {
        let body = json_ok(resp, 200).await;
        assert_eq!(body, json!({ "message": "Invite resent." }));
    }
    app.assert_emails_to("ada@example.com", 2).await;
    assert_eq!(app.user(&c, &id).await["invite"]["sends"], 2);
}

on_both_backends!(a_key_reused_for_another_users_resend_answers_422);
async fn a_key_reused_for_another_users_resend_answers_422(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let ada = app.invite_id(&c, "ada@example.com").await;
    let bob = app.invite_id(&c, "bob@example.com").await;

    let r = app.resend_req(&c, &ada).header("Idempotency-Key", "k");
    json_ok(r.send().await.unwrap(), 200).await;
    let r = app.resend_req(&c, &bob).header("Idempotency-Key", "k");
    assert_error(r.send().await.unwrap(), 422, "idempotency_key_reused").await;
    app.assert_emails_to("bob@example.com", 1).await;
}

on_both_backends!(a_key_used_for_a_resend_answers_422_when_reused_to_invite);
async fn a_key_used_for_a_resend_answers_422_when_reused_to_invite(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let ada = app.invite_id(&c, "ada@example.com").await;
    let r = app.resend_req(&c, &ada).header("Idempotency-Key", "k");
    json_ok(r.send().await.unwrap(), 200).await;
    let r = app
        .post("/v1/users")
        .auth(&c)
        .header("Idempotency-Key", "k");
    let r = r
        .json(&json!({ "email": "bob@example.com" }))
        .send()
        .await
        .unwrap();
    assert_error(r, 422, "idempotency_key_reused").await;
    app.assert_emails_to("bob@example.com", 0).await;
}

on_both_backends!(a_replay_returns_the_first_success_even_after_the_user_accepted);
async fn a_replay_returns_the_first_success_even_after_the_user_accepted(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let (id, first) = app.invite_with_token(&c, "ada@example.com").await;
    let r = app.resend_req(&c, &id).header("Idempotency-Key", "k");
    json_ok(r.send().await.unwrap(), 200).await;
    let token = app.new_token("ada@example.com", 2, &[first]).await;
    json_ok(app.accept(&token).await, 200).await;

    let r = app.resend_req(&c, &id).header("Idempotency-Key", "k");
    let body = json_ok(r.send().await.unwrap(), 200).await;
    assert_eq!(body, json!({ "message": "Invite resent." }));
    assert_error(app.resend(&c, &id).await, 409, "already_verified").await;
    app.assert_emails_to("ada@example.com", 2).await;
}

on_both_backends!(a_key_is_scoped_to_its_tenant);
async fn a_key_is_scoped_to_its_tenant(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let a = app.admin("A").await;
    let b = app.admin("B").await;
    let ada = app.invite_id(&a, "ada@example.com").await;
    let bob = app.invite_id(&b, "bob@example.com").await;

    let r = app.resend_req(&a, &ada).header("Idempotency-Key", "shared");
    json_ok(r.send().await.unwrap(), 200).await;
    let r = app.resend_req(&b, &bob).header("Idempotency-Key", "shared");
    json_ok(r.send().await.unwrap(), 200).await;
    app.assert_emails_to("bob@example.com", 2).await;
}

on_both_backends!(inviting_twice_with_one_key_and_body_answers_the_same_201_and_creates_one_user);
async fn inviting_twice_with_one_key_and_body_answers_the_same_201_and_creates_one_user(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let body = json!({ "email": "ada@example.com", "name": "Ada" });
    let invite = || {
        app.post("/v1/users")
            .auth(&c)
            .header("Idempotency-Key", "inv-1")
            .json(&body)
    };

    let first = json_ok(invite().send().await.unwrap(), 201).await;
    let second = json_ok(invite().send().await.unwrap(), 201).await;
    assert_eq!(first, second);
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.assert_emails_to("ada@example.com", 1).await;
}

on_both_backends!(simultaneous_invites_with_one_key_create_one_user);
async fn simultaneous_invites_with_one_key_create_one_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let body = json!({ "email": "ada@example.com" });
    let reqs = (0..8).map(|_| {
        app.post("/v1/users")
            .auth(&c)
            .header("Idempotency-Key", "i")
            .json(&body)
    });
    let mut bodies = Vec::new();
    for resp in send_all(reqs).await {
        bodies.push(json_ok(resp, 201).await);
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.assert_emails_to("ada@example.com", 1).await;
}

on_both_backends!(an_invite_key_reused_with_a_different_body_answers_422);
async fn an_invite_key_reused_with_a_different_body_answers_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let send = |body: serde_json::Value| {
        app.post("/v1/users")
            .auth(&c)
            .header("Idempotency-Key", "inv")
            .json(&body)
            .send()
    };
    json_ok(
        send(json!({ "email": "ada@example.com" })).await.unwrap(),
        201,
    )
    .await;
    let other = send(json!({ "email": "bob@example.com" })).await.unwrap();
    assert_error(other, 422, "idempotency_key_reused").await;
    let renamed = send(json!({ "email": "ada@example.com", "name": "Ada" }))
        .await
        .unwrap();
    assert_error(renamed, 422, "idempotency_key_reused").await;
    app.assert_emails_to("bob@example.com", 0).await;
}

on_both_backends!(a_failed_request_is_not_recorded_so_its_key_can_be_used_again);
async fn a_failed_request_is_not_recorded_so_its_key_can_be_used_again(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;

    let missing = app
        .resend_req(&c, &random_id())
        .header("Idempotency-Key", "retry-me");
    assert_error(missing.send().await.unwrap(), 404, "not_found").await;
    let real = app
        .resend_req(&c, &id)
        .header("Idempotency-Key", "retry-me");
    json_ok(real.send().await.unwrap(), 200).await;
    app.assert_emails_to("ada@example.com", 2).await;
}

on_both_backends!(a_rate_limited_request_is_not_recorded_and_its_retry_runs_again);
async fn a_rate_limited_request_is_not_recorded_and_its_retry_runs_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;

    let early = app.resend_req(&c, &id).header("Idempotency-Key", "later");
    assert_error(early.send().await.unwrap(), 429, "rate_limited").await;
    after_cooldown(&app);
    let retry = app.resend_req(&c, &id).header("Idempotency-Key", "later");
    json_ok(retry.send().await.unwrap(), 200).await;
    app.assert_emails_to("ada@example.com", 2).await;
}

on_both_backends!(invalid_idempotency_keys_answer_400_naming_the_header);
async fn invalid_idempotency_keys_answer_400_naming_the_header(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    let bad = [
        HeaderValue::from_static(""),
        HeaderValue::from_str(&"k".repeat(256)).unwrap(),
        HeaderValue::from_bytes("clé".as_bytes()).unwrap(),
        HeaderValue::from_static("tab\there"),
    ];
    for key in bad {
        let r = app
            .resend_req(&c, &id)
            .header("Idempotency-Key", key.clone());
        let body = assert_error(r.send().await.unwrap(), 400, "invalid_request").await;
        assert_eq!(field(&body), "Idempotency-Key", "{key:?}");
        let r = app
            .post("/v1/users")
            .auth(&c)
            .header("Idempotency-Key", key.clone());
        let r = r
            .json(&json!({ "email": "new@example.com" }))
            .send()
            .await
            .unwrap();
        let body = assert_error(r, 400, "invalid_request").await;
        assert_eq!(field(&body), "Idempotency-Key", "{key:?}");
    }
    // 255 printable characters are fine.
    let r = app
        .resend_req(&c, &id)
        .header("Idempotency-Key", "k".repeat(255));
    json_ok(r.send().await.unwrap(), 200).await;
    app.assert_emails_to("new@example.com", 0).await;
}
