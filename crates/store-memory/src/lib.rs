//! Beckon's storage ports in process memory: [`MemoryStore`] implements
//! every storage port of `beckon-ports` with the semantics of the database
//! store (`beckon-store-diesel`) — the version check, send counting, the
//! transactional outbox with its fenced leases, idempotency records,
//! tenant confinement — so that use cases and HTTP routes can be tested,
//! and Beckon embedded for a demo, without a database. The storage ports'
//! conformance suite (`beckon-store-conformance`) runs against it, SQLite
//! and PostgreSQL alike.
//!
//! Every write checks everything it could fail on before it changes
//! anything, under one lock: a write either happens whole or not at all,
//! as in a transaction. Nothing is persisted; every clone of a store shares
//! the same data. Timestamps are kept to whole microseconds, as the
//! databases keep them.
//!
//! For tests, the store can be inspected beyond the ports
//! ([`MemoryStore::audit_entries`], [`MemoryStore::outbox_messages`],
//! [`MemoryStore::idempotency_records`]) and switched off
//! ([`MemoryStore::set_unavailable`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use beckon_ports::{
//!     ApiKeyId, AuditEntry, AuditOutcome, Delivery, Email, Invite, InviteEmail, InviteSend, InviteToken,
//!     NewUser, OutboxId, OutboxMessage, RequestId, Tenant, TenantId, TenantName, TenantRepo,
//!     User, UserId, UserRepo, UserStatus, EventType, WebhookEvent, Locale,
//! };
//! use beckon_store_memory::MemoryStore;
//! use chrono::{DateTime, Duration};
//! use uuid::Uuid;
//!
//! let store = MemoryStore::new();
//! let now = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")?.to_utc();
//!
//! let tenant = Tenant {
//!     id: TenantId::from_uuid(Uuid::now_v7()),
//!     name: TenantName::parse("Acme")?,
//!     locale: Locale::De,
//!     created_at: now,
//! };
//! TenantRepo::create(&store, &tenant).await?;
//!
//! // A user is inserted with its first send: the token and the email.
//! let id = UserId::from_uuid(Uuid::now_v7());
//! let email = Email::parse("ada@example.com")?;
//! let token = InviteToken::from_bytes([7; 32]);
//! let expires_at = now + Duration::days(7);
//! let user = User {
//!     id,
//!     tenant_id: tenant.id,
//!     email: email.clone(),
//!     name: None,
//!     status: UserStatus::Invited,
//!     created_at: now,
//!     verified_at: None,
//!     revoked_at: None,
//!     invite: Some(Invite { expires_at, sends: 1, last_sent_at: now, delivery: Delivery::Queued }),
//!     version: 0,
//! };
//! let send = InviteSend {
//!     token_hash: token.hash(),
//!     expires_at,
//!     sent_at: now,
//!     outbox: OutboxMessage {
//!         id: OutboxId::from_uuid(Uuid::now_v7()),
//!         tenant_id: tenant.id,
//!         user_id: id,
//!         email: InviteEmail {
//!             to: email,
//!             to_name: None,
//!             tenant_name: tenant.name.clone(),
//!             locale: tenant.locale,
//!             token: token.clone(),
//!             expires_at,
//!         },
//!         created_at: now,
//!     },
//! };
//! let audit = AuditEntry {
//!     id: Uuid::now_v7(),
//!     tenant_id: tenant.id,
//!     user_id: Some(id),
//!     key_id: Some(ApiKeyId::from_uuid(Uuid::now_v7())),
//!     request_id: RequestId::from_uuid(Uuid::now_v7()),
//!     action: "InviteUser".into(),
//!     outcome: AuditOutcome::Succeeded,
//!     at: now,
//! };
//! // The webhook event it reports (stored only if the tenant has an endpoint).
//! let event = WebhookEvent {
//!     id: Uuid::now_v7(),
//!     tenant_id: tenant.id,
//!     user_id: id,
//!     event_type: EventType::InviteSent,
//!     email: Some(user.email.clone()),
//!     send: Some(1),
//!     message_id: Some(send.outbox.id),
//!     at: now,
//! };
//! store.insert_invited(&NewUser { user: user.clone(), send, idempotency: None, audit, event }).await?;
//!
//! assert_eq!(UserRepo::get(&store, tenant.id, id).await?, Some(user.clone()));
//! assert_eq!(store.find_by_token(&token.hash()).await?, Some(user));
//! assert_eq!(store.outbox_messages().len(), 1);
//! assert_eq!(store.audit_entries().len(), 1);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod admin;
mod outbox;
mod outbox_stats;
mod retention;
mod state;
mod users;
mod webhooks;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::anyhow;
use beckon_ports::{AuditEntry, IdempotencyRecord, StoreError};

pub use state::{OutboxStatus, StoredMessage};

use state::State;

/// Every storage port in process memory. Cheap to clone: clones share the
/// same data, like clones of a database store share one database.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for MemoryStore {
    // Counts only: the rows hold personal data (addresses, tokens).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("MemoryStore")
            .field("tenants", &state.tenants.len())
            .field("users", &state.users.len())
            .field("outbox", &state.outbox.len())
            .field("unavailable", &state.unavailable)
            .finish()
    }
}

impl MemoryStore {
    /// An empty store (no migration needed).
    pub fn new() -> Self {
        Self::default()
    }

    /// Switches the store off (`true`) or on again (`false`). While off,
    /// every port method answers `StoreError::Unavailable` and changes
    /// nothing, as a store whose database went away does: for testing what
    /// callers do during an outage. The inspection methods keep working.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.lock().unavailable = unavailable;
    }

    /// The audit trail in the order it was written.
    pub fn audit_entries(&self) -> Vec<AuditEntry> {
        self.lock().audit.clone()
    }

    /// Every outbox message, in any state, oldest first (by when it was
    /// queued, then by id).
    pub fn outbox_messages(&self) -> Vec<StoredMessage> {
        let state = self.lock();
        let mut messages: Vec<StoredMessage> = state.outbox.values().cloned().collect();
        messages.sort_by_key(|m| (m.created_at, m.id));
        messages
    }

    /// Every idempotency record, stale ones included, ordered by tenant and
    /// key.
    pub fn idempotency_records(&self) -> Vec<IdempotencyRecord> {
        let state = self.lock();
        let mut records: Vec<IdempotencyRecord> = state.idempotency.values().cloned().collect();
        records.sort_by(|a, b| (a.tenant_id, a.key.as_str()).cmp(&(b.tenant_id, b.key.as_str())));
        records
    }

    /// Runs one port operation on the data, as one transaction: the lock is
    /// held throughout, and an operation that fails changes nothing (each
    /// checks before it writes).
    fn with<T>(
        &self,
        op: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock();
        if state.unavailable {
            return Err(StoreError::Unavailable(anyhow!(
                "the memory store is switched off (MemoryStore::set_unavailable)"
            )));
        }
        op(&mut state)
    }

    /// The data. A poisoned lock is taken over as it is: no operation can
    /// leave the data half-changed, because every one checks before it
    /// writes and nothing that can panic runs while it writes.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
