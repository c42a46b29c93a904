//! The lifecycle of CONTRACT §6 through the real app: revoking an invite,
//! erasing a user, the delivery state of the latest send and the audit
//! trail (accepts included).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    Auth, Backend, Caller, TestApp, assert_error, json_ok, on_both_backends, random_id, spawn_app,
    spawn_app_with,
};

async fn revoke(app: &TestApp, c: &Caller, id: &str) -> reqwest::Response {
    app.post(&format!("/v1/users/{id}/revoke-invite"))
        .auth(c)
        .send()
        .await
        .expect("request")
}

async fn delete(app: &TestApp, c: &Caller, id: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/v1/users/{id}")))
        .auth(c)
        .send()
        .await
        .expect("request")
}

async fn audit(app: &TestApp, c: &Caller, query: &str) -> reqwest::Response {
    app.get(&format!("/v1/audit?{query}"))
        .auth(c)
        .send()
        .await
        .expect("request")
}

/// `(action, outcome)` of every entry about `user`, newest first.
async fn trail(app: &TestApp, c: &Caller, user: &str) -> Vec<(String, String)> {
    let page = json_ok(
        audit(app, c, &format!("user_id={user}&limit=200")).await,
        200,
    )
    .await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["outcome"].as_str().expect("outcome").to_owned(),
            )
        })
        .collect()
}

fn pair(action: &str, outcome: &str) -> (String, String) {
    (action.to_owned(), outcome.to_owned())
}

on_both_backends!(a_revoked_invite_is_dead_everywhere_and_revoking_again_changes_nothing);
async fn a_revoked_invite_is_dead_everywhere_and_revoking_again_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let (id, token) = app.invite_with_token(&c, "ada@example.com").await;

    let body = json_ok(revoke(&app, &c, &id).await, 200).await;
    assert_eq!(body, json!({ "message": "Invite revoked." }));
    let user = app.user(&c, &id).await;
    assert_eq!(user["status"], "revoked");
    assert_eq!(user["invite"], Value::Null);
    let revoked_at = user["revoked_at"].as_str().expect("revoked_at").to_owned();
    assert!(chrono::DateTime::parse_from_rfc3339(&revoked_at).is_ok());

    // Again: 200, and nothing moves.
    app.clock.advance(Duration::from_secs(30));
    json_ok(revoke(&app, &c, &id).await, 200).await;
    assert_eq!(app.user(&c, &id).await["revoked_at"], revoked_at.as_str());

    // The token is dead for the API, and the page says why.
    assert_error(app.accept(&token).await, 400, "invalid_token").await;
    for resp in [
        app.get(&format!("/invite?token={token}"))
            .send()
            .await
            .unwrap(),
        app.post("/invite")
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(resp.status(), 400);
        let html = resp.text().await.unwrap();
        assert!(html.contains("withdrawn"), "{html}");
        assert!(!html.contains("Accept invitation"), "{html}");
    }
    // A resend is refused: the invite is withdrawn for good.
    app.clock.advance(Duration::from_secs(3600));
    let refused = assert_error(app.resend(&c, &id).await, 409, "invite_revoked").await;
    assert!(refused["message"].as_str().unwrap().contains("revoked"));
    assert_eq!(app.user(&c, &id).await["status"], "revoked");

    // `status=revoked` lists it, `invited` no longer does.
    let listed = json_ok(app.list(&c, "status=revoked").await, 200).await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let invited = json_ok(app.list(&c, "status=invited").await, 200).await;
    assert_eq!(invited["items"], json!([]));

    assert_eq!(
        trail(&app, &c, &id).await,
        [
            pair("ResendInvite", "invite_revoked"),
            pair("AcceptInvite", "invite_revoked"),
            pair("AcceptInvite", "invite_revoked"),
            pair("RevokeInvite", "succeeded"),
            pair("RevokeInvite", "succeeded"),
            pair("InviteUser", "succeeded"),
        ]
    );
}

