//! `POST /v1/users` — invite a new user.

use actix_web::{HttpRequest, HttpResponse, web};
use beckon_domain::InviteCommand;
use beckon_ports::{Email, UserName};

use crate::AppState;
use crate::auth::{caller, idempotency_key};
use crate::body;
use crate::dto::{InviteRequest, UserBody};
use crate::error::{ApiError, ErrorBody};

/// Invite a new user: creates it unverified and queues the first invite.
#[utoipa::path(
    post,
    path = "/v1/users",
    operation_id = "invite_user",
    tag = "users",
    request_body = InviteRequest,
    params(
        ("X-Tenant-ID" = String, Header, format = Uuid, description = "The credential's tenant."),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 printable ASCII characters; a repeat with the same body within 24 h replays the first success."),
    ),
    responses(
        (status = 201, description = "Invited.", body = UserBody),
        (status = 400, description = "invalid_request: bad email, name, body, X-Tenant-ID or Idempotency-Key.", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential.", body = ErrorBody),
        (status = 403, description = "tenant_mismatch or forbidden.", body = ErrorBody),
        (status = 409, description = "user_exists: the email already belongs to a user of this tenant.", body = ErrorBody),
        (status = 413, description = "Body too large.", body = ErrorBody),
        (status = 415, description = "Body not application/json.", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused with a different body.", body = ErrorBody),
        (status = 503, description = "The database cannot be reached.", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(&req, &state).await?;
    let idempotency_key = idempotency_key(&req)?;
    let body: InviteRequest = body::json(&req, payload, state.body_limit).await?;
    let email =
        Email::parse(&body.email).map_err(|e| ApiError::invalid("email", format!("{e}.")))?;
    let name = match body.name.as_deref() {
        None => None,
        Some(n) => {
            Some(UserName::parse(n).map_err(|e| ApiError::invalid("name", format!("{e}.")))?)
        }
    };
    let cmd = InviteCommand {
        principal: caller.principal,
        email,
        name,
        idempotency_key,
        request_id: caller.request_id,
    };
    let out = state.beckon.invite_user.execute(&cmd).await?;
    Ok(HttpResponse::Created().json(UserBody::from(&out.user)))
}
