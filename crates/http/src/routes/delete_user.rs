//! `DELETE /v1/users/{id}` — erase a user.

use actix_web::{HttpRequest, HttpResponse, web};
use beckon_domain::DeleteCommand;

use crate::AppState;
use crate::auth::{caller_for_user, idempotency_key};
use crate::error::{ApiError, ErrorBody};

/// Erase a user: the user, their token, their queued emails and every
/// stored copy of their address and name. The audit trail keeps ids only;
/// the address may be invited again.
#[utoipa::path(
    delete,
    path = "/v1/users/{id}",
    operation_id = "delete_user",
    tag = "users",
    params(
        ("id" = String, Path, format = Uuid, description = "The user's id."),
        ("X-Tenant-ID" = String, Header, format = Uuid, description = "The credential's tenant."),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 printable ASCII characters; a repeat within 24 h replays the first success."),
    ),
    responses(
        (status = 204, description = "Erased."),
        (status = 400, description = "invalid_request: id or X-Tenant-ID not a UUID, X-Tenant-ID missing, or Idempotency-Key not 1–255 printable ASCII characters.", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential.", body = ErrorBody),
        (status = 403, description = "tenant_mismatch, or forbidden by policy (notices explain).", body = ErrorBody),
        (status = 404, description = "User not found.", body = ErrorBody),
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
    let cmd = DeleteCommand {
        principal: caller.principal,
        user_id,
        idempotency_key: idempotency_key(&req)?,
        request_id: caller.request_id,
    };
    state.beckon.delete_user.execute(&cmd).await?;
    Ok(HttpResponse::NoContent().finish())
}
