//! `GET /v1/audit` — the audit trail, newest first, keyset-paginated.

use actix_web::{HttpRequest, HttpResponse, web};
use beckon_domain::AuditCommand;
use beckon_domain::list_users::DEFAULT_LIMIT;
use beckon_ports::UserId;
use serde::Deserialize;

use crate::AppState;
use crate::auth::caller;
use crate::dto::{AuditEntryBody, AuditPageBody};
use crate::error::{ApiError, ErrorBody};

#[derive(Deserialize)]
struct Query {
    user_id: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// Read the caller's tenant's audit trail.
#[utoipa::path(
    get,
    path = "/v1/audit",
    operation_id = "list_audit",
    tag = "users",
    params(
        ("X-Tenant-ID" = String, Header, format = Uuid, description = "The credential's tenant."),
        ("user_id" = Option<String>, Query, format = Uuid, description = "Only entries about this user."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1–200, default 50."),
        ("after" = Option<String>, Query, format = Uuid, description = "An entry id (`next` of the previous page): the page starts after it, with older entries."),
    ),
    responses(
        (status = 200, description = "A page of the trail, newest first.", body = AuditPageBody),
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
    let user_id = match q.user_id.as_deref() {
        None => None,
        Some(u) => Some(
            u.parse::<UserId>()
                .map_err(|_| ApiError::invalid("user_id", "user_id must be a UUID."))?,
        ),
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
            uuid::Uuid::parse_str(a)
                .map_err(|_| ApiError::invalid("after", "after must be an entry id (UUID)."))?,
        ),
    };
    let page = state
        .beckon
        .list_audit
        .execute(
            &caller.principal,
            &AuditCommand {
                user_id,
                after,
                limit,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(AuditPageBody {
        items: page.items.iter().map(AuditEntryBody::from).collect(),
        next: page.next.map(|id| id.to_string()),
    }))
}
