//! `OutboxRepo`, settling: each outcome's effect, a batch of them in one
//! call, and the fence — only the claim that still holds a message's lease
//! settles it.

use beckon_ports::ClaimedMessage;
use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;

use crate::fixtures::{failed, new_user, retry, sent, t0, tenant};
use crate::{Contract, Storage, ok};

/// This port's settling contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "OutboxRepo",
            "settling_as_sent_ends_the_message_for_good",
            |s| settling_as_sent_ends_the_message_for_good(s).boxed(),
        ),
        Contract::new(
            "OutboxRepo",
            "a_retry_ends_the_lease_and_makes_the_message_due_again_later",
            |s| a_retry_ends_the_lease_and_makes_the_message_due_again_later(s).boxed(),
        ),
        Contract::new("OutboxRepo", "a_failure_gives_up_for_good", |s| {
            a_failure_gives_up_for_good(s).boxed()
        }),
        Contract::new(
            "OutboxRepo",
            "one_settle_records_a_whole_batch_of_mixed_outcomes",
            |s| one_settle_records_a_whole_batch_of_mixed_outcomes(s).boxed(),
        ),
        Contract::new(
            "OutboxRepo",
            "a_late_settle_cannot_touch_a_message_another_claim_took_over",
            |s| a_late_settle_cannot_touch_a_message_another_claim_took_over(s).boxed(),
        ),
        Contract::new(
            "OutboxRepo",
            "a_settle_changes_only_messages_leased_until_exactly_its_instant",
            |s| a_settle_changes_only_messages_leased_until_exactly_its_instant(s).boxed(),
        ),
    ]
}

/// Queues `n` emails at [`t0`] and claims them all until `lease`.
async fn claimed<S: Storage>(store: &S, n: usize, lease: DateTime<Utc>) -> Vec<ClaimedMessage> {
    let t = tenant(store, "Acme").await;
    for i in 0..n {
        let (new, _) = new_user(&t, &format!("u{i}@example.com"), t0());
        ok(store.insert_invited(&new).await, "inviting a user");
    }
    let limit = u32::try_from(n).unwrap_or(u32::MAX);
    let claimed = ok(
        store.claim_due(t0(), lease, limit).await,
        "claiming the queued emails",
    );
    assert_eq!(claimed.len(), n, "every queued email must be claimed");
    claimed
}

/// Whether any message is claimable at any time from `from` on (a day later).
async fn claimable_later<S: Storage>(store: &S, from: DateTime<Utc>) -> usize {
    let later = from + Duration::days(1);
    let found = ok(
        store
            .claim_due(later, later + Duration::minutes(1), 100)
            .await,
        "claiming",
    );
    found.len()
}

/// `Sent` counts as one change, and the message is done: never due, never
/// claimable again, and a later settle of the same claim cannot revive it.
pub async fn settling_as_sent_ends_the_message_for_good<S: Storage>(store: S) {
    let lease = t0() + Duration::minutes(1);
    let m = claimed(&store, 1, lease).await.remove(0);
    let at = t0() + Duration::seconds(2);
    let changed = ok(
        store.settle(lease, at, &[sent(m.id)]).await,
        "settling as sent",
    );
    assert_eq!(
        changed, 1,
        "OutboxRepo::settle must count the message it settled"
    );

    let due = ok(
        store.any_due(lease + Duration::hours(1)).await,
        "asking later",
    );
    assert!(!due, "a sent message is never due again");
    let again = ok(
        store
            .settle(lease, lease, &[retry(m.id, lease, "late")])
            .await,
        "settling",
    );
    assert_eq!(
        again, 0,
        "a sent message is no longer pending: settle MUST NOT change it"
    );
    assert_eq!(
        claimable_later(&store, lease).await,
        0,
        "a sent message is never claimed again"
    );
}

/// `Retry` counts as one change, ends the lease (even before it would have
/// run out) and makes the message due at the retry's instant, not before;
/// it is then claimed again, as the next attempt, with the same email.
pub async fn a_retry_ends_the_lease_and_makes_the_message_due_again_later<S: Storage>(store: S) {
    let lease = t0() + Duration::minutes(10);
    let m = claimed(&store, 1, lease).await.remove(0);
    let next = t0() + Duration::seconds(30);
    let changed = ok(
        store
            .settle(lease, t0(), &[retry(m.id, next, "421 try later")])
            .await,
        "retrying",
    );
    assert_eq!(
        changed, 1,
        "OutboxRepo::settle must count the retried message"
    );

    let before = next - Duration::microseconds(1);
    let due = ok(
        store.any_due(before).await,
        "asking before the retry is due",
    );
    assert!(!due, "a retried message is not due before its next attempt");
    let early = ok(
        store
            .claim_due(before, before + Duration::minutes(1), 10)
            .await,
        "claiming",
    );
    assert!(
        early.is_empty(),
        "a retried message is not claimed before its next attempt"
    );
    let again = ok(
        store.claim_due(next, next + Duration::minutes(1), 10).await,
        "claiming",
    );
    let again: Vec<_> = again
        .iter()
        .map(|c| (c.id, c.attempt, c.email.clone()))
        .collect();
    assert_eq!(
        again,
        vec![(m.id, 2, m.email)],
        "a retried message is claimed again at its next attempt (before the old lease would \
         have run out: Retry ends the lease), as attempt 2, with its email"
    );
}

