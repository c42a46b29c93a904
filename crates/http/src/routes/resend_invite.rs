//! `POST /v1/users/{id}/resend-invite` — the seed endpoint.

use actix_web::{HttpRequest, HttpResponse, web};
use beckon_domain::ResendCommand;

use crate::AppState;
use crate::auth::{caller_for_user, idempotency_key};
use crate::dto::MessageBody;
use crate::error::{ApiError, ErrorBody};

/// Resend invite email for an unverified user.
#[utoipa::path(
    post,
    path = "/v1/users/{id}/resend-invite",
    operation_id = "resend_invite",
    tag = "users",
    params(
        ("id" = String, Path, format = Uuid, description = "The user's id."),
        ("X-Tenant-ID" = String, Header, format = Uuid, description = "Tenant identifier. Must match the tenant associated with the credential."),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 printable ASCII characters; a repeat within 24 h replays the first success."),
    ),
    responses(
        (status = 200, description = "Invite resent.", body = MessageBody),
        (status = 400, description = "invalid_request: id or X-Tenant-ID not a UUID, X-Tenant-ID missing, or Idempotency-Key not 1–255 printable ASCII characters.", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential.", body = ErrorBody),
        (status = 403, description = "tenant_mismatch, or forbidden by policy (notices explain).", body = ErrorBody),
        (status = 404, description = "User not found.", body = ErrorBody),
        (status = 409, description = "already_verified: the user has accepted; invite_revoked: the invite was revoked.", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for another request.", body = ErrorBody),
        (status = 429, description = "Cooldown or daily cap; see Retry-After.", body = ErrorBody),
        (status = 503, description = "The database cannot be reached; nothing was changed.", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, user_id) = caller_for_user(&req, &state).await?;
    let cmd = ResendCommand {
        principal: caller.principal,
        user_id,
        idempotency_key: idempotency_key(&req)?,
        request_id: caller.request_id,
    };
    state.beckon.resend_invite.execute(&cmd).await?;
    Ok(HttpResponse::Ok().json(MessageBody {
        message: "Invite resent.".to_owned(),
    }))
}
