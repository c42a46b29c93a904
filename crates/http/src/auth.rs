//! The checks every tenant-scoped route makes, in the contract's order:
//! credential (401), then headers and path ids (400), then tenant (403).

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};
use beckon_domain::scope_to_tenant;
use beckon_ports::{IdempotencyKey, Principal, RequestId, TenantId, UserId};

use crate::AppState;
use crate::error::ApiError;

/// A caller that passed checks 1–3.
pub struct Caller {
    /// Who.
    pub principal: Principal,
    /// The request's id.
    pub request_id: RequestId,
}

/// Runs checks 1–3 for a route without a path id.
pub async fn caller(req: &HttpRequest, state: &AppState) -> Result<Caller, ApiError> {
    checks(req, state, false).await.map(|(caller, _)| caller)
}

/// Runs checks 1–3 for a `/v1/users/{id}…` route; the id is parsed in step 2.
pub async fn caller_for_user(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(Caller, UserId), ApiError> {
    let (caller, user) = checks(req, state, true).await?;
    let user = user.ok_or_else(|| ApiError::invalid("id", "The user id is required."))?;
    Ok((caller, user))
}

async fn checks(
    req: &HttpRequest,
    state: &AppState,
    has_path_id: bool,
) -> Result<(Caller, Option<UserId>), ApiError> {
    // 1. Credential.
    let bearer = bearer(req).ok_or_else(ApiError::unauthenticated)?;
    let principal = state.beckon.authenticate.execute(bearer).await?;

    // 2. Headers and path ids.
    let tenant: TenantId = req
        .headers()
        .get("X-Tenant-ID")
        .ok_or_else(|| ApiError::invalid("X-Tenant-ID", "The X-Tenant-ID header is required."))?
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| ApiError::invalid("X-Tenant-ID", "X-Tenant-ID must be a UUID."))?;
    let path_id = has_path_id.then(|| req.match_info().get("id").unwrap_or(""));
    let user_id = match path_id {
        Some(raw) => Some(
            raw.parse::<UserId>()
                .map_err(|_| ApiError::invalid("id", "The user id in the path must be a UUID."))?,
        ),
        None => None,
    };

    // 3. Tenant.
    scope_to_tenant(&principal, tenant)?;
    Ok((
        Caller {
            principal,
            request_id: request_id(req),
        },
        user_id,
    ))
}

/// The `Bearer` credential, if the header has that shape.
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The optional `Idempotency-Key` header.
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let invalid = |m: &str| ApiError::invalid("Idempotency-Key", m.to_owned());
    let text = value
        .to_str()
        .map_err(|_| invalid("Idempotency-Key must be printable ASCII."))?;
    IdempotencyKey::parse(text)
        .map(Some)
        .map_err(|e| invalid(&format!("{e}.")))
}

/// The id the request-context middleware gave this request.
pub fn request_id(req: &HttpRequest) -> RequestId {
    req.extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(|| RequestId::from_uuid(uuid::Uuid::now_v7()))
}
