//! `IdempotencyStore`, and the records `UserRepo` writes with the change
//! they answer for: found per tenant from an instant on; a live record of
//! the key refuses the write whole; a stale one is replaced.

use beckon_ports::{IdempotencyStore, StoreError, UserRepo, WriteOutcome};
use chrono::Duration;
use futures_util::FutureExt;

use crate::fixtures::{idempotency, new_user, rotation, t0, tenant};
use crate::{Contract, Storage, err, ok};

/// This port's contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "IdempotencyStore",
            "a_record_is_found_from_not_before_on_and_only_in_its_tenant",
            |s| a_record_is_found_from_not_before_on_and_only_in_its_tenant(s).boxed(),
        ),
        Contract::new(
            "IdempotencyStore",
            "a_live_key_makes_a_rotation_fail_and_write_nothing",
            |s| a_live_key_makes_a_rotation_fail_and_write_nothing(s).boxed(),
        ),
        Contract::new(
            "IdempotencyStore",
            "a_live_key_makes_an_invite_fail_and_write_nothing",
            |s| a_live_key_makes_an_invite_fail_and_write_nothing(s).boxed(),
        ),
        Contract::new(
            "IdempotencyStore",
            "a_stale_record_of_the_key_is_replaced",
            |s| a_stale_record_of_the_key_is_replaced(s).boxed(),
        ),
        Contract::new(
            "IdempotencyStore",
            "one_key_may_be_used_by_each_tenant",
            |s| one_key_may_be_used_by_each_tenant(s).boxed(),
        ),
    ]
}

/// `find` answers the record written with an invite, exactly, when asked
/// with a `not_before` at or before its creation; nothing when asked from
/// later on, or in another tenant.
pub async fn a_record_is_found_from_not_before_on_and_only_in_its_tenant<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let other = tenant(&store, "Other").await;
    let (mut new, _) = new_user(&t, "ada@example.com", t0());
    let w = idempotency(&t, "k-1", "201 {}", t0());
    new.idempotency = Some(w.clone());
    ok(
        store.insert_invited(&new).await,
        "inviting a user with an idempotency key",
    );

    let key = &w.record.key.clone();
    let found = ok(
        IdempotencyStore::find(&store, t.id, key, t0()).await,
        "finding the record",
    );
    assert_eq!(
        found,
        Some(w.record.clone()),
        "the record must read back as written"
    );
    let earlier = t0() - Duration::hours(1);
    let found = ok(
        IdempotencyStore::find(&store, t.id, key, earlier).await,
        "finding it",
    );
    assert_eq!(
        found,
        Some(w.record),
        "a record created after not_before must be found"
    );
    let after = t0() + Duration::microseconds(1);
    let found = ok(
        IdempotencyStore::find(&store, t.id, key, after).await,
        "finding it later",
    );
    assert_eq!(
        found, None,
        "a record created before not_before must not be found"
    );
    let found = ok(
        IdempotencyStore::find(&store, other.id, key, t0()).await,
        "finding it",
    );
    assert_eq!(
        found, None,
        "IdempotencyStore::find must not answer another tenant's record"
    );
}

/// A rotation whose key a live record holds fails with
/// `IdempotencyKeyTaken` and writes nothing: not the token, the version,
/// the send, the email; the record stays the first one.
pub async fn a_live_key_makes_a_rotation_fail_and_write_nothing<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (mut new, tok) = new_user(&t, "ada@example.com", t0());
    new.idempotency = Some(idempotency(&t, "k-1", "first", t0()));
    ok(
        store.insert_invited(&new).await,
        "inviting a user with a key",
    );

    let later = t0() + Duration::minutes(5);
    let (mut r, new_token) = rotation(&t, &new.user, 0, later);
    let w = idempotency(&t, "k-1", "second", later);
    r.idempotency = Some(w.clone());
    let e = err(store.rotate_invite(&r).await, "resending with a live key");
    assert!(
        matches!(e, StoreError::IdempotencyKeyTaken),
        "UserRepo::rotate_invite must return IdempotencyKeyTaken when a live record holds the \
         key, got {e:?}"
    );

    let got = ok(
        UserRepo::get(&store, t.id, new.user.id).await,
        "reading the user",
    );
    assert_eq!(
        got,
        Some(new.user.clone()),
        "a refused rotation must not change the user"
    );
    let found = ok(
        store.find_by_token(&new_token.hash()).await,
        "finding the refused token",
    );
    assert_eq!(found, None, "a refused rotation must not store its token");
    let found = ok(
        store.find_by_token(&tok.hash()).await,
        "finding the current token",
    );
    assert!(
        found.is_some(),
        "a refused rotation must leave the current token working"
    );
    let sends = ok(
        store.sends_since(t.id, new.user.id, t0()).await,
        "reading the sends",
    );
    assert_eq!(
        sends,
        vec![t0()],
        "a refused rotation must not record a send"
    );
    let kept = ok(
        IdempotencyStore::find(&store, t.id, &w.record.key, t0()).await,
        "finding",
    );
    let kept = kept.map(|r| r.response);
    assert_eq!(
        kept.as_deref(),
        Some("first"),
        "the live record must stay as it was"
    );
    let lease = later + Duration::minutes(1);
    let queued = ok(
        store.claim_due(later, lease, 10).await,
        "claiming the queued emails",
    );
    assert_eq!(
        queued.len(),
        1,
        "a refused rotation must not queue an email"
    );
}

