//! The records the ports exchange. They are domain types: storage adapters
//! map their rows to and from these, never the other way round.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{ApiKeyId, OutboxId, TenantId, UserId};
use crate::secrets::{InviteToken, SecretHash};
use crate::values::{Email, IdempotencyKey, Locale, RequestId, Role, TenantName, UserName};
use crate::webhook::WebhookEvent;

/// Where a user is in the invitation lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Invited, not yet accepted.
    Invited,
    /// Accepted: verified.
    Active,
    /// The invite was withdrawn (`POST /v1/users/{id}/revoke-invite`).
    Revoked,
}

impl UserStatus {
    /// `invited`, `active` or `revoked`: the API and storage spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Revoked => "revoked",
        }
    }

    /// Parses the API and storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invited" => Some(Self::Invited),
            "active" => Some(Self::Active),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its display name.
    pub name: TenantName,
    /// The language of its emails and `/invite` pages.
    pub locale: Locale,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Where the email of an invite's latest send is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Not yet accepted by the mail server.
    Queued,
    /// The mail server accepted it.
    Sent,
    /// Delivery gave up.
    Failed,
}

impl Delivery {
    /// `queued`, `sent` or `failed`: the API spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

/// The state of a pending invite. Present only while the user is `invited`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// When the current token stops working.
    pub expires_at: DateTime<Utc>,
    /// Every send since the user was invited, the first included.
    pub sends: u32,
    /// When the current token was issued.
    pub last_sent_at: DateTime<Utc>,
    /// Where the latest send's email is. Stores fill it in when they read a
    /// user; what a write is given here is ignored (a new send is queued).
    pub delivery: Delivery,
}

/// A user of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id (UUIDv7: ids sort by creation time).
    pub id: UserId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its email address, as given.
    pub email: Email,
    /// Its display name, if given.
    pub name: Option<UserName>,
    /// `invited`, `active` or `revoked`.
    pub status: UserStatus,
    /// When it was invited.
    pub created_at: DateTime<Utc>,
    /// When it accepted.
    pub verified_at: Option<DateTime<Utc>>,
    /// When its invite was withdrawn.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The pending invite; `None` once active or revoked.
    pub invite: Option<Invite>,
    /// Optimistic-concurrency version: every write bumps it, and a write
    /// names the version it was decided on.
    pub version: i64,
}

/// A verified caller: an API key with its tenant and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The API key's id (recorded in the audit log).
    pub key_id: ApiKeyId,
    /// The only tenant this key may act in.
    pub tenant_id: TenantId,
    /// That tenant's name (for email subjects).
    pub tenant_name: TenantName,
    /// That tenant's locale (the language of its emails).
    pub tenant_locale: Locale,
    /// What the policies call it.
    pub role: Role,
}

/// An API key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Its id.
    pub id: ApiKeyId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its tenant's name (joined in by `ApiKeyRepo::find`; ignored by `create`).
    pub tenant_name: TenantName,
    /// Its tenant's locale (joined in like the name; ignored by `create`).
    pub tenant_locale: Locale,
    /// Its role.
    pub role: Role,
    /// An operator's label for it.
    pub name: Option<String>,
    /// SHA-256 of its secret part.
    pub secret_hash: SecretHash,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key authenticates nobody.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What an invite email carries. Serialized into the outbox row; the token
/// in it is erased once the message is delivered or has failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteEmail {
    /// The recipient.
    pub to: Email,
    /// The recipient's name, if known.
    pub to_name: Option<UserName>,
    /// The inviting tenant's name (in the subject).
    pub tenant_name: TenantName,
    /// The language to write it in. Messages queued before tenants had a
    /// locale carry none and are written in English.
    #[serde(default)]
    pub locale: Locale,
    /// The token for the accept link.
    pub token: InviteToken,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
}

