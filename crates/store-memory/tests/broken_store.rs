//! The conformance suite can fail: against a store that breaks two
//! promises it fails, naming exactly those two contracts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use beckon_ports::{
    Activation, ApiKeyId, ApiKeyRecord, ApiKeyRepo, AuditEntry, AuditLog, AuditQuery,
    ClaimedMessage, Erasure, Health, IdempotencyKey, IdempotencyRecord, IdempotencyStore,
    ListQuery, NewUser, OutboxBacklog, OutboxRepo, OutboxStats, Revocation, Rotation, SecretHash,
    Settlement, StoreError, Tenant, TenantId, TenantRepo, User, UserId, UserRepo, WriteOutcome,
};
use beckon_store_conformance::{contracts, run_all};
use beckon_store_memory::MemoryStore;
use chrono::{DateTime, Utc};

/// The memory store with two flaws: a claim ignores its limit, and
/// revoking an unknown key claims success.
#[derive(Clone, Default)]
struct Careless(MemoryStore);

#[async_trait]
impl TenantRepo for Careless {
    async fn create(&self, tenant: &Tenant) -> Result<(), StoreError> {
        TenantRepo::create(&self.0, tenant).await
    }
    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        TenantRepo::get(&self.0, id).await
    }
}

#[async_trait]
impl ApiKeyRepo for Careless {
    async fn create(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        ApiKeyRepo::create(&self.0, record).await
    }
    async fn find(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, StoreError> {
        ApiKeyRepo::find(&self.0, id).await
    }
    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.0.revoke(id, at).await.map(|_| true) // the flaw
    }
}

#[async_trait]
impl UserRepo for Careless {
    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        UserRepo::get(&self.0, tenant, id).await
    }
    async fn list(&self, tenant: TenantId, query: &ListQuery) -> Result<Vec<User>, StoreError> {
        UserRepo::list(&self.0, tenant, query).await
    }
    async fn find_by_token(&self, hash: &SecretHash) -> Result<Option<User>, StoreError> {
        self.0.find_by_token(hash).await
    }
    async fn sends_since(
        &self,
        tenant: TenantId,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        self.0.sends_since(tenant, user, since).await
    }
    async fn insert_invited(&self, new: &NewUser) -> Result<(), StoreError> {
        self.0.insert_invited(new).await
    }
    async fn rotate_invite(&self, rotation: &Rotation) -> Result<WriteOutcome, StoreError> {
        self.0.rotate_invite(rotation).await
    }
    async fn activate(&self, activation: &Activation) -> Result<WriteOutcome, StoreError> {
        self.0.activate(activation).await
    }
    async fn revoke_invite(&self, revocation: &Revocation) -> Result<WriteOutcome, StoreError> {
        self.0.revoke_invite(revocation).await
    }
    async fn erase(&self, erasure: &Erasure) -> Result<bool, StoreError> {
        self.0.erase(erasure).await
    }
}

#[async_trait]
impl IdempotencyStore for Careless {
    async fn find(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
        not_before: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        IdempotencyStore::find(&self.0, tenant, key, not_before).await
    }
}

#[async_trait]
impl AuditLog for Careless {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.0.record(entry).await
    }
    async fn entries(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.0.entries(tenant, query).await
    }
}

#[async_trait]
impl OutboxRepo for Careless {
    async fn any_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.0.any_due(now).await
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        _limit: u32,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        self.0.claim_due(now, lease_until, u32::MAX).await // the flaw
    }
    async fn settle(
        &self,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
        outcomes: &[Settlement],
    ) -> Result<usize, StoreError> {
        self.0.settle(lease_until, at, outcomes).await
    }
}

#[async_trait]
impl OutboxStats for Careless {
    async fn backlog(&self) -> Result<Vec<OutboxBacklog>, StoreError> {
        self.0.backlog().await
    }
}

#[async_trait]
impl beckon_ports::WebhookRepo for Careless {
    async fn set_endpoint(&self, e: &beckon_ports::WebhookEndpoint) -> Result<(), StoreError> {
        self.0.set_endpoint(e).await
    }

    async fn remove_endpoint(&self, tenant: TenantId) -> Result<bool, StoreError> {
        self.0.remove_endpoint(tenant).await
    }

    async fn endpoint(
        &self,
        tenant: TenantId,
    ) -> Result<Option<beckon_ports::WebhookEndpoint>, StoreError> {
        self.0.endpoint(tenant).await
    }

    async fn any_event_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.0.any_event_due(now).await
    }

    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<beckon_ports::ClaimedEvent>, StoreError> {
        self.0.claim_events(now, lease_until, limit).await
    }

    async fn settle_events(
        &self,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
        outcomes: &[beckon_ports::EventSettlement],
    ) -> Result<usize, StoreError> {
        self.0.settle_events(lease_until, at, outcomes).await
    }
}

#[async_trait]
impl beckon_ports::Retention for Careless {
    async fn prune(
        &self,
        before: &beckon_ports::PruneBefore,
    ) -> Result<beckon_ports::Pruned, StoreError> {
        self.0.prune(before).await
    }
}

#[async_trait]
impl Health for Careless {
    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

#[tokio::test]
async fn the_suite_fails_a_careless_store_naming_each_broken_contract() {
    let run = tokio::spawn(run_all(|| async { Careless::default() }));
    let panic = run.await.expect_err("the suite must fail").into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    let total = contracts::<Careless>().len();
    assert!(
        message.starts_with(&format!("2 of {total} storage contracts violated")),
        "{message}"
    );
    for broken in [
        "OutboxRepo::a_claim_takes_at_most_limit_oldest_first",
        "ApiKeyRepo::revoking_keeps_the_first_revocation_and_an_unknown_key_is_not_revoked",
    ] {
        assert!(
            message.contains(broken),
            "{broken} not named in:\n{message}"
        );
    }
}
