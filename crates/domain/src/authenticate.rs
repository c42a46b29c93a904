//! Authentication: a bearer API key becomes a principal; a principal may act
//! only in its own tenant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use beckon_ports::{
    ApiKeyId, ApiKeyRecord, ApiKeyRepo, Clock, PresentedApiKey, Principal, TenantId,
};
use chrono::{DateTime, TimeDelta, Utc};

/// How long a looked-up key is trusted without asking the store again: a
/// revocation takes effect everywhere within this time.
pub const KEY_CACHE_TTL: TimeDelta = TimeDelta::seconds(5);

/// Keys remembered at most; past it the cache starts over (cheap, and an
/// attacker presenting many valid keys is not a case to optimize).
const KEY_CACHE_MAX: usize = 10_000;

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

/// Verifies API keys. Records found in the store are remembered for
/// [`KEY_CACHE_TTL`] (keeping a store round trip off every request); the
/// secret is still verified against the remembered hash on every request.
pub struct Authenticate {
    keys: Arc<dyn ApiKeyRepo>,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<ApiKeyId, (ApiKeyRecord, DateTime<Utc>)>>,
}

impl Authenticate {
    /// Builds the use case.
    pub fn new(keys: Arc<dyn ApiKeyRepo>, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys,
            clock,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The key record, from the cache while fresh, else from the store.
    async fn record(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, AuthError> {
        let now = self.clock.now();
        if let Ok(cache) = self.cache.lock()
            && let Some((record, at)) = cache.get(&id)
            && now - *at < KEY_CACHE_TTL
        {
            return Ok(Some(record.clone()));
        }
        let found = self.keys.find(id).await?;
        if let (Some(record), Ok(mut cache)) = (&found, self.cache.lock()) {
            if cache.len() >= KEY_CACHE_MAX {
                cache.clear();
            }
            cache.insert(id, (record.clone(), now));
        }
        Ok(found)
    }

    /// Turns the text after `Bearer ` into a principal. Unknown ids, revoked
    /// keys and wrong secrets are all `Unauthenticated`, indistinguishably;
    /// the secret is compared in constant time.
    pub async fn execute(&self, bearer: &str) -> Result<Principal, AuthError> {
        let presented = PresentedApiKey::parse(bearer).ok_or(AuthError::Unauthenticated)?;
        let record = self
            .record(presented.id())
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        // Verify before looking at revocation so both refusals cost the same.
        let matches = presented.matches(&record.secret_hash);
        if !matches || record.revoked_at.is_some() {
            return Err(AuthError::Unauthenticated);
        }
        Ok(Principal {
            key_id: record.id,
            tenant_id: record.tenant_id,
            tenant_name: record.tenant_name,
            tenant_locale: record.tenant_locale,
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
    use beckon_ports::{ManualClock, NewApiKey, store::MockApiKeyRepo};
    use std::time::Duration;

    fn repo_with(record: beckon_ports::ApiKeyRecord) -> Arc<dyn ApiKeyRepo> {
        let mut keys = MockApiKeyRepo::new();
        keys.expect_find()
            .returning(move |id| Ok((id == record.id).then(|| record.clone())));
        Arc::new(keys)
    }

    #[tokio::test]
    async fn a_valid_key_authenticates_as_its_tenant_and_role() {
        let (record, secret) = api_key(tenant_a(), "admin");
        let auth = Authenticate::new(repo_with(record.clone()), fixed_clock(0));
        let p = auth.execute(&secret).await.unwrap();
        assert_eq!(p.tenant_id, tenant_a());
        assert_eq!(p.role.as_str(), "admin");
        assert_eq!(p.key_id, record.id);
    }

    #[tokio::test]
    async fn malformed_unknown_revoked_and_wrong_secret_keys_are_unauthenticated() {
        let (mut record, secret) = api_key(tenant_a(), "admin");
        let auth = Authenticate::new(repo_with(record.clone()), fixed_clock(0));
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
        let auth = Authenticate::new(repo_with(record), fixed_clock(0));
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
        let auth = Authenticate::new(Arc::new(keys), fixed_clock(0));
        assert!(matches!(
            auth.execute(&secret).await,
            Err(AuthError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn a_key_is_looked_up_once_per_ttl_and_a_revocation_holds_after_it() {
        let (record, secret) = api_key(tenant_a(), "admin");
        let mut revoked = record.clone();
        revoked.revoked_at = Some(at(1));
        let mut keys = MockApiKeyRepo::new();
        let mut seq = mockall::Sequence::new();
        keys.expect_find()
            .times(1)
            .in_sequence(&mut seq)
            .return_once(move |_| Ok(Some(record)));
        keys.expect_find()
            .times(1)
            .in_sequence(&mut seq)
            .return_once(move |_| Ok(Some(revoked)));
        let clock = Arc::new(ManualClock::new(at(0)));
        let auth = Authenticate::new(Arc::new(keys), clock.clone());
        // Two requests inside the TTL: one lookup.
        assert!(auth.execute(&secret).await.is_ok());
        clock.advance(Duration::from_secs(4));
        assert!(auth.execute(&secret).await.is_ok());
        // After the TTL the store is asked again and the revocation holds.
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            auth.execute(&secret).await,
            Err(AuthError::Unauthenticated)
        ));
    }

    #[tokio::test]
    async fn a_cached_key_still_refuses_a_wrong_secret() {
        let (record, secret) = api_key(tenant_a(), "admin");
        let wrong = NewApiKey::new(record.id, [9; 32]).secret;
        let auth = Authenticate::new(repo_with(record), fixed_clock(0));
        assert!(auth.execute(&secret).await.is_ok());
        assert!(matches!(
            auth.execute(&wrong).await,
            Err(AuthError::Unauthenticated)
        ));
    }

    #[test]
    fn a_principal_is_scoped_to_its_own_tenant_only() {
        let p = principal(tenant_a(), "admin");
        assert!(scope_to_tenant(&p, tenant_a()).is_ok());
        assert_eq!(scope_to_tenant(&p, tenant_b()), Err(TenantMismatch));
    }
}
