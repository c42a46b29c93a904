//! Storage ports. One adapter (beckon-store-diesel) implements them all on
//! one database; each trait states what any implementation MUST do.
//!
//! Common rules: every method that takes a `TenantId` MUST confine itself to
//! that tenant's rows; "unreachable database" MUST be reported as
//! `StoreError::Unavailable`, and a failing write MUST change nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::ids::{ApiKeyId, TenantId, UserId};
use crate::model::{
    Activation, ApiKeyRecord, AuditEntry, AuditQuery, ClaimedMessage, Erasure, IdempotencyRecord,
    ListQuery, NewUser, Revocation, Rotation, Settlement, Tenant, User, WriteOutcome,
};
use crate::secrets::SecretHash;
use crate::values::IdempotencyKey;

/// Tenants.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TenantRepo: Send + Sync {
    /// Stores a new tenant, its locale included.
    async fn create(&self, tenant: &Tenant) -> Result<(), StoreError>;

    /// MUST return `Ok(None)` when no tenant has this id.
    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError>;
}

/// API keys.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyRepo: Send + Sync {
    /// Stores a new key. MUST return `MissingReference` when its tenant does
    /// not exist. `record.tenant_name` and `record.tenant_locale` are ignored.
    async fn create(&self, record: &ApiKeyRecord) -> Result<(), StoreError>;

    /// The key with this id, revoked or not, with its tenant's name and
    /// locale.
    /// MUST return `Ok(None)` when there is none.
    async fn find(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Marks the key revoked at `at`; a key already revoked keeps its first
    /// revocation time (revoking twice is harmless).
    /// MUST return `Ok(false)` when there is no such key.
    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, StoreError>;
}

/// Users and their invites.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// MUST return `Ok(None)` when the tenant has no user with this id — a
    /// user of another tenant included.
    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError>;

    /// The tenant's users ordered by id ascending, filtered by
    /// `query.status`, starting after `query.after`, at most `query.limit`.
    async fn list(&self, tenant: TenantId, query: &ListQuery) -> Result<Vec<User>, StoreError>;

    /// The invited or revoked user whose current token hashes to `hash`,
    /// across all tenants (the token is the credential). MUST return
    /// `Ok(None)` for a replaced or consumed token.
    async fn find_by_token(&self, hash: &SecretHash) -> Result<Option<User>, StoreError>;

    /// When the user's invite was sent at or after `since`, oldest first.
    async fn sends_since(
        &self,
        tenant: TenantId,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError>;

    /// In one transaction: inserts the user with its token hash, records the
    /// send, queues the outbox message, writes the idempotency record (if
    /// any) and the audit line. MUST return `EmailTaken` when the tenant has
    /// a user with the same normalized email, `IdempotencyKeyTaken` when a
    /// non-stale record holds the key; either way nothing is written.
    async fn insert_invited(&self, new: &NewUser) -> Result<(), StoreError>;

    /// In one transaction, only if the user is still `invited` at
    /// `expected_version`: replaces the token hash and expiry, counts the
    /// send, bumps the version, queues the outbox message, writes the
    /// idempotency record (if any) and the audit line. MUST return
    /// `Ok(WriteOutcome::Stale)` and write nothing when the version (or the
    /// status) moved; `IdempotencyKeyTaken` as for `insert_invited`.
    async fn rotate_invite(&self, rotation: &Rotation) -> Result<WriteOutcome, StoreError>;

    /// In one transaction, only if the user is still `invited` at
    /// `expected_version`: marks it `active` at `at`, erases its token hash
    /// (consuming the token), bumps the version, writes the audit line.
    /// MUST return `Ok(WriteOutcome::Stale)` and write nothing otherwise.
    async fn activate(&self, activation: &Activation) -> Result<WriteOutcome, StoreError>;

    /// In one transaction, only if the user is still `invited` at
    /// `expected_version`: marks it `revoked` at `at`, bumps the version,
    /// deletes its pending outbox messages (leased ones included: their
    /// settle then changes nothing), writes the idempotency record (if any)
    /// and the audit line. The token hash stays, so that the page can tell
    /// the holder the invite was withdrawn; `find_by_token` returns the
    /// revoked user. MUST return `Ok(WriteOutcome::Stale)` and write
    /// nothing when the version (or the status) moved;
    /// `IdempotencyKeyTaken` as for `insert_invited`.
    async fn revoke_invite(&self, revocation: &Revocation) -> Result<WriteOutcome, StoreError>;

    /// In one transaction: deletes the user (any status), its sends, all its
    /// outbox messages and every idempotency record about it, then writes
    /// the erasure's own idempotency record (if any) and audit line. Audit
    /// lines about the user stay (they hold ids only). MUST return
    /// `Ok(false)` and write nothing when the tenant has no such user.
    async fn erase(&self, erasure: &Erasure) -> Result<bool, StoreError>;
}