on_both_backends!(revoke_refuses_an_active_user_a_missing_one_and_a_viewer);
async fn revoke_refuses_an_active_user_a_missing_one_and_a_viewer(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let (id, token) = app.invite_with_token(&c, "ada@example.com").await;
    let viewer = app.caller_in(&c.tenant, "viewer").await;
    for target in [id.as_str(), &random_id()] {
        let denied = assert_error(revoke(&app, &viewer, target).await, 403, "forbidden").await;
        assert_eq!(
            denied["notices"],
            json!(["The viewer role may only read users."])
        );
    }
    assert_error(revoke(&app, &c, &random_id()).await, 404, "not_found").await;
    assert_error(revoke(&app, &c, "not-a-uuid").await, 400, "invalid_request").await;
    json_ok(app.accept(&token).await, 200).await;
    assert_error(revoke(&app, &c, &id).await, 409, "already_verified").await;
    assert_eq!(app.user(&c, &id).await["status"], "active");
}

on_both_backends!(an_email_queued_before_a_revoke_is_never_sent);
async fn an_email_queued_before_a_revoke_is_never_sent(backend: Backend) {
    // Delivery is blocked: the mail server does not answer (nothing listens
    // on port 1), so both invites stay queued.
    let mut app = spawn_app_with(backend, |cfg| {
        cfg.mailer = "smtp://127.0.0.1:1".to_owned();
    })
    .await;
    let c = app.admin("Acme").await;
    let ada = app.invite_id(&c, "ada@example.com").await;
    let bob = app.invite_id(&c, "bob@example.com").await;
    assert_eq!(app.user(&c, &ada).await["invite"]["delivery"], "queued");
    json_ok(revoke(&app, &c, &ada).await, 200).await;

    // Delivery works again: Bob's email goes out, Ada's never does.
    app.stop(true).await;
    app.cfg.mailer = format!("file://{}", app.mail_dir.display());
    app.restart().await;
    // An attempt the worker made while the server was unreachable put the
    // message off (at most the longest backoff): make it due again.
    app.clock.advance(Duration::from_secs(3601));
    app.assert_emails_to("bob@example.com", 1).await;
    app.assert_emails_to("ada@example.com", 0).await;
    let mut delivery = Value::Null;
    for _ in 0..100 {
        delivery = app.user(&c, &bob).await["invite"]["delivery"].clone();
        if delivery == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivery, "sent", "the delivered invite reads as sent");
}

on_both_backends!(an_erased_user_is_gone_everywhere_and_the_address_can_be_invited_again);
async fn an_erased_user_is_gone_everywhere_and_the_address_can_be_invited_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let (id, token) = app.invite_with_token(&c, "ada@example.com").await;

    let resp = delete(&app, &c, &id).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.text().await.unwrap(), "");
    assert_error(app.get_user(&c, &id).await, 404, "not_found").await;
    assert_error(delete(&app, &c, &id).await, 404, "not_found").await;
    assert_error(revoke(&app, &c, &id).await, 404, "not_found").await;
    app.clock.advance(Duration::from_secs(3600));
    assert_error(app.resend(&c, &id).await, 404, "not_found").await;
    assert_error(app.accept(&token).await, 400, "invalid_token").await;
    let listed = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(listed["items"], json!([]));

    // The same address again: a new user, a new first send.
    let again = app.invite(&c, "ADA@example.com").await;
    assert_ne!(again["id"], id.as_str());
    assert_eq!(again["invite"]["sends"], 1);

    // The trail keeps the erased user's id, and says what happened.
    let t = trail(&app, &c, &id).await;
    assert_eq!(t[0], pair("ResendInvite", "not_found"));
    assert!(t.contains(&pair("DeleteUser", "succeeded")), "{t:?}");
    assert!(t.contains(&pair("DeleteUser", "not_found")), "{t:?}");
}

on_both_backends!(delete_erases_an_active_user_and_refuses_a_viewer_and_other_tenants);
async fn delete_erases_an_active_user_and_refuses_a_viewer_and_other_tenants(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let (id, token) = app.invite_with_token(&c, "ada@example.com").await;
    json_ok(app.accept(&token).await, 200).await;

    let viewer = app.caller_in(&c.tenant, "viewer").await;
    let denied = assert_error(delete(&app, &viewer, &id).await, 403, "forbidden").await;
    assert_eq!(
        denied["notices"],
        json!(["The viewer role may only read users."])
    );
    let other = app.admin("Globex").await;
    assert_error(delete(&app, &other, &id).await, 404, "not_found").await;
    assert_eq!(app.user(&c, &id).await["status"], "active");

    assert_eq!(delete(&app, &c, &id).await.status(), 204);
    assert_error(app.get_user(&c, &id).await, 404, "not_found").await;
}

