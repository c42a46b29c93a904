//! `ApiKeyRepo`: keys read back with their tenant's name, need their
//! tenant, and are revoked once.

use beckon_ports::{ApiKeyId, ApiKeyRecord, ApiKeyRepo, Locale, StoreError, TenantId};
use chrono::Duration;
use futures_util::FutureExt;
use uuid::Uuid;

use crate::fixtures::{api_key, t0, tenant, tenant_in};
use crate::{Contract, Storage, err, ok};

/// This port's contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "ApiKeyRepo",
            "an_api_key_reads_back_with_its_tenants_name",
            |s| an_api_key_reads_back_with_its_tenants_name(s).boxed(),
        ),
        Contract::new(
            "ApiKeyRepo",
            "an_api_key_of_a_missing_tenant_is_a_missing_reference",
            |s| an_api_key_of_a_missing_tenant_is_a_missing_reference(s).boxed(),
        ),
        Contract::new(
            "ApiKeyRepo",
            "revoking_keeps_the_first_revocation_and_an_unknown_key_is_not_revoked",
            |s| revoking_keeps_the_first_revocation_and_an_unknown_key_is_not_revoked(s).boxed(),
        ),
    ]
}

/// `find` answers the key as created, with its tenant's name and locale
/// joined in (the record's own are ignored by `create`), and `Ok(None)`
/// for an unknown id.
pub async fn an_api_key_reads_back_with_its_tenants_name<S: Storage>(store: S) {
    let t = tenant_in(&store, "Acme", Locale::De).await;
    let labelled = api_key(t.id);
    let unlabelled = ApiKeyRecord {
        name: None,
        ..api_key(t.id)
    };
    for k in [&labelled, &unlabelled] {
        ok(ApiKeyRepo::create(&store, k).await, "creating an API key");
        let found = ok(ApiKeyRepo::find(&store, k.id).await, "finding an API key");
        let expected = ApiKeyRecord {
            tenant_name: t.name.clone(),
            tenant_locale: Locale::De,
            ..k.clone()
        };
        assert_eq!(
            found,
            Some(expected),
            "ApiKeyRepo::find must answer the key as created, with its tenant's name and locale \
             (not the record's tenant_name and tenant_locale, which create ignores)"
        );
    }
    let unknown = ApiKeyId::from_uuid(Uuid::now_v7());
    let found = ok(
        ApiKeyRepo::find(&store, unknown).await,
        "finding an unknown API key",
    );
    assert_eq!(
        found, None,
        "ApiKeyRepo::find MUST return Ok(None) when there is no such key"
    );
}

/// `create` of a key whose tenant does not exist fails with
/// `MissingReference` and stores nothing.
pub async fn an_api_key_of_a_missing_tenant_is_a_missing_reference<S: Storage>(store: S) {
    let k = api_key(TenantId::from_uuid(Uuid::now_v7()));
    let e = err(
        ApiKeyRepo::create(&store, &k).await,
        "creating an API key of a tenant that does not exist",
    );
    assert!(
        matches!(e, StoreError::MissingReference),
        "ApiKeyRepo::create MUST return MissingReference when the tenant does not exist, got {e:?}"
    );
    let found = ok(
        ApiKeyRepo::find(&store, k.id).await,
        "finding the refused key",
    );
    assert_eq!(found, None, "a refused API key must not be stored");
}

/// `revoke` marks the key revoked at the given instant and answers `true`;
/// revoking again answers `true` and keeps the first revocation's instant;
/// a revoked key is still found. An unknown key answers `false`.
pub async fn revoking_keeps_the_first_revocation_and_an_unknown_key_is_not_revoked<S: Storage>(
    store: S,
) {
    let t = tenant(&store, "Acme").await;
    let k = api_key(t.id);
    ok(ApiKeyRepo::create(&store, &k).await, "creating an API key");

    let first = t0() + Duration::hours(1);
    let revoked = ok(
        ApiKeyRepo::revoke(&store, k.id, first).await,
        "revoking a key",
    );
    assert!(
        revoked,
        "ApiKeyRepo::revoke of an existing key must answer true"
    );
    let again = ok(
        ApiKeyRepo::revoke(&store, k.id, first + Duration::hours(1)).await,
        "revoking a revoked key again",
    );
    assert!(
        again,
        "ApiKeyRepo::revoke of an already revoked key must answer true"
    );

    let found = ok(
        ApiKeyRepo::find(&store, k.id).await,
        "finding a revoked key",
    );
    let found = found.expect("ApiKeyRepo::find must answer a revoked key too (revoked or not)");
    assert_eq!(
        found.revoked_at,
        Some(first),
        "ApiKeyRepo::revoke must keep the earlier revocation time"
    );

    let unknown = ApiKeyId::from_uuid(Uuid::now_v7());
    let revoked = ok(
        ApiKeyRepo::revoke(&store, unknown, first).await,
        "revoking an unknown key",
    );
    assert!(
        !revoked,
        "ApiKeyRepo::revoke MUST return Ok(false) when there is no such key"
    );
}
