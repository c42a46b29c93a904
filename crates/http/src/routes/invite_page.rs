//! `GET /invite?token=…` and `POST /invite` — the page behind the email
//! link. Opening it changes nothing (mail scanners open links); the button
//! accepts. Answers people in HTML, not JSON, in the tenant's language; a
//! page that knows no tenant (an unknown token, an outage) follows the
//! browser's `Accept-Language`, English when it names none of ours.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use beckon_domain::AcceptInviteError;
use beckon_ports::Locale;
use serde::Deserialize;

use crate::AppState;
use crate::auth::request_id;

#[path = "invite_page_words.rs"]
mod words;

use words::{from_accept_language, words};

#[derive(Deserialize)]
struct TokenParam {
    token: Option<String>,
}

/// The page behind the email link: names the tenant and offers an "Accept
/// invitation" button. Opening it changes nothing.
#[utoipa::path(
    get,
    path = "/invite",
    operation_id = "show_invite_page",
    tag = "invites",
    params(("token" = String, Query, description = "The token from the invite email.")),
    responses(
        (status = 200, description = "The invitation, with an Accept button.", content_type = "text/html"),
        (status = 400, description = "The link is not valid (unknown, replaced or used token), or the invitation was withdrawn.", content_type = "text/html"),
        (status = 410, description = "The invitation has expired.", content_type = "text/html"),
        (status = 503, description = "The database cannot be reached.", content_type = "text/html"),
    )
)]
pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let token = serde_urlencoded::from_str::<TokenParam>(req.query_string())
        .ok()
        .and_then(|p| p.token)
        .unwrap_or_default();
    match state.beckon.view_invite.execute(&token).await {
        Ok(view) => {
            let w = words(view.locale);
            let tenant = escape(view.tenant_name.as_str());
            let expires = escape(&view.locale.date_time(view.expires_at)).into_owned();
            // The form posts back to the path the page was served from, so
            // that it works wherever Beckon is mounted (`/invite` alone, or
            // `/invites/invite` under a prefix); CSP keeps it same-origin.
            let action = escape(req.path());
            page(
                StatusCode::OK,
                view.locale,
                &(w.join)(&tenant),
                &format!(
                    "<p>{}</p><p>{}</p>\
                     <form method=\"post\" action=\"{action}\">\
                     <input type=\"hidden\" name=\"token\" value=\"{}\">\
                     <button type=\"submit\">{}</button></form>",
                    (w.invited_by)(&format!("<strong>{tenant}</strong>")),
                    (w.valid_until)(&expires),
                    escape(&token),
                    w.button,
                ),
            )
        }
        Err(e) => refusal(&req, &e),
    }
}

/// The page's form: accepts the invite and says what happened, in HTML.
#[utoipa::path(
    post,
    path = "/invite",
    operation_id = "accept_invite_page",
    tag = "invites",
    request_body(content = crate::dto::InviteForm, content_type = "application/x-www-form-urlencoded", description = "token=<the token>"),
    responses(
        (status = 200, description = "Accepted.", content_type = "text/html"),
        (status = 400, description = "The token is not valid, or the invitation was withdrawn.", content_type = "text/html"),
        (status = 410, description = "The invitation has expired.", content_type = "text/html"),
        (status = 503, description = "The database cannot be reached.", content_type = "text/html"),
    )
)]
pub async fn accept(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let token = match payload.to_bytes_limited(state.body_limit).await {
        Ok(Ok(bytes)) => serde_urlencoded::from_bytes::<TokenParam>(&bytes)
            .ok()
            .and_then(|p| p.token)
            .unwrap_or_default(),
        _ => String::new(),
    };
    match state
        .beckon
        .accept_invite
        .execute(&token, &request_id(&req))
        .await
    {
        Ok(accepted) => {
            let (title, body) = words(accepted.locale).accepted;
            page(StatusCode::OK, accepted.locale, title, body)
        }
        Err(e) => refusal(&req, &e),
    }
}

/// The page for each way an invite can be refused, in plain words: in the
/// tenant's language when the token named one, else in the browser's.
fn refusal(req: &HttpRequest, e: &AcceptInviteError) -> HttpResponse {
    let browser = || {
        from_accept_language(
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    };
    let (status, locale, pick): (_, _, fn(&words::Words) -> words::Page) = match e {
        AcceptInviteError::InvalidToken => (StatusCode::BAD_REQUEST, browser(), |w| w.invalid),
        AcceptInviteError::Withdrawn { locale } => {
            (StatusCode::BAD_REQUEST, *locale, |w| w.withdrawn)
        }
        AcceptInviteError::Expired { locale } => (StatusCode::GONE, *locale, |w| w.expired),
        AcceptInviteError::Unavailable(cause) => {
            tracing::warn!(error = %format!("{cause:#}"), "store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, browser(), |w| {
                w.unavailable
            })
        }
        AcceptInviteError::Unexpected(cause) => {
            tracing::error!(error = %format!("{cause:#}"), "unexpected error");
            (StatusCode::INTERNAL_SERVER_ERROR, browser(), |w| {
                w.unexpected
            })
        }
    };
    let (title, body) = pick(words(locale));
    page(status, locale, title, body)
}

/// A complete, self-contained page: no external assets, no scripts, and
/// headers that keep the token out of referrers and caches.
fn page(status: StatusCode, locale: Locale, title: &str, body: &str) -> HttpResponse {
    let lang = locale.as_str();
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         button{{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:.3rem;background:#2d5be3;color:#fff;cursor:pointer}}\
         </style></head><body><h1>{title}</h1>{body}</body></html>"
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_LANGUAGE, lang))
        // Which language a refusal is in can depend on Accept-Language.
        .insert_header((header::VARY, "Accept-Language"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(html)
}

/// Escapes text for element content and quoted attribute values.
fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_quoted_attribute(s)
}
