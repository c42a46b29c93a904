//! `UserRepo::rotate_invite`, a resend: it applies only to a user still
//! invited at the version it was decided on, and one that lost changes
//! nothing.

use beckon_ports::{IdempotencyStore, UserRepo, WriteOutcome};
use chrono::Duration;
use futures_util::FutureExt;
use futures_util::future::join_all;

use crate::fixtures::{activation, idempotency, new_user, rotation, t0, tenant};
use crate::{Contract, Storage, ok};

/// This port's resend contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "UserRepo",
            "a_rotation_replaces_the_token_counts_the_send_and_queues_an_email",
            |s| a_rotation_replaces_the_token_counts_the_send_and_queues_an_email(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "a_rotation_at_a_stale_version_writes_nothing",
            |s| a_rotation_at_a_stale_version_writes_nothing(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "a_rotation_of_a_missing_or_active_user_is_stale",
            |s| a_rotation_of_a_missing_or_active_user_is_stale(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "of_eight_rotations_at_one_version_exactly_one_applies",
            |s| of_eight_rotations_at_one_version_exactly_one_applies(s).boxed(),
        ),
    ]
}

/// An applied rotation replaces the token (the old one finds nobody any
/// more), sets the expiry and the last send, counts the send, bumps the
/// version, records the send and queues an email carrying the new token.
pub async fn a_rotation_replaces_the_token_counts_the_send_and_queues_an_email<S: Storage>(
    store: S,
) {
    let t = tenant(&store, "Acme").await;
    let (new, old_token) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");

    let later = t0() + Duration::minutes(5);
    let (r, new_token) = rotation(&t, &new.user, 0, later);
    let outcome = ok(
        store.rotate_invite(&r).await,
        "resending at the current version",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Applied,
        "a rotation at the current version must apply"
    );

    let found = ok(
        store.find_by_token(&old_token.hash()).await,
        "finding the old token",
    );
    assert_eq!(
        found, None,
        "UserRepo::find_by_token MUST return Ok(None) for a replaced token"
    );
    let user = ok(
        store.find_by_token(&new_token.hash()).await,
        "finding the new token",
    );
    let user = user.expect("the new token must find the user");
    assert_eq!(user.version, 1, "a rotation must bump the version");
    let invite = user.invite.clone().expect("an invited user has an invite");
    assert_eq!(invite.sends, 2, "a rotation must count the send");
    assert_eq!(
        invite.last_sent_at, later,
        "a rotation must record when it was sent"
    );
    assert_eq!(
        invite.expires_at, r.send.expires_at,
        "a rotation must set the new expiry"
    );
    let got = ok(
        UserRepo::get(&store, t.id, user.id).await,
        "reading the user",
    );
    assert_eq!(got, Some(user.clone()), "get and find_by_token must agree");
    let sends = ok(
        store.sends_since(t.id, user.id, t0()).await,
        "reading the sends",
    );
    assert_eq!(sends, vec![t0(), later], "a rotation must record its send");

    let lease = later + Duration::minutes(1);
    let queued = ok(
        store.claim_due(later, lease, 10).await,
        "claiming the queued emails",
    );
    let emails: Vec<_> = queued.iter().map(|m| (m.id, m.email.clone())).collect();
    assert_eq!(
        emails,
        vec![
            (new.send.outbox.id, new.send.outbox.email),
            (r.send.outbox.id, r.send.outbox.email),
        ],
        "a rotation must queue its email (with the new token) beside the first one"
    );
}

