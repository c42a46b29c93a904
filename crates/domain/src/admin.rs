//! Operator actions behind the admin command line: tenants and API keys.

use std::sync::Arc;

use beckon_ports::{
    ApiKeyId, ApiKeyRecord, ApiKeyRepo, Clock, Locale, NewApiKey, Random, Role, StoreError, Tenant,
    TenantId, TenantName, TenantRepo, WebhookEndpoint, WebhookRepo, WebhookSecret, WebhookUrl,
};

/// Why an admin action failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The tenant named does not exist.
    #[error("no tenant with id {0}")]
    TenantNotFound(TenantId),
    /// The API key named does not exist.
    #[error("no API key with id {0}")]
    ApiKeyNotFound(ApiKeyId),
    /// The store cannot be reached.
    #[error("the store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

crate::error::from_store_error!(AdminError);

/// Creates tenants.
pub struct CreateTenant {
    tenants: Arc<dyn TenantRepo>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl CreateTenant {
    /// Builds the use case.
    pub fn new(
        tenants: Arc<dyn TenantRepo>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            tenants,
            clock,
            random,
        }
    }

    /// Creates a tenant named `name` whose emails and pages are written in
    /// `locale`.
    pub async fn execute(&self, name: TenantName, locale: Locale) -> Result<Tenant, AdminError> {
        let tenant = Tenant {
            id: TenantId::from_uuid(self.random.new_id()),
            name,
            locale,
            created_at: self.clock.now(),
        };
        self.tenants.create(&tenant).await?;
        Ok(tenant)
    }
}

/// Sets and removes a tenant's webhook endpoint.
pub struct ManageWebhook {
    tenants: Arc<dyn TenantRepo>,
    webhooks: Arc<dyn WebhookRepo>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl ManageWebhook {
    /// Builds the use case.
    pub fn new(
        tenants: Arc<dyn TenantRepo>,
        webhooks: Arc<dyn WebhookRepo>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            tenants,
            webhooks,
            clock,
            random,
        }
    }

    /// Points the tenant's events at `url` with a new signing secret
    /// (`whsec_` + base64 of 32 random bytes), replacing any earlier
    /// endpoint. The endpoint returned holds the secret, to show once.
    pub async fn set(
        &self,
        tenant: TenantId,
        url: WebhookUrl,
    ) -> Result<WebhookEndpoint, AdminError> {
        if self.tenants.get(tenant).await?.is_none() {
            return Err(AdminError::TenantNotFound(tenant));
        }
        let endpoint = WebhookEndpoint {
            tenant_id: tenant,
            url,
            secret: WebhookSecret::from_bytes(
                self.random.secret_bytes().map_err(AdminError::Unexpected)?,
            ),
            created_at: self.clock.now(),
        };
        match self.webhooks.set_endpoint(&endpoint).await {
            Err(StoreError::MissingReference) => Err(AdminError::TenantNotFound(tenant)),
            other => other.map(|()| endpoint).map_err(AdminError::from),
        }
    }

    /// Removes the tenant's endpoint and the events still queued for it;
    /// `false` when it had none.
    pub async fn remove(&self, tenant: TenantId) -> Result<bool, AdminError> {
        if self.tenants.get(tenant).await?.is_none() {
            return Err(AdminError::TenantNotFound(tenant));
        }
        Ok(self.webhooks.remove_endpoint(tenant).await?)
    }
}

/// A created key: the record, and the secret shown once.
#[derive(Debug)]
pub struct CreatedApiKey {
    /// As stored.
    pub record: ApiKeyRecord,
    /// The full secret, for the operator to hand over. Not stored.
    pub secret: String,
}

/// Creates API keys.
pub struct CreateApiKey {
    tenants: Arc<dyn TenantRepo>,
    keys: Arc<dyn ApiKeyRepo>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl CreateApiKey {
    /// Builds the use case.
    pub fn new(
        tenants: Arc<dyn TenantRepo>,
        keys: Arc<dyn ApiKeyRepo>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            tenants,
            keys,
            clock,
            random,
        }
    }

