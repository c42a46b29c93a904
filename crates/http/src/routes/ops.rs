//! Operations endpoints: liveness, readiness, the OpenAPI document.

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::Server;

use crate::AppState;
use crate::dto::StatusBody;
use crate::error::ApiError;
use crate::openapi::ApiDoc;

/// The process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "ops", responses((status = 200, body = StatusBody)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusBody {
        status: "ok".to_owned(),
    })
}

/// The database is reachable.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "ops",
    responses((status = 200, body = StatusBody), (status = 503, body = crate::error::ErrorBody))
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.beckon.health.ping().await {
        Ok(()) => Ok(HttpResponse::Ok().json(StatusBody {
            status: "ok".to_owned(),
        })),
        Err(e) => Err(ApiError::unavailable(&anyhow::Error::new(e))),
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "ops", responses((status = 200, description = "OpenAPI 3.1 document.")))]
pub async fn openapi(req: HttpRequest) -> HttpResponse {
    let mut doc = ApiDoc::openapi();
    // Mounted under a prefix (`crate::scope`), the paths hang off it: say
    // so in `servers`, which clients prepend. At the root there is none.
    let prefix = req.path().strip_suffix("/openapi.json").unwrap_or("");
    if !prefix.is_empty() {
        doc.servers = Some(vec![Server::new(prefix)]);
    }
    HttpResponse::Ok().json(doc)
}
