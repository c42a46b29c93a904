//! `OutboxStats`: the backlog counts exactly the pending messages (due,
//! leased or waiting for a retry) and names the oldest one's queueing time.

use beckon_ports::{OutboxBacklog, OutboxKind};
use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;

use crate::fixtures::{failed, new_user, retry, sent, t0, tenant};
use crate::{Contract, Storage, ok};

/// This port's contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![Contract::new(
        "OutboxStats",
        "the_backlog_counts_pending_messages_and_the_oldest_one",
        |s| the_backlog_counts_pending_messages_and_the_oldest_one(s).boxed(),
    )]
}

async fn email_backlog<S: Storage>(store: &S, doing: &str) -> OutboxBacklog {
    let all = ok(store.backlog().await, doing);
    let kinds: Vec<OutboxKind> = all.iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        OutboxKind::ALL.to_vec(),
        "OutboxStats::backlog must answer every kind, in order"
    );
    all[0]
}

/// Empty: zero and no oldest. Four queued (a second apart): four, the
/// first's time. Then one sent, one failed, one retried and one left
/// leased: the retried and the leased one are still pending, and the
/// oldest of them is the one that counts.
pub async fn the_backlog_counts_pending_messages_and_the_oldest_one<S: Storage>(store: S) {
    let empty = email_backlog(&store, "reading an empty backlog").await;
    assert_eq!(
        (empty.pending, empty.oldest_queued_at),
        (0, None),
        "an empty outbox has no backlog"
    );
    let at = |i: i64| -> DateTime<Utc> { t0() + Duration::seconds(i) };
    let t = tenant(&store, "Acme").await;
    for i in 0..4 {
        let (new, _) = new_user(&t, &format!("u{i}@example.com"), at(i));
        ok(store.insert_invited(&new).await, "inviting a user");
    }
    let four = email_backlog(&store, "reading the backlog").await;
    assert_eq!(four.pending, 4, "every queued message is pending");
    assert_eq!(four.oldest_queued_at, Some(at(0)), "the first one queued");

    let lease = at(100);
    let claimed = ok(store.claim_due(at(10), lease, 4).await, "claiming");
    assert_eq!(claimed.len(), 4);
    let leased = email_backlog(&store, "reading the backlog while leased").await;
    assert_eq!(leased.pending, 4, "a leased message is still pending");
    // Oldest first: settle the two oldest as done, retry the third, leave
    // the fourth leased.
    let outcomes = [
        sent(claimed[0].id),
        failed(claimed[1].id, "550 no such user"),
        retry(claimed[2].id, at(200), "421 try later"),
    ];
    let settled = ok(store.settle(lease, at(20), &outcomes).await, "settling");
    assert_eq!(settled, 3);
    let left = email_backlog(&store, "reading the backlog after settling").await;
    assert_eq!(
        left.pending, 2,
        "sent and failed messages leave the backlog; a retried and a leased one stay"
    );
    assert_eq!(
        left.oldest_queued_at,
        Some(at(2)),
        "the oldest message still pending"
    );
}
