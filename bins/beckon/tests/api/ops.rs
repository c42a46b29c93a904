//! Operations endpoints, the OpenAPI document, unknown routes and methods
//! (request ids: `request_ids.rs`).

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{
    Auth, Backend, assert_error, json_ok, on_both_backends, random_id, spawn_app,
};

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
        ("/v1/users/{id}", &["get", "delete"][..]),
        ("/v1/users/{id}/resend-invite", &["post"][..]),
        ("/v1/users/{id}/revoke-invite", &["post"][..]),
        ("/v1/audit", &["get"][..]),
        ("/v1/invites/accept", &["post"][..]),
        ("/invite", &["get", "post"][..]),
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
    // Every route documents every status it answers (the seed endpoint:
    // every status of its table).
    let statuses: [(&str, &str, &[&str]); 10] = [
        (
            "/v1/users",
            "post",
            &[
                "201", "400", "401", "403", "409", "413", "415", "422", "503",
            ],
        ),
        ("/v1/users", "get", &["200", "400", "401", "403", "503"]),
        (
            "/v1/users/{id}",
            "get",
            &["200", "400", "401", "403", "404", "503"],
        ),
        (
            "/v1/users/{id}",
            "delete",
            &["204", "400", "401", "403", "404", "422", "503"],
        ),
        (
            "/v1/users/{id}/resend-invite",
            "post",
            &[
                "200", "400", "401", "403", "404", "409", "422", "429", "503",
            ],
        ),
        (
            "/v1/users/{id}/revoke-invite",
            "post",
            &["200", "400", "401", "403", "404", "409", "422", "503"],
        ),
        ("/v1/audit", "get", &["200", "400", "401", "403", "503"]),
        (
            "/v1/invites/accept",
            "post",
            &["200", "400", "410", "413", "415", "503"],
        ),
        ("/invite", "get", &["200", "400", "410", "503"]),
        ("/invite", "post", &["200", "400", "410", "503"]),
    ];
    for (path, method, codes) in statuses {
        let responses = &paths[path][method]["responses"];
        for status in codes {
            assert!(
                responses.get(*status).is_some(),
                "{method} {path} documents {status}"
            );
            // Every response carries its request id.
            assert!(
                responses[*status]["headers"].get("X-Request-ID").is_some(),
                "{method} {path} {status}: X-Request-ID"
            );
        }
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

/// The schema of parameter `name` in `location` of `method path`.
fn parameter<'a>(
    doc: &'a Value,
    path: &str,
    method: &str,
    location: &str,
    name: &str,
) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path}: parameters"))
        .iter()
        .find(|p| p["in"] == location && p["name"] == name)
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("{method} {path}: {location} parameter {name}"))
}