/// `Failed` counts as one change and gives up: the message is never due
/// or claimable again.
pub async fn a_failure_gives_up_for_good<S: Storage>(store: S) {
    let lease = t0() + Duration::minutes(1);
    let m = claimed(&store, 1, lease).await.remove(0);
    let at = t0() + Duration::seconds(1);
    let changed = ok(
        store
            .settle(lease, at, &[failed(m.id, "550 no such user")])
            .await,
        "failing",
    );
    assert_eq!(
        changed, 1,
        "OutboxRepo::settle must count the failed message"
    );
    let due = ok(
        store.any_due(lease + Duration::hours(1)).await,
        "asking later",
    );
    assert!(!due, "a failed message is never due again");
    assert_eq!(
        claimable_later(&store, lease).await,
        0,
        "a failed message is never claimed again"
    );
}

/// One call settles a batch of mixed outcomes and counts them all; each
/// gets its own outcome.
pub async fn one_settle_records_a_whole_batch_of_mixed_outcomes<S: Storage>(store: S) {
    let lease = t0() + Duration::minutes(1);
    let m = claimed(&store, 5, lease).await;
    let next = t0() + Duration::seconds(30);
    let outcomes = [
        sent(m[0].id),
        retry(m[1].id, next, "421"),
        sent(m[2].id),
        failed(m[3].id, "550"),
        sent(m[4].id),
    ];
    let changed = ok(
        store.settle(lease, t0(), &outcomes).await,
        "settling a batch",
    );
    assert_eq!(
        changed, 5,
        "OutboxRepo::settle must count every message it settled"
    );
    let again = ok(
        store.claim_due(next, next + Duration::minutes(1), 10).await,
        "claiming",
    );
    let again: Vec<_> = again.iter().map(|c| (c.id, c.attempt)).collect();
    assert_eq!(
        again,
        vec![(m[1].id, 2)],
        "only the retried message comes back"
    );
}

/// A worker whose lease ran out, and whose message another claim took
/// over, settles nothing — neither success, nor retry, nor failure — so it
/// can neither end the other claim's lease nor overwrite its outcome; the
/// other claim settles it.
pub async fn a_late_settle_cannot_touch_a_message_another_claim_took_over<S: Storage>(store: S) {
    let lease_a = t0() + Duration::minutes(1);
    let a = claimed(&store, 1, lease_a).await.remove(0);
    let lease_b = lease_a + Duration::minutes(1);
    let b = ok(
        store.claim_due(lease_a, lease_b, 1).await,
        "claiming after A's lease ran out",
    );
    let b: Vec<_> = b.iter().map(|c| (c.id, c.attempt)).collect();
    assert_eq!(
        b,
        vec![(a.id, 2)],
        "B claims the message once A's lease ran out"
    );

    let late = lease_a + Duration::seconds(5);
    for outcome in [
        retry(a.id, late, "timeout"),
        sent(a.id),
        failed(a.id, "550"),
    ] {
        let changed = ok(
            store.settle(lease_a, late, &[outcome]).await,
            "A settling late",
        );
        assert_eq!(
            changed, 0,
            "a settle fenced by an expired lease MUST NOT change the message"
        );
    }
    let stolen = ok(
        store.claim_due(late, late + Duration::minutes(1), 1).await,
        "claiming",
    );
    assert!(
        stolen.is_empty(),
        "B's lease must still hold after A's late settle"
    );
    let due = ok(
        store.any_due(late).await,
        "asking while B holds the message",
    );
    assert!(!due, "B's lease must still hold after A's late settle");

    let changed = ok(
        store.settle(lease_b, late, &[sent(a.id)]).await,
        "B settling",
    );
    assert_eq!(
        changed, 1,
        "the claim holding the lease settles the message"
    );
    assert_eq!(
        claimable_later(&store, lease_b).await,
        0,
        "B's success must stand"
    );
}

/// A settle changes a message only when it is leased until exactly the
/// settle's instant: not a microsecond earlier or later, not a message no
/// claim leased, not an unknown id.
pub async fn a_settle_changes_only_messages_leased_until_exactly_its_instant<S: Storage>(store: S) {
    let lease = t0() + Duration::minutes(1);
    let m = claimed(&store, 1, lease).await.remove(0);
    let t = tenant(&store, "Other").await;
    let (unclaimed, _) = new_user(&t, "ada@example.com", t0() + Duration::seconds(1));
    ok(
        store.insert_invited(&unclaimed).await,
        "queueing an email nobody claims",
    );
    let unclaimed = unclaimed.send.outbox.id;

    let us = Duration::microseconds(1);
    for wrong in [lease - us, lease + us] {
        let changed = ok(store.settle(wrong, t0(), &[sent(m.id)]).await, "settling");
        assert_eq!(
            changed, 0,
            "a settle with another lease instant MUST NOT change it"
        );
    }
    let changed = ok(
        store.settle(lease, t0(), &[sent(unclaimed)]).await,
        "settling",
    );
    assert_eq!(
        changed, 0,
        "a settle MUST NOT change a message no claim leased"
    );
    let unknown = beckon_ports::OutboxId::from_uuid(uuid::Uuid::now_v7());
    let changed = ok(
        store.settle(lease, t0(), &[failed(unknown, "550")]).await,
        "settling",
    );
    assert_eq!(changed, 0, "a settle of an unknown id changes nothing");

    let now = t0() + Duration::seconds(1);
    let claimable = ok(
        store.claim_due(now, now + Duration::minutes(1), 10).await,
        "claiming",
    );
    let claimable: Vec<_> = claimable.iter().map(|c| (c.id, c.attempt)).collect();
    assert_eq!(
        claimable,
        vec![(unclaimed, 1)],
        "the leased message must still be leased"
    );
    let changed = ok(store.settle(lease, t0(), &[sent(m.id)]).await, "settling");
    assert_eq!(
        changed, 1,
        "the settle with the exact lease instant changes it"
    );
}