/// An invite whose key a live record holds fails with
/// `IdempotencyKeyTaken` and writes nothing.
pub async fn a_live_key_makes_an_invite_fail_and_write_nothing<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (mut first, _) = new_user(&t, "ada@example.com", t0());
    first.idempotency = Some(idempotency(&t, "k-1", "first", t0()));
    ok(
        store.insert_invited(&first).await,
        "inviting a user with a key",
    );

    let later = t0() + Duration::hours(23);
    let (mut second, tok) = new_user(&t, "bob@example.com", later);
    second.idempotency = Some(idempotency(&t, "k-1", "second", later));
    let e = err(
        store.insert_invited(&second).await,
        "inviting with a live key",
    );
    assert!(
        matches!(e, StoreError::IdempotencyKeyTaken),
        "UserRepo::insert_invited must return IdempotencyKeyTaken when a live record holds the \
         key, got {e:?}"
    );
    let got = ok(
        UserRepo::get(&store, t.id, second.user.id).await,
        "reading the refused user",
    );
    assert_eq!(got, None, "a refused invite must not insert the user");
    let found = ok(
        store.find_by_token(&tok.hash()).await,
        "finding the refused token",
    );
    assert_eq!(found, None, "a refused invite must not store its token");
    let lease = later + Duration::minutes(1);
    let queued = ok(
        store.claim_due(later, lease, 10).await,
        "claiming the queued emails",
    );
    assert_eq!(queued.len(), 1, "a refused invite must not queue an email");
}

/// A record created before the write's `stale_before` no longer holds the
/// key: the write replaces it, for a rotation as for an invite.
pub async fn a_stale_record_of_the_key_is_replaced<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (mut new, _) = new_user(&t, "ada@example.com", t0());
    new.idempotency = Some(idempotency(&t, "k-1", "first", t0()));
    ok(
        store.insert_invited(&new).await,
        "inviting a user with a key",
    );

    let next_day = t0() + Duration::hours(25);
    let (mut r, _) = rotation(&t, &new.user, 0, next_day);
    let w = idempotency(&t, "k-1", "second", next_day);
    r.idempotency = Some(w.clone());
    let outcome = ok(
        store.rotate_invite(&r).await,
        "resending with a stale record of the key",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Applied,
        "a stale record must not refuse the rotation"
    );
    let found = ok(
        IdempotencyStore::find(&store, t.id, &w.record.key, t0()).await,
        "finding",
    );
    assert_eq!(
        found,
        Some(w.record),
        "the stale record must be replaced by the new one"
    );

    let two_days = next_day + Duration::hours(25);
    let (mut bob, _) = new_user(&t, "bob@example.com", two_days);
    let w = idempotency(&t, "k-1", "third", two_days);
    bob.idempotency = Some(w.clone());
    ok(
        store.insert_invited(&bob).await,
        "inviting with a stale record of the key",
    );
    let found = ok(
        IdempotencyStore::find(&store, t.id, &w.record.key, t0()).await,
        "finding",
    );
    assert_eq!(
        found,
        Some(w.record),
        "the stale record must be replaced by the new one"
    );
}

/// Keys are per tenant: the same key in two tenants holds two records.
pub async fn one_key_may_be_used_by_each_tenant<S: Storage>(store: S) {
    let a = tenant(&store, "A").await;
    let b = tenant(&store, "B").await;
    let (mut of_a, _) = new_user(&a, "ada@example.com", t0());
    let wa = idempotency(&a, "k-1", "a", t0());
    of_a.idempotency = Some(wa.clone());
    let (mut of_b, _) = new_user(&b, "bob@example.com", t0());
    let wb = idempotency(&b, "k-1", "b", t0());
    of_b.idempotency = Some(wb.clone());
    ok(
        store.insert_invited(&of_a).await,
        "inviting in A with key k-1",
    );
    ok(
        store.insert_invited(&of_b).await,
        "inviting in B with the same key",
    );

    let key = &wa.record.key.clone();
    let found = ok(
        IdempotencyStore::find(&store, a.id, key, t0()).await,
        "finding A's record",
    );
    assert_eq!(found, Some(wa.record), "A's record must be A's");
    let found = ok(
        IdempotencyStore::find(&store, b.id, key, t0()).await,
        "finding B's record",
    );
    assert_eq!(found, Some(wb.record), "B's record must be B's");
}
