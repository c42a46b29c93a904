//! The one place errors become HTTP responses: every error of every route,
//! actix's own included, leaves as `{code, message, details?, notices?}`.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use beckon_domain::{
    AcceptInviteError, AuthError, DeleteUserError, InviteUserError, ListAuditError, ListUsersError,
    ReadUserError, ResendInviteError, RevokeInviteError, TenantMismatch, retry_after_seconds,
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::fmt;
use std::time::Duration;

/// The error body (CONTRACT §1).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable error code (e.g. "not_found", "tenant_mismatch").
    pub code: String,
    /// Human-readable description of the error.
    pub message: String,
    /// Optional additional context about the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Map<String, Value>>,
    /// Policy notices from determining Cedar rules, if applicable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    // Boxed: errors travel through every `Result` of every handler.
    body: Box<ErrorBody>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                details: None,
                notices: Vec::new(),
            }),
            retry_after: None,
        }
    }

    /// Adds one `details` entry.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.body
            .details
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value.into());
        self
    }

    /// 400 `invalid_request` naming the offending field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message).detail("field", field)
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "A valid API key is required.",
        )
    }

    /// 404 `not_found` for a user.
    pub fn user_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "User not found.")
    }

    fn forbidden(notices: Vec<String>) -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The policies do not allow this request.",
        );
        e.body.notices = notices;
        e
    }

    fn rate_limited(wait: Duration) -> Self {
        let secs = retry_after_seconds(wait);
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many invites sent to this user; try again later.",
        )
        .detail("retry_after_seconds", secs);
        e.retry_after = Some(secs);
        e
    }

    fn already_verified() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "already_verified",
            "User is already verified.",
        )
    }

    fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request.",
        )
    }

    /// 503 `unavailable`; the cause is logged, not shown.
    pub fn unavailable(cause: &anyhow::Error) -> Self {
        tracing::warn!(error = %format!("{cause:#}"), "store unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service is temporarily unavailable; nothing was changed.",
        )
    }

    /// 500 `internal`; the chain is logged, the caller gets nothing of it.
    pub fn internal(cause: &anyhow::Error) -> Self {
        tracing::error!(error = %format!("{cause:#}"), "unexpected error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side.",
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.body.code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        res.json(&*self.body)
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated => Self::unauthenticated(),
            AuthError::Unavailable(c) => Self::unavailable(&c),
            AuthError::Unexpected(c) => Self::internal(&c),
        }
    }
}

impl From<TenantMismatch> for ApiError {
    fn from(_: TenantMismatch) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "tenant_mismatch",
            "X-Tenant-ID does not match the credential's tenant.",
        )
    }
}

impl From<ResendInviteError> for ApiError {
    fn from(e: ResendInviteError) -> Self {
        match e {
            ResendInviteError::Forbidden { notices } => Self::forbidden(notices),
            ResendInviteError::NotFound => Self::user_not_found(),
            ResendInviteError::AlreadyVerified => Self::already_verified(),
            ResendInviteError::InviteRevoked => Self::new(
                StatusCode::CONFLICT,
                "invite_revoked",
                "This user's invite was revoked; delete the user to invite the address again.",
            ),
            ResendInviteError::RateLimited { retry_after } => Self::rate_limited(retry_after),
            ResendInviteError::IdempotencyKeyReused => Self::idempotency_key_reused(),
            ResendInviteError::Unavailable(c) => Self::unavailable(&c),
            ResendInviteError::Unexpected(c) => Self::internal(&c),
        }
    }
}

impl From<InviteUserError> for ApiError {
    fn from(e: InviteUserError) -> Self {
        match e {
            InviteUserError::Forbidden { notices } => Self::forbidden(notices),
            InviteUserError::UserExists => Self::new(
                StatusCode::CONFLICT,
                "user_exists",
                "A user with this email already exists in this tenant.",
            ),
            InviteUserError::IdempotencyKeyReused => Self::idempotency_key_reused(),
            InviteUserError::Unavailable(c) => Self::unavailable(&c),
            InviteUserError::Unexpected(c) => Self::internal(&c),
        }
    }
}

impl From<ReadUserError> for ApiError {
    fn from(e: ReadUserError) -> Self {
        match e {
            ReadUserError::Forbidden { notices } => Self::forbidden(notices),
            ReadUserError::NotFound => Self::user_not_found(),
            ReadUserError::Unavailable(c) => Self::unavailable(&c),
            ReadUserError::Unexpected(c) => Self::internal(&c),
        }
    }
}

