//! `Retention`: old rows go in batches, and nothing a rule still needs does.

use beckon_ports::{
    AuditLog, AuditQuery, Delivery, IdempotencyKey, IdempotencyStore, PruneBefore, Pruned, UserRepo,
};
use chrono::Duration;
use futures_util::FutureExt;

use crate::fixtures::{audit, idempotency, new_user, rotation, sent, t0, tenant};
use crate::{Contract, Storage, ok};

/// This port's contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "Retention",
            "pruning_takes_what_is_old_and_keeps_what_a_rule_needs",
            |s| pruning_takes_what_is_old_and_keeps_what_a_rule_needs(s).boxed(),
        ),
        Contract::new("Retention", "pruning_goes_a_batch_at_a_time", |s| {
            pruning_goes_a_batch_at_a_time(s).boxed()
        }),
    ]
}

/// Ada is invited at t0 and resent at t0+1h, both emails delivered; Bob is
/// invited at t0 and his email is still queued. Pruned before t0+30min
/// (audit, sends, idempotency) and t0+2h (outbox): the t0 audit lines, the
/// t0 sends, the first delivered email and the old idempotency record go;
/// the later lines and sends, the email Ada's invite shows, Bob's queued
/// email and the new record stay.
pub async fn pruning_takes_what_is_old_and_keeps_what_a_rule_needs<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let (mut ada, _) = new_user(&t, "ada@example.com", t0());
    ada.idempotency = Some(idempotency(&t, "old-key", "{}", t0()));
    ok(store.insert_invited(&ada).await, "inviting ada");
    let (bob, _) = new_user(&t, "bob@example.com", t0());
    ok(store.insert_invited(&bob).await, "inviting bob");
    let lease = t0() + Duration::minutes(1);
    let first = ok(store.claim_due(t0(), lease, 10).await, "claiming");
    let ada_first: Vec<_> = first
        .iter()
        .filter(|m| m.user_id == ada.user.id)
        .map(|m| sent(m.id))
        .collect();
    ok(
        store.settle(lease, t0(), &ada_first).await,
        "delivering ada's first",
    );
    let (resend, _) = rotation(&t, &ada.user, 0, t0() + Duration::hours(1));
    ok(store.rotate_invite(&resend).await, "resending to ada");
    let lease = t0() + Duration::hours(1) + Duration::minutes(1);
    let second = ok(
        store.claim_due(t0() + Duration::hours(1), lease, 10).await,
        "claiming",
    );
    let ada_second: Vec<_> = second
        .iter()
        .filter(|m| m.user_id == ada.user.id)
        .map(|m| sent(m.id))
        .collect();
    assert_eq!(ada_second.len(), 1, "ada's second email claimed");
    ok(
        store
            .settle(lease, t0() + Duration::hours(1), &ada_second)
            .await,
        "delivering it",
    );
    let late = t0() + Duration::days(100);
    ok(
        AuditLog::record(&store, &audit(t.id, None, "InviteUser", late)).await,
        "a late line",
    );
    let (mut carol, _) = new_user(&t, "carol@example.com", late);
    carol.idempotency = Some(idempotency(&t, "new-key", "{}", late));
    ok(store.insert_invited(&carol).await, "inviting carol late");

    let before = PruneBefore {
        audit: t0() + Duration::minutes(30),
        outbox: t0() + Duration::hours(2),
        sends: t0() + Duration::minutes(30),
        idempotency: t0() + Duration::minutes(30),
        limit: 100,
    };
    let pruned = ok(store.prune(&before).await, "pruning");
    assert_eq!(
        pruned,
        Pruned {
            audit: 2,
            outbox: 1,
            sends: 2,
            idempotency: 1,
            webhooks: 0,
        },
        "two t0 audit lines, ada's first email, the two t0 sends, the old record"
    );

    let lines = ok(
        AuditLog::entries(
            &store,
            t.id,
            &AuditQuery {
                user_id: None,
                before: None,
                limit: 100,
            },
        )
        .await,
        "reading the trail",
    );
    assert!(
        lines.iter().all(|l| l.at >= before.audit),
        "no line older than the instant stays"
    );
    assert_eq!(lines.len(), 3, "the resend's line and both late lines stay");
    let ada_sends = ok(
        store
            .sends_since(t.id, ada.user.id, t0() - Duration::days(1))
            .await,
        "reading ada's sends",
    );
    assert_eq!(
        ada_sends,
        [t0() + Duration::hours(1)],
        "the recent send stays"
    );
    let bob_now = ok(
        UserRepo::get(&store, t.id, bob.user.id).await,
        "reading bob",
    )
    .and_then(|u| u.invite)
    .map(|i| i.delivery);
    assert_eq!(
        bob_now,
        Some(Delivery::Queued),
        "a pending email is never pruned"
    );
    assert!(
        ok(store.any_due(late).await, "due messages"),
        "bob's email still waits"
    );
    let ada_now = ok(
        UserRepo::get(&store, t.id, ada.user.id).await,
        "reading ada",
    )
    .and_then(|u| u.invite)
    .map(|i| i.delivery);
    assert_eq!(
        ada_now,
        Some(Delivery::Sent),
        "the email ada's invite shows stays"
    );
    let key = |k: &str| IdempotencyKey::parse(k).expect("a valid key");
    let long_ago = t0() - Duration::days(365);
    assert_eq!(
        ok(
            IdempotencyStore::find(&store, t.id, &key("old-key"), long_ago).await,
            "finding"
        )
        .map(|r| r.created_at),
        None,
        "the old record goes"
    );
    assert!(
        ok(
            IdempotencyStore::find(&store, t.id, &key("new-key"), long_ago).await,
            "finding"
        )
        .is_some(),
        "the new record stays"
    );
    let again = ok(store.prune(&before).await, "pruning again");
    assert_eq!(again, Pruned::default(), "nothing more is old");
}

/// With a limit of 1, each step takes one row of each kind, oldest first,
/// and says it filled its batch.
pub async fn pruning_goes_a_batch_at_a_time<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    for minutes in [2, 1, 3] {
        let line = audit(t.id, None, "InviteUser", t0() + Duration::minutes(minutes));
        ok(AuditLog::record(&store, &line).await, "recording");
    }
    let before = PruneBefore {
        audit: t0() + Duration::hours(1),
        outbox: t0(),
        sends: t0(),
        idempotency: t0(),
        limit: 1,
    };
    let mut left = Vec::new();
    for step in 0..3 {
        let pruned = ok(store.prune(&before).await, "pruning a batch");
        assert_eq!(pruned.audit, 1, "step {step} takes one line");
        assert!(pruned.filled(1), "a full batch says there may be more");
        let lines = ok(
            AuditLog::entries(
                &store,
                t.id,
                &AuditQuery {
                    user_id: None,
                    before: None,
                    limit: 10,
                },
            )
            .await,
            "reading",
        );
        left.push(
            lines
                .iter()
                .map(|l| (l.at - t0()).num_minutes())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(left, [vec![3, 2], vec![3], vec![]], "oldest first");
    let last = ok(store.prune(&before).await, "pruning the empty trail");
    assert!(!last.filled(1), "an empty step is not full");
}