/// A message to queue in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Its id; the Message-ID is derived from it, so it survives retries.
    pub id: OutboxId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The user it invites.
    pub user_id: UserId,
    /// What to send.
    pub email: InviteEmail,
    /// When it was queued (due at once).
    pub created_at: DateTime<Utc>,
}

/// A message a delivery worker has leased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    /// Its id.
    pub id: OutboxId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The user it invites.
    pub user_id: UserId,
    /// What to send.
    pub email: InviteEmail,
    /// Which attempt this claim is, starting at 1 (a claim counts as an
    /// attempt, so a worker that dies mid-send still uses one up).
    pub attempt: u32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// How one delivery attempt of a claimed message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The mail server accepted it.
    Sent,
    /// It failed for now; due again at `next_attempt_at`.
    Retry {
        /// When it is due again.
        next_attempt_at: DateTime<Utc>,
        /// Why this attempt failed (no address, no token).
        error: String,
    },
    /// Given up for good.
    Failed {
        /// Why (no address, no token).
        reason: String,
    },
}

/// One claimed message and how its attempt ended, for `OutboxRepo::settle`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The message.
    pub id: OutboxId,
    /// How the attempt ended.
    pub outcome: DeliveryOutcome,
    /// The webhook event reporting the outcome (`invite.delivered`,
    /// `invite.delivery_failed`), written with the settlement when the
    /// tenant has an endpoint and the claim still held the message.
    pub event: Option<WebhookEvent>,
}

/// One send of an invite: the token that replaces any previous one, and the
/// email that carries it. Written in one transaction with the user change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteSend {
    /// Hash of the new token.
    pub token_hash: SecretHash,
    /// When the new token expires.
    pub expires_at: DateTime<Utc>,
    /// When it was sent (recorded for the cooldown and the daily cap).
    pub sent_at: DateTime<Utc>,
    /// The email to queue.
    pub outbox: OutboxMessage,
}

/// A successful response remembered under an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The tenant the key belongs to.
    pub tenant_id: TenantId,
    /// The key.
    pub key: IdempotencyKey,
    /// What the request was (operation, path, body digest): a repeat must match.
    pub fingerprint: String,
    /// The outcome to replay, serialized by the domain.
    pub response: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// The user the response is about, if any: erasing the user erases
    /// the record (a stored response may carry their address).
    pub user_id: Option<UserId>,
}

/// An idempotency record to write with a send. A record of the same tenant
/// and key created before `stale_before` is replaced; a newer one makes the
/// write fail with `StoreError::IdempotencyKeyTaken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyWrite {
    /// The record.
    pub record: IdempotencyRecord,
    /// Older records of the same key no longer count.
    pub stale_before: DateTime<Utc>,
}

/// How an audited attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It did what was asked.
    Succeeded,
    /// A repeat answered from the idempotency record.
    Replayed,
    /// A policy denied it.
    Forbidden,
    /// No such user in the tenant.
    NotFound,
    /// The user was already verified.
    AlreadyVerified,
    /// Cooldown or daily cap.
    RateLimited,
    /// The idempotency key belonged to another request.
    IdempotencyKeyReused,
    /// The email was already taken.
    Conflict,
    /// The invite had been revoked.
    InviteRevoked,
    /// The invite's token had expired.
    Expired,
}

impl AuditOutcome {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Replayed => "replayed",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::AlreadyVerified => "already_verified",
            Self::RateLimited => "rate_limited",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::Conflict => "conflict",
            Self::InviteRevoked => "invite_revoked",
            Self::Expired => "expired",
        }
    }

    /// Every outcome.
    pub const ALL: [Self; 10] = [
        Self::Succeeded,
        Self::Replayed,
        Self::Forbidden,
        Self::NotFound,
        Self::AlreadyVerified,
        Self::RateLimited,
        Self::IdempotencyKeyReused,
        Self::Conflict,
        Self::InviteRevoked,
        Self::Expired,
    ];

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id (UUIDv7).
    pub id: Uuid,
    /// The tenant acted in.
    pub tenant_id: TenantId,
    /// The user acted on (the requested id, whether or not it exists).
    pub user_id: Option<UserId>,
    /// The credential that acted; `None` for an accept (the token's
    /// holder has no key).
    pub key_id: Option<ApiKeyId>,
    /// The request it came in.
    pub request_id: RequestId,
    /// The operation: an authorization action's name (`ResendInvite`,
    /// `InviteUser`, …) or `AcceptInvite`.
    pub action: String,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// When.
    pub at: DateTime<Utc>,
}