impl From<ListUsersError> for ApiError {
    fn from(e: ListUsersError) -> Self {
        match e {
            ListUsersError::Forbidden { notices } => Self::forbidden(notices),
            ListUsersError::InvalidLimit => {
                Self::invalid("limit", "limit must be an integer from 1 to 200.")
            }
            ListUsersError::Unavailable(c) => Self::unavailable(&c),
            ListUsersError::Unexpected(c) => Self::internal(&c),
        }
    }
}

impl From<RevokeInviteError> for ApiError {
    fn from(e: RevokeInviteError) -> Self {
        match e {
            RevokeInviteError::Forbidden { notices } => Self::forbidden(notices),
            RevokeInviteError::NotFound => Self::user_not_found(),
            RevokeInviteError::AlreadyVerified => Self::already_verified(),
            RevokeInviteError::IdempotencyKeyReused => Self::idempotency_key_reused(),
            RevokeInviteError::Unavailable(c) => Self::unavailable(&c),
            RevokeInviteError::Unexpected(c) => Self::internal(&c),
        }
    }
}

impl From<DeleteUserError> for ApiError {
    fn from(e: DeleteUserError) -> Self {
        match e {
            DeleteUserError::Forbidden { notices } => Self::forbidden(notices),
            DeleteUserError::NotFound => Self::user_not_found(),
            DeleteUserError::IdempotencyKeyReused => Self::idempotency_key_reused(),
            DeleteUserError::Unavailable(c) => Self::unavailable(&c),
            DeleteUserError::Unexpected(c) => Self::internal(&c),
        }
    }
}

impl From<ListAuditError> for ApiError {
    fn from(e: ListAuditError) -> Self {
        match e {
            ListAuditError::Forbidden { notices } => Self::forbidden(notices),
            ListAuditError::InvalidLimit => {
                Self::invalid("limit", "limit must be an integer from 1 to 200.")
            }
            ListAuditError::Unavailable(c) => Self::unavailable(&c),
            ListAuditError::Unexpected(c) => Self::internal(&c),
        }
    }
}

impl From<AcceptInviteError> for ApiError {
    fn from(e: AcceptInviteError) -> Self {
        match e {
            // A withdrawn invite's token is as dead as a replaced one; only
            // the page, which speaks to the person, tells them apart.
            AcceptInviteError::InvalidToken | AcceptInviteError::Withdrawn { .. } => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "This invite token is not valid: it is unknown, was replaced by a newer invite, or was already used.",
            ),
            AcceptInviteError::Expired { .. } => Self::new(
                StatusCode::GONE,
                "invite_expired",
                "This invite has expired; ask for a new one.",
            ),
            AcceptInviteError::Unavailable(c) => Self::unavailable(&c),
            AcceptInviteError::Unexpected(c) => Self::internal(&c),
        }
    }
}

/// The code and message for a bare status (actix's own errors).
fn for_status(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        404 => ("not_found", "No such route."),
        405 => (
            "method_not_allowed",
            "This method is not allowed on this route.",
        ),
        413 => ("payload_too_large", "The request body is too large."),
        415 => (
            "unsupported_media_type",
            "The request body must be application/json.",
        ),
        400..=499 => ("invalid_request", "The request is not valid."),
        503 => ("unavailable", "The service is temporarily unavailable."),
        _ => ("internal", "Something went wrong on our side."),
    }
}

/// Rewrites any error response that is not already JSON (or an HTML page)
/// into the error shape. Catches what handlers never see: unknown routes,
/// wrong methods, extractor and framework errors. The handler for
/// `ErrorHandlers::default_handler` (exported as `beckon_http::shape_errors`):
///
/// ```
/// use actix_web::middleware::ErrorHandlers;
///
/// let shaping = ErrorHandlers::new().default_handler(beckon_http::shape_errors);
/// # let _ = actix_web::App::new().wrap(shaping);
/// ```
pub fn shape_errors<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, message) = for_status(status);
    let mut new = HttpResponse::build(status).json(json!({ "code": code, "message": message }));
    if let Some(allow) = res.headers().get(header::ALLOW) {
        new.headers_mut().insert(header::ALLOW, allow.clone());
    }
    new.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let (req, _) = res.into_parts();
    let res = ServiceResponse::new(req, new).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}
