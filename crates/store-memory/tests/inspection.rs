//! What the ports cannot show but the memory store lets a test inspect:
//! the audit trail, the stored emails and errors, an outage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use beckon_ports::{
    AuditLog, Health, OutboxRepo, StoreError, TenantRepo, UserId, UserRepo, WriteOutcome,
};
use beckon_store_conformance::fixtures::{
    audit, failed, idempotency, new_user, retry, rotation, sent, t0, tenant,
};
use beckon_store_memory::{MemoryStore, OutboxStatus};
use chrono::Duration;
use uuid::Uuid;

#[tokio::test]
async fn only_writes_that_happened_leave_an_audit_line() {
    let store = MemoryStore::new();
    let t = tenant(&store, "Acme").await;
    let (new, _) = new_user(&t, "ada@example.com", t0());
    store.insert_invited(&new).await.unwrap();
    let (dup, _) = new_user(&t, "ADA@example.com", t0());
    assert!(matches!(
        store.insert_invited(&dup).await,
        Err(StoreError::EmailTaken)
    ));
    let (stale, _) = rotation(&t, &new.user, 5, t0());
    assert_eq!(
        store.rotate_invite(&stale).await.unwrap(),
        WriteOutcome::Stale
    );
    let refusal = audit(
        t.id,
        Some(UserId::from_uuid(Uuid::now_v7())),
        "ResendInvite",
        t0(),
    );
    store.record(&refusal).await.unwrap();
    let (resend, _) = rotation(&t, &new.user, 0, t0() + Duration::minutes(1));
    store.rotate_invite(&resend).await.unwrap();

    let ids: Vec<Uuid> = store.audit_entries().iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![new.audit.id, refusal.id, resend.audit.id]);
}

#[tokio::test]
async fn a_delivered_or_failed_email_is_erased_and_why_an_attempt_failed_is_kept_bounded() {
    let store = MemoryStore::new();
    let t = tenant(&store, "Acme").await;
    for i in 0..3 {
        let (new, _) = new_user(&t, &format!("u{i}@example.com"), t0());
        store.insert_invited(&new).await.unwrap();
    }
    let lease = t0() + Duration::minutes(1);
    let m = store.claim_due(t0(), lease, 3).await.unwrap();
    let at = t0() + Duration::seconds(1);
    let long = "4".repeat(1500);
    let outcomes = [
        sent(m[0].id),
        retry(m[1].id, lease, &long),
        failed(m[2].id, "550 no such user"),
    ];
    assert_eq!(store.settle(lease, at, &outcomes).await.unwrap(), 3);

    let stored = store.outbox_messages();
    let find = |id| stored.iter().find(|s| s.id == id).unwrap();
    let delivered = find(m[0].id);
    assert_eq!(delivered.status, OutboxStatus::Sent);
    assert_eq!(
        (delivered.email.as_ref(), delivered.sent_at),
        (None, Some(at))
    );
    let retried = find(m[1].id);
    assert_eq!(retried.status, OutboxStatus::Pending);
    assert_eq!(retried.email.as_ref(), Some(&m[1].email));
    assert_eq!(retried.last_error.as_ref().map(String::len), Some(1000));
    assert_eq!(
        (retried.claimed_until, retried.next_attempt_at),
        (None, lease)
    );
    let given_up = find(m[2].id);
    assert_eq!(given_up.status, OutboxStatus::Failed);
    assert_eq!(
        (given_up.email.as_ref(), given_up.failed_at),
        (None, Some(at))
    );
    assert_eq!(given_up.last_error.as_deref(), Some("550 no such user"));
    assert!(stored.iter().all(|s| s.attempts == 1));
}

#[tokio::test]
async fn a_replaced_idempotency_record_leaves_one_record_of_the_key() {
    let store = MemoryStore::new();
    let t = tenant(&store, "Acme").await;
    let (mut new, _) = new_user(&t, "ada@example.com", t0());
    new.idempotency = Some(idempotency(&t, "k-1", "first", t0()));
    store.insert_invited(&new).await.unwrap();
    let next_day = t0() + Duration::hours(25);
    let (mut r, _) = rotation(&t, &new.user, 0, next_day);
    r.idempotency = Some(idempotency(&t, "k-1", "second", next_day));
    store.rotate_invite(&r).await.unwrap();

    let records = store.idempotency_records();
    let responses: Vec<&str> = records.iter().map(|r| r.response.as_str()).collect();
    assert_eq!(responses, vec!["second"]);
}

#[tokio::test]
async fn a_switched_off_store_answers_unavailable_and_changes_nothing() {
    let store = MemoryStore::new();
    let t = tenant(&store, "Acme").await;
    let (new, token) = new_user(&t, "ada@example.com", t0());

    store.set_unavailable(true);
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.insert_invited(&new).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        TenantRepo::get(&store, t.id).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.any_due(t0()).await,
        Err(StoreError::Unavailable(_))
    ));

    store.set_unavailable(false);
    store.ping().await.unwrap();
    assert_eq!(store.find_by_token(&token.hash()).await.unwrap(), None);
    assert!(store.outbox_messages().is_empty());
    assert!(store.audit_entries().is_empty());
}

#[tokio::test]
async fn timestamps_are_kept_to_whole_microseconds_as_the_databases_keep_them() {
    let store = MemoryStore::new();
    let t = tenant(&store, "Acme").await;
    let (new, _) = new_user(&t, "ada@example.com", t0() + Duration::nanoseconds(789));
    store.insert_invited(&new).await.unwrap();
    let user = UserRepo::get(&store, t.id, new.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.created_at, t0());
    assert_eq!(store.outbox_messages()[0].created_at, t0());
}

#[tokio::test]
async fn clones_share_one_store() {
    let store = MemoryStore::new();
    let clone = store.clone();
    let t = tenant(&store, "Acme").await;
    assert_eq!(TenantRepo::get(&clone, t.id).await.unwrap(), Some(t));
    let debug = format!("{clone:?}");
    assert!(debug.contains("tenants: 1"), "{debug}");
}