/// A rotation decided on a version that is not the user's answers `Stale`
/// and writes nothing: not the token, the version, the count, the send,
/// the email nor the idempotency record. So does a second rotation
/// decided on the version the first one moved.
pub async fn a_rotation_at_a_stale_version_writes_nothing<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (new, old_token) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");

    let later = t0() + Duration::minutes(5);
    let (mut stale, stale_token) = rotation(&t, &new.user, 7, later);
    let write = idempotency(&t, "k-stale", "200", later);
    stale.idempotency = Some(write.clone());
    let outcome = ok(
        store.rotate_invite(&stale).await,
        "resending at a wrong version",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Stale,
        "UserRepo::rotate_invite MUST return Stale"
    );

    let got = ok(
        UserRepo::get(&store, t.id, new.user.id).await,
        "reading the user",
    );
    assert_eq!(
        got,
        Some(new.user.clone()),
        "a stale rotation must not change the user"
    );
    let found = ok(
        store.find_by_token(&stale_token.hash()).await,
        "finding the stale token",
    );
    assert_eq!(found, None, "a stale rotation must not store its token");
    let found = ok(
        store.find_by_token(&old_token.hash()).await,
        "finding the old token",
    );
    assert!(
        found.is_some(),
        "a stale rotation must leave the current token working"
    );
    let sends = ok(
        store.sends_since(t.id, new.user.id, t0()).await,
        "reading the sends",
    );
    assert_eq!(sends, vec![t0()], "a stale rotation must not record a send");
    let key = &write.record.key;
    let record = ok(
        IdempotencyStore::find(&store, t.id, key, t0()).await,
        "finding the stale rotation's key",
    );
    assert_eq!(
        record, None,
        "a stale rotation must not write its idempotency record"
    );

    let (first, _) = rotation(&t, &new.user, 0, later);
    let (second, _) = rotation(&t, &new.user, 0, later + Duration::seconds(1));
    let outcome = ok(
        store.rotate_invite(&first).await,
        "resending at the current version",
    );
    assert_eq!(outcome, WriteOutcome::Applied);
    let outcome = ok(
        store.rotate_invite(&second).await,
        "resending at the moved version",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Stale,
        "a rotation at a version that moved must be Stale"
    );

    let lease = later + Duration::minutes(1);
    let queued = ok(
        store
            .claim_due(later + Duration::seconds(1), lease, 10)
            .await,
        "claiming",
    );
    let queued: Vec<_> = queued.iter().map(|m| m.id).collect();
    assert_eq!(
        queued,
        vec![new.send.outbox.id, first.send.outbox.id],
        "a stale rotation must not queue an email"
    );
}

/// A rotation of a user that does not exist, or that is no longer invited
/// (status moved), answers `Stale` and writes nothing.
pub async fn a_rotation_of_a_missing_or_active_user_is_stale<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (ghost, _) = new_user(&t, "ghost@example.com", t0());
    let (r, _) = rotation(&t, &ghost.user, 0, t0());
    let outcome = ok(
        store.rotate_invite(&r).await,
        "resending to a user that does not exist",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Stale,
        "a rotation of a missing user must be Stale"
    );
    let due = ok(store.any_due(t0()).await, "asking whether an email is due");
    assert!(!due, "a stale rotation must not queue an email");

    let (new, _) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");
    let outcome = ok(
        store
            .activate(&activation(t.id, new.user.id, 0, t0()))
            .await,
        "activating the user",
    );
    assert_eq!(outcome, WriteOutcome::Applied);
    let (r, token) = rotation(&t, &new.user, 1, t0());
    let outcome = ok(store.rotate_invite(&r).await, "resending to an active user");
    assert_eq!(
        outcome,
        WriteOutcome::Stale,
        "a rotation of an active user must be Stale"
    );
    let found = ok(
        store.find_by_token(&token.hash()).await,
        "finding its token",
    );
    assert_eq!(found, None, "a stale rotation must not store its token");
    let sends = ok(
        store.sends_since(t.id, new.user.id, t0()).await,
        "reading the sends",
    );
    assert_eq!(sends, vec![t0()], "a stale rotation must not record a send");
}

/// Of eight rotations decided on one version and written at once, exactly
/// one applies: one more send, one more email.
pub async fn of_eight_rotations_at_one_version_exactly_one_applies<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (new, _) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");

    let rotations = (0..8).map(|i| {
        let (r, _) = rotation(&t, &new.user, 0, t0() + Duration::seconds(i));
        let store = store.clone();
        async move { store.rotate_invite(&r).await }
    });
    let mut applied = 0;
    for result in join_all(rotations).await {
        if ok(result, "a racing rotation") == WriteOutcome::Applied {
            applied += 1;
        }
    }
    assert_eq!(
        applied, 1,
        "exactly one of eight rotations at one version must apply"
    );
    let user = ok(
        UserRepo::get(&store, t.id, new.user.id).await,
        "reading the user",
    );
    let user = user.expect("the user exists");
    let sends = user.invite.map(|i| i.sends);
    assert_eq!(
        (user.version, sends),
        (1, Some(2)),
        "one rotation's worth of change"
    );
    let recorded = ok(
        store.sends_since(t.id, user.id, t0()).await,
        "reading the sends",
    );
    assert_eq!(recorded.len(), 2, "one rotation's send");
    let lease = t0() + Duration::minutes(1);
    let queued = ok(
        store
            .claim_due(t0() + Duration::seconds(8), lease, 20)
            .await,
        "claiming",
    );
    assert_eq!(queued.len(), 2, "one rotation's email");
}
