//! Users and invites: insert, read, list, tenancy, rotation, activation.

use beckon_ports::{ListQuery, StoreError, UserId, UserRepo, UserStatus, WriteOutcome};
use chrono::Duration;
use uuid::Uuid;

use crate::support::{new_user, rotation, store_test, t0, tenant};

fn all(limit: u32) -> ListQuery {
    ListQuery {
        status: None,
        after: None,
        limit,
    }
}

store_test! {
    async fn an_invited_user_reads_back_by_id_list_and_token(store, _db) {
        let t = tenant(&store, "Acme").await;
        let (new, token) = new_user(&t, "Ada@Example.com", t0());
        store.insert_invited(&new).await.unwrap();

        let got = store.get(t.id, new.user.id).await.unwrap().unwrap();
        assert_eq!(got, new.user);
        assert_eq!(got.email.as_str(), "Ada@Example.com");
        assert_eq!(store.list(t.id, &all(50)).await.unwrap(), vec![new.user.clone()]);
        assert_eq!(store.find_by_token(&token.hash()).await.unwrap(), Some(new.user.clone()));
        assert_eq!(store.find_by_token(&crate::support::token().hash()).await.unwrap(), None);
        assert_eq!(store.get(t.id, UserId::from_uuid(Uuid::now_v7())).await.unwrap(), None);
    }
}

store_test! {
    async fn list_filters_by_status_and_pages_by_id(store, _db) {
        let t = tenant(&store, "Acme").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let (new, _) = new_user(&t, &format!("u{i}@example.com"), t0());
            store.insert_invited(&new).await.unwrap();
            ids.push(new.user);
        }
        // Activate the second user.
        let a = &ids[1];
        assert_eq!(store.activate(&beckon_store_conformance::fixtures::activation(t.id, a.id, 0, t0())).await.unwrap(), WriteOutcome::Applied);

        let page1 = store.list(t.id, &all(2)).await.unwrap();
        assert_eq!(page1.iter().map(|u| u.id).collect::<Vec<_>>(), vec![ids[0].id, ids[1].id]);
        let page2 = store
            .list(t.id, &ListQuery { after: Some(page1[1].id), ..all(2) })
            .await
            .unwrap();
        assert_eq!(page2.iter().map(|u| u.id).collect::<Vec<_>>(), vec![ids[2].id, ids[3].id]);
        let page3 = store
            .list(t.id, &ListQuery { after: Some(page2[1].id), ..all(2) })
            .await
            .unwrap();
        assert_eq!(page3.iter().map(|u| u.id).collect::<Vec<_>>(), vec![ids[4].id]);

        let active = store
            .list(t.id, &ListQuery { status: Some(UserStatus::Active), ..all(50) })
            .await
            .unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].id, a.id);
        assert_eq!(active[0].invite, None);
        assert_eq!(active[0].verified_at, Some(t0()));
        let invited = store
            .list(t.id, &ListQuery { status: Some(UserStatus::Invited), ..all(50) })
            .await
            .unwrap();
        assert_eq!(invited.len(), 4);
    }
}

store_test! {
    async fn an_email_is_taken_case_insensitively_within_a_tenant_only(store, db) {
        let t = tenant(&store, "Acme").await;
        let other = tenant(&store, "Other").await;
        let (first, _) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&first).await.unwrap();

        let (dup, dup_token) = new_user(&t, "ADA@Example.COM", t0());
        let err = store.insert_invited(&dup).await.unwrap_err();
        assert!(matches!(err, StoreError::EmailTaken), "{err:?}");
        assert_eq!(store.find_by_token(&dup_token.hash()).await.unwrap(), None);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM audit_log").await, 1);

        let (elsewhere, _) = new_user(&other, "ada@example.com", t0());
        store.insert_invited(&elsewhere).await.unwrap();
    }
}

store_test! {
    async fn a_user_of_another_tenant_is_invisible(store, _db) {
        let a = tenant(&store, "A").await;
        let b = tenant(&store, "B").await;
        let (of_b, _) = new_user(&b, "bob@example.com", t0());
        store.insert_invited(&of_b).await.unwrap();

        assert_eq!(store.get(a.id, of_b.user.id).await.unwrap(), None);
        assert!(store.list(a.id, &all(50)).await.unwrap().is_empty());
        assert!(store.sends_since(a.id, of_b.user.id, t0()).await.unwrap().is_empty());
        let (r, _) = rotation(&a, &of_b.user, 0, t0());
        assert_eq!(store.rotate_invite(&r).await.unwrap(), WriteOutcome::Stale);
        assert_eq!(store.activate(&beckon_store_conformance::fixtures::activation(a.id, of_b.user.id, 0, t0())).await.unwrap(), WriteOutcome::Stale);
        assert_eq!(store.get(b.id, of_b.user.id).await.unwrap(), Some(of_b.user));
    }
}

