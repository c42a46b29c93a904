//! `UserRepo`, reading: a user reads back by id, page and token, and
//! its sends by time; a tenant sees only its own users.

use beckon_ports::{ListQuery, UserId, UserRepo, UserStatus, WriteOutcome};
use chrono::Duration;
use futures_util::FutureExt;
use uuid::Uuid;

use crate::fixtures::{activation, new_user, new_user_with_id, rotation, t0, tenant, token};
use crate::{Contract, Storage, ok};

/// This port's reading contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "UserRepo",
            "an_invited_user_reads_back_by_id_list_and_token",
            |s| an_invited_user_reads_back_by_id_list_and_token(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "a_list_is_ordered_by_id_filtered_by_status_and_paged_after_a_cursor",
            |s| a_list_is_ordered_by_id_filtered_by_status_and_paged_after_a_cursor(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "a_user_of_another_tenant_is_invisible_but_its_token_is_found",
            |s| a_user_of_another_tenant_is_invisible_but_its_token_is_found(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "sends_since_lists_the_users_sends_at_or_after_an_instant_oldest_first",
            |s| sends_since_lists_the_users_sends_at_or_after_an_instant_oldest_first(s).boxed(),
        ),
    ]
}

fn all(limit: u32) -> ListQuery {
    ListQuery {
        status: None,
        after: None,
        limit,
    }
}

/// An invited user reads back exactly as inserted (the email as given, in
/// its letter case) by `get`, `list` and `find_by_token`; an unknown id or
/// token answers `Ok(None)`.
pub async fn an_invited_user_reads_back_by_id_list_and_token<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (new, tok) = new_user(&t, "Ada@Example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");

    let got = ok(
        UserRepo::get(&store, t.id, new.user.id).await,
        "reading the user",
    );
    assert_eq!(
        got.as_ref(),
        Some(&new.user),
        "UserRepo::get must answer the user as inserted"
    );
    assert_eq!(
        got.map(|u| u.email.as_str().to_owned()).as_deref(),
        Some("Ada@Example.com"),
        "the email must read back as given, in its letter case"
    );
    let listed = ok(store.list(t.id, &all(50)).await, "listing the users");
    assert_eq!(
        listed,
        vec![new.user.clone()],
        "UserRepo::list must answer the user"
    );
    let found = ok(
        store.find_by_token(&tok.hash()).await,
        "finding the user by token",
    );
    assert_eq!(
        found,
        Some(new.user.clone()),
        "UserRepo::find_by_token must find the invited user"
    );

    let found = ok(
        store.find_by_token(&token().hash()).await,
        "finding an unknown token",
    );
    assert_eq!(found, None, "an unknown token must find nobody");
    let unknown = UserId::from_uuid(Uuid::now_v7());
    let got = ok(
        UserRepo::get(&store, t.id, unknown).await,
        "reading an unknown user",
    );
    assert_eq!(
        got, None,
        "UserRepo::get MUST return Ok(None) for an unknown id"
    );
}

/// `list` answers the tenant's users ordered by id ascending whatever the
/// order they were invited in, only those of `status` when given, only
/// those after `after`, at most `limit`.
pub async fn a_list_is_ordered_by_id_filtered_by_status_and_paged_after_a_cursor<S: Storage>(
    store: S,
) {
    let t = tenant(&store, "Acme").await;
    // Random ids: the order of invitation is not the order of ids.
    let mut users = Vec::new();
    for i in 0..6 {
        let id = UserId::from_uuid(Uuid::new_v4());
        let (new, _) = new_user_with_id(&t, id, &format!("u{i}@example.com"), t0());
        ok(store.insert_invited(&new).await, "inviting a user");
        users.push(new.user);
    }
    let activated = users[1].id;
    let applied = ok(
        store.activate(&activation(t.id, activated, 0, t0())).await,
        "activating a user",
    );
    assert_eq!(
        applied,
        WriteOutcome::Applied,
        "activating an invited user at its version"
    );
    users.sort_by_key(|u| u.id);
    let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
    let ids_of = |page: &[beckon_ports::User]| page.iter().map(|u| u.id).collect::<Vec<_>>();

    let page1 = ok(store.list(t.id, &all(4)).await, "listing the first page");
    assert_eq!(
        ids_of(&page1),
        ids[..4],
        "UserRepo::list must order by id and stop at limit"
    );
    let after = ListQuery {
        after: Some(ids[3]),
        ..all(4)
    };
    let page2 = ok(store.list(t.id, &after).await, "listing after a cursor");
    assert_eq!(
        ids_of(&page2),
        ids[4..],
        "UserRepo::list must start after `after`"
    );
    let none = ok(store.list(t.id, &all(0)).await, "listing with limit 0");
    assert!(
        none.is_empty(),
        "UserRepo::list with limit 0 must answer no user"
    );

    let active = ListQuery {
        status: Some(UserStatus::Active),
        ..all(50)
    };
    let active = ok(store.list(t.id, &active).await, "listing the active users");
    assert_eq!(
        ids_of(&active),
        vec![activated],
        "UserRepo::list must filter by status"
    );
    assert_eq!(active[0].status, UserStatus::Active);
    assert_eq!(active[0].invite, None, "an active user has no invite");
    let invited = ListQuery {
        status: Some(UserStatus::Invited),
        after: Some(ids[0]),
        limit: 50,
    };
    let invited = ok(
        store.list(t.id, &invited).await,
        "listing invited users after a cursor",
    );
    let expected: Vec<UserId> = ids[1..]
        .iter()
        .copied()
        .filter(|id| *id != activated)
        .collect();
    assert_eq!(
        ids_of(&invited),
        expected,
        "status and cursor filter together"
    );
}

