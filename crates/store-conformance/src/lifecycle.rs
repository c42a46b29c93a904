//! The lifecycle of CONTRACT §6 as the storage ports see it: revoking an
//! invite, erasing a user, reading the audit trail back, the delivery state
//! of the latest send, and the audit line an acceptance writes.

use beckon_ports::{
    AuditLog, AuditOutcome, AuditQuery, Delivery, IdempotencyStore, TenantId, UserId, UserRepo,
    UserStatus, WriteOutcome,
};
use chrono::Duration;
use futures_util::FutureExt;
use uuid::Uuid;

use crate::fixtures::{
    activation, audit, erasure, failed, idempotency, new_user, revocation, rotation, sent, t0,
    tenant,
};
use crate::{Contract, Storage, ok};

/// This area's contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "UserRepo",
            "a_revoke_withdraws_the_invite_and_its_emails",
            |s| a_revoke_withdraws_the_invite_and_its_emails(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "a_revoke_applies_only_to_an_invited_user_at_its_version",
            |s| a_revoke_applies_only_to_an_invited_user_at_its_version(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "an_erasure_leaves_nothing_of_the_user_but_ids_in_the_audit",
            |s| an_erasure_leaves_nothing_of_the_user_but_ids_in_the_audit(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "the_invite_shows_the_delivery_state_of_its_latest_send",
            |s| the_invite_shows_the_delivery_state_of_its_latest_send(s).boxed(),
        ),
        Contract::new(
            "AuditLog",
            "entries_page_newest_first_by_tenant_and_user",
            |s| entries_page_newest_first_by_tenant_and_user(s).boxed(),
        ),
        Contract::new(
            "UserRepo",
            "an_activation_writes_its_audit_line_and_a_stale_one_none",
            |s| an_activation_writes_its_audit_line_and_a_stale_one_none(s).boxed(),
        ),
    ]
}

async fn all_entries<S: Storage>(
    store: &S,
    tenant: TenantId,
    user: Option<UserId>,
) -> Vec<(String, AuditOutcome)> {
    let query = AuditQuery {
        user_id: user,
        before: None,
        limit: 1000,
    };
    ok(
        AuditLog::entries(store, tenant, &query).await,
        "reading the audit trail",
    )
    .into_iter()
    .map(|e| (e.action, e.outcome))
    .collect()
}

/// A revoke marks the user revoked at the instant (no invite shown),
/// deletes its pending emails — a leased one included, whose settle then
/// changes nothing — keeps the token findable (as revoked) and writes its
/// audit line; the user can be neither resent to nor activated afterwards.
pub async fn a_revoke_withdraws_the_invite_and_its_emails<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (new, tok) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");
    let (second, _) = rotation(&t, &new.user, 0, t0() + Duration::seconds(1));
    ok(store.rotate_invite(&second).await, "resending");
    // A worker holds both emails while the revoke happens.
    let lease = t0() + Duration::minutes(5);
    let claimed = ok(
        store
            .claim_due(t0() + Duration::seconds(2), lease, 10)
            .await,
        "claiming",
    );
    assert_eq!(claimed.len(), 2, "both messages claimed");

    let at = t0() + Duration::seconds(3);
    let r = revocation(t.id, new.user.id, 1, at);
    let out = ok(store.revoke_invite(&r).await, "revoking");
    assert_eq!(
        out,
        WriteOutcome::Applied,
        "a revoke at the version must apply"
    );

    let user =
        ok(UserRepo::get(&store, t.id, new.user.id).await, "reading").expect("the user stays");
    assert_eq!(
        user.status,
        UserStatus::Revoked,
        "a revoke marks the user revoked"
    );
    assert_eq!(user.revoked_at, Some(at), "a revoke records when");
    assert_eq!(user.invite, None, "a revoked user shows no invite");
    assert_eq!(user.version, 2, "a revoke bumps the version");

    let found = ok(
        store.find_by_token(&second.send.token_hash).await,
        "finding the token",
    );
    assert_eq!(
        found.map(|u| u.status),
        Some(UserStatus::Revoked),
        "find_by_token MUST return the revoked user of its current token"
    );
    let old = ok(
        store.find_by_token(&tok.hash()).await,
        "finding the replaced token",
    );
    assert_eq!(old, None, "a replaced token stays dead");

    let later = t0() + Duration::hours(1);
    assert!(
        !ok(store.any_due(later).await, "asking for due messages"),
        "a revoke MUST delete the user's pending emails"
    );
    let outcomes: Vec<_> = claimed.iter().map(|m| sent(m.id)).collect();
    let settled = ok(
        store.settle(lease, later, &outcomes).await,
        "settling the messages the revoke deleted",
    );
    assert_eq!(settled, 0, "a deleted message cannot be settled");

    let (again, _) = rotation(&t, &user, 2, later);
    let out = ok(
        store.rotate_invite(&again).await,
        "resending to a revoked user",
    );
    assert_eq!(
        out,
        WriteOutcome::Stale,
        "a revoked user cannot be resent to"
    );
    let out = ok(
        store.activate(&activation(t.id, user.id, 2, later)).await,
        "activating",
    );
    assert_eq!(
        out,
        WriteOutcome::Stale,
        "a revoked user cannot be activated"
    );
    assert_eq!(
        all_entries(&store, t.id, Some(user.id)).await,
        [
            ("RevokeInvite".to_owned(), AuditOutcome::Succeeded),
            ("ResendInvite".to_owned(), AuditOutcome::Succeeded),
            ("InviteUser".to_owned(), AuditOutcome::Succeeded),
        ],
        "the revoke's audit line is written with it"
    );
}

