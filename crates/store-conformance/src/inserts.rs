//! `UserRepo::insert_invited` refused: an email is taken per tenant, in
//! any letter case, a user needs its tenant, and a refused invite writes
//! nothing.

use beckon_ports::{IdempotencyStore, StoreError, UserRepo};
use chrono::Duration;
use futures_util::FutureExt;
use futures_util::future::join_all;
use uuid::Uuid;

use crate::fixtures::{idempotency, new_user, t0, tenant};
use crate::{Contract, Storage, err, ok};

/// This port's contracts of refused invites.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "UserRepo",
            "an_email_is_taken_case_insensitively_within_a_tenant_and_the_refusal_writes_nothing",
            |s| {
                an_email_is_taken_case_insensitively_within_a_tenant_and_the_refusal_writes_nothing(
                    s,
                )
                .boxed()
            },
        ),
        Contract::new(
            "UserRepo",
            "a_user_of_a_missing_tenant_is_a_missing_reference_and_writes_nothing",
            |s| a_user_of_a_missing_tenant_is_a_missing_reference_and_writes_nothing(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "of_eight_simultaneous_invites_of_one_email_exactly_one_succeeds",
            |s| of_eight_simultaneous_invites_of_one_email_exactly_one_succeeds(s).boxed(),
        ),
    ]
}

/// `insert_invited` of an email the tenant already has, in any letter
/// case, fails with `EmailTaken` and writes nothing (no user, token, send,
/// email or idempotency record); another tenant may have the same email.
pub async fn an_email_is_taken_case_insensitively_within_a_tenant_and_the_refusal_writes_nothing<
    S: Storage,
>(
    store: S,
) {
    let t = tenant(&store, "Acme").await;
    let other = tenant(&store, "Other").await;
    let (first, _) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&first).await, "inviting a user");

    let (mut dup, dup_token) = new_user(&t, "ADA@Example.COM", t0());
    let write = idempotency(&t, "dup-key", "201", t0());
    dup.idempotency = Some(write.clone());
    let e = err(
        store.insert_invited(&dup).await,
        "inviting the same email in upper case",
    );
    assert!(
        matches!(e, StoreError::EmailTaken),
        "UserRepo::insert_invited MUST return EmailTaken for an email taken in another letter \
         case, got {e:?}"
    );
    let got = ok(
        UserRepo::get(&store, t.id, dup.user.id).await,
        "reading the refused user",
    );
    assert_eq!(got, None, "a refused invite must not insert the user");
    let found = ok(
        store.find_by_token(&dup_token.hash()).await,
        "finding the refused token",
    );
    assert_eq!(found, None, "a refused invite must not store its token");
    let key = &write.record.key;
    let record = ok(
        IdempotencyStore::find(&store, t.id, key, t0()).await,
        "finding the key",
    );
    assert_eq!(
        record, None,
        "a refused invite must not write its idempotency record"
    );
    let sends = ok(
        store.sends_since(t.id, dup.user.id, t0()).await,
        "reading sends",
    );
    assert!(sends.is_empty(), "a refused invite must not record a send");
    let lease = t0() + Duration::minutes(1);
    let queued = ok(
        store.claim_due(t0(), lease, 10).await,
        "claiming the queued emails",
    );
    let queued: Vec<_> = queued.iter().map(|m| m.id).collect();
    assert_eq!(
        queued,
        vec![first.send.outbox.id],
        "a refused invite must not queue its email"
    );

    let (elsewhere, _) = new_user(&other, "ada@example.com", t0());
    ok(
        store.insert_invited(&elsewhere).await,
        "inviting the same email in another tenant (emails are unique per tenant only)",
    );
}

/// `insert_invited` of a user whose tenant does not exist fails with
/// `MissingReference` and writes nothing.
pub async fn a_user_of_a_missing_tenant_is_a_missing_reference_and_writes_nothing<S: Storage>(
    store: S,
) {
    // A tenant that was never stored.
    let ghost = beckon_ports::Tenant {
        id: beckon_ports::TenantId::from_uuid(Uuid::now_v7()),
        name: beckon_ports::TenantName::parse("Ghost").expect("a valid name"),
        locale: beckon_ports::Locale::En,
        created_at: t0(),
    };
    let (mut new, tok) = new_user(&ghost, "ada@example.com", t0());
    let write = idempotency(&ghost, "k-1", "201", t0());
    new.idempotency = Some(write.clone());
    let e = err(
        store.insert_invited(&new).await,
        "inviting into a tenant that does not exist",
    );
    assert!(
        matches!(e, StoreError::MissingReference),
        "UserRepo::insert_invited must return MissingReference when the tenant does not exist, \
         got {e:?}"
    );
    let found = ok(
        store.find_by_token(&tok.hash()).await,
        "finding the refused token",
    );
    assert_eq!(found, None, "a refused invite must not store its user");
    let key = &write.record.key;
    let record = ok(
        IdempotencyStore::find(&store, ghost.id, key, t0()).await,
        "finding the key",
    );
    assert_eq!(
        record, None,
        "a refused invite must not write its idempotency record"
    );
    let due = ok(store.any_due(t0()).await, "asking whether an email is due");
    assert!(!due, "a refused invite must not queue its email");
}

/// Of eight invites of one address in eight letter cases at once, exactly
/// one succeeds and the others fail with `EmailTaken`; one email is queued.
pub async fn of_eight_simultaneous_invites_of_one_email_exactly_one_succeeds<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let invites = (0..8).map(|i: u32| {
        let email: String = "ada@example.com"
            .chars()
            .enumerate()
            .map(|(j, c)| {
                if j < 3 && (i >> j) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let (new, _) = new_user(&t, &email, t0());
        let store = store.clone();
        async move { store.insert_invited(&new).await }
    });
    let (mut succeeded, mut taken) = (0, 0);
    for result in join_all(invites).await {
        match result {
            Ok(()) => succeeded += 1,
            Err(StoreError::EmailTaken) => taken += 1,
            Err(e) => panic!("a racing invite must succeed or be EmailTaken, got {e:?}"),
        }
    }
    assert_eq!(
        (succeeded, taken),
        (1, 7),
        "exactly one of eight racing invites must succeed"
    );
    let lease = t0() + Duration::minutes(1);
    let queued = ok(
        store.claim_due(t0(), lease, 10).await,
        "claiming the queued emails",
    );
    assert_eq!(
        queued.len(),
        1,
        "only the successful invite may queue an email"
    );
}
