//! Beckon mounted under `/invites` of another actix-web application
//! (`beckon_http::scope`) answers exactly as the bundled server: each
//! request goes to both, on one database, and the status, headers and body
//! must match (ids and times aside). The few intended differences — paths
//! outside the prefix, the invite form's action, the OpenAPI `servers` —
//! have tests of their own.

use std::collections::BTreeMap;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use beckon::wiring;
use beckon_http::{AppState, DEFAULT_BODY_LIMIT};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::helpers::{
    Auth, Backend, Caller, TestApp, json_ok, on_both_backends, random_id, spawn_app,
};

/// Where the host application mounts Beckon.
const PREFIX: &str = "/invites";

/// A host application with a route of its own and Beckon under [`PREFIX`],
/// on the test app's database (the test app's worker delivers its mail).
struct Host {
    /// `http://127.0.0.1:PORT`, without the prefix.
    base: String,
    handle: ServerHandle,
}

impl Host {
    async fn start(app: &TestApp) -> Self {
        let (beckon, _store) = wiring::application(&app.cfg, &app.sources, 1)
            .await
            .unwrap();
        let state = AppState {
            beckon,
            body_limit: DEFAULT_BODY_LIMIT,
        };
        let server = HttpServer::new(move || {
            App::new()
                .route("/hello", web::get().to(|| async { "Hello from the host." }))
                .service(beckon_http::scope(state.clone(), PREFIX))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .unwrap();
        let base = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { base, handle }
    }

    async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// One way to reach Beckon: a base URL and a caller of a tenant of its own
/// (so that both sides can invite the same address).
struct Side {
    base: String,
    client: reqwest::Client,
    caller: Caller,
    /// The user this side invited, once it has.
    user: String,
}

impl Side {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }
}

/// The bundled app, a host mounting Beckon on the same database, and a side
/// for each: two tenants of the same name, each with an admin key.
async fn bundled_and_mounted(backend: Backend) -> (TestApp, Host, Side, Side) {
    let app = spawn_app(backend).await;
    let host = Host::start(&app).await;
    let bundled = Side {
        base: app.base.clone(),
        client: app.client.clone(),
        caller: app.admin("Acme").await,
        user: String::new(),
    };
    let mounted = Side {
        base: format!("{}{PREFIX}", host.base),
        client: app.client.clone(),
        caller: app.admin("Acme").await,
        user: String::new(),
    };
    (app, host, bundled, mounted)
}

/// A response, ready to be compared with another.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Every header but `date`, `content-length` (ids and times change the
    /// length) and `x-request-id` (kept apart).
    headers: BTreeMap<String, String>,
    request_id: Option<String>,
    /// The body as JSON, or as a JSON string when it is not JSON.
    body: Value,
}

impl Answer {
    async fn of(resp: Response) -> Self {
        let status = resp.status().as_u16();
        let mut headers = BTreeMap::new();
        for (name, value) in resp.headers() {
            let value = value.to_str().unwrap().to_owned();
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v: &mut String| *v = format!("{v}, {value}"))
                .or_insert(value);
        }
        headers.remove("date");
        headers.remove("content-length");
        let request_id = headers.remove("x-request-id");
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            headers,
            request_id,
            body,
        }
    }
}

/// Fields whose values differ between any two users or any two moments.
const VARYING: [&str; 7] = [
    "id",
    "created_at",
    "verified_at",
    "expires_at",
    "last_sent_at",
    "next",
    // `queued` or `sent`: whether each side's worker has delivered yet.
    "delivery",
];

/// `body` with the values of [`VARYING`] fields (null ones aside) blanked.
fn without_ids_and_times(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if VARYING.contains(&k.as_str()) && !v.is_null() {
                        json!("…")
                    } else {
                        without_ids_and_times(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_ids_and_times).collect()),
        other => other.clone(),
    }
}

/// Sends `request` as built for each side, asserts that both answer the
/// same, and returns both answers (bundled first).
async fn same_answer(
    label: &str,
    bundled: &Side,
    mounted: &Side,
    request: impl Fn(&Side) -> RequestBuilder,
) -> (Answer, Answer) {
    let b = Answer::of(request(bundled).send().await.unwrap()).await;
    let m = Answer::of(request(mounted).send().await.unwrap()).await;
    assert_eq!(b.status, m.status, "{label}: status; {b:?} / {m:?}");
    assert_eq!(b.headers, m.headers, "{label}: headers");
    assert_eq!(
        without_ids_and_times(&b.body),
        without_ids_and_times(&m.body),
        "{label}: body"
    );
    assert!(
        b.request_id.is_some() && m.request_id.is_some(),
        "{label}: X-Request-ID"
    );
    (b, m)
}

/// Asserts the status and error code of an answer.
fn assert_code(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.body["code"], code, "{answer:?}");
}