/// A revoke at a stale version, of an active user, of a revoked user or of
/// no user changes nothing and writes no audit line.
pub async fn a_revoke_applies_only_to_an_invited_user_at_its_version<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (new, _) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");
    let id = new.user.id;
    let stale = ok(
        store.revoke_invite(&revocation(t.id, id, 5, t0())).await,
        "revoking at a stale version",
    );
    assert_eq!(
        stale,
        WriteOutcome::Stale,
        "a revoke at another version MUST be Stale"
    );
    let unknown = UserId::from_uuid(Uuid::now_v7());
    let none = ok(
        store
            .revoke_invite(&revocation(t.id, unknown, 0, t0()))
            .await,
        "revoking nobody",
    );
    assert_eq!(
        none,
        WriteOutcome::Stale,
        "a revoke of no user MUST be Stale"
    );
    let other = tenant(&store, "Other").await;
    let across = ok(
        store
            .revoke_invite(&revocation(other.id, id, 0, t0()))
            .await,
        "revoking across tenants",
    );
    assert_eq!(
        across,
        WriteOutcome::Stale,
        "a revoke in another tenant MUST be Stale"
    );
    ok(
        store.activate(&activation(t.id, id, 0, t0())).await,
        "activating",
    );
    let active = ok(
        store.revoke_invite(&revocation(t.id, id, 1, t0())).await,
        "revoking an active user",
    );
    assert_eq!(
        active,
        WriteOutcome::Stale,
        "an active user cannot be revoked"
    );
    assert!(
        ok(store.any_due(t0()).await, "asking for due messages"),
        "no refused revoke may delete the user's email"
    );
    let user = ok(UserRepo::get(&store, t.id, id).await, "reading").expect("the user");
    assert_eq!(user.status, UserStatus::Active);
    assert_eq!(
        all_entries(&store, t.id, Some(id)).await.len(),
        2,
        "refused revokes write no audit line (invite and accept only)"
    );
}