/// A new user with its first invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The user (status `invited`, version 0, `invite` set).
    pub user: User,
    /// The first send.
    pub send: InviteSend,
    /// The idempotency record, when the request carried a key.
    pub idempotency: Option<IdempotencyWrite>,
    /// The audit line for the successful attempt.
    pub audit: AuditEntry,
    /// The webhook event reporting it (written only when the tenant has
    /// an endpoint).
    pub event: WebhookEvent,
}

/// A resend: rotate the token of an invited user, decided on `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// The version the decision was taken on.
    pub expected_version: i64,
    /// The new send.
    pub send: InviteSend,
    /// The idempotency record, when the request carried a key.
    pub idempotency: Option<IdempotencyWrite>,
    /// The audit line for the successful attempt.
    pub audit: AuditEntry,
    /// The webhook event reporting it (written only when the tenant has
    /// an endpoint).
    pub event: WebhookEvent,
}

/// Whether an optimistic write found the version it was decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// It did: the change is committed.
    Applied,
    /// Someone else wrote first (or the row is gone): nothing was changed.
    Stale,
}

/// A page request for listing users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only users in this status.
    pub status: Option<UserStatus>,
    /// Only users whose id sorts after this one.
    pub after: Option<UserId>,
    /// At most this many rows.
    pub limit: u32,
}

/// Withdraw an invite, decided on `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// The version the decision was taken on.
    pub expected_version: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The idempotency record, when the request carried a key.
    pub idempotency: Option<IdempotencyWrite>,
    /// The audit line for the successful attempt.
    pub audit: AuditEntry,
    /// The webhook event reporting it (written only when the tenant has
    /// an endpoint).
    pub event: WebhookEvent,
}

/// Erase a user and every stored copy of their address and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// The idempotency record, when the request carried a key (about no
    /// user: it outlives the erasure and holds no address).
    pub idempotency: Option<IdempotencyWrite>,
    /// The audit line for the successful attempt.
    pub audit: AuditEntry,
    /// The webhook event reporting it (written only when the tenant has
    /// an endpoint).
    pub event: WebhookEvent,
}

/// Accept an invite, decided on `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// The version the decision was taken on.
    pub expected_version: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The audit line for the successful attempt.
    pub audit: AuditEntry,
    /// The webhook event reporting it (written only when the tenant has
    /// an endpoint).
    pub event: WebhookEvent,
}

/// A page request for the audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries about this user.
    pub user_id: Option<UserId>,
    /// Only entries whose id sorts before this one (older).
    pub before: Option<Uuid>,
    /// At most this many rows.
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_invite_email_queued_before_locales_reads_back_in_english() {
        let email = InviteEmail {
            to: Email::parse("ada@example.com").unwrap(),
            to_name: None,
            tenant_name: TenantName::parse("Acme").unwrap(),
            locale: Locale::Fr,
            token: InviteToken::from_bytes([7; 32]),
            expires_at: Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap(),
        };
        let mut json = serde_json::to_value(&email).unwrap();
        assert_eq!(json["locale"], "fr");
        let back: InviteEmail = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, email, "the locale travels with the payload");

        // A payload written before the upgrade has no locale.
        json.as_object_mut().unwrap().remove("locale");
        let old: InviteEmail = serde_json::from_value(json).unwrap();
        assert_eq!(old.locale, Locale::En);
        assert_eq!(old.tenant_name, email.tenant_name);
    }
}
