//! `GET /v1/users/{id}` — read a user.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::AppState;
use crate::auth::caller_for_user;
use crate::dto::UserBody;
use crate::error::{ApiError, ErrorBody};

/// Read one user of the caller's tenant.
#[utoipa::path(
    get,
    path = "/v1/users/{id}",
    operation_id = "read_user",
    tag = "users",
    params(
        ("id" = String, Path, format = Uuid, description = "The user's id."),
        ("X-Tenant-ID" = String, Header, format = Uuid, description = "The credential's tenant."),
    ),
    responses(
        (status = 200, description = "The user.", body = UserBody),
        (status = 400, description = "id or X-Tenant-ID not a UUID.", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential.", body = ErrorBody),
        (status = 403, description = "tenant_mismatch or forbidden.", body = ErrorBody),
        (status = 404, description = "User not found.", body = ErrorBody),
        (status = 503, description = "The database cannot be reached.", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, user_id) = caller_for_user(&req, &state).await?;
    let user = state
        .beckon
        .read_user
        .execute(&caller.principal, user_id)
        .await?;
    Ok(HttpResponse::Ok().json(UserBody::from(&user)))
}
