//! The invitee's side: `POST /v1/invites/accept` (JSON) and the `/invite`
//! page (HTML) behind the email link.

use std::time::Duration;

use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, assert_error, json_ok, on_both_backends, send_all, spawn_app, spawn_app_with,
};

on_both_backends!(accepting_answers_200_and_makes_the_user_active);
async fn accepting_answers_200_and_makes_the_user_active(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let (id, token) = app.invite_with_token(&c, "ada@example.com").await;

    let body = json_ok(app.accept(&token).await, 200).await;
    assert_eq!(
        body,
        json!({ "message": "Invite accepted.", "user_id": id })
    );
    let user = app.user(&c, &id).await;
    assert_eq!(user["status"], "active");
    assert_eq!(user["invite"], Value::Null);
    let verified = user["verified_at"].as_str().expect("verified_at set");
    assert!(verified.ends_with('Z'));
    assert!(chrono::DateTime::parse_from_rfc3339(verified).is_ok());
}

on_both_backends!(a_token_works_only_once);
async fn a_token_works_only_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let (_, token) = app.invite_with_token(&c, "ada@example.com").await;
    json_ok(app.accept(&token).await, 200).await;
    assert_error(app.accept(&token).await, 400, "invalid_token").await;
}

on_both_backends!(of_simultaneous_accepts_of_one_token_exactly_one_succeeds);
async fn of_simultaneous_accepts_of_one_token_exactly_one_succeeds(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let (_, token) = app.invite_with_token(&c, "ada@example.com").await;
    let reqs = (0..8).map(|_| {
        app.post("/v1/invites/accept")
            .json(&json!({ "token": token }))
    });
    let mut ok = 0;
    for resp in send_all(reqs).await {
        if resp.status() == 200 {
            ok += 1;
        } else {
            assert_error(resp, 400, "invalid_token").await;
        }
    }
    assert_eq!(ok, 1);
}

