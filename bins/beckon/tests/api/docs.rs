//! `GET /docs` (CONTRACT §7): a readable API reference, self-contained:
//! everything it loads is served by Beckon, and its Content-Security-Policy
//! allows nothing else.

use reqwest::Url;

use crate::helpers::{Backend, on_both_backends, spawn_app};

/// The values of every `name="…"` attribute in `html`.
pub(crate) fn attributes(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        rest = &rest[at + needle.len()..];
        let end = rest.find('"').expect("a closed attribute");
        out.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    out
}

on_both_backends!(the_docs_page_is_html_with_a_strict_content_security_policy);
async fn the_docs_page_is_html_with_a_strict_content_security_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.get("/docs").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    let ct = headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/html"), "{ct}");
    let csp = headers
        .get("content-security-policy")
        .expect("a Content-Security-Policy")
        .to_str()
        .unwrap();
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for expected in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(directives.contains(&expected), "{expected} not in {csp}");
    }
    // No other host, and no inline or evaluated script.
    for forbidden in ["http:", "https:", "*", "'unsafe-eval'"] {
        assert!(!csp.contains(forbidden), "{forbidden} in {csp}");
    }
    let script_src = directives
        .iter()
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    let html = resp.text().await.unwrap();
    assert!(html.contains("<rapi-doc"), "{html}");
    assert!(!html.contains("<script>"), "no inline script: {html}");
}

on_both_backends!(everything_the_docs_page_loads_is_served_by_beckon);
async fn everything_the_docs_page_loads_is_served_by_beckon(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = Url::parse(&app.url("/docs")).unwrap();
    let html = app.get("/docs").send().await.unwrap().text().await.unwrap();
    let scripts = attributes(&html, "src");
    assert!(!scripts.is_empty(), "the page loads its renderer: {html}");
    let mut loaded: Vec<(String, &str)> = scripts
        .into_iter()
        .map(|s| (s, "text/javascript"))
        .collect();
    // The empty `data:` icon is inline: it loads nothing.
    let hrefs = attributes(&html, "href");
    assert!(
        hrefs.iter().any(|h| h == "data:,"),
        "an inline icon: {html}"
    );
    loaded.extend(hrefs.into_iter().filter(|h| h != "data:,").map(|h| {
        let kind = if h.ends_with(".json") {
            "application/json"
        } else {
            "text/css"
        };
        (h, kind)
    }));
    // The spec the renderer fetches.
    loaded.extend(
        attributes(&html, "spec-url")
            .into_iter()
            .map(|s| (s, "application/json")),
    );
    assert!(
        loaded.iter().any(|(_, kind)| *kind == "application/json"),
        "the page names its spec: {html}"
    );
    for (reference, content_type) in loaded {
        let url = page.join(&reference).unwrap();
        assert_eq!(
            url.origin(),
            page.origin(),
            "{reference} is on another host"
        );
        let resp = app.client.get(url.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(content_type), "{url}: {ct}");
        let body = resp.bytes().await.unwrap();
        assert!(!body.is_empty(), "{url}");
    }
}

on_both_backends!(the_renderer_script_names_no_other_host_it_would_load_from);
async fn the_renderer_script_names_no_other_host_it_would_load_from(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.get("/docs/assets/rapidoc-min.js").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let js = resp.text().await.unwrap();
    assert!(js.starts_with("/*! RapiDoc 9.3.8"), "the vendored RapiDoc");
    // Its only absolute URLs to load from are its default web font's,
    // which the page never uses (it names system fonts) and the CSP
    // would block: font-src falls back to default-src 'none'.
    let html = app.get("/docs").send().await.unwrap().text().await.unwrap();
    for font in attributes(&html, "regular-font")
        .into_iter()
        .chain(attributes(&html, "mono-font"))
    {
        assert!(!font.contains("Open Sans"), "{font}");
    }
}
