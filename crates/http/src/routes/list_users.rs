//! `GET /v1/users` — list users, keyset-paginated by id.

use actix_web::{HttpRequest, HttpResponse, web};
use beckon_domain::ListCommand;
use beckon_domain::list_users::DEFAULT_LIMIT;
use beckon_ports::{UserId, UserStatus};
use serde::Deserialize;

use crate::AppState;
use crate::auth::caller;
use crate::dto::{UserBody, UserPageBody};
use crate::error::{ApiError, ErrorBody};

#[derive(Deserialize)]
struct Query {
    status: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// List the caller's tenant's users.
#[utoipa::path(
    get,
    path = "/v1/users",
    operation_id = "list_users",
    tag = "users",
    params(
        ("X-Tenant-ID" = String, Header, format = Uuid, description = "The credential's tenant."),
        ("status" = Option<String>, Query, description = "`invited`, `active` or `revoked`."),
        ("limit" = Option<u32>, Query, description = "1–200, default 50."),
        ("after" = Option<String>, Query, format = Uuid, description = "A user id: the page starts after it."),
    ),
    responses(
        (status = 200, description = "A page of users.", body = UserPageBody),
        (status = 400, description = "Bad query or header.", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential.", body = ErrorBody),
        (status = 403, description = "tenant_mismatch or forbidden.", body = ErrorBody),
        (status = 503, description = "The database cannot be reached.", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(&req, &state).await?;
    let q: Query = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ApiError::invalid("query", "The query string could not be parsed."))?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(UserStatus::parse(s).ok_or_else(|| {
            ApiError::invalid("status", "status must be `invited`, `active` or `revoked`.")
        })?),
    };
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .map_err(|_| ApiError::invalid("limit", "limit must be an integer from 1 to 200."))?,
    };
    let after = match q.after.as_deref() {
        None => None,
        Some(a) => Some(
            a.parse::<UserId>()
                .map_err(|_| ApiError::invalid("after", "after must be a user id (UUID)."))?,
        ),
    };
    let page = state
        .beckon
        .list_users
        .execute(
            &caller.principal,
            &ListCommand {
                status,
                after,
                limit,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(UserPageBody {
        items: page.items.iter().map(UserBody::from).collect(),
        next: page.next.map(|id| id.to_string()),
    }))
}