on_both_backends!(mounted_beckon_answers_errors_exactly_like_the_bundled_server);
async fn mounted_beckon_answers_errors_exactly_like_the_bundled_server(backend: Backend) {
    let (_app, host, bundled, mounted) = bundled_and_mounted(backend).await;
    type Build = fn(&Side) -> RequestBuilder;
    let cases: [(&str, u16, &str, Build); 9] = [
        ("resend, no credential", 401, "unauthenticated", |s| {
            s.post(&format!("/v1/users/{}/resend-invite", random_id()))
                .header("X-Tenant-ID", &s.caller.tenant)
        }),
        ("tenant not a UUID", 400, "invalid_request", |s| {
            let r = s.get("/v1/users").bearer_auth(&s.caller.key);
            r.header("X-Tenant-ID", "nope")
        }),
        ("another tenant", 403, "tenant_mismatch", |s| {
            let r = s.get("/v1/users").bearer_auth(&s.caller.key);
            r.header("X-Tenant-ID", random_id())
        }),
        ("body not JSON", 400, "invalid_request", |s| {
            let r = s.post("/v1/users").auth(&s.caller);
            r.header("Content-Type", "application/json")
                .body("{\"a\": ")
        }),
        ("body not JSON typed", 415, "unsupported_media_type", |s| {
            let r = s.post("/v1/users").auth(&s.caller);
            r.header("Content-Type", "text/plain").body("{}")
        }),
        ("unknown path", 404, "not_found", |s| s.get("/nope")),
        ("below a route", 404, "not_found", |s| {
            s.post("/v1/users/x/y")
        }),
        ("wrong method", 405, "method_not_allowed", |s| {
            s.request(Method::DELETE, "/v1/users")
        }),
        ("unknown token", 400, "invalid_token", |s| {
            s.post("/v1/invites/accept").json(&json!({ "token": "x" }))
        }),
    ];
    for (label, status, code, build) in cases {
        let (_, m) = same_answer(label, &bundled, &mounted, build).await;
        assert_code(&m, status, code);
        if status == 401 {
            assert_eq!(m.headers["www-authenticate"], "Bearer");
        }
    }
    host.stop().await;
}

on_both_backends!(mounted_beckon_invites_reads_and_lists_users_exactly_like_the_bundled_server);
async fn mounted_beckon_invites_reads_and_lists_users_exactly_like_the_bundled_server(
    backend: Backend,
) {
    let (_app, host, mut bundled, mut mounted) = bundled_and_mounted(backend).await;
    let (b, m) = same_answer("invite", &bundled, &mounted, |s| {
        s.post("/v1/users")
            .auth(&s.caller)
            .json(&json!({ "email": "ada@example.com", "name": "Ada" }))
    })
    .await;
    assert_eq!(m.status, 201, "{m:?}");
    bundled.user = b.body["id"].as_str().unwrap().to_owned();
    mounted.user = m.body["id"].as_str().unwrap().to_owned();
    assert_ne!(bundled.user, mounted.user);

    let (_, m) = same_answer("read", &bundled, &mounted, |s| {
        s.get(&format!("/v1/users/{}", s.user)).auth(&s.caller)
    })
    .await;
    assert_eq!(
        (m.status, &m.body["email"]),
        (200, &json!("ada@example.com"))
    );
    let (_, m) = same_answer("list", &bundled, &mounted, |s| {
        s.get("/v1/users?status=invited").auth(&s.caller)
    })
    .await;
    assert_eq!(m.body["items"][0]["id"], mounted.user.as_str());
    let (_, m) = same_answer("invite the same address again", &bundled, &mounted, |s| {
        s.post("/v1/users")
            .auth(&s.caller)
            .json(&json!({ "email": "ada@example.com" }))
    })
    .await;
    assert_code(&m, 409, "user_exists");
    let (_, m) = same_answer("another tenant's user", &bundled, &mounted, |s| {
        s.get(&format!("/v1/users/{}", random_id())).auth(&s.caller)
    })
    .await;
    assert_code(&m, 404, "not_found");
    for path in ["/healthz", "/readyz"] {
        let (_, m) = same_answer(path, &bundled, &mounted, |s| s.get(path)).await;
        assert_eq!(m.status, 200, "{path}");
    }
    host.stop().await;
}

on_both_backends!(mounted_beckon_echoes_a_sent_request_id_and_mints_one_when_none_is_sent);
async fn mounted_beckon_echoes_a_sent_request_id_and_mints_one_when_none_is_sent(backend: Backend) {
    let (_app, host, bundled, mounted) = bundled_and_mounted(backend).await;
    for path in ["/healthz", "/nope", "/v1/users"] {
        let (b, m) = same_answer(path, &bundled, &mounted, |s| {
            s.get(path).header("X-Request-ID", "req-42.a:b_c")
        })
        .await;
        assert_eq!(b.request_id.as_deref(), Some("req-42.a:b_c"), "{path}");
        assert_eq!(m.request_id.as_deref(), Some("req-42.a:b_c"), "{path}");

        let too_long = "r".repeat(201);
        for sent in [None, Some(too_long.as_str())] {
            let (b, m) = same_answer(path, &bundled, &mounted, |s| match sent {
                Some(id) => s.get(path).header("X-Request-ID", id),
                None => s.get(path),
            })
            .await;
            let (b, m) = (b.request_id.unwrap(), m.request_id.unwrap());
            assert!(uuid::Uuid::parse_str(&m).is_ok(), "{path}: minted {m}");
            assert!(uuid::Uuid::parse_str(&b).is_ok(), "{path}: minted {b}");
            assert_ne!(b, m, "{path}: every request gets an id of its own");
        }
    }
    host.stop().await;
}