on_both_backends!(a_repeated_delete_under_one_key_replays_204_and_another_use_is_refused);
async fn a_repeated_delete_under_one_key_replays_204_and_another_use_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    let keyed = |path: &str| {
        app.client
            .delete(app.url(path))
            .auth(&c)
            .header("Idempotency-Key", "erase-ada")
    };
    for _ in 0..2 {
        let resp = keyed(&format!("/v1/users/{id}")).send().await.unwrap();
        assert_eq!(resp.status(), 204);
    }
    let other = random_id();
    assert_error(
        keyed(&format!("/v1/users/{other}")).send().await.unwrap(),
        422,
        "idempotency_key_reused",
    )
    .await;
}

on_both_backends!(the_audit_trail_pages_newest_first_per_tenant_with_accepts_and_request_ids);
async fn the_audit_trail_pages_newest_first_per_tenant_with_accepts_and_request_ids(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let (ada, ada_token) = app.invite_with_token(&c, "ada@example.com").await;
    let (bob, bob_token) = app.invite_with_token(&c, "bob@example.com").await;
    let resent = app
        .resend_req(&c, &ada)
        .header("X-Request-ID", "resend-ada-1")
        .send()
        .await
        .unwrap();
    assert_error(resent, 429, "rate_limited").await;
    let accepted = app
        .post("/v1/invites/accept")
        .header("X-Request-ID", "accept-ada-1")
        .json(&json!({ "token": ada_token }))
        .send()
        .await
        .unwrap();
    json_ok(accepted, 200).await;
    let page = app
        .post("/invite")
        .header("X-Request-ID", "page-bob-1")
        .form(&[("token", bob_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // Another tenant's activity never shows.
    let other = app.admin("Globex").await;
    app.invite(&other, "eve@example.com").await;

    // Newest first, two at a time, until `next` is null.
    let mut entries: Vec<Value> = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = json_ok(audit(&app, &c, &query).await, 200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        entries.extend(items.iter().cloned());
        match page["next"].as_str() {
            Some(next) => query = format!("limit=2&after={next}"),
            None => break,
        }
    }
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let row = |a: &str, o: &str, u: &str| (a.to_owned(), o.to_owned(), u.to_owned());
    assert_eq!(
        summary,
        [
            row("AcceptInvite", "succeeded", &bob),
            row("AcceptInvite", "succeeded", &ada),
            row("ResendInvite", "rate_limited", &ada),
            row("InviteUser", "succeeded", &bob),
            row("InviteUser", "succeeded", &ada),
        ]
    );
    let by_request = |rid: &str| {
        entries
            .iter()
            .find(|e| e["request_id"] == rid)
            .unwrap_or_else(|| panic!("no entry with request id {rid}"))
            .clone()
    };
    let accept = by_request("accept-ada-1");
    assert_eq!(accept["key_id"], Value::Null, "an accept has no key");
    assert_eq!(by_request("page-bob-1")["action"], "AcceptInvite");
    assert_eq!(by_request("resend-ada-1")["key_id"], c.key_id.as_str());
    for e in &entries {
        let at = e["at"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
        assert!(e["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    }

    // Filtered by user.
    let t = trail(&app, &c, &bob).await;
    assert_eq!(
        t,
        [
            pair("AcceptInvite", "succeeded"),
            pair("InviteUser", "succeeded")
        ]
    );
}

on_both_backends!(the_audit_trail_refuses_a_viewer_and_bad_queries);
async fn the_audit_trail_refuses_a_viewer_and_bad_queries(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let viewer = app.caller_in(&c.tenant, "viewer").await;
    let denied = assert_error(audit(&app, &viewer, "").await, 403, "forbidden").await;
    assert_eq!(
        denied["notices"],
        json!(["The viewer role may only read users."])
    );
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("after=nope", "after"),
        ("user_id=nope", "user_id"),
    ] {
        let e = assert_error(audit(&app, &c, query).await, 400, "invalid_request").await;
        assert_eq!(e["details"]["field"], field, "{query}");
    }
    let unauthenticated = app.get("/v1/audit").send().await.unwrap();
    assert_error(unauthenticated, 401, "unauthenticated").await;
    let empty = json_ok(audit(&app, &c, "").await, 200).await;
    assert_eq!(empty, json!({ "items": [], "next": null }));
}
