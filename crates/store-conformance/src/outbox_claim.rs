//! `OutboxRepo`, looking and claiming: what counts as due, a claim's
//! lease and attempt count, its limit and order, and claimers racing.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;
use futures_util::future::join_all;

use beckon_ports::Locale;

use crate::fixtures::{new_user, t0, tenant, tenant_in};
use crate::{Contract, Storage, ok};

/// This port's looking and claiming contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "OutboxRepo",
            "only_a_pending_due_unleased_message_counts_as_due",
            |s| only_a_pending_due_unleased_message_counts_as_due(s).boxed(),
        ),
        Contract::new(
            "OutboxRepo",
            "a_claim_leases_due_messages_and_counts_the_attempt",
            |s| a_claim_leases_due_messages_and_counts_the_attempt(s).boxed(),
        ),
        Contract::new(
            "OutboxRepo",
            "a_claim_takes_at_most_limit_oldest_first",
            |s| a_claim_takes_at_most_limit_oldest_first(s).boxed(),
        ),
        Contract::new(
            "OutboxRepo",
            "concurrent_claimers_never_receive_the_same_message",
            |s| concurrent_claimers_never_receive_the_same_message(s).boxed(),
        ),
    ]
}

/// Queues one email per user of a new tenant, the `i`-th queued at `at(i)`.
async fn queue<S: Storage>(store: &S, n: usize, at: impl Fn(usize) -> DateTime<Utc>) {
    let t = tenant(store, "Acme").await;
    for i in 0..n {
        let (new, _) = new_user(&t, &format!("u{i}@example.com"), at(i));
        ok(store.insert_invited(&new).await, "inviting a user");
    }
}

/// `any_due` is true only for a pending message that is due (queued at or
/// before `now`) and not leased (or whose lease ended), and asking changes
/// nothing: the message is then claimed as its first attempt.
pub async fn only_a_pending_due_unleased_message_counts_as_due<S: Storage>(store: S) {
    let due = ok(store.any_due(t0()).await, "asking an empty queue");
    assert!(!due, "OutboxRepo::any_due on an empty queue must be false");
    queue(&store, 1, |_| t0()).await;
    let early = t0() - Duration::microseconds(1);
    let due = ok(
        store.any_due(early).await,
        "asking before the email was queued",
    );
    assert!(!due, "a message is not due before it was queued");
    for _ in 0..3 {
        let due = ok(store.any_due(t0()).await, "asking when the email is due");
        assert!(due, "OutboxRepo::any_due must see a due message");
    }

    let lease = t0() + Duration::minutes(1);
    let claimed = ok(store.claim_due(t0(), lease, 10).await, "claiming");
    let attempts: Vec<u32> = claimed.iter().map(|m| m.attempt).collect();
    assert_eq!(
        attempts,
        vec![1],
        "asking whether a message is due must not claim it"
    );
    let due = ok(store.any_due(t0()).await, "asking while it is leased");
    assert!(!due, "a leased message is not due");
    let due = ok(store.any_due(lease).await, "asking when the lease ran out");
    assert!(due, "a message whose lease ran out is due again");
}

