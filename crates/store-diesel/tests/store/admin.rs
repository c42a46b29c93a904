//! Migrations, tenants, API keys, the audit log and health.

use beckon_ports::{
    ApiKeyId, ApiKeyRecord, ApiKeyRepo, AuditLog, Health, Role, SecretHash, StoreError, TenantId,
    TenantRepo,
};
use chrono::Duration;
use uuid::Uuid;

use crate::support::{audit, store_test, t0, tenant};

fn key(tenant: TenantId) -> ApiKeyRecord {
    ApiKeyRecord {
        tenant_locale: beckon_ports::Locale::En,
        id: ApiKeyId::from_uuid(Uuid::now_v7()),
        tenant_id: tenant,
        tenant_name: beckon_ports::TenantName::parse("ignored").unwrap(),
        role: Role::parse("admin").unwrap(),
        name: Some("ci".into()),
        secret_hash: SecretHash::of(b"secret"),
        created_at: t0(),
        revoked_at: None,
    }
}

store_test! {
    async fn migrating_again_changes_nothing(store, db) {
        let before = db.count("SELECT COUNT(*) AS n FROM __diesel_schema_migrations").await;
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM __diesel_schema_migrations").await, before);
        // Every migration of the tree, applied once.
        let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/sqlite"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().join("up.sql").is_file())
            .count();
        assert_eq!(before, i64::try_from(shipped).unwrap());
    }
}

store_test! {
    async fn a_created_tenant_reads_back_and_an_unknown_one_is_none(store, _db) {
        let t = tenant(&store, "Acme <b>").await;
        assert_eq!(TenantRepo::get(&store, t.id).await.unwrap(), Some(t));
        let unknown = TenantId::from_uuid(Uuid::now_v7());
        assert_eq!(TenantRepo::get(&store, unknown).await.unwrap(), None);
    }
}

store_test! {
    async fn an_api_key_reads_back_with_its_tenant_name(store, _db) {
        let t = tenant(&store, "Acme").await;
        let k = key(t.id);
        ApiKeyRepo::create(&store, &k).await.unwrap();
        let found = ApiKeyRepo::find(&store, k.id).await.unwrap().unwrap();
        assert_eq!(found.tenant_name.as_str(), "Acme");
        assert_eq!(found.secret_hash, k.secret_hash);
        assert_eq!(ApiKeyRecord { tenant_name: k.tenant_name.clone(), ..found }, k);
        let unknown = ApiKeyId::from_uuid(Uuid::now_v7());
        assert!(ApiKeyRepo::find(&store, unknown).await.unwrap().is_none());
    }
}

store_test! {
    async fn an_api_key_for_an_unknown_tenant_is_a_missing_reference(store, _db) {
        let k = key(TenantId::from_uuid(Uuid::now_v7()));
        let err = ApiKeyRepo::create(&store, &k).await.unwrap_err();
        assert!(matches!(err, StoreError::MissingReference), "{err:?}");
        assert!(ApiKeyRepo::find(&store, k.id).await.unwrap().is_none());
    }
}

store_test! {
    async fn revoking_keeps_the_first_revocation_time(store, _db) {
        let t = tenant(&store, "Acme").await;
        let k = key(t.id);
        ApiKeyRepo::create(&store, &k).await.unwrap();
        let first = t0() + Duration::hours(1);
        assert!(ApiKeyRepo::revoke(&store, k.id, first).await.unwrap());
        assert!(ApiKeyRepo::revoke(&store, k.id, first + Duration::hours(1)).await.unwrap());
        let found = ApiKeyRepo::find(&store, k.id).await.unwrap().unwrap();
        assert_eq!(found.revoked_at, Some(first));
        let unknown = ApiKeyId::from_uuid(Uuid::now_v7());
        assert!(!ApiKeyRepo::revoke(&store, unknown, first).await.unwrap());
    }
}

store_test! {
    async fn an_audit_line_is_appended(store, db) {
        let t = tenant(&store, "Acme").await;
        let entry = audit(t.id, beckon_ports::UserId::from_uuid(Uuid::now_v7()), "ResendInvite", t0());
        AuditLog::record(&store, &entry).await.unwrap();
        AuditLog::record(&store, &audit(t.id, entry.user_id.unwrap(), "ResendInvite", t0()))
            .await
            .unwrap();
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM audit_log").await, 2);
    }
}

store_test! {
    async fn ping_answers_when_the_database_is_up(store, _db) {
        Health::ping(&store).await.unwrap();
    }
}
