//! `X-Request-ID` (CONTRACT §7): the caller's value is kept when it is 1 to
//! 200 printable ASCII characters, otherwise a new UUIDv7 is minted, and
//! every response carries it: successes, errors of every kind and the HTML
//! invite page.

use reqwest::{Method, RequestBuilder, Response};
use serde_json::json;

use crate::helpers::{
    Auth, Backend, TestApp, assert_error, on_both_backends, random_id, spawn_app,
};

/// The id a response carries.
fn id_of(resp: &Response) -> String {
    resp.headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("{} has no X-Request-ID", resp.url()))
        .to_str()
        .expect("an ASCII id")
        .to_owned()
}

/// Asserts that `id` is one Beckon minted: a version-7 UUID.
fn assert_minted(id: &str) {
    let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id:?}: {e}"));
    assert_eq!(uuid.get_version_num(), 7, "{id}");
}

/// Every kind of response, as a request to send.
async fn every_kind_of_response(app: &TestApp) -> Vec<(&'static str, RequestBuilder, u16)> {
    let caller = app.admin("Acme").await;
    vec![
        ("200 healthz", app.get("/healthz"), 200),
        (
            "201 invite",
            app.post("/v1/users")
                .auth(&caller)
                .json(&json!({"email": format!("{}@example.com", random_id())})),
            201,
        ),
        ("401 no credential", app.get("/v1/users"), 401),
        ("404 unknown route", app.get("/no/such/route"), 404),
        (
            "404 unknown user",
            app.get(&format!("/v1/users/{}", random_id())).auth(&caller),
            404,
        ),
        (
            "405 wrong method",
            app.client.request(Method::DELETE, app.url("/v1/users")),
            405,
        ),
        (
            "400 bad JSON",
            app.post("/v1/users")
                .auth(&caller)
                .header("Content-Type", "application/json")
                .body("{not json"),
            400,
        ),
        (
            "413 oversized body",
            app.post("/v1/users")
                .auth(&caller)
                .header("Content-Type", "application/json")
                .body(format!("{{\"email\":\"{}\"}}", "a".repeat(64 * 1024))),
            413,
        ),
        ("HTML invite page", app.get("/invite?token=nonsense"), 400),
        (
            "HTML invite form",
            app.post("/invite").form(&[("token", "nonsense")]),
            400,
        ),
    ]
}

on_both_backends!(every_response_carries_the_callers_request_id);
async fn every_response_carries_the_callers_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    for (what, req, status) in every_kind_of_response(&app).await {
        let sent = format!("trace {what} / 42");
        let resp = req.header("X-Request-ID", &sent).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{what}");
        assert_eq!(id_of(&resp), sent, "{what}");
    }
}

on_both_backends!(every_response_without_a_request_id_gets_a_minted_one);
async fn every_response_without_a_request_id_gets_a_minted_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut seen = std::collections::HashSet::new();
    for (what, req, status) in every_kind_of_response(&app).await {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{what}");
        let id = id_of(&resp);
        assert_minted(&id);
        assert!(seen.insert(id), "{what}: an id seen before");
    }
}

on_both_backends!(an_error_in_the_shape_still_carries_the_id);
async fn an_error_in_the_shape_still_carries_the_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app
        .get("/no/such/route")
        .header("X-Request-ID", "r-404")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&resp), "r-404");
    assert_error(resp, 404, "not_found").await;
}

on_both_backends!(ids_of_up_to_200_printable_characters_are_kept_and_others_replaced);
async fn ids_of_up_to_200_printable_characters_are_kept_and_others_replaced(backend: Backend) {
    let app = spawn_app(backend).await;
    let printable: String = (0x20u8..=0x7e).map(char::from).collect();
    let longest = "r".repeat(200);
    for kept in [
        "1",
        "req-42.a:b_c",
        "has spaces",
        printable.trim(),
        longest.as_str(),
    ] {
        let resp = app
            .get("/healthz")
            .header("X-Request-ID", kept)
            .send()
            .await
            .unwrap();
        assert_eq!(id_of(&resp), kept);
    }
    let too_long = "r".repeat(201);
    let replaced: Vec<reqwest::header::HeaderValue> = vec![
        reqwest::header::HeaderValue::from_str(&too_long).unwrap(),
        reqwest::header::HeaderValue::from_static(""),
        // A control character (the only one HTTP lets through).
        reqwest::header::HeaderValue::from_bytes(b"tab\there").unwrap(),
        // Not ASCII: UTF-8 bytes of "café".
        reqwest::header::HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap(),
        // A byte outside ASCII that is not UTF-8 either.
        reqwest::header::HeaderValue::from_bytes(b"latin\xff").unwrap(),
    ];
    for bad in replaced {
        let resp = app
            .get("/healthz")
            .header("X-Request-ID", bad.clone())
            .send()
            .await
            .unwrap();
        let got = id_of(&resp);
        assert_ne!(got.as_bytes(), bad.as_bytes());
        assert_minted(&got);
    }
}
