//! `TenantRepo`: a tenant reads back as created, its locale included.

use beckon_ports::{Locale, TenantId, TenantRepo};
use futures_util::FutureExt;
use uuid::Uuid;

use crate::fixtures::{tenant, tenant_in};
use crate::{Contract, Storage, ok};

/// This port's contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "TenantRepo",
            "a_created_tenant_reads_back_and_an_unknown_one_is_none",
            |s| a_created_tenant_reads_back_and_an_unknown_one_is_none(s).boxed(),
        ),
        Contract::new("TenantRepo", "every_locale_reads_back_as_created", |s| {
            every_locale_reads_back_as_created(s).boxed()
        }),
    ]
}

/// `get` answers the tenant as created (name and instant exactly), and
/// `Ok(None)` for an id no tenant has.
pub async fn a_created_tenant_reads_back_and_an_unknown_one_is_none<S: Storage>(store: S) {
    let t = tenant(&store, "Acme <b> & Co").await;
    let got = ok(TenantRepo::get(&store, t.id).await, "reading a tenant back");
    assert_eq!(
        got,
        Some(t),
        "TenantRepo::get must answer the tenant as it was created"
    );

    let unknown = TenantId::from_uuid(Uuid::now_v7());
    let got = ok(
        TenantRepo::get(&store, unknown).await,
        "reading an unknown tenant",
    );
    assert_eq!(
        got, None,
        "TenantRepo::get MUST return Ok(None) when no tenant has the id"
    );
}

/// `get` answers each tenant with the locale it was created with.
pub async fn every_locale_reads_back_as_created<S: Storage>(store: S) {
    for locale in Locale::ALL {
        let t = tenant_in(&store, "Acme", locale).await;
        let got = ok(TenantRepo::get(&store, t.id).await, "reading a tenant back");
        assert_eq!(
            got.map(|g| g.locale),
            Some(locale),
            "TenantRepo::get must answer the locale the tenant was created with"
        );
    }
}