    /// Mints a key with `role` for `tenant`.
    pub async fn execute(
        &self,
        tenant: TenantId,
        role: Role,
        name: Option<String>,
    ) -> Result<CreatedApiKey, AdminError> {
        let tenant_row = self
            .tenants
            .get(tenant)
            .await?
            .ok_or(AdminError::TenantNotFound(tenant))?;
        let bytes = self.random.secret_bytes().map_err(AdminError::Unexpected)?;
        let key = NewApiKey::new(ApiKeyId::from_uuid(self.random.new_id()), bytes);
        let record = ApiKeyRecord {
            id: key.id,
            tenant_id: tenant,
            tenant_name: tenant_row.name,
            tenant_locale: tenant_row.locale,
            role,
            name,
            secret_hash: key.hash,
            created_at: self.clock.now(),
            revoked_at: None,
        };
        match self.keys.create(&record).await {
            Ok(()) => Ok(CreatedApiKey {
                record,
                secret: key.secret,
            }),
            Err(StoreError::MissingReference) => Err(AdminError::TenantNotFound(tenant)),
            Err(e) => Err(e.into()),
        }
    }
}

/// Revokes API keys.
pub struct RevokeApiKey {
    keys: Arc<dyn ApiKeyRepo>,
    clock: Arc<dyn Clock>,
}

impl RevokeApiKey {
    /// Builds the use case.
    pub fn new(keys: Arc<dyn ApiKeyRepo>, clock: Arc<dyn Clock>) -> Self {
        Self { keys, clock }
    }

    /// Revokes the key; from then on it authenticates nobody.
    pub async fn execute(&self, id: ApiKeyId) -> Result<(), AdminError> {
        if self.keys.revoke(id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(AdminError::ApiKeyNotFound(id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::{
        PresentedApiKey,
        store::{MockApiKeyRepo, MockTenantRepo},
    };

    #[tokio::test]
    async fn a_created_key_verifies_against_its_stored_hash() {
        let mut tenants = MockTenantRepo::new();
        tenants.expect_get().returning(|id| Ok(Some(tenant(id))));
        let mut keys = MockApiKeyRepo::new();
        keys.expect_create().times(1).returning(|_| Ok(()));
        let create = CreateApiKey::new(Arc::new(tenants), Arc::new(keys), fixed_clock(0), random());
        let created = create
            .execute(tenant_a(), Role::parse("admin").unwrap(), None)
            .await
            .unwrap();
        let presented = PresentedApiKey::parse(&created.secret).unwrap();
        assert_eq!(presented.id(), created.record.id);
        assert!(presented.matches(&created.record.secret_hash));
    }

    #[tokio::test]
    async fn a_key_for_a_missing_tenant_is_refused_and_nothing_is_stored() {
        let mut tenants = MockTenantRepo::new();
        tenants.expect_get().returning(|_| Ok(None));
        let keys = MockApiKeyRepo::new(); // create() must not be called
        let create = CreateApiKey::new(Arc::new(tenants), Arc::new(keys), fixed_clock(0), random());
        let err = create
            .execute(tenant_a(), Role::parse("admin").unwrap(), None)
            .await
            .unwrap_err();
        assert!(matches!(err, AdminError::TenantNotFound(t) if t == tenant_a()));
    }

    #[tokio::test]
    async fn revoking_an_unknown_key_is_an_error() {
        let mut keys = MockApiKeyRepo::new();
        keys.expect_revoke().returning(|_, _| Ok(false));
        let revoke = RevokeApiKey::new(Arc::new(keys), fixed_clock(0));
        let id = ApiKeyId::from_uuid(uuid::Uuid::now_v7());
        assert!(matches!(
            revoke.execute(id).await,
            Err(AdminError::ApiKeyNotFound(_))
        ));
    }
}
