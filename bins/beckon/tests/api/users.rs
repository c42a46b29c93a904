//! `POST /v1/users`, `GET /v1/users/{id}` and `GET /v1/users`: the user
//! object, validation, uniqueness, listing and pagination, tenant isolation.

use std::collections::BTreeSet;
use std::time::Duration;

use beckon_ports::Clock;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::{
    Auth, Backend, Caller, TestApp, assert_error, field, json_ok, on_both_backends, random_id,
    send_all, spawn_app, spawn_app_with,
};

fn ts(v: &Value) -> DateTime<Utc> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp string: {v}"));
    assert!(s.ends_with('Z'), "UTC with Z: {s}");
    DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

on_both_backends!(inviting_answers_201_with_the_user_object_of_the_contract);
async fn inviting_answers_201_with_the_user_object_of_the_contract(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let resp = app
        .post_user(
            &c,
            &json!({ "email": "ada@example.com", "name": "Ada Lovelace" }),
        )
        .await;
    let u = json_ok(resp, 201).await;

    let expected = [
        "created_at",
        "email",
        "id",
        "invite",
        "name",
        "revoked_at",
        "status",
        "verified_at",
    ];
    assert_eq!(keys(&u), expected.into_iter().collect());
    let id = u["id"].as_str().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(id).unwrap().to_string(),
        id,
        "lower-case UUID"
    );
    assert_eq!(u["email"], "ada@example.com");
    assert_eq!(u["name"], "Ada Lovelace");
    assert_eq!(u["status"], "invited");
    assert_eq!(u["verified_at"], Value::Null);
    assert_eq!(u["revoked_at"], Value::Null);
    let invite = &u["invite"];
    assert_eq!(invite["delivery"], "queued", "the first email is queued");
    assert_eq!(
        keys(invite),
        ["delivery", "expires_at", "last_sent_at", "sends"]
            .into_iter()
            .collect()
    );
    assert_eq!(invite["sends"], 1);
    let (created, sent, expires) = (
        ts(&u["created_at"]),
        ts(&invite["last_sent_at"]),
        ts(&invite["expires_at"]),
    );
    // Made and sent at the app's clock's time, to the microsecond.
    let now = app.clock.now();
    assert_eq!((created, sent), (now, now));
    assert_eq!(
        expires - sent,
        TimeDelta::days(7),
        "BECKON_INVITE_TTL default 7d"
    );
    assert_eq!(app.user(&c, id).await, u);
}

on_both_backends!(the_name_is_optional_and_null_when_absent);
async fn the_name_is_optional_and_null_when_absent(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let u = app.invite(&c, "ada@example.com").await;
    assert_eq!(u["name"], Value::Null);
    let u = json_ok(
        app.post_user(&c, &json!({ "email": "bob@example.com", "name": null }))
            .await,
        201,
    )
    .await;
    assert_eq!(u["name"], Value::Null);
}

on_both_backends!(an_email_taken_in_another_letter_case_answers_409_user_exists);
async fn an_email_taken_in_another_letter_case_answers_409_user_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    app.invite(&c, "Ada@Example.com").await;
    let resp = app
        .post_user(&c, &json!({ "email": "ada@EXAMPLE.COM" }))
        .await;
    assert_error(resp, 409, "user_exists").await;
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

on_both_backends!(of_simultaneous_invites_of_one_address_exactly_one_succeeds);
async fn of_simultaneous_invites_of_one_address_exactly_one_succeeds(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let reqs = (0..8).map(|i| {
        let email = if i % 2 == 0 {
            "ada@example.com"
        } else {
            "ADA@example.com"
        };
        app.post("/v1/users")
            .auth(&c)
            .json(&json!({ "email": email }))
    });
    let mut created = 0;
    for resp in send_all(reqs).await {
        if resp.status() == 201 {
            created += 1;
        } else {
            assert_error(resp, 409, "user_exists").await;
        }
    }
    assert_eq!(created, 1);
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

on_both_backends!(the_same_email_may_be_invited_in_another_tenant);
async fn the_same_email_may_be_invited_in_another_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.admin("A").await;
    let b = app.admin("B").await;
    let ua = app.invite(&a, "ada@example.com").await;
    let ub = app.invite(&b, "ada@example.com").await;
    assert_ne!(ua["id"], ub["id"]);
}

