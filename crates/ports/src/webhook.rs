//! Webhooks: the events a tenant's endpoint is told about, the endpoint
//! itself, the store's queue of events to deliver, and the port that posts
//! one signed event.
//!
//! An event is written by the store in the same transaction as the change
//! it reports, and only when the tenant has an endpoint: the domain names
//! the event with every change (`NewUser::event`, …), the store fuses it
//! into the write. Delivery then works like email: claimed under a lease,
//! posted, settled (fenced by the lease), retried with backoff, given up
//! as `failed` after the last attempt.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::ids::{OutboxId, TenantId, UserId};
use crate::values::{Email, ValueError};

/// What happened: a webhook event's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// An invite email was queued (every send, the first included).
    InviteSent,
    /// The mail server accepted an invite email.
    InviteDelivered,
    /// Delivery of an invite email gave up.
    InviteDeliveryFailed,
    /// The invite was accepted: the user is active.
    InviteAccepted,
    /// The invite was withdrawn.
    InviteRevoked,
    /// The user was erased.
    UserDeleted,
}

impl EventType {
    /// `invite.sent`, …: the wire and storage spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InviteSent => "invite.sent",
            Self::InviteDelivered => "invite.delivered",
            Self::InviteDeliveryFailed => "invite.delivery_failed",
            Self::InviteAccepted => "invite.accepted",
            Self::InviteRevoked => "invite.revoked",
            Self::UserDeleted => "user.deleted",
        }
    }

    /// Every type.
    pub const ALL: [Self; 6] = [
        Self::InviteSent,
        Self::InviteDelivered,
        Self::InviteDeliveryFailed,
        Self::InviteAccepted,
        Self::InviteRevoked,
        Self::UserDeleted,
    ];

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One event about one user. Holds no token, ever; `email` is erased once
/// the event is delivered or given up, and when the user is erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Its id (UUIDv7): the `webhook-id` of every attempt is derived from
    /// it alone, so a receiver can drop repeats.
    pub id: Uuid,
    /// The tenant whose endpoint is told.
    pub tenant_id: TenantId,
    /// The user it is about.
    pub user_id: UserId,
    /// What happened.
    pub event_type: EventType,
    /// The user's address; `None` for `user.deleted` (the erasure leaves
    /// no copy of it) and once erased.
    pub email: Option<Email>,
    /// For `invite.sent`: which send this is, the first being 1.
    pub send: Option<u32>,
    /// For `invite.sent`, `invite.delivered` and `invite.delivery_failed`:
    /// the outbox message (the email) it is about.
    pub message_id: Option<OutboxId>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl WebhookEvent {
    /// The `webhook-id` header: `msg_` and the event id, the same on every
    /// attempt.
    pub fn webhook_id(&self) -> String {
        format!("msg_{}", self.id.simple())
    }

    /// The JSON body: `{"type", "timestamp", "data": {"tenant_id",
    /// "user_id", "email", …}}`. The same event renders the same bytes.
    pub fn body(&self) -> String {
        let mut data = serde_json::Map::new();
        data.insert("tenant_id".into(), self.tenant_id.to_string().into());
        data.insert("user_id".into(), self.user_id.to_string().into());
        data.insert(
            "email".into(),
            self.email
                .as_ref()
                .map_or(serde_json::Value::Null, |e| e.as_str().into()),
        );
        if let Some(send) = self.send {
            data.insert("send".into(), send.into());
        }
        if let Some(message) = self.message_id {
            data.insert("message_id".into(), message.to_string().into());
        }
        let body = serde_json::json!({
            "type": self.event_type.as_str(),
            "timestamp": self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "data": data,
        });
        body.to_string()
    }
}

/// A tenant's signing secret: `whsec_` and the base64 of 32 random bytes,
/// as the Standard Webhooks specification writes it. Its `Debug` shows
/// nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

impl WebhookSecret {
    /// A secret from 32 random bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// A stored secret, checked: `whsec_` and the standard base64 of at
    /// least 24 bytes.
    pub fn parse(s: &str) -> Option<Self> {
        let key = STANDARD.decode(s.strip_prefix(SECRET_PREFIX)?).ok()?;
        (key.len() >= 24).then(|| Self(s.to_owned()))
    }

