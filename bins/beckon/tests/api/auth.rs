//! Authentication, tenancy and authorization, in the contract's check
//! order: 401, then 400, then 403 tenant_mismatch, then the policies.

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, Caller, TestApp, assert_error, field, json_ok, on_both_backends, random_id, spawn_app,
};

/// The viewer's notice, from `policies/roles.cedar`.
const VIEWER_NOTICE: &str = "The viewer role may only read users.";

/// Every tenant-scoped route, as a request for `id` (a user id or any text).
fn routes(app: &TestApp, id: &str) -> Vec<(String, RequestBuilder)> {
    let json = json!({ "email": "x@example.com" });
    vec![
        ("POST /v1/users".into(), app.post("/v1/users").json(&json)),
        ("GET /v1/users".into(), app.get("/v1/users")),
        (
            "GET /v1/users/{id}".into(),
            app.get(&format!("/v1/users/{id}")),
        ),
        (
            "POST resend-invite".into(),
            app.post(&format!("/v1/users/{id}/resend-invite")),
        ),
    ]
}

/// A well-formed key (`bk_` + 32 hex + `_` + 43 characters) that was never issued.
fn unknown_key() -> String {
    format!("bk_{}_{}", uuid::Uuid::new_v4().simple(), "A".repeat(43))
}

on_both_backends!(every_tenant_route_answers_401_with_www_authenticate_without_a_credential);
async fn every_tenant_route_answers_401_with_www_authenticate_without_a_credential(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    for (name, req) in routes(&app, &random_id()) {
        let resp = req.header("X-Tenant-ID", &c.tenant).send().await.unwrap();
        println!("{name}");
        assert_error(resp, 401, "unauthenticated").await;
    }
}

on_both_backends!(a_key_revoked_while_the_server_holds_it_is_refused_within_5_seconds);
async fn a_key_revoked_while_the_server_holds_it_is_refused_within_5_seconds(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    // Used once, so the server has verified it (and keeps it a while).
    json_ok(app.list(&c, "").await, 200).await;
    beckon::admin::revoke_api_key(&app.cfg, &c.key_id, &app.sources)
        .await
        .unwrap();

    app.clock.advance(Duration::from_secs(5));
    assert_error(app.list(&c, "").await, 401, "unauthenticated").await;
}

on_both_backends!(malformed_unknown_and_revoked_credentials_answer_401);
async fn malformed_unknown_and_revoked_credentials_answer_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let revoked = app.caller_in(&c.tenant, "admin").await;
    beckon::admin::revoke_api_key(&app.cfg, &revoked.key_id, &app.sources)
        .await
        .unwrap();
    let headers = [
        "Basic x".to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer garbage".to_owned(),
        c.key.clone(),
        format!("Bearer {}", unknown_key()),
        format!("Bearer {}x", c.key),
        format!("Bearer {}", revoked.key),
    ];
    for auth in headers {
        for (name, req) in routes(&app, &random_id()) {
            let req = req
                .header("Authorization", &auth)
                .header("X-Tenant-ID", &c.tenant);
            println!("{name} with {auth:.12}");
            assert_error(req.send().await.unwrap(), 401, "unauthenticated").await;
        }
    }
    // The scheme is case-insensitive (RFC 9110); the valid key works.
    let lower = app
        .get("/v1/users")
        .header("Authorization", format!("bearer {}", c.key));
    json_ok(
        lower.header("X-Tenant-ID", &c.tenant).send().await.unwrap(),
        200,
    )
    .await;
}

on_both_backends!(the_credential_is_checked_before_the_tenant_header_and_the_body);
async fn the_credential_is_checked_before_the_tenant_header_and_the_body(backend: Backend) {
    let app = spawn_app(backend).await;
    for (name, req) in routes(&app, "not-a-uuid") {
        let req = req.bearer_auth(unknown_key()).header("X-Tenant-ID", "nope");
        println!("{name}");
        assert_error(req.send().await.unwrap(), 401, "unauthenticated").await;
    }
    // Nor does a bad body get past a missing credential, or a bad tenant.
    let r = app
        .post("/v1/users")
        .header("Content-Type", "text/plain")
        .body("{");
    assert_error(r.send().await.unwrap(), 401, "unauthenticated").await;
    let c = app.admin("Acme").await;
    let other = app.admin("Other").await;
    let r = app
        .post("/v1/users")
        .bearer_auth(&c.key)
        .header("Content-Type", "text/plain");
    let r = r
        .header("X-Tenant-ID", "nope")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    let r = app
        .post("/v1/users")
        .bearer_auth(&c.key)
        .header("Content-Type", "text/plain");
    let r = r
        .header("X-Tenant-ID", &other.tenant)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "tenant_mismatch").await;
}

on_both_backends!(a_missing_or_malformed_tenant_header_answers_400_naming_it);
async fn a_missing_or_malformed_tenant_header_answers_400_naming_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let user = app.invite_id(&c, "ada@example.com").await;
    let simple = c.tenant.replace('-', "");
    for tenant in [
        None,
        Some("not-a-uuid"),
        Some(""),
        Some("123"),
        Some(simple.as_str()),
    ] {
        for (name, req) in routes(&app, &user) {
            let req = req.bearer_auth(&c.key);
            let req = match tenant {
                Some(t) => req.header("X-Tenant-ID", t),
                None => req,
            };
            println!("{name} with {tenant:?}");
            let body = assert_error(req.send().await.unwrap(), 400, "invalid_request").await;
            assert_eq!(field(&body), "X-Tenant-ID");
        }
    }
}