/// A claim answers a due message with everything needed to send it, as
/// attempt 1; while its lease holds nobody else gets it; once the lease
/// ran out (the worker died) it is claimed again, as attempt 2. The email
/// comes back whole, its locale included.
pub async fn a_claim_leases_due_messages_and_counts_the_attempt<S: Storage>(store: S) {
    let t = tenant_in(&store, "Acme", Locale::Fr).await;
    let (new, tok) = new_user(&t, "ada@example.com", t0());
    ok(store.insert_invited(&new).await, "inviting a user");

    let early = t0() - Duration::seconds(1);
    let claimed = ok(
        store
            .claim_due(early, early + Duration::minutes(1), 10)
            .await,
        "claiming",
    );
    assert!(
        claimed.is_empty(),
        "a message is not claimed before it was queued"
    );

    let lease = t0() + Duration::minutes(1);
    let claimed = ok(
        store.claim_due(t0(), lease, 10).await,
        "claiming the due message",
    );
    assert_eq!(
        claimed.len(),
        1,
        "OutboxRepo::claim_due must claim the due message"
    );
    let m = &claimed[0];
    assert_eq!(m.id, new.send.outbox.id, "the claimed message's id");
    assert_eq!(
        (m.tenant_id, m.user_id),
        (t.id, new.user.id),
        "its tenant and user"
    );
    assert_eq!(
        m.email, new.send.outbox.email,
        "the claimed email must be the queued one"
    );
    assert_eq!(
        m.email.token.expose(),
        tok.expose(),
        "it must carry the token"
    );
    assert_eq!(m.attempt, 1, "the first claim is attempt 1");
    assert_eq!(m.created_at, t0(), "when it was queued");

    for now in [t0(), lease - Duration::microseconds(1)] {
        let claimed = ok(
            store.claim_due(now, now + Duration::minutes(1), 10).await,
            "claiming",
        );
        assert!(
            claimed.is_empty(),
            "a leased message MUST NOT be claimed while its lease holds"
        );
    }
    let again = ok(
        store
            .claim_due(lease, lease + Duration::minutes(1), 10)
            .await,
        "claiming",
    );
    let attempts: Vec<u32> = again.iter().map(|m| m.attempt).collect();
    assert_eq!(
        attempts,
        vec![2],
        "a message whose lease ran out is claimed again as attempt 2"
    );
}

/// A claim takes at most `limit` messages, the oldest queued first, and
/// answers them oldest first; `limit` 0 takes none.
pub async fn a_claim_takes_at_most_limit_oldest_first<S: Storage>(store: S) {
    // Queued out of order: the 3rd first, then the 1st, …
    let minutes = [3, 1, 4, 0, 2];
    queue(&store, minutes.len(), |i| {
        t0() + Duration::minutes(minutes[i])
    })
    .await;
    let now = t0() + Duration::minutes(10);
    let lease = now + Duration::minutes(1);

    let none = ok(
        store.claim_due(now, lease, 0).await,
        "claiming with limit 0",
    );
    assert!(none.is_empty(), "a claim with limit 0 must take nothing");
    let first = ok(store.claim_due(now, lease, 3).await, "claiming 3");
    let queued_at: Vec<_> = first.iter().map(|m| m.created_at).collect();
    let expected: Vec<_> = (0..3).map(|m| t0() + Duration::minutes(m)).collect();
    assert_eq!(
        queued_at, expected,
        "a claim must take the oldest messages, oldest first"
    );
    assert!(
        first.iter().all(|m| m.attempt == 1),
        "limit 0 must have leased nothing"
    );
    let rest = ok(store.claim_due(now, lease, 3).await, "claiming the rest");
    let queued_at: Vec<_> = rest.iter().map(|m| m.created_at).collect();
    let expected: Vec<_> = (3..5).map(|m| t0() + Duration::minutes(m)).collect();
    assert_eq!(
        queued_at, expected,
        "a second claim must take the rest, oldest first"
    );
}

/// Claimers racing over a queue never receive the same message, and
/// between them receive every message once.
pub async fn concurrent_claimers_never_receive_the_same_message<S: Storage>(store: S) {
    queue(&store, 40, |_| t0()).await;
    let lease = t0() + Duration::minutes(1);
    let mut seen = HashSet::new();
    // Rounds of four simultaneous claimers until the queue is drained.
    for _round in 0..12 {
        let claims = (0..4).map(|_| {
            let store = store.clone();
            async move { store.claim_due(t0(), lease, 7).await }
        });
        let mut got = 0;
        for claimed in join_all(claims).await {
            for m in ok(claimed, "a racing claim") {
                assert!(
                    seen.insert(m.id),
                    "message {:?} was claimed twice while leased",
                    m.id
                );
                assert_eq!(m.attempt, 1, "a message claimed once is attempt 1");
                got += 1;
            }
        }
        if got == 0 {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        40,
        "racing claimers must between them receive every message"
    );
}