/// Idempotency records (written by `UserRepo` with the change they answer for).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// The record for this tenant and key created at or after `not_before`.
    async fn find(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
        not_before: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
}

/// The audit trail.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one line (used for attempts that change nothing else; a
    /// successful change writes its line in its own transaction).
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The tenant's entries, newest first (by id, descending), filtered by
    /// `query.user_id`, starting before `query.before`, at most
    /// `query.limit`.
    async fn entries(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// The transactional outbox, as the delivery worker sees it.
///
/// A claim is a lease, and the lease's end is the claim's fencing token:
/// a message is settled only by the claim that still holds it. A worker
/// that outlived its lease (a slow mail server) and lost the message to
/// another worker's claim settles nothing, so it can neither end the other
/// worker's lease (which would let a third claim the message) nor
/// overwrite a newer attempt's outcome.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OutboxRepo: Send + Sync {
    /// Whether a claim at `now` would find anything: a pending message that
    /// is due and not leased. MUST NOT write (an idle worker asks this many
    /// times a second and must cost the database no write transaction).
    async fn any_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Leases up to `limit` pending messages that are due (`next attempt <=
    /// now`) and not leased by someone else (lease expired or none), until
    /// `lease_until`, counting the attempt; oldest first. Two concurrent
    /// callers MUST NOT receive the same message while its lease holds.
    /// `lease_until` MUST be later than `now`.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>, StoreError>;

    /// Settles messages of the claim that leased them until `lease_until`,
    /// all in one transaction, at `at`: `Sent` marks delivered, ends the
    /// lease and erases the stored email (and with it the token); `Retry`
    /// ends the lease and makes the message due again later, recording why;
    /// `Failed` gives up, recording why, and erases the stored email.
    ///
    /// MUST change only messages that are still pending and still leased
    /// until exactly `lease_until` (the fence); returns how many it changed.
    /// Fewer than `outcomes.len()` means the others' leases ran out and
    /// another claim took them over.
    async fn settle(
        &self,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
        outcomes: &[Settlement],
    ) -> Result<usize, StoreError>;
}

/// Liveness of the store, for `/readyz`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Health: Send + Sync {
    /// MUST return `Unavailable` promptly when the database cannot be reached.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Every storage port at once: what a store must implement to be wired
/// into Beckon whole (`beckon_domain::Ports::builder` takes one). Implemented
/// automatically for every type that implements them all; Beckon's own
/// stores (`beckon-store-diesel`'s `Store`, `beckon-store-memory`'s
/// `MemoryStore`) are `Storage`, and so is an embedder's adapter once it
/// implements the seven traits.
pub trait Storage:
    TenantRepo
    + ApiKeyRepo
    + UserRepo
    + IdempotencyStore
    + AuditLog
    + OutboxRepo
    + Health
    + Send
    + Sync
    + 'static
{
}

impl<T> Storage for T where
    T: TenantRepo
        + ApiKeyRepo
        + UserRepo
        + IdempotencyStore
        + AuditLog
        + OutboxRepo
        + Health
        + Send
        + Sync
        + 'static
{
}