on_both_backends!(the_host_keeps_its_own_routes_and_every_path_outside_the_prefix);
async fn the_host_keeps_its_own_routes_and_every_path_outside_the_prefix(backend: Backend) {
    let (app, host, bundled, mounted) = bundled_and_mounted(backend).await;
    let hello = app.client.get(format!("{}/hello", host.base));
    let hello = hello.send().await.unwrap();
    assert_eq!(hello.status(), 200);
    assert!(
        hello.headers().get("x-request-id").is_none(),
        "not Beckon's"
    );
    assert_eq!(hello.text().await.unwrap(), "Hello from the host.");

    // Outside the prefix the host's default answers: actix's bare 404.
    for path in ["/nope", "/v1/users", "/invitesx/healthz"] {
        let resp = app.client.get(format!("{}{path}", host.base));
        let resp = resp.send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert!(resp.headers().get("x-request-id").is_none(), "{path}");
        assert!(resp.text().await.unwrap().is_empty(), "{path}");
    }
    // The prefix itself is Beckon's: `/invites` and `/invites/` answer as
    // the bundled server's root does.
    for path in ["", "/"] {
        let (_, m) = same_answer(path, &bundled, &mounted, |s| s.get(path)).await;
        assert_code(&m, 404, "not_found");
    }
    host.stop().await;
}

on_both_backends!(the_invite_page_under_the_prefix_posts_its_form_back_under_the_prefix);
async fn the_invite_page_under_the_prefix_posts_its_form_back_under_the_prefix(backend: Backend) {
    let (app, host, _bundled, mounted) = bundled_and_mounted(backend).await;
    let resp = mounted
        .post("/v1/users")
        .auth(&mounted.caller)
        .json(&json!({ "email": "page@example.com" }))
        .send()
        .await
        .unwrap();
    let id = json_ok(resp, 201).await["id"].as_str().unwrap().to_owned();
    let token = app.new_token("page@example.com", 1, &[]).await;

    let page = mounted.get(&format!("/invite?token={token}"));
    let page = page.send().await.unwrap().text().await.unwrap();
    assert!(page.contains("action=\"/invites/invite\""), "{page}");
    let form = mounted.post("/invite").form(&[("token", token.as_str())]);
    let accepted = form.send().await.unwrap();
    assert_eq!(accepted.status(), 200);
    let user = mounted
        .get(&format!("/v1/users/{id}"))
        .auth(&mounted.caller);
    assert_eq!(
        json_ok(user.send().await.unwrap(), 200).await["status"],
        "active"
    );
    host.stop().await;
}

on_both_backends!(the_openapi_document_under_the_prefix_names_the_prefix_as_its_server);
async fn the_openapi_document_under_the_prefix_names_the_prefix_as_its_server(backend: Backend) {
    let (_app, host, bundled, mounted) = bundled_and_mounted(backend).await;
    let b = json_ok(bundled.get("/openapi.json").send().await.unwrap(), 200).await;
    let mut m = json_ok(mounted.get("/openapi.json").send().await.unwrap(), 200).await;
    assert!(
        b.get("servers").is_none(),
        "at the root, no servers: {}",
        b["servers"]
    );
    let servers = m.as_object_mut().unwrap().remove("servers");
    assert_eq!(servers, Some(json!([{ "url": PREFIX }])));
    assert_eq!(b, m, "otherwise the same document");
    host.stop().await;
}

on_both_backends!(a_mounted_docs_page_loads_its_script_and_spec_under_the_prefix);
async fn a_mounted_docs_page_loads_its_script_and_spec_under_the_prefix(backend: Backend) {
    let (_app, host, _bundled, mounted) = bundled_and_mounted(backend).await;
    let page = reqwest::Url::parse(&format!("{}/docs", mounted.base)).unwrap();
    let resp = mounted.get("/docs").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    let references: Vec<String> = crate::docs::attributes(&html, "src")
        .into_iter()
        .chain(crate::docs::attributes(&html, "spec-url"))
        .collect();
    assert_eq!(references.len(), 2, "{html}");
    for reference in references {
        let url = page.join(&reference).unwrap();
        assert!(
            url.path().starts_with(&format!("{PREFIX}/")),
            "{reference} resolves outside the prefix: {url}"
        );
        let resp = mounted.client.get(url.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
    }
    host.stop().await;
}
