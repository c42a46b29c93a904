//! Tenants, API keys, idempotency records, the audit trail and health: the
//! small ports.

use async_trait::async_trait;
use beckon_ports::{
    ApiKeyId, ApiKeyRecord, ApiKeyRepo, AuditEntry, AuditLog, AuditQuery, Health, IdempotencyKey,
    IdempotencyRecord, IdempotencyStore, StoreError, Tenant, TenantId, TenantRepo,
};
use chrono::{DateTime, Utc};

use crate::MemoryStore;
use crate::state::{micros, unexpected};
use crate::users::{check_audit, write_audit};

#[async_trait]
impl TenantRepo for MemoryStore {
    async fn create(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.with(|s| {
            if s.tenants.contains_key(&tenant.id) {
                return Err(unexpected("a tenant with this id already exists"));
            }
            let mut tenant = tenant.clone();
            tenant.created_at = micros(tenant.created_at);
            s.tenants.insert(tenant.id, tenant);
            Ok(())
        })
    }

    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        self.with(|s| Ok(s.tenants.get(&id).cloned()))
    }
}

#[async_trait]
impl ApiKeyRepo for MemoryStore {
    async fn create(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        self.with(|s| {
            if s.keys.contains_key(&record.id) {
                return Err(unexpected("an API key with this id already exists"));
            }
            if !s.tenants.contains_key(&record.tenant_id) {
                return Err(StoreError::MissingReference);
            }
            let mut record = record.clone();
            record.created_at = micros(record.created_at);
            record.revoked_at = record.revoked_at.map(micros);
            s.keys.insert(record.id, record);
            Ok(())
        })
    }

    async fn find(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.with(|s| {
            // The tenant's name and locale are joined in; a key always has
            // its tenant.
            let found = s.keys.get(&id).and_then(|key| {
                let tenant = s.tenants.get(&key.tenant_id)?;
                Some(ApiKeyRecord {
                    tenant_name: tenant.name.clone(),
                    tenant_locale: tenant.locale,
                    ..key.clone()
                })
            });
            Ok(found)
        })
    }

    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.with(|s| {
            let Some(key) = s.keys.get_mut(&id) else {
                return Ok(false);
            };
            // The first revocation stands: revoking again is harmless.
            if key.revoked_at.is_none() {
                key.revoked_at = Some(micros(at));
            }
            Ok(true)
        })
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn find(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
        not_before: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let not_before = micros(not_before);
        self.with(|s| {
            Ok(s.idempotency
                .get(&(tenant, key.clone()))
                .filter(|record| record.created_at >= not_before)
                .cloned())
        })
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.with(|s| {
            check_audit(s, entry)?;
            write_audit(s, entry);
            Ok(())
        })
    }

    async fn entries(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let before = query.before.unwrap_or(uuid::Uuid::max());
        self.with(|s| {
            let mut page: Vec<AuditEntry> = s
                .audit
                .iter()
                .filter(|e| e.tenant_id == tenant && e.id < before)
                .filter(|e| query.user_id.is_none_or(|u| e.user_id == Some(u)))
                .cloned()
                .collect();
            page.sort_by_key(|e| std::cmp::Reverse(e.id));
            page.truncate(limit);
            Ok(page)
        })
    }
}

#[async_trait]
impl Health for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|_| Ok(()))
    }
}