store_test! {
    async fn a_rotation_replaces_the_token_counts_the_send_and_queues_an_email(store, db) {
        let t = tenant(&store, "Acme").await;
        let (new, old_token) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();

        let later = t0() + Duration::minutes(5);
        let (r, new_token) = rotation(&t, &new.user, 0, later);
        assert_eq!(store.rotate_invite(&r).await.unwrap(), WriteOutcome::Applied);

        assert_eq!(store.find_by_token(&old_token.hash()).await.unwrap(), None);
        let user = store.find_by_token(&new_token.hash()).await.unwrap().unwrap();
        assert_eq!(user.version, 1);
        let invite = user.invite.unwrap();
        assert_eq!(invite.sends, 2);
        assert_eq!(invite.last_sent_at, later);
        assert_eq!(invite.expires_at, r.send.expires_at);
        assert_eq!(store.sends_since(t.id, user.id, t0()).await.unwrap(), vec![t0(), later]);
        assert_eq!(
            db.count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' AND payload IS NOT NULL").await,
            2
        );
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM audit_log").await, 2);
    }
}

store_test! {
    async fn a_rotation_at_a_stale_version_writes_nothing(store, db) {
        let t = tenant(&store, "Acme").await;
        let (new, old_token) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();

        let (r, new_token) = rotation(&t, &new.user, 7, t0() + Duration::minutes(5));
        assert_eq!(store.rotate_invite(&r).await.unwrap(), WriteOutcome::Stale);

        assert_eq!(store.find_by_token(&new_token.hash()).await.unwrap(), None);
        assert_eq!(store.get(t.id, new.user.id).await.unwrap(), Some(new.user));
        assert!(store.find_by_token(&old_token.hash()).await.unwrap().is_some());
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM invite_sends").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM audit_log").await, 1);
    }
}

store_test! {
    async fn sends_since_lists_sends_at_or_after_the_instant_oldest_first(store, _db) {
        let t = tenant(&store, "Acme").await;
        let (new, _) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();
        let mut user = new.user;
        for hours in [1, 2, 3] {
            let (r, _) = rotation(&t, &user, user.version, t0() + Duration::hours(hours));
            assert_eq!(store.rotate_invite(&r).await.unwrap(), WriteOutcome::Applied);
            user = store.get(t.id, user.id).await.unwrap().unwrap();
        }
        let since = store.sends_since(t.id, user.id, t0() + Duration::hours(2)).await.unwrap();
        assert_eq!(since, vec![t0() + Duration::hours(2), t0() + Duration::hours(3)]);
        assert_eq!(store.sends_since(t.id, user.id, t0()).await.unwrap().len(), 4);
        assert_eq!(user.invite.unwrap().sends, 4);
    }
}

store_test! {
    async fn activation_consumes_the_token_once(store, _db) {
        let t = tenant(&store, "Acme").await;
        let (new, token) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();

        let at = t0() + Duration::hours(1);
        assert_eq!(store.activate(&beckon_store_conformance::fixtures::activation(t.id, new.user.id, 0, at)).await.unwrap(), WriteOutcome::Applied);
        assert_eq!(store.find_by_token(&token.hash()).await.unwrap(), None);
        let user = store.get(t.id, new.user.id).await.unwrap().unwrap();
        assert_eq!(user.status, UserStatus::Active);
        assert_eq!(user.verified_at, Some(at));
        assert_eq!(user.invite, None);
        assert_eq!(user.version, 1);
        // Neither a second activation nor a resend applies to an active user.
        assert_eq!(store.activate(&beckon_store_conformance::fixtures::activation(t.id, user.id, 1, at)).await.unwrap(), WriteOutcome::Stale);
        let (r, _) = rotation(&t, &user, 1, at);
        assert_eq!(store.rotate_invite(&r).await.unwrap(), WriteOutcome::Stale);
    }
}

store_test! {
    async fn timestamps_round_trip_at_microsecond_precision(store, _db) {
        let t = tenant(&store, "Acme").await;
        let at = t0() + Duration::nanoseconds(789); // sub-microsecond part is dropped
        let (new, _) = new_user(&t, "ada@example.com", at);
        store.insert_invited(&new).await.unwrap();
        let user = store.get(t.id, new.user.id).await.unwrap().unwrap();
        assert_eq!(user.created_at, t0());
    }
}