/// A string schema's `pattern`, compiled.
fn pattern(schema: &Value) -> regex::Regex {
    let p = schema["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("no pattern in {schema}"));
    regex::Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Whether `s` meets a string schema: pattern, minLength, maxLength
/// (counted in characters, as JSON Schema counts them).
fn meets(schema: &Value, s: &str) -> bool {
    let len = s.chars().count() as u64;
    pattern(schema).is_match(s)
        && schema["minLength"].as_u64().is_none_or(|min| len >= min)
        && schema["maxLength"].as_u64().is_none_or(|max| len <= max)
}

/// Whether `s` meets every schema of an `allOf`.
fn meets_all(schema: &Value, s: &str) -> bool {
    let parts = schema["allOf"].as_array().expect("allOf");
    !parts.is_empty() && parts.iter().all(|part| meets(part, s))
}

on_both_backends!(the_openapi_document_states_what_the_parsers_enforce);
async fn the_openapi_document_states_what_the_parsers_enforce(backend: Backend) {
    use beckon_ports::{Email, IdempotencyKey, InviteToken, RequestId, UserId, UserName};

    let app = spawn_app(backend).await;
    let doc = json_ok(app.get("/openapi.json").send().await.unwrap(), 200).await;

    // Every operation has its own id.
    let mut ids = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str();
            ids.push(
                id.unwrap_or_else(|| panic!("{method} {path}: operationId"))
                    .to_owned(),
            );
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "operationIds repeat: {ids:?}");
    assert_eq!(ids.len(), 13, "{ids:?}");

    // Path, tenant and query ids: a hyphenated UUID in either case.
    let uuid = parameter(&doc, "/v1/users/{id}", "get", "path", "id");
    assert_eq!(uuid["format"], "uuid");
    let upper = random_id().to_uppercase();
    let uuids = [
        random_id(),
        upper.clone(),
        upper.replace('-', ""),
        format!("{{{}}}", random_id()),
        format!("urn:uuid:{}", random_id()),
        random_id()[1..].to_owned(),
        format!("{}0", random_id()),
        random_id().replace('a', "g"),
        String::new(),
    ];
    for (path, method, location, name) in [
        ("/v1/users/{id}", "get", "path", "id"),
        ("/v1/users/{id}", "delete", "path", "id"),
        ("/v1/users/{id}/resend-invite", "post", "path", "id"),
        ("/v1/users/{id}/revoke-invite", "post", "path", "id"),
        ("/v1/users", "get", "header", "X-Tenant-ID"),
        ("/v1/users", "get", "query", "after"),
        ("/v1/audit", "get", "query", "user_id"),
        ("/v1/audit", "get", "query", "after"),
    ] {
        let schema = parameter(&doc, path, method, location, name);
        for s in &uuids {
            assert_eq!(
                meets(schema, s),
                s.parse::<UserId>().is_ok(),
                "{method} {path} {name}: {s:?}"
            );
        }
    }

    // `Idempotency-Key`: 1–255 printable ASCII (HTTP drops surrounding
    // white space, so the document asks for none).
    let keys = [
        "k".to_owned(),
        "abc 123-_~!\"#$%&'()*+,./:;<=>?@[\\]^`{|}".to_owned(),
        "k".repeat(255),
        "k".repeat(256),
        String::new(),
        "tab\there".to_owned(),
        "caf\u{e9}".to_owned(),
        "del\u{7f}".to_owned(),
    ];
    for (path, method) in [
        ("/v1/users", "post"),
        ("/v1/users/{id}", "delete"),
        ("/v1/users/{id}/resend-invite", "post"),
        ("/v1/users/{id}/revoke-invite", "post"),
    ] {
        let schema = parameter(&doc, path, method, "header", "Idempotency-Key");
        for k in &keys {
            assert_eq!(
                meets(schema, k),
                IdempotencyKey::parse(k).is_ok(),
                "{method} {path} Idempotency-Key {k:?}"
            );
        }
        assert!(!meets(schema, " k") && !meets(schema, "k "));
    }

    // `limit`: 1–200 on both lists, and the server agrees at the edges.
    let caller = app.admin("Acme").await;
    for path in ["/v1/users", "/v1/audit"] {
        let limit = parameter(&doc, path, "get", "query", "limit");
        assert_eq!(
            (limit["minimum"].as_u64(), limit["maximum"].as_u64()),
            (Some(1), Some(200))
        );
        for (value, ok) in [("0", false), ("1", true), ("200", true), ("201", false)] {
            let resp = app
                .get(&format!("{path}?limit={value}"))
                .auth(&caller)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().is_success(), ok, "{path}?limit={value}");
        }
    }
    let status = parameter(&doc, "/v1/users", "get", "query", "status");
    assert_eq!(
        status["enum"],
        serde_json::json!(["invited", "active", "revoked"])
    );

    // The email: both patterns and the lengths, against `Email::parse`.
    let schemas = &doc["components"]["schemas"];
    let email = &schemas["InviteRequest"]["properties"]["email"];
    let long_local = format!("{}@example.com", "a".repeat(65));
    let longest_local = format!("{}@example.com", "a".repeat(64));
    let long_label = format!("ada@{}.com", "d".repeat(64));
    let longest_label = format!("ada@{}.com", "d".repeat(63));
    let labels = vec!["d".repeat(63); 3].join(".");
    let long = format!("{}@{labels}.com", "a".repeat(59));
    let longest = format!("{}@{labels}.com", "a".repeat(58));
    assert_eq!((long.len(), longest.len()), (255, 254));
    let longest_spaced = format!("  \u{3000}{longest}\n ");
    let emails = [
        "ada@example.com",
        "Ada.Lovelace+x@Example.COM",
        "a@b.c",
        "!#$%&'*+/=?^_`{|}~-@x-y.z0",
        "a.b.c@d.e.f",
        "ada@1.2",
        longest_local.as_str(),
        long_local.as_str(),
        longest_label.as_str(),
        long_label.as_str(),
        longest.as_str(),
        long.as_str(),
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@localhost",
        "ada@exa mple.com",
        "ada@example.com\r\nBcc: x@y.z",
        "<ada@example.com>",
        "\"ada\"@example.com",
        "ada@-example.com",
        "ada@example-.com",
        "ada@example..com",
        "ada..x@example.com",
        ".ada@example.com",
        "ada.@example.com",
        "ädä@example.com",
        "ada@b@example.com",
        "ada@exa_mple.com",
        // Trimmed first.
        " ada@example.com\n",
        "\u{a0}\tada@example.com\u{3000}",
        // The longest, with white space around it: still 254 once trimmed.
        longest_spaced.as_str(),
        "\u{85}",
        " ",
        " a b@example.com",
    ];
    for e in emails {
        assert_eq!(meets_all(email, e), Email::parse(e).is_ok(), "email {e:?}");
    }

    // The name: 1–200 characters, no control character, not only white space.
    let name = &schemas["InviteRequest"]["properties"]["name"];
    let names = [
        "Ada Lovelace".to_owned(),
        " Ada ".to_owned(),
        "Acme <b>".to_owned(),
        "\u{e9}\u{1F600}\u{2028}x".to_owned(),
        "x".repeat(200),
        "\u{e9}".repeat(200),
        "x".repeat(201),
        // The longest, with white space around it: still 200 once trimmed.
        format!(" \u{2028}{} \t", "x".repeat(200)),
        format!(" {} ", "x".repeat(201)),
        String::new(),
        "   ".to_owned(),
        "\u{a0}\u{3000}\u{2029}".to_owned(),
        "Ada\r\nBcc: x".to_owned(),
        "tab\there".to_owned(),
        "nul\0".to_owned(),
        "del\u{7f}".to_owned(),
        // Trimmed first: white space around it may be control characters.
        "c1\u{85}".to_owned(),
        "\t\r\nAda\u{2028}".to_owned(),
        "\u{85}\u{85}".to_owned(),
        "Ada\u{85}Lovelace".to_owned(),
    ];
    for n in &names {
        assert_eq!(meets(name, n), UserName::parse(n).is_ok(), "name {n:?}");
    }
    assert!(
        !schemas["InviteRequest"]["required"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("name"))
    );
    assert_eq!(schemas["InviteRequest"]["additionalProperties"], false);

    // The token: 43 base64url characters, wherever it is taken.
    let good = "A".repeat(43);
    let tokens = [
        good.clone(),
        format!("{}-_", "z9".repeat(20) + "x"),
        "A".repeat(42),
        "A".repeat(44),
        format!("{}=", "A".repeat(42)),
        format!("{}+", "A".repeat(42)),
        format!("{}/", "A".repeat(42)),
        String::new(),
    ];
    let token_schemas = [
        &schemas["AcceptRequest"]["properties"]["token"],
        &schemas["InviteForm"]["properties"]["token"],
        parameter(&doc, "/invite", "get", "query", "token"),
    ];
    for schema in token_schemas {
        for t in &tokens {
            assert_eq!(
                meets(schema, t),
                InviteToken::parse(t).is_some(),
                "token {t:?}"
            );
        }
    }

    // `X-Request-ID` as answered: what `RequestId::parse` keeps.
    let request_id =
        &doc["paths"]["/v1/users"]["post"]["responses"]["201"]["headers"]["X-Request-ID"]["schema"];
    for r in [
        "a".to_owned(),
        "abc 123 ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}".to_owned(),
        "r".repeat(200),
        "r".repeat(201),
        String::new(),
        "tab\there".to_owned(),
        "caf\u{e9}".to_owned(),
    ] {
        assert_eq!(
            meets(request_id, &r),
            RequestId::parse(&r).is_ok(),
            "request id {r:?}"
        );
    }

    // The new user's id leads to every route that takes it.
    let links = &doc["paths"]["/v1/users"]["post"]["responses"]["201"]["links"];
    let mut linked: Vec<&str> = links
        .as_object()
        .expect("links")
        .values()
        .map(|l| {
            assert_eq!(
                l["parameters"]
                    .as_object()
                    .unwrap()
                    .values()
                    .next()
                    .unwrap(),
                "$response.body#/id"
            );
            l["operationId"].as_str().unwrap()
        })
        .collect();
    linked.sort_unstable();
    assert_eq!(
        linked,
        [
            "delete_user",
            "list_audit",
            "read_user",
            "resend_invite",
            "revoke_invite"
        ]
    );
}
