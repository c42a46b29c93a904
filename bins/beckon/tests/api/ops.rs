//! Operations endpoints, the OpenAPI document, unknown routes and methods
//! (request ids: `request_ids.rs`).

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Backend, assert_error, json_ok, on_both_backends, random_id, spawn_app};

on_both_backends!(healthz_and_readyz_answer_200_to_anyone);
async fn healthz_and_readyz_answer_200_to_anyone(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/healthz", "/readyz"] {
        let resp = app.get(path).send().await.unwrap();
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("application/json"), "{path}: {ct}");
        json_ok(resp, 200).await;
    }
}

on_both_backends!(the_openapi_document_is_3_1_and_lists_every_route_and_the_error_shape);
async fn the_openapi_document_is_3_1_and_lists_every_route_and_the_error_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = json_ok(app.get("/openapi.json").send().await.unwrap(), 200).await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1"), "{version}");
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        ("/v1/users", &["post", "get"][..]),
        ("/v1/users/{id}", &["get"][..]),
        ("/v1/users/{id}/resend-invite", &["post"][..]),
        ("/v1/invites/accept", &["post"][..]),
        ("/healthz", &["get"][..]),
        ("/readyz", &["get"][..]),
        ("/openapi.json", &["get"][..]),
    ];
    for (path, methods) in expected {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} missing"));
        for m in methods {
            assert!(item.get(*m).is_some(), "{m} {path} missing");
        }
    }
    let error = &doc["components"]["schemas"]["ErrorBody"];
    let required: Vec<&str> = error["required"]
        .as_array()
        .expect("ErrorBody.required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        required.contains(&"code") && required.contains(&"message"),
        "{error}"
    );
    // Present only where they carry something: never required.
    assert!(
        !required.contains(&"details") && !required.contains(&"notices"),
        "{error}"
    );
    for prop in ["code", "message", "details", "notices"] {
        assert!(error["properties"].get(prop).is_some(), "ErrorBody.{prop}");
    }
    // The seed endpoint documents every status of its table.
    let responses = &paths["/v1/users/{id}/resend-invite"]["post"]["responses"];
    for status in [
        "200", "400", "401", "403", "404", "409", "422", "429", "503",
    ] {
        assert!(responses.get(status).is_some(), "resend documents {status}");
    }
}

on_both_backends!(an_unknown_route_answers_404_not_found_to_anyone);
async fn an_unknown_route_answers_404_not_found_to_anyone(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/nope", "/v1", "/v1/users/x/y/z", "/v2/users"] {
        assert_error(app.get(path).send().await.unwrap(), 404, "not_found").await;
        let post = app
            .post(path)
            .header("Content-Type", "text/plain")
            .body("x");
        assert_error(post.send().await.unwrap(), 404, "not_found").await;
    }
}

on_both_backends!(a_known_path_with_the_wrong_method_answers_405_to_anyone);
async fn a_known_path_with_the_wrong_method_answers_405_to_anyone(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = random_id();
    let cases = [
        (Method::DELETE, "/v1/users".to_owned()),
        (Method::PUT, "/v1/users".to_owned()),
        (Method::GET, format!("/v1/users/{id}/resend-invite")),
        (Method::PUT, format!("/v1/users/{id}")),
        (Method::GET, format!("/v1/users/{id}/revoke-invite")),
        (Method::POST, "/v1/audit".to_owned()),
        (Method::GET, "/v1/invites/accept".to_owned()),
        (Method::POST, "/healthz".to_owned()),
        (Method::DELETE, "/invite".to_owned()),
    ];
    for (method, path) in cases {
        let resp = app
            .client
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        println!("{method} {path}");
        assert_error(resp, 405, "method_not_allowed").await;
    }
}

on_both_backends!(metrics_are_never_served_on_the_api_listener);
async fn metrics_are_never_served_on_the_api_listener(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.get("/metrics").send().await.unwrap();
    assert_error(resp, 404, "not_found").await;
}
