//! What goes over the wire: request and response bodies, with their OpenAPI
//! schemas. Domain types are mapped here, never serialized directly.

use beckon_ports::{AuditEntry, User};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// RFC 3339 in UTC with a `Z`.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A pending invite.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InviteBody {
    /// When the current token expires (RFC 3339, UTC).
    pub expires_at: String,
    /// Sends since the user was invited, the first included.
    pub sends: u32,
    /// When the current token was sent.
    pub last_sent_at: String,
    /// Where the latest send's email is: `queued` (not yet accepted by the
    /// mail server), `sent`, or `failed` (delivery gave up).
    #[schema(pattern = "^(queued|sent|failed)$")]
    pub delivery: String,
}

/// A user.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserBody {
    /// The user's id (UUID, lower case).
    pub id: String,
    /// The email address as given.
    pub email: String,
    /// The display name.
    pub name: Option<String>,
    /// `invited`, `active` or `revoked`.
    #[schema(pattern = "^(invited|active|revoked)$")]
    pub status: String,
    /// When the user was invited.
    pub created_at: String,
    /// When the user accepted.
    pub verified_at: Option<String>,
    /// When the invite was revoked.
    pub revoked_at: Option<String>,
    /// The pending invite; null once active or revoked.
    pub invite: Option<InviteBody>,
}

impl From<&User> for UserBody {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.as_str().to_owned(),
            name: u.name.as_ref().map(|n| n.as_str().to_owned()),
            status: u.status.as_str().to_owned(),
            created_at: ts(u.created_at),
            verified_at: u.verified_at.map(ts),
            revoked_at: u.revoked_at.map(ts),
            invite: u.invite.as_ref().map(|i| InviteBody {
                expires_at: ts(i.expires_at),
                sends: i.sends,
                last_sent_at: ts(i.last_sent_at),
                delivery: i.delivery.as_str().to_owned(),
            }),
        }
    }
}

/// `POST /v1/users` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The invitee's address.
    #[schema(schema_with = crate::openapi::email_schema)]
    pub email: String,
    /// The invitee's name.
    #[serde(default)]
    #[schema(schema_with = crate::openapi::name_schema)]
    pub name: Option<String>,
}

/// A page of users.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserPageBody {
    /// The users, ordered by id.
    pub items: Vec<UserBody>,
    /// Pass as `after` for the next page; null on the last.
    pub next: Option<String>,
}

/// One line of the audit trail.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryBody {
    /// The entry's id (UUID; pass as `after` to page on).
    pub id: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The operation: `InviteUser`, `ResendInvite`, `RevokeInvite`,
    /// `DeleteUser` or `AcceptInvite`.
    pub action: String,
    /// How it ended: `succeeded`, `replayed`, `forbidden`, `not_found`,
    /// `already_verified`, `rate_limited`, `idempotency_key_reused`,
    /// `conflict`, `invite_revoked` or `expired`.
    pub outcome: String,
    /// The user acted on (the id asked for, whether or not it existed).
    pub user_id: Option<String>,
    /// The API key that acted; null for an accept.
    pub key_id: Option<String>,
    /// The request's `X-Request-ID`.
    pub request_id: String,
}

impl From<&AuditEntry> for AuditEntryBody {
    fn from(e: &AuditEntry) -> Self {
        Self {
            id: e.id.to_string(),
            at: ts(e.at),
            action: e.action.clone(),
            outcome: e.outcome.as_str().to_owned(),
            user_id: e.user_id.map(|u| u.to_string()),
            key_id: e.key_id.map(|k| k.to_string()),
            request_id: e.request_id.as_str().to_owned(),
        }
    }
}

/// A page of the audit trail.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPageBody {
    /// The entries, newest first.
    pub items: Vec<AuditEntryBody>,
    /// Pass as `after` for the next (older) page; null on the last.
    pub next: Option<String>,
}

/// `POST /v1/invites/accept` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The token from the invite link.
    #[schema(schema_with = crate::openapi::token_schema)]
    pub token: String,
}

/// `POST /invite` body (form-encoded), the page's button.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteForm {
    /// The token from the invite link.
    #[schema(schema_with = crate::openapi::token_schema)]
    pub token: String,
}

/// `POST /v1/invites/accept` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AcceptedBody {
    /// "Invite accepted."
    pub message: String,
    /// The user that is now active.
    pub user_id: String,
}

/// A plain success message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessageBody {
    /// e.g. "Invite resent."
    pub message: String,
}

/// `/healthz` and `/readyz` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusBody {
    /// "ok" or "unavailable".
    pub status: String,
}
