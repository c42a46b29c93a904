//! The OpenAPI 3.1 document of every route, error shape included.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::{
    AcceptRequest, AcceptedBody, AuditEntryBody, AuditPageBody, InviteBody, InviteRequest,
    MessageBody, StatusBody, UserBody, UserPageBody,
};
use crate::error::ErrorBody;
use crate::routes;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Beckon",
        description = "Multi-tenant user invitations: invite, resend, revoke, accept, erase, audit. Every error has the shape {code, message, details?, notices?}."
    ),
    paths(
        routes::invite_user::handle,
        routes::list_users::handle,
        routes::read_user::handle,
        routes::resend_invite::handle,
        routes::revoke_invite::handle,
        routes::delete_user::handle,
        routes::list_audit::handle,
        routes::accept_invite::handle,
        routes::invite_page::show,
        routes::invite_page::accept,
        routes::ops::healthz,
        routes::ops::readyz,
        routes::ops::openapi,
    ),
    components(schemas(
        ErrorBody, UserBody, InviteBody, UserPageBody, InviteRequest, AcceptRequest, AcceptedBody,
        MessageBody, StatusBody, AuditEntryBody, AuditPageBody
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "users", description = "Tenant-scoped; need `Authorization: Bearer <api key>` and `X-Tenant-ID`."),
        (name = "invites", description = "The invitee's side: the token is the credential."),
        (name = "ops", description = "Health, readiness, this document."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}