    /// The whole secret, `whsec_…` (shown once, to the operator).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the decoded bytes after the prefix.
    pub fn key(&self) -> Vec<u8> {
        self.0
            .strip_prefix(SECRET_PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .unwrap_or_default()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

const BAD_URL: ValueError = ValueError(
    "url must be an http:// or https:// URL with a host, without spaces, at most 2000 characters",
);

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2000;

/// Where a tenant's events go: an `http` or `https` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Checks the form: `http://` or `https://`, a host, no spaces or
    /// control characters, at most [`MAX_URL_LEN`] bytes. (The HTTP
    /// adapter parses it fully when it posts.)
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or(BAD_URL)?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit('@').next().unwrap_or_default();
        if s.len() > MAX_URL_LEN
            || host.is_empty()
            || host.starts_with(':')
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(BAD_URL);
        }
        Ok(Self(s.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tenant's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Where events are posted.
    pub url: WebhookUrl,
    /// What signs them.
    pub secret: WebhookSecret,
    /// When it was set.
    pub created_at: DateTime<Utc>,
}

/// An event a delivery worker has leased, with where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedEvent {
    /// The event.
    pub event: WebhookEvent,
    /// Which attempt this claim is, starting at 1.
    pub attempt: u32,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// The tenant's endpoint now; `None` when it was removed since (the
    /// event is then given up).
    pub endpoint: Option<WebhookEndpoint>,
}

/// How one attempt to post an event ended, for [`WebhookRepo::settle_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed for now; due again at `next_attempt_at`.
    Retry {
        /// When it is due again.
        next_attempt_at: DateTime<Utc>,
        /// Why this attempt failed.
        error: String,
    },
    /// Given up for good.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One claimed event and how its attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettlement {
    /// The event's id.
    pub id: Uuid,
    /// How the attempt ended.
    pub outcome: EventOutcome,
}

/// Webhook endpoints and the queue of events to deliver.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookRepo: Send + Sync {
    /// Sets the tenant's endpoint, replacing URL and secret of an earlier
    /// one (events still queued then go to the new one). MUST return
    /// `MissingReference` when the tenant does not exist.
    async fn set_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;

    /// Removes the tenant's endpoint and, in the same transaction, every
    /// event still queued for it. `Ok(false)` when it had none.
    async fn remove_endpoint(&self, tenant: TenantId) -> Result<bool, StoreError>;

    /// The tenant's endpoint, if any.
    async fn endpoint(&self, tenant: TenantId) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Whether a claim at `now` would find an event. MUST NOT write.
    async fn any_event_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Leases up to `limit` pending events that are due and not leased,
    /// until `lease_until`, counting the attempt; oldest first, each with
    /// its tenant's endpoint. Two concurrent callers MUST NOT receive the
    /// same event while its lease holds.
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedEvent>, StoreError>;

    /// Settles events of the claim that leased them until `lease_until`,
    /// in one transaction: `Delivered` and `Failed` end them (erasing the
    /// stored address), `Retry` makes them due again. MUST change only
    /// events still pending and leased until exactly `lease_until`;
    /// returns how many it changed.
    async fn settle_events(
        &self,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
        outcomes: &[EventSettlement],
    ) -> Result<usize, StoreError>;
}

/// Why posting an event failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No answer, a non-2xx answer, or no answer in time: try again later.
    #[error("{0}")]
    Transient(String),
}

/// What one post carries: the event's id, the attempt's time, the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPost {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`: when this attempt is made.
    pub timestamp: DateTime<Utc>,
    /// The JSON body, signed byte for byte.
    pub body: String,
}

/// Posts one event, signed, to an endpoint.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Signs `post` with the endpoint's secret (Standard Webhooks) and
    /// posts it; `Ok` only for a 2xx answer within `max_send_time`.
    async fn post(&self, to: &WebhookEndpoint, post: &WebhookPost) -> Result<(), WebhookError>;

    /// The longest one `post` may take.
    fn max_send_time(&self) -> Duration;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_whsec_and_base64_and_debug_hides_it() {
        let secret = WebhookSecret::from_bytes([7; 32]);
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret.key(), vec![7; 32]);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(…)");
        assert_eq!(WebhookSecret::parse(secret.expose()), Some(secret));
        assert_eq!(WebhookSecret::parse("whsec_short"), None);
        assert_eq!(WebhookSecret::parse("nope"), None);
    }

    #[test]
    fn urls_must_be_http_or_https_with_a_host() {
        for good in [
            "https://hooks.example.com/beckon",
            "http://127.0.0.1:8080/x?y=1",
            "https://user@example.com",
        ] {
            assert!(WebhookUrl::parse(good).is_ok(), "{good}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        for bad in [
            "ftp://example.com",
            "https://",
            "https:///path",
            "https://:80/",
            "example.com",
            "https://exa mple.com",
            "https://example.com/\n",
            long.as_str(),
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("invite.exploded"), None);
    }

    #[test]
    fn the_body_names_the_type_time_and_user_and_never_more() {
        let event = WebhookEvent {
            id: Uuid::from_u128(1),
            tenant_id: TenantId::from_uuid(Uuid::from_u128(2)),
            user_id: UserId::from_uuid(Uuid::from_u128(3)),
            event_type: EventType::InviteSent,
            email: Some(Email::parse("ada@example.com").unwrap()),
            send: Some(2),
            message_id: Some(OutboxId::from_uuid(Uuid::from_u128(4))),
            at: DateTime::UNIX_EPOCH,
        };
        let body: serde_json::Value = serde_json::from_str(&event.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "invite.sent",
                "timestamp": "1970-01-01T00:00:00.000000Z",
                "data": {
                    "tenant_id": "00000000-0000-0000-0000-000000000002",
                    "user_id": "00000000-0000-0000-0000-000000000003",
                    "email": "ada@example.com",
                    "send": 2,
                    "message_id": "00000000-0000-0000-0000-000000000004",
                }
            })
        );
        assert_eq!(event.webhook_id(), "msg_00000000000000000000000000000001");
        assert_eq!(event.body(), event.body());
    }
}
