//! `GET /invite?token=…` and `POST /invite` — the page behind the email
//! link. Opening it changes nothing (mail scanners open links); the button
//! accepts. Answers people in HTML, not JSON.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use beckon_domain::AcceptInviteError;
use serde::Deserialize;

use crate::AppState;
use crate::auth::request_id;

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
            let tenant = escape(view.tenant_name.as_str());
            let expires = view.expires_at.format("%-d %B %Y at %H:%M UTC");
            // The form posts back to the path the page was served from, so
            // that it works wherever Beckon is mounted (`/invite` alone, or
            // `/invites/invite` under a prefix); CSP keeps it same-origin.
            let action = escape(req.path());
            page(
                StatusCode::OK,
                &format!("Join {tenant}"),
                &format!(
                    "<p><strong>{tenant}</strong> has invited you to join.</p>\
                     <p>This invitation is valid until {expires}.</p>\
                     <form method=\"post\" action=\"{action}\">\
                     <input type=\"hidden\" name=\"token\" value=\"{}\">\
                     <button type=\"submit\">Accept invitation</button></form>",
                    escape(&token)
                ),
            )
        }
        Err(e) => refusal(&e),
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
        Ok(_) => page(
            StatusCode::OK,
            "Invitation accepted",
            "<p>Your invitation is accepted and your account is active.</p>\
             <p>You can close this page.</p>",
        ),
        Err(e) => refusal(&e),
    }
}

/// The page for each way an invite can be refused, in plain words.
fn refusal(e: &AcceptInviteError) -> HttpResponse {
    match e {
        AcceptInviteError::InvalidToken => page(
            StatusCode::BAD_REQUEST,
            "This invitation link does not work",
            "<p>This link is not valid. It may have been replaced by a newer invitation \
             email, or it was already used.</p>\
             <p>Look for the most recent invitation email, or ask whoever invited you to send a new one.</p>",
        ),
        AcceptInviteError::Withdrawn => page(
            StatusCode::BAD_REQUEST,
            "This invitation was withdrawn",
            "<p>Whoever invited you has withdrawn this invitation, so the link no longer works.</p>\
             <p>If you still expect to join, ask them to invite you again.</p>",
        ),
        AcceptInviteError::Expired => page(
            StatusCode::GONE,
            "This invitation has expired",
            "<p>This invitation is too old to use.</p>\
             <p>Ask whoever invited you to send a new one.</p>",
        ),
        AcceptInviteError::Unavailable(cause) => {
            tracing::warn!(error = %format!("{cause:#}"), "store unavailable");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again in a moment",
                "<p>We could not reach our database just now. Nothing was changed; \
                 please try again in a minute.</p>",
            )
        }
        AcceptInviteError::Unexpected(cause) => {
            tracing::error!(error = %format!("{cause:#}"), "unexpected error");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>Something went wrong on our side. Please try again later.</p>",
            )
        }
    }
}

/// A complete, self-contained page: no external assets, no scripts, and
/// headers that keep the token out of referrers and caches.
fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         button{{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:.3rem;background:#2d5be3;color:#fff;cursor:pointer}}\
         </style></head><body><h1>{title}</h1>{body}</body></html>"
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
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
