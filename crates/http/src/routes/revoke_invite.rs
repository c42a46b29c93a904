//! `POST /v1/users/{id}/revoke-invite` — withdraw an invite.

use actix_web::{HttpRequest, HttpResponse, web};
use beckon_domain::RevokeCommand;

use crate::AppState;
use crate::auth::{caller_for_user, idempotency_key};
use crate::dto::MessageBody;
use crate::error::{ApiError, ErrorBody};

/// Revoke a pending invite: the token stops working at once and queued
/// emails are never sent. Revoking again answers 200 and changes nothing.
#[utoipa::path(
    post,
    path = "/v1/users/{id}/revoke-invite",
    operation_id = "revoke_invite",
    tag = "users",
    params(
        ("id" = String, Path, format = Uuid, description = "The user's id."),
        ("X-Tenant-ID" = String, Header, format = Uuid, description = "The credential's tenant."),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 printable ASCII characters; a repeat within 24 h replays the first success."),
    ),
    responses(
        (status = 200, description = "Invite revoked.", body = MessageBody),
        (status = 400, description = "invalid_request: id or X-Tenant-ID not a UUID, X-Tenant-ID missing, or Idempotency-Key not 1–255 printable ASCII characters.", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential.", body = ErrorBody),
        (status = 403, description = "tenant_mismatch, or forbidden by policy (notices explain).", body = ErrorBody),
        (status = 404, description = "User not found.", body = ErrorBody),
        (status = 409, description = "already_verified: the user has accepted.", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for another request.", body = ErrorBody),
        (status = 503, description = "The database cannot be reached; nothing was changed.", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, user_id) = caller_for_user(&req, &state).await?;
    let cmd = RevokeCommand {
        principal: caller.principal,
        user_id,
        idempotency_key: idempotency_key(&req)?,
        request_id: caller.request_id,
    };
    state.beckon.revoke_invite.execute(&cmd).await?;
    Ok(HttpResponse::Ok().json(MessageBody {
        message: "Invite revoked.".to_owned(),
    }))
}
