//! `GET /docs`: a readable API reference rendered in the browser from
//! `/openapi.json` by RapiDoc 9.3.8, whose script is compiled into the
//! binary and served at `/docs/assets/rapidoc-min.js` (see
//! `crates/http/assets/rapidoc/README.md`). The page loads nothing from
//! any other host, and its Content-Security-Policy forbids it to.

use actix_web::HttpResponse;
use actix_web::http::header;

/// RapiDoc's script, as published (MIT; licence beside it).
const RAPIDOC_JS: &[u8] = include_bytes!("../../assets/rapidoc/rapidoc-min.js");

/// Where the page's script is served (under the mount prefix, if any: the
/// page refers to it relatively).
pub const SCRIPT_PATH: &str = "/docs/assets/rapidoc-min.js";

/// Everything the page may load: its own origin's script, spec and API
/// ("try it" requests), inline styles (RapiDoc's web components style
/// themselves) and `data:` images; nothing else, and no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page. URLs are relative (`docs/assets/…`, `openapi.json`) so that
/// they resolve under a mount prefix too; the fonts are the system's, and
/// `load-fonts="false"` stops RapiDoc from fetching its default web font
/// (Open Sans, from fonts.gstatic.com) anyway. The empty `data:` icon
/// keeps browsers from asking for a `/favicon.ico` that is not there, and
/// lifting RapiDoc's own 360 px minimum width keeps a 320 px screen from
/// scrolling sideways.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Beckon API reference</title>
<link rel="icon" href="data:,">
<style>rapi-doc{min-width:0}</style>
<script src="docs/assets/rapidoc-min.js" defer></script>
</head>
<body>
<rapi-doc spec-url="openapi.json"
  heading-text="Beckon API"
  render-style="read"
  show-header="false"
  allow-spec-url-load="false"
  allow-spec-file-load="false"
  regular-font="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
  mono-font="ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
  load-fonts="false"
  theme="light"></rapi-doc>
<noscript>The API reference needs JavaScript; the document itself is at <a href="openapi.json">openapi.json</a>.</noscript>
</body>
</html>
"#;

/// The reference page.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(PAGE)
}

/// RapiDoc's script.
pub async fn rapidoc_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        // It changes only with the binary.
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(RAPIDOC_JS)
}