on_both_backends!(bad_bodies_answer_400_naming_what_is_wrong);
async fn bad_bodies_answer_400_naming_what_is_wrong(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let cases = [
        (json!({ "email": "ada.example.com" }), "email"),
        (
            json!({ "email": "ada@example.com\r\nBcc: eve@example.com" }),
            "email",
        ),
        (json!({ "email": "" }), "email"),
        (
            json!({ "email": "ada@example.com", "name": "x".repeat(201) }),
            "name",
        ),
        (
            json!({ "email": "ada@example.com", "name": "Ada\r\nBcc: eve@example.com" }),
            "name",
        ),
        (json!({ "email": "ada@example.com", "admin": true }), "body"),
        (json!({ "name": "Ada" }), "body"),
        (json!({ "email": 42 }), "body"),
        (json!("ada@example.com"), "body"),
    ];
    for (body, expected) in cases {
        let resp = app.post_user(&c, &body).await;
        let err = assert_error(resp, 400, "invalid_request").await;
        assert_eq!(field(&err), expected, "{body}");
    }
    for raw in ["{", "", "{\"email\": \"ada@example.com\",}"] {
        let r = app
            .post("/v1/users")
            .auth(&c)
            .header("Content-Type", "application/json")
            .body(raw);
        let err = assert_error(r.send().await.unwrap(), 400, "invalid_request").await;
        assert_eq!(field(&err), "body", "{raw:?}");
    }
    let ok = json!({ "email": "ada@example.com", "name": "x".repeat(200) });
    json_ok(app.post_user(&c, &ok).await, 201).await;
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

on_both_backends!(a_body_that_is_a_json_array_instead_of_an_object_answers_400);
async fn a_body_that_is_a_json_array_instead_of_an_object_answers_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let resp = app.post_user(&c, &json!(["ada@example.com", "Ada"])).await;
    let err = assert_error(resp, 400, "invalid_request").await;
    assert_eq!(field(&err), "body");
    let (_, token) = app.invite_with_token(&c, "bob@example.com").await;
    let resp = app
        .post("/v1/invites/accept")
        .json(&json!([token]))
        .send()
        .await
        .unwrap();
    assert_error(resp, 400, "invalid_request").await;
}

