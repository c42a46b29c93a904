//! What goes over the wire: request and response bodies, with their OpenAPI
//! schemas. Domain types are mapped here, never serialized directly.

use beckon_ports::User;
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
    /// `invited` or `active`.
    pub status: String,
    /// When the user was invited.
    pub created_at: String,
    /// When the user accepted.
    pub verified_at: Option<String>,
    /// The pending invite; null once active.
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
            invite: u.invite.as_ref().map(|i| InviteBody {
                expires_at: ts(i.expires_at),
                sends: i.sends,
                last_sent_at: ts(i.last_sent_at),
            }),
        }
    }
}

/// `POST /v1/users` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The invitee's address.
    pub email: String,
    /// The invitee's name.
    #[serde(default)]
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

/// `POST /v1/invites/accept` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The token from the invite link.
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