/// An erasure deletes the user (any status), its sends, all its messages and
/// the idempotency records about it; the address can be invited again; the
/// audit lines about the user stay. Erasing nobody answers false and writes
/// nothing; another tenant's user is nobody.
pub async fn an_erasure_leaves_nothing_of_the_user_but_ids_in_the_audit<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (mut new, tok) = new_user(&t, "ada@example.com", t0());
    let mut key = idempotency(&t, "invite-ada", "{\"email\":\"ada@example.com\"}", t0());
    key.record.user_id = Some(new.user.id);
    new.idempotency = Some(key.clone());
    ok(store.insert_invited(&new).await, "inviting a user");
    let id = new.user.id;
    let (second, _) = rotation(&t, &new.user, 0, t0() + Duration::seconds(1));
    ok(store.rotate_invite(&second).await, "resending");
    let claimed = ok(
        store
            .claim_due(t0() + Duration::seconds(2), t0() + Duration::minutes(1), 1)
            .await,
        "claiming",
    );
    ok(
        store
            .settle(
                t0() + Duration::minutes(1),
                t0() + Duration::seconds(2),
                &[sent(claimed[0].id)],
            )
            .await,
        "delivering the first",
    );

    let other = tenant(&store, "Other").await;
    let across = ok(
        store.erase(&erasure(other.id, id, t0())).await,
        "erasing across tenants",
    );
    assert!(!across, "another tenant's user MUST NOT be erased");

    let at = t0() + Duration::seconds(5);
    assert!(
        ok(store.erase(&erasure(t.id, id, at)).await, "erasing"),
        "an erasure of a user answers true"
    );
    assert_eq!(
        ok(UserRepo::get(&store, t.id, id).await, "reading"),
        None,
        "the user is gone"
    );
    assert_eq!(
        ok(
            store.find_by_token(&second.send.token_hash).await,
            "finding"
        ),
        None,
        "the token is gone"
    );
    assert_eq!(ok(store.find_by_token(&tok.hash()).await, "finding"), None);
    assert_eq!(
        ok(
            store.sends_since(t.id, id, t0() - Duration::days(1)).await,
            "reading sends"
        ),
        Vec::<chrono::DateTime<chrono::Utc>>::new(),
        "the sends are gone"
    );
    assert!(
        !ok(store.any_due(at + Duration::hours(1)).await, "due messages"),
        "the queued email is gone"
    );
    let record = ok(
        IdempotencyStore::find(&store, t.id, &key.record.key, t0() - Duration::days(1)).await,
        "reading the idempotency record",
    );
    assert_eq!(
        record, None,
        "an idempotency record about the user MUST be erased"
    );
    assert_eq!(
        all_entries(&store, t.id, Some(id)).await,
        [
            ("DeleteUser".to_owned(), AuditOutcome::Succeeded),
            ("ResendInvite".to_owned(), AuditOutcome::Succeeded),
            ("InviteUser".to_owned(), AuditOutcome::Succeeded),
        ],
        "the audit lines about the user stay, the erasure's own added"
    );
    assert!(
        !ok(store.erase(&erasure(t.id, id, at)).await, "erasing again"),
        "erasing nobody answers false"
    );
    assert_eq!(
        all_entries(&store, t.id, Some(id)).await.len(),
        3,
        "erasing nobody writes no line"
    );

    let (again, _) = new_user(&t, "ADA@example.com", at);
    ok(
        store.insert_invited(&again).await,
        "inviting the erased address again",
    );
}

/// `invite.delivery` follows the latest send's email: queued until it is
/// settled, then sent or failed; a resend queues again.
pub async fn the_invite_shows_the_delivery_state_of_its_latest_send<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (new, _) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");
    let id = new.user.id;
    let delivery = |u: Option<beckon_ports::User>| u.and_then(|u| u.invite).map(|i| i.delivery);
    let read = || async { ok(UserRepo::get(&store, t.id, id).await, "reading") };
    assert_eq!(
        delivery(read().await),
        Some(Delivery::Queued),
        "a new invite is queued"
    );

    let lease = t0() + Duration::minutes(1);
    let claimed = ok(store.claim_due(t0(), lease, 10).await, "claiming");
    assert_eq!(
        delivery(read().await),
        Some(Delivery::Queued),
        "a claimed message is still queued"
    );
    ok(
        store.settle(lease, t0(), &[sent(claimed[0].id)]).await,
        "delivering",
    );
    assert_eq!(
        delivery(read().await),
        Some(Delivery::Sent),
        "a delivered message is sent"
    );

    let user = read().await.expect("the user");
    let (second, _) = rotation(&t, &user, user.version, t0() + Duration::seconds(1));
    ok(store.rotate_invite(&second).await, "resending");
    assert_eq!(
        delivery(read().await),
        Some(Delivery::Queued),
        "a resend queues again"
    );
    let listed = ok(
        UserRepo::list(
            &store,
            t.id,
            &beckon_ports::ListQuery {
                status: None,
                after: None,
                limit: 10,
            },
        )
        .await,
        "listing",
    );
    assert_eq!(
        listed[0].invite.as_ref().map(|i| i.delivery),
        Some(Delivery::Queued),
        "the list shows it too"
    );

    let lease = t0() + Duration::minutes(2);
    let claimed = ok(
        store
            .claim_due(t0() + Duration::seconds(1), lease, 10)
            .await,
        "claiming",
    );
    ok(
        store
            .settle(
                lease,
                t0() + Duration::seconds(1),
                &[failed(claimed[0].id, "no such mailbox")],
            )
            .await,
        "failing",
    );
    assert_eq!(
        delivery(read().await),
        Some(Delivery::Failed),
        "a message given up is failed"
    );
}