on_both_backends!(a_replaced_token_is_refused_by_the_page_too);
async fn a_replaced_token_is_refused_by_the_page_too(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let (id, old) = app.invite_with_token(&c, "ada@example.com").await;
    json_ok(app.resend(&c, &id).await, 200).await;
    let new = app
        .new_token("ada@example.com", 2, std::slice::from_ref(&old))
        .await;
    html(
        app.get(&format!("/invite?token={old}"))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    html(
        app.get(&format!("/invite?token={new}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
}

on_both_backends!(garbage_tokens_answer_400_invalid_token);
async fn garbage_tokens_answer_400_invalid_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let long = "A".repeat(43);
    for token in [
        "garbage",
        "",
        long.as_str(),
        "../../etc/passwd",
        "' OR 1=1 --",
    ] {
        assert_error(app.accept(token).await, 400, "invalid_token").await;
    }
}

on_both_backends!(bad_accept_bodies_answer_400_415_and_413);
async fn bad_accept_bodies_answer_400_415_and_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let post = || app.post("/v1/invites/accept");
    let json = |b: &'static str| post().header("Content-Type", "application/json").body(b);
    for raw in [
        "{",
        "",
        "{}",
        "{\"token\": 5}",
        "{\"token\": \"x\", \"extra\": 1}",
    ] {
        let err = assert_error(json(raw).send().await.unwrap(), 400, "invalid_request").await;
        assert_eq!(err["details"]["field"], "body", "{raw:?}");
    }
    let plain = post()
        .header("Content-Type", "text/plain")
        .body("{\"token\":\"x\"}");
    assert_error(plain.send().await.unwrap(), 415, "unsupported_media_type").await;
    let huge = json!({ "token": "x".repeat(17 * 1024) });
    assert_error(
        post().json(&huge).send().await.unwrap(),
        413,
        "payload_too_large",
    )
    .await;
}

async fn html(resp: Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = resp.text().await.unwrap();
    assert!(!page.contains("src="), "no external assets: {page}");
    assert!(!page.contains("href=\"http"), "no external links: {page}");
    assert!(!page.contains("<script"), "no scripts");
    page
}

on_both_backends!(the_invite_page_names_the_tenant_escaped_and_offers_the_button_without_accepting);
async fn the_invite_page_names_the_tenant_escaped_and_offers_the_button_without_accepting(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme <b>&co").await;
    let (id, token) = app.invite_with_token(&c, "ada@example.com").await;

    for _ in 0..2 {
        let resp = app
            .get(&format!("/invite?token={token}"))
            .send()
            .await
            .unwrap();
        let page = html(resp, 200).await;
        assert!(page.contains("Acme &lt;b&gt;&amp;co"), "{page}");
        assert!(!page.contains("<b>"), "{page}");
        assert!(page.contains("action=\"/invite\""), "{page}");
        assert!(page.to_lowercase().contains("method=\"post\""), "{page}");
        assert!(page.contains("name=\"token\""), "{page}");
        assert!(page.contains("Accept invitation"), "{page}");
    }
    // Mail scanners open links: opening it changed nothing.
    let user = app.user(&c, &id).await;
    assert_eq!(user["status"], "invited");
    assert_eq!(user["invite"]["sends"], 1);
    json_ok(app.accept(&token).await, 200).await;
}

on_both_backends!(the_invite_form_accepts_and_says_so_in_html);
async fn the_invite_form_accepts_and_says_so_in_html(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let (id, token) = app.invite_with_token(&c, "ada@example.com").await;

    let form = app.post("/invite").form(&[("token", token.as_str())]);
    let page = html(form.send().await.unwrap(), 200).await;
    assert!(page.to_lowercase().contains("accepted"), "{page}");
    assert_eq!(app.user(&c, &id).await["status"], "active");

    // Sent again (a double click): the token is used up; a page, not JSON.
    let again = app.post("/invite").form(&[("token", token.as_str())]);
    let page = html(again.send().await.unwrap(), 400).await;
    assert!(!page.to_lowercase().contains("accepted"), "{page}");
    assert_error(app.accept(&token).await, 400, "invalid_token").await;
}

on_both_backends!(the_invite_page_answers_400_in_html_for_an_invalid_token);
async fn the_invite_page_answers_400_in_html_for_an_invalid_token(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/invite?token=garbage", "/invite", "/invite?token="] {
        let page = html(app.get(path).send().await.unwrap(), 400).await;
        assert!(!page.contains("Accept invitation"), "{page}");
    }
    let form = app.post("/invite").form(&[("token", "garbage")]);
    html(form.send().await.unwrap(), 400).await;
    let empty = app.post("/invite").form(&[("other", "x")]);
    html(empty.send().await.unwrap(), 400).await;
}

on_both_backends!(an_expired_invite_answers_410_on_the_page_the_form_and_the_api);
async fn an_expired_invite_answers_410_on_the_page_the_form_and_the_api(backend: Backend) {
    let app = spawn_app(backend).await; // tokens live 7 days
    let c = app.admin("Acme").await;
    let (id, token) = app.invite_with_token(&c, "ada@example.com").await;
    // A moment before the end the page still offers the invite…
    app.clock
        .advance(Duration::from_secs(7 * 86_400) - Duration::from_micros(1));
    let page = html(
        app.get(&format!("/invite?token={token}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(page.contains("Accept invitation"), "{page}");
    // …and at the end every way in refuses it.
    app.clock.advance(Duration::from_micros(1));

    let page = html(
        app.get(&format!("/invite?token={token}"))
            .send()
            .await
            .unwrap(),
        410,
    )
    .await;
    assert!(page.to_lowercase().contains("expired"), "{page}");
    let form = app.post("/invite").form(&[("token", token.as_str())]);
    let page = html(form.send().await.unwrap(), 410).await;
    assert!(page.to_lowercase().contains("expired"), "{page}");
    assert_error(app.accept(&token).await, 410, "invite_expired").await;
    assert_eq!(app.user(&c, &id).await["status"], "invited");
}