/// Every tenant-scoped method confines itself to its tenant: another
/// tenant's user is not found, listed, counted, rotated or activated.
/// `find_by_token` alone is global: the token is the credential.
pub async fn a_user_of_another_tenant_is_invisible_but_its_token_is_found<S: Storage>(store: S) {
    let a = tenant(&store, "A").await;
    let b = tenant(&store, "B").await;
    let (of_b, tok) = new_user(&b, "bob@example.com", t0());
    ok(
        store.insert_invited(&of_b).await,
        "inviting a user of tenant B",
    );
    let id = of_b.user.id;

    let got = ok(
        UserRepo::get(&store, a.id, id).await,
        "reading B's user as A",
    );
    assert_eq!(
        got, None,
        "UserRepo::get MUST return Ok(None) for another tenant's user"
    );
    let listed = ok(store.list(a.id, &all(50)).await, "listing A's users");
    assert!(
        listed.is_empty(),
        "UserRepo::list must not answer another tenant's users"
    );
    let sends = ok(
        store.sends_since(a.id, id, t0()).await,
        "reading B's sends as A",
    );
    assert!(
        sends.is_empty(),
        "UserRepo::sends_since must not count another tenant's sends"
    );
    let (r, _) = rotation(&a, &of_b.user, 0, t0());
    let outcome = ok(store.rotate_invite(&r).await, "rotating B's user as A");
    assert_eq!(
        outcome,
        WriteOutcome::Stale,
        "a rotation in another tenant must be Stale"
    );
    let outcome = ok(
        store.activate(&activation(a.id, id, 0, t0())).await,
        "activating B's user as A",
    );
    assert_eq!(
        outcome,
        WriteOutcome::Stale,
        "an activation in another tenant must be Stale"
    );

    let got = ok(
        UserRepo::get(&store, b.id, id).await,
        "reading B's user as B",
    );
    assert_eq!(
        got,
        Some(of_b.user.clone()),
        "B's user must be untouched by A's attempts"
    );
    let found = ok(
        store.find_by_token(&tok.hash()).await,
        "finding B's user by token",
    );
    assert_eq!(
        found,
        Some(of_b.user),
        "UserRepo::find_by_token looks across all tenants"
    );
}

/// `sends_since` answers when the user's invite was sent at or after the
/// instant (the boundary included), oldest first, and only that user's.
pub async fn sends_since_lists_the_users_sends_at_or_after_an_instant_oldest_first<S: Storage>(
    store: S,
) {
    let t = tenant(&store, "Acme").await;
    let (new, _) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");
    let (other, _) = new_user(&t, "bob@example.com", t0() + Duration::minutes(90));
    ok(store.insert_invited(&other).await, "inviting another user");
    let mut user = new.user;
    for hours in [1, 2, 3] {
        let (r, _) = rotation(&t, &user, user.version, t0() + Duration::hours(hours));
        let outcome = ok(store.rotate_invite(&r).await, "resending");
        assert_eq!(
            outcome,
            WriteOutcome::Applied,
            "a resend at the current version applies"
        );
        user.version += 1;
    }
    let since = t0() + Duration::hours(2);
    let sends = ok(
        store.sends_since(t.id, user.id, since).await,
        "reading recent sends",
    );
    assert_eq!(
        sends,
        vec![since, t0() + Duration::hours(3)],
        "UserRepo::sends_since must answer the user's sends at or after the instant, oldest first"
    );
    let sends = ok(
        store.sends_since(t.id, user.id, t0()).await,
        "reading all sends",
    );
    let expected: Vec<_> = (0..4).map(|h| t0() + Duration::hours(h)).collect();
    assert_eq!(
        sends, expected,
        "every send, the first included, oldest first"
    );
}
