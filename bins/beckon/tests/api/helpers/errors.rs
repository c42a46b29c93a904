//! Checking responses: the one error-shape assertion and its companions.

use reqwest::Response;
use serde_json::Value;

/// Checks an error response against CONTRACT §1 and returns its body:
/// the status, JSON, `code` and a non-empty `message`; `details` only as a
/// non-empty object, `notices` only as a non-empty array of strings, no
/// other field; `WWW-Authenticate: Bearer` on 401; on 429 a `Retry-After`
/// equal to `details.retry_after_seconds`.
pub async fn assert_error(resp: Response, status: u16, code: &str) -> Value {
    let got = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "status; body: {text}");
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "content type {ct:?}; body: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("a JSON error body");
    let obj = body.as_object().expect("an object");
    assert_eq!(
        obj.get("code").and_then(Value::as_str),
        Some(code),
        "code; body: {text}"
    );
    let message = obj.get("message").and_then(Value::as_str).expect("message");
    assert!(!message.trim().is_empty(), "an empty message");
    if let Some(d) = obj.get("details") {
        let d = d.as_object().expect("details is an object");
        assert!(!d.is_empty(), "details present but empty: {text}");
    }
    if let Some(n) = obj.get("notices") {
        let n = n.as_array().expect("notices is an array");
        assert!(!n.is_empty(), "notices present but empty: {text}");
        assert!(n.iter().all(Value::is_string), "notices are strings");
    }
    for key in obj.keys() {
        assert!(
            ["code", "message", "details", "notices"].contains(&key.as_str()),
            "unexpected field {key} in {text}"
        );
    }
    if status == 401 {
        let www = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok());
        assert_eq!(www, Some("Bearer"), "401 carries WWW-Authenticate: Bearer");
    }
    if status == 429 {
        let retry: u64 = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("a Retry-After header in whole seconds");
        assert!(retry >= 1, "Retry-After at least 1");
        assert_eq!(body["details"]["retry_after_seconds"].as_u64(), Some(retry));
    }
    body
}

/// `details.field` of an error body.
pub fn field(body: &Value) -> &str {
    body["details"]["field"].as_str().unwrap_or("")
}

/// Decodes a 2xx JSON body, asserting the status.
pub async fn json_ok(resp: Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "status; body: {text}");
    serde_json::from_str(&text).expect("JSON body")
}
