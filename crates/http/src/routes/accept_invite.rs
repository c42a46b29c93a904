//! `POST /v1/invites/accept` — the invitee accepts (programmatic clients).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::AppState;
use crate::auth::request_id;
use crate::body;
use crate::dto::{AcceptRequest, AcceptedBody};
use crate::error::{ApiError, ErrorBody};

/// Accept an invite; the token is the credential.
#[utoipa::path(
    post,
    path = "/v1/invites/accept",
    operation_id = "accept_invite",
    tag = "invites",
    request_body = AcceptRequest,
    responses(
        (status = 200, description = "Invite accepted.", body = AcceptedBody),
        (status = 400, description = "invalid_token (unknown, replaced, used or revoked) or bad body.", body = ErrorBody),
        (status = 410, description = "invite_expired.", body = ErrorBody),
        (status = 413, description = "Body too large.", body = ErrorBody),
        (status = 415, description = "Body not application/json.", body = ErrorBody),
        (status = 503, description = "The database cannot be reached.", body = ErrorBody),
    )
)]
pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body: AcceptRequest = body::json(&req, payload, state.body_limit).await?;
    let accepted = state
        .beckon
        .accept_invite
        .execute(&body.token, &request_id(&req))
        .await?;
    Ok(HttpResponse::Ok().json(AcceptedBody {
        message: "Invite accepted.".to_owned(),
        user_id: accepted.user_id.to_string(),
    }))
}
