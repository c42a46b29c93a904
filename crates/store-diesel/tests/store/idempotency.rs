//! Idempotency records written with the change they answer for.

use beckon_ports::{
    IdempotencyKey, IdempotencyRecord, IdempotencyStore, IdempotencyWrite, StoreError, Tenant,
    UserRepo, WriteOutcome,
};
use chrono::{DateTime, Duration, Utc};

use crate::support::{new_user, rotation, store_test, t0, tenant};

fn write(t: &Tenant, key: &str, response: &str, at: DateTime<Utc>) -> IdempotencyWrite {
    IdempotencyWrite {
        record: IdempotencyRecord {
            tenant_id: t.id,
            key: IdempotencyKey::parse(key).unwrap(),
            fingerprint: "POST /v1/users/x/resend-invite".into(),
            response: response.into(),
            created_at: at,
            user_id: None,
        },
        stale_before: at - Duration::hours(24),
    }
}

store_test! {
    async fn a_record_is_found_from_not_before_on_and_per_tenant(store, _db) {
        let t = tenant(&store, "Acme").await;
        let other = tenant(&store, "Other").await;
        let (mut new, _) = new_user(&t, "ada@example.com", t0());
        let w = write(&t, "k-1", "201 {}", t0());
        new.idempotency = Some(w.clone());
        store.insert_invited(&new).await.unwrap();

        let key = &w.record.key;
        assert_eq!(IdempotencyStore::find(&store, t.id, key, t0()).await.unwrap(), Some(w.record.clone()));
        let after = t0() + Duration::microseconds(1);
        assert_eq!(IdempotencyStore::find(&store, t.id, key, after).await.unwrap(), None);
        assert_eq!(IdempotencyStore::find(&store, other.id, key, t0()).await.unwrap(), None);
    }
}

store_test! {
    async fn a_live_key_makes_the_rotation_fail_and_roll_back(store, db) {
        let t = tenant(&store, "Acme").await;
        let (mut new, token) = new_user(&t, "ada@example.com", t0());
        new.idempotency = Some(write(&t, "k-1", "first", t0()));
        store.insert_invited(&new).await.unwrap();

        let later = t0() + Duration::minutes(5);
        let (mut r, new_token) = rotation(&t, &new.user, 0, later);
        r.idempotency = Some(write(&t, "k-1", "second", later));
        let err = store.rotate_invite(&r).await.unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyKeyTaken), "{err:?}");

        // Nothing of the rotation remains: token, version, send, email, audit.
        assert_eq!(store.find_by_token(&new_token.hash()).await.unwrap(), None);
        assert!(store.find_by_token(&token.hash()).await.unwrap().is_some());
        assert_eq!(store.get(t.id, new.user.id).await.unwrap(), Some(new.user.clone()));
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM invite_sends").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM audit_log").await, 1);
        let kept = IdempotencyStore::find(&store, t.id, &r.idempotency.unwrap().record.key, t0())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.response, "first");
    }
}

store_test! {
    async fn a_live_key_makes_an_invite_fail_and_write_nothing(store, db) {
        let t = tenant(&store, "Acme").await;
        let (mut first, _) = new_user(&t, "ada@example.com", t0());
        first.idempotency = Some(write(&t, "k-1", "first", t0()));
        store.insert_invited(&first).await.unwrap();

        let (mut second, _) = new_user(&t, "bob@example.com", t0());
        second.idempotency = Some(write(&t, "k-1", "second", t0()));
        let err = store.insert_invited(&second).await.unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyKeyTaken), "{err:?}");
        assert_eq!(store.get(t.id, second.user.id).await.unwrap(), None);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM users").await, 1);
    }
}

store_test! {
    async fn a_stale_record_of_the_key_is_replaced(store, _db) {
        let t = tenant(&store, "Acme").await;
        let (mut new, _) = new_user(&t, "ada@example.com", t0());
        new.idempotency = Some(write(&t, "k-1", "first", t0()));
        store.insert_invited(&new).await.unwrap();

        let next_day = t0() + Duration::hours(25);
        let (mut r, _) = rotation(&t, &new.user, 0, next_day);
        r.idempotency = Some(write(&t, "k-1", "second", next_day));
        assert_eq!(store.rotate_invite(&r).await.unwrap(), WriteOutcome::Applied);

        let key = IdempotencyKey::parse("k-1").unwrap();
        let rec = IdempotencyStore::find(&store, t.id, &key, t0()).await.unwrap().unwrap();
        assert_eq!(rec.response, "second");
        assert_eq!(rec.created_at, next_day);
    }
}
