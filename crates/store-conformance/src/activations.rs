//! `UserRepo::activate`, an acceptance: it applies only to a user still
//! invited at the version it was decided on, once, and consumes the token.

use beckon_ports::{UserId, UserRepo, UserStatus, WriteOutcome};
use chrono::Duration;
use futures_util::FutureExt;
use uuid::Uuid;

use crate::fixtures::{activation, new_user, rotation, t0, tenant};
use crate::{Contract, Storage, ok};

/// This port's acceptance contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new("UserRepo", "an_activation_consumes_the_token_once", |s| {
            an_activation_consumes_the_token_once(s).boxed()
        }),
        Contract::new(
            "UserRepo",
            "an_activation_at_a_stale_version_changes_nothing",
            |s| an_activation_at_a_stale_version_changes_nothing(s).boxed(),
        ),
    ]
}

/// An activation at the user's version marks it active at the instant,
/// consumes the token, bumps the version and ends the invite; neither a
/// second activation nor a resend applies to it afterwards.
pub async fn an_activation_consumes_the_token_once<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (new, tok) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");

    let at = t0() + Duration::hours(1);
    let outcome = ok(
        store.activate(&activation(t.id, new.user.id, 0, at)).await,
        "activating",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Applied,
        "an activation at the version must apply"
    );
    let found = ok(
        store.find_by_token(&tok.hash()).await,
        "finding the consumed token",
    );
    assert_eq!(
        found, None,
        "UserRepo::find_by_token MUST return Ok(None) for a consumed token"
    );
    let user = ok(
        UserRepo::get(&store, t.id, new.user.id).await,
        "reading the user",
    );
    let user = user.expect("the user exists");
    assert_eq!(
        user.status,
        UserStatus::Active,
        "an activation must mark the user active"
    );
    assert_eq!(user.verified_at, Some(at), "an activation must record when");
    assert_eq!(user.invite, None, "an active user has no invite");
    assert_eq!(user.version, 1, "an activation must bump the version");
    assert_eq!(
        user.created_at, new.user.created_at,
        "an activation keeps the user's data"
    );

    let again = ok(
        store.activate(&activation(t.id, user.id, 1, at)).await,
        "activating again",
    );
    assert_eq!(
        again,
        WriteOutcome::Stale,
        "an active user cannot be activated again"
    );
    let (r, _) = rotation(&t, &new.user, 1, at);
    let outcome = ok(
        store.rotate_invite(&r).await,
        "resending to the active user",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Stale,
        "an active user's invite cannot be resent"
    );
}

/// An activation at another version, or of a user that does not exist,
/// answers `Stale` and changes nothing.
pub async fn an_activation_at_a_stale_version_changes_nothing<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (new, tok) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");

    let outcome = ok(
        store
            .activate(&activation(t.id, new.user.id, 3, t0()))
            .await,
        "activating at v3",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Stale,
        "UserRepo::activate MUST return Stale"
    );
    let got = ok(
        UserRepo::get(&store, t.id, new.user.id).await,
        "reading the user",
    );
    assert_eq!(
        got,
        Some(new.user.clone()),
        "a stale activation must not change the user"
    );
    let found = ok(store.find_by_token(&tok.hash()).await, "finding the token");
    assert_eq!(
        found,
        Some(new.user),
        "a stale activation must not consume the token"
    );

    let unknown = UserId::from_uuid(Uuid::now_v7());
    let outcome = ok(
        store.activate(&activation(t.id, unknown, 0, t0())).await,
        "activating nobody",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Stale,
        "activating a missing user must be Stale"
    );
}