on_both_backends!(a_body_that_is_not_json_answers_415_and_a_huge_one_413);
async fn a_body_that_is_not_json_answers_415_and_a_huge_one_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let plain = app
        .post("/v1/users")
        .auth(&c)
        .header("Content-Type", "text/plain");
    let plain = plain
        .body(r#"{"email":"ada@example.com"}"#)
        .send()
        .await
        .unwrap();
    assert_error(plain, 415, "unsupported_media_type").await;
    let none = app
        .post("/v1/users")
        .auth(&c)
        .body(r#"{"email":"ada@example.com"}"#);
    assert_error(none.send().await.unwrap(), 415, "unsupported_media_type").await;

    let huge = json!({ "email": "ada@example.com", "name": "x".repeat(17 * 1024) });
    assert_error(app.post_user(&c, &huge).await, 413, "payload_too_large").await;
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(page["items"], json!([]));
}

on_both_backends!(reading_a_user_answers_200_or_404_and_counts_every_send);
async fn reading_a_user_answers_200_or_404_and_counts_every_send(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    let before = app.user(&c, &id).await;
    json_ok(app.resend(&c, &id).await, 200).await;
    let after = app.user(&c, &id).await;
    assert_eq!(after["invite"]["sends"], 2);
    assert!(ts(&after["invite"]["last_sent_at"]) >= ts(&before["invite"]["last_sent_at"]));
    assert_eq!(after["created_at"], before["created_at"]);
    let body = assert_error(app.get_user(&c, &random_id()).await, 404, "not_found").await;
    assert_eq!(body["message"], "User not found.");
}

async fn invite_n(app: &TestApp, c: &Caller, n: usize, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(app.invite_id(c, &format!("{prefix}{i}@example.com")).await);
    }
    ids
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

on_both_backends!(listing_pages_50_users_by_default_and_accepts_limits_from_1_to_200);
async fn listing_pages_50_users_by_default_and_accepts_limits_from_1_to_200(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    invite_n(&app, &c, 51, "u").await;
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(keys(&page), ["items", "next"].into_iter().collect());
    assert_eq!(ids(&page).len(), 50);
    assert_eq!(page["next"].as_str(), ids(&page).last().map(String::as_str));
    assert_eq!(
        ids(&json_ok(app.list(&c, "limit=1").await, 200).await).len(),
        1
    );
    assert_eq!(
        ids(&json_ok(app.list(&c, "limit=200").await, 200).await).len(),
        51
    );
    for bad in ["limit=0", "limit=201", "limit=abc", "limit=-1", "limit="] {
        let err = assert_error(app.list(&c, bad).await, 400, "invalid_request").await;
        assert_eq!(field(&err), "limit", "{bad}");
    }
}

on_both_backends!(listing_filters_by_status_and_refuses_an_unknown_one);
async fn listing_filters_by_status_and_refuses_an_unknown_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    invite_n(&app, &c, 2, "inv").await;
    let (active, token) = app.invite_with_token(&c, "act@example.com").await;
    json_ok(app.accept(&token).await, 200).await;

    let page = json_ok(app.list(&c, "status=active").await, 200).await;
    assert_eq!(ids(&page), vec![active.clone()]);
    assert_eq!(page["items"][0]["status"], "active");
    let page = json_ok(app.list(&c, "status=invited").await, 200).await;
    assert_eq!(ids(&page).len(), 2);
    assert!(!ids(&page).contains(&active));
    assert_eq!(ids(&json_ok(app.list(&c, "").await, 200).await).len(), 3);
    for bad in ["status=bogus", "status=", "status=ACTIVE_"] {
        let err = assert_error(app.list(&c, bad).await, 400, "invalid_request").await;
        assert_eq!(field(&err), "status", "{bad}");
    }
}

on_both_backends!(paging_with_after_walks_every_user_once_in_id_order);
async fn paging_with_after_walks_every_user_once_in_id_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let mut all = invite_n(&app, &c, 7, "p").await;
    all.sort();

    let mut seen = Vec::new();
    let mut query = "limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = json_ok(app.list(&c, &query).await, 200).await;
        pages += 1;
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => query = format!("limit=3&after={next}"),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen, all);
    assert_eq!(pages, 3);
    // A page that is exactly full and the last one has no next.
    let page = json_ok(app.list(&c, "limit=7").await, 200).await;
    assert_eq!(page["next"], Value::Null);
    let upper = format!("limit=7&after={}", all[3].to_uppercase());
    assert_eq!(
        ids(&json_ok(app.list(&c, &upper).await, 200).await),
        all[4..].to_vec()
    );
    for bad in ["after=nope", "after=", "after=123"] {
        let err = assert_error(app.list(&c, bad).await, 400, "invalid_request").await;
        assert_eq!(field(&err), "after", "{bad}");
    }
}

on_both_backends!(listing_never_shows_another_tenants_users);
async fn listing_never_shows_another_tenants_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.admin("A").await;
    let b = app.admin("B").await;
    let mine = invite_n(&app, &a, 2, "a").await;
    let theirs = invite_n(&app, &b, 3, "b").await;
    let page = json_ok(app.list(&a, "limit=200").await, 200).await;
    let mut mine_sorted = mine.clone();
    mine_sorted.sort();
    assert_eq!(ids(&page), mine_sorted);
    // Not even when paging from one of their ids.
    let q = format!("limit=200&after={}", theirs[0]);
    let page = json_ok(app.list(&a, &q).await, 200).await;
    assert!(ids(&page).iter().all(|id| mine.contains(id)));
}