/// `entries` answers the tenant's lines newest first (by id), filtered by
/// user, a page at a time before a cursor; another tenant's lines never.
pub async fn entries_page_newest_first_by_tenant_and_user<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let other = tenant(&store, "Other").await;
    let ada = UserId::from_uuid(Uuid::now_v7());
    let bob = UserId::from_uuid(Uuid::now_v7());
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut line = audit(
            t.id,
            Some(if i % 2 == 0 { ada } else { bob }),
            "ResendInvite",
            t0(),
        );
        line.outcome = AuditOutcome::ALL[i];
        ok(AuditLog::record(&store, &line).await, "recording");
        ids.push(line.id);
    }
    let mut accept = audit(t.id, Some(ada), "AcceptInvite", t0());
    accept.key_id = None;
    ok(
        AuditLog::record(&store, &accept).await,
        "recording a line without a key",
    );
    ids.push(accept.id);
    ok(
        AuditLog::record(&store, &audit(other.id, Some(ada), "ResendInvite", t0())).await,
        "recording in another tenant",
    );

    let page = |user: Option<UserId>, before: Option<Uuid>, limit: u32| {
        let store = &store;
        async move {
            let q = AuditQuery {
                user_id: user,
                before,
                limit,
            };
            ok(
                AuditLog::entries(store, t.id, &q).await,
                "reading the trail",
            )
        }
    };
    let newest_first: Vec<Uuid> = ids.iter().rev().copied().collect();
    let all = page(None, None, 100).await;
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        newest_first,
        "newest first, this tenant only"
    );
    assert_eq!(
        all[0].key_id, None,
        "a line without a key reads back without one"
    );
    assert_eq!(
        all[0],
        {
            let mut a = accept.clone();
            a.at = all[0].at;
            a
        },
        "a line reads back as written"
    );
    assert_eq!(all[0].at, t0(), "the instant reads back exactly");

    let first = page(None, None, 2).await;
    let second = page(None, Some(first[1].id), 2).await;
    assert_eq!(
        first
            .iter()
            .chain(&second)
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        newest_first[..4],
        "a page starts before its cursor"
    );
    let adas = page(Some(ada), None, 100).await;
    assert_eq!(adas.len(), 4, "three resends and the accept are about ada");
    assert!(adas.iter().all(|e| e.user_id == Some(ada)));
    let outcomes: Vec<AuditOutcome> = page(Some(bob), None, 100)
        .await
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [AuditOutcome::ALL[3], AuditOutcome::ALL[1]],
        "every outcome reads back"
    );
}

/// An activation writes its audit line with it; one that lost its race
/// (stale) writes none.
pub async fn an_activation_writes_its_audit_line_and_a_stale_one_none<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (new, _) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");
    let id = new.user.id;
    let stale = ok(
        store.activate(&activation(t.id, id, 9, t0())).await,
        "activating at a stale version",
    );
    assert_eq!(stale, WriteOutcome::Stale);
    assert_eq!(
        all_entries(&store, t.id, Some(id)).await.len(),
        1,
        "a stale activation writes no line"
    );
    let a = activation(t.id, id, 0, t0());
    ok(store.activate(&a).await, "activating");
    let lines = ok(
        AuditLog::entries(
            &store,
            t.id,
            &AuditQuery {
                user_id: Some(id),
                before: None,
                limit: 10,
            },
        )
        .await,
        "reading",
    );
    assert_eq!(
        lines[0].id, a.audit.id,
        "the activation's line is the newest"
    );
    assert_eq!(lines[0].key_id, None);
    assert_eq!(lines[0].action, "AcceptInvite");
}
