//! The memory store's tables: the same rows the database store keeps
//! (`migrations/`), held in maps keyed as the database tables are, so the
//! answers — including which error a conflicting write gets — are the same.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::anyhow;
use beckon_ports::{
    ApiKeyId, ApiKeyRecord, AuditEntry, Delivery, Email, IdempotencyKey, IdempotencyRecord, Invite,
    InviteEmail, OutboxId, SecretHash, StoreError, Tenant, TenantId, User, UserId, UserName,
    UserStatus,
};
use chrono::{DateTime, SubsecRound, Utc};

/// Everything the store holds.
#[derive(Default)]
pub struct State {
    /// Set by `MemoryStore::set_unavailable`.
    pub unavailable: bool,
    pub tenants: BTreeMap<TenantId, Tenant>,
    /// `tenant_name` and `tenant_locale` as given (ignored): the tenant's
    /// are joined in on read.
    pub keys: BTreeMap<ApiKeyId, ApiKeyRecord>,
    pub users: BTreeMap<(TenantId, UserId), UserRow>,
    /// Keyed by the outbox message that carried the send; the user sent
    /// to and when.
    pub sends: HashMap<(TenantId, OutboxId), (UserId, DateTime<Utc>)>,
    pub outbox: BTreeMap<(TenantId, OutboxId), StoredMessage>,
    pub idempotency: HashMap<(TenantId, IdempotencyKey), IdempotencyRecord>,
    /// In the order written.
    pub audit: Vec<AuditEntry>,
    // Indexes, kept in step with the tables above by the writes in
    // `users.rs`: the database's unique and lookup indexes, so that a
    // write costs the same however many rows there are.
    /// Current token hash → its user (`users_invite_token_hash_key`).
    pub tokens: HashMap<SecretHash, (TenantId, UserId)>,
    /// (tenant, normalized email) of every user (`users_tenant_email_key`).
    pub emails: HashSet<(TenantId, String)>,
    /// When each user's invite was sent (`invite_sends_user_index`).
    pub user_sends: HashMap<(TenantId, UserId), Vec<DateTime<Utc>>>,
    /// (tenant, id) of every audit line (the table's primary key).
    pub audit_ids: HashSet<(TenantId, uuid::Uuid)>,
    pub webhooks: BTreeMap<TenantId, beckon_ports::WebhookEndpoint>,
    pub events: Vec<crate::webhooks::StoredEvent>,
}

/// A user as the `users` table holds it: the invite's columns outlive
/// activation (history) while the port shows an invite only while the user
/// is invited, and the token hash is erased when the token is consumed.
#[derive(Clone)]
pub struct UserRow {
    pub tenant_id: TenantId,
    pub id: UserId,
    pub email: Email,
    pub name: Option<UserName>,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub token_hash: Option<SecretHash>,
    pub invite_expires_at: Option<DateTime<Utc>>,
    pub invite_sends: u32,
    pub invite_last_sent_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The outbox message of the latest send (its delivery state).
    pub invite_outbox_id: Option<OutboxId>,
}

impl UserRow {
    /// The row of a new user; the token hash and outbox message come from
    /// its first send.
    pub fn new(u: &User, token: SecretHash, outbox_id: OutboxId) -> Self {
        let invite = u.invite.as_ref();
        Self {
            tenant_id: u.tenant_id,
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            status: u.status,
            created_at: micros(u.created_at),
            verified_at: u.verified_at.map(micros),
            token_hash: Some(token),
            invite_expires_at: invite.map(|i| micros(i.expires_at)),
            invite_sends: invite.map_or(0, |i| i.sends),
            invite_last_sent_at: invite.map(|i| micros(i.last_sent_at)),
            version: u.version,
            revoked_at: u.revoked_at.map(micros),
            invite_outbox_id: Some(outbox_id),
        }
    }

    /// The user as the port shows it, with the delivery state of its latest
    /// send read from `outbox` (a message that is gone reads as delivered,
    /// as in the database store).
    pub fn to_user(
        &self,
        outbox: &BTreeMap<(TenantId, OutboxId), StoredMessage>,
    ) -> Result<User, StoreError> {
        let delivery = match self
            .invite_outbox_id
            .and_then(|id| outbox.get(&(self.tenant_id, id)))
            .map(|m| m.status)
        {
            Some(OutboxStatus::Pending) => Delivery::Queued,
            Some(OutboxStatus::Failed) => Delivery::Failed,
            Some(OutboxStatus::Sent) | None => Delivery::Sent,
        };
        let invite = match (
            self.status,
            self.invite_expires_at,
            self.invite_last_sent_at,
        ) {
            (UserStatus::Invited, Some(expires_at), Some(last_sent_at)) => Some(Invite {
                expires_at,
                sends: self.invite_sends,
                last_sent_at,
                delivery,
            }),
            // The database store reports such a row as corrupt; so does this one.
            (UserStatus::Invited, _, _) => {
                return Err(unexpected("stored user is invalid: invited without invite"));
            }
            (UserStatus::Active | UserStatus::Revoked, _, _) => None,
        };
        Ok(User {
            id: self.id,
            tenant_id: self.tenant_id,
            email: self.email.clone(),
            name: self.name.clone(),
            status: self.status,
            created_at: self.created_at,
            verified_at: self.verified_at,
            revoked_at: self.revoked_at,
            invite,
            version: self.version,
        })
    }

    /// Whether this row is invited at `version`: the guard of a rotation
    /// and an activation.
    pub fn invited_at(&self, version: i64) -> bool {
        self.status == UserStatus::Invited && self.version == version
    }
}

/// Where an outbox message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// Waiting to be delivered (maybe leased by a worker right now).
    Pending,
    /// Delivered.
    Sent,
    /// Given up.
    Failed,
}

/// An outbox message as the store holds it (see
/// [`MemoryStore::outbox_messages`](crate::MemoryStore::outbox_messages)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its id.
    pub id: OutboxId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The user it invites.
    pub user_id: UserId,
    /// What to send; erased (`None`) once sent or failed, and with it the token.
    pub email: Option<InviteEmail>,
    /// Where it is in its life.
    pub status: OutboxStatus,
    /// How many claims it has had.
    pub attempts: u32,
    /// When it is due (again).
    pub next_attempt_at: DateTime<Utc>,
    /// Until when the current claim leases it, if any.
    pub claimed_until: Option<DateTime<Utc>>,
    /// Why the last attempt failed (at most 1000 characters).
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was given up.
    pub failed_at: Option<DateTime<Utc>>,
}

impl StoredMessage {
    /// Whether a claim at `now` may take it: pending, due, and not leased.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.status == OutboxStatus::Pending
            && self.next_attempt_at <= now
            && self.claimed_until.is_none_or(|until| until <= now)
    }

    /// Whether the claim that leased it until `lease` still holds it.
    pub fn held_until(&self, lease: DateTime<Utc>) -> bool {
        self.status == OutboxStatus::Pending && self.claimed_until == Some(lease)
    }
}

/// An instant as the databases keep it: truncated to whole microseconds,
/// so that what is compared and read back is what the database store
/// would compare and read back.
pub fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// A failure no caller can act on (the database store's constraint
/// violations that no port names).
pub fn unexpected(what: &str) -> StoreError {
    StoreError::Unexpected(anyhow!("{what}"))
}