on_both_backends!(a_path_id_that_is_not_a_uuid_answers_400_naming_id);
async fn a_path_id_that_is_not_a_uuid_answers_400_naming_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    for id in [
        "not-a-uuid",
        "123",
        "00000000-0000-0000-0000-00000000000g",
        "67e5504410b1426f9247bb680e5fe0c8",
    ] {
        for (name, req) in routes(&app, id).into_iter().skip(2) {
            println!("{name} with {id}");
            let req = req.bearer_auth(&c.key).header("X-Tenant-ID", &c.tenant);
            let body = assert_error(req.send().await.unwrap(), 400, "invalid_request").await;
            assert_eq!(field(&body), "id");
        }
    }
}

on_both_backends!(another_tenants_id_in_the_header_answers_403_tenant_mismatch);
async fn another_tenants_id_in_the_header_answers_403_tenant_mismatch(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let other = app.admin("Other").await;
    let user = app.invite_id(&c, "ada@example.com").await;
    for tenant in [other.tenant.clone(), random_id()] {
        for (name, req) in routes(&app, &user) {
            println!("{name}");
            let req = req.bearer_auth(&c.key).header("X-Tenant-ID", &tenant);
            assert_error(req.send().await.unwrap(), 403, "tenant_mismatch").await;
        }
    }
}

on_both_backends!(a_bad_path_id_is_reported_before_a_tenant_mismatch);
async fn a_bad_path_id_is_reported_before_a_tenant_mismatch(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let other = app.admin("Other").await;
    for (name, req) in routes(&app, "not-a-uuid").into_iter().skip(2) {
        println!("{name}");
        let req = req.bearer_auth(&c.key).header("X-Tenant-ID", &other.tenant);
        let body = assert_error(req.send().await.unwrap(), 400, "invalid_request").await;
        assert_eq!(field(&body), "id");
    }
}

/// A viewer's (or any denied caller's) request, answered 403 `forbidden`.
async fn forbidden(app: &TestApp, c: &Caller, method: Method, path: &str) -> Value {
    let mut req = app.client.request(method, app.url(path));
    req = req.bearer_auth(&c.key).header("X-Tenant-ID", &c.tenant);
    if path == "/v1/users" {
        req = req.json(&json!({ "email": "new@example.com" }));
    }
    assert_error(req.send().await.unwrap(), 403, "forbidden").await
}

fn notices(body: &Value) -> Vec<String> {
    body["notices"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

on_both_backends!(a_viewer_may_not_resend_or_invite_and_is_told_why);
async fn a_viewer_may_not_resend_or_invite_and_is_told_why(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("Acme").await;
    let viewer = app.caller_in(&admin.tenant, "viewer").await;
    let user = app.invite_id(&admin, "ada@example.com").await;

    let path = format!("/v1/users/{user}/resend-invite");
    let body = forbidden(&app, &viewer, Method::POST, &path).await;
    assert!(notices(&body).iter().any(|n| n == VIEWER_NOTICE), "{body}");
    let body = forbidden(&app, &viewer, Method::POST, "/v1/users").await;
    assert!(notices(&body).iter().any(|n| n == VIEWER_NOTICE), "{body}");
    app.assert_emails_to("new@example.com", 0).await;
    app.assert_emails_to("ada@example.com", 1).await;
}

on_both_backends!(a_viewer_gets_the_same_403_for_a_missing_user_as_for_an_existing_one);
async fn a_viewer_gets_the_same_403_for_a_missing_user_as_for_an_existing_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("Acme").await;
    let viewer = app.caller_in(&admin.tenant, "viewer").await;
    let user = app.invite_id(&admin, "ada@example.com").await;

    let path = |id: &str| format!("/v1/users/{id}/resend-invite");
    let existing = forbidden(&app, &viewer, Method::POST, &path(&user)).await;
    let missing = forbidden(&app, &viewer, Method::POST, &path(&random_id())).await;
    assert_eq!(existing, missing);
}

on_both_backends!(a_viewer_may_read_a_user_and_list_users);
async fn a_viewer_may_read_a_user_and_list_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("Acme").await;
    let viewer = app.caller_in(&admin.tenant, "viewer").await;
    let user = app.invite_id(&admin, "ada@example.com").await;

    assert_eq!(app.user(&viewer, &user).await["id"], user.as_str());
    let page = json_ok(app.list(&viewer, "").await, 200).await;
    assert_eq!(page["items"][0]["id"], user.as_str());
    assert_error(app.get_user(&viewer, &random_id()).await, 404, "not_found").await;
}

on_both_backends!(a_role_the_policies_do_not_know_may_do_nothing_and_learns_nothing);
async fn a_role_the_policies_do_not_know_may_do_nothing_and_learns_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("Acme").await;
    let auditor = app.caller_in(&admin.tenant, "auditor").await;
    let user = app.invite_id(&admin, "ada@example.com").await;

    let resend = format!("/v1/users/{user}/resend-invite");
    forbidden(&app, &auditor, Method::POST, &resend).await;
    forbidden(&app, &auditor, Method::POST, "/v1/users").await;
    forbidden(&app, &auditor, Method::GET, "/v1/users").await;
    let existing = forbidden(&app, &auditor, Method::GET, &format!("/v1/users/{user}")).await;
    let missing = forbidden(
        &app,
        &auditor,
        Method::GET,
        &format!("/v1/users/{}", random_id()),
    )
    .await;
    assert_eq!(existing, missing);
    // Nothing permitted it and no forbid determined it: no notices to give.
    assert!(notices(&existing).is_empty(), "{existing}");
}
