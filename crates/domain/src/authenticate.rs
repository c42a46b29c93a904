//! Authentication: a bearer API key becomes a principal; a principal may act
//! only in its own tenant.

use std::sync::Arc;

use beckon_ports::{ApiKeyRepo, PresentedApiKey, Principal, TenantId};

/// Why a credential was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Missing, malformed, unknown or revoked: the caller is nobody.
    #[error("missing or invalid credential")]
    Unauthenticated,
    /// The key store cannot be reached.
    #[error("the store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

crate::error::from_store_error!(AuthError);

/// Verifies API keys.
pub struct Authenticate {
    keys: Arc<dyn ApiKeyRepo>,
}

impl Authenticate {
    /// Builds the use case.
    pub fn new(keys: Arc<dyn ApiKeyRepo>) -> Self {
        Self { keys }
    }

    /// Turns the text after `Bearer ` into a principal. Unknown ids, revoked
    /// keys and wrong secrets are all `Unauthenticated`, indistinguishably;
    /// the secret is compared in constant time.
    pub async fn execute(&self, bearer: &str) -> Result<Principal, AuthError> {
        let presented = PresentedApiKey::parse(bearer).ok_or(AuthError::Unauthenticated)?;
        let record = match self.keys.find(presented.id()).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err(AuthError::Unauthenticated),
            Err(e) => return Err(e.into()),
        };
        // Verify before looking at revocation so both refusals cost the same.
        let matches = presented.matches(&record.secret_hash);
        if !matches || record.revoked_at.is_some() {
            return Err(AuthError::Unauthenticated);
        }
        Ok(Principal {
            key_id: record.id,
            tenant_id: record.tenant_id,
            tenant_name: record.tenant_name,
            role: record.role,
        })
    }
}

/// The header's tenant is not the credential's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the tenant is not the credential's tenant")]
pub struct TenantMismatch;

/// A principal acts only in its own tenant: no default tenant, no crossing.
pub fn scope_to_tenant(principal: &Principal, claimed: TenantId) -> Result<(), TenantMismatch> {
    if principal.tenant_id == claimed {
        Ok(())
    } else {
        Err(TenantMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::{NewApiKey, store::MockApiKeyRepo};

    fn repo_with(record: beckon_ports::ApiKeyRecord) -> Arc<dyn ApiKeyRepo> {
        let mut keys = MockApiKeyRepo::new();
        keys.expect_find()
            .returning(move |id| Ok((id == record.id).then(|| record.clone())));
        Arc::new(keys)
    }

    #[tokio::test]
    async fn a_valid_key_authenticates_as_its_tenant_and_role() {
        let (record, secret) = api_key(tenant_a(), "admin");
        let auth = Authenticate::new(repo_with(record.clone()));
        let p = auth.execute(&secret).await.unwrap();
        assert_eq!(p.tenant_id, tenant_a());
        assert_eq!(p.role.as_str(), "admin");
        assert_eq!(p.key_id, record.id);
    }

    #[tokio::test]
    async fn malformed_unknown_revoked_and_wrong_secret_keys_are_unauthenticated() {
        let (mut record, secret) = api_key(tenant_a(), "admin");
        let auth = Authenticate::new(repo_with(record.clone()));
        let other = NewApiKey::new(record.id, [9; 32]).secret;
        let unknown = NewApiKey::new(
            beckon_ports::ApiKeyId::from_uuid(uuid::Uuid::now_v7()),
            [1; 32],
        )
        .secret;
        for bad in ["", "garbage", &other, &unknown] {
            assert!(
                matches!(auth.execute(bad).await, Err(AuthError::Unauthenticated)),
                "{bad:?}"
            );
        }
        record.revoked_at = Some(at(0));
        let auth = Authenticate::new(repo_with(record));
        assert!(matches!(
            auth.execute(&secret).await,
            Err(AuthError::Unauthenticated)
        ));
    }

    #[tokio::test]
    async fn a_store_outage_is_unavailable_not_unauthenticated() {
        let (_, secret) = api_key(tenant_a(), "admin");
        let mut keys = MockApiKeyRepo::new();
        keys.expect_find().returning(|_| Err(unavailable()));
        let auth = Authenticate::new(Arc::new(keys));
        assert!(matches!(
            auth.execute(&secret).await,
            Err(AuthError::Unavailable(_))
        ));
    }

    #[test]
    fn a_principal_is_scoped_to_its_own_tenant_only() {
        let p = principal(tenant_a(), "admin");
        assert!(scope_to_tenant(&p, tenant_a()).is_ok());
        assert_eq!(scope_to_tenant(&p, tenant_b()), Err(TenantMismatch));
    }
}
