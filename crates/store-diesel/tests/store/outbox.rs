//! The outbox as the delivery worker sees it: claims, leases, settling.

use std::collections::HashSet;

use beckon_ports::{DeliveryOutcome, OutboxId, OutboxRepo, Settlement, UserRepo};
use chrono::{DateTime, Duration, Utc};

use crate::support::{new_user, store_test, t0, tenant};

async fn queue(store: &beckon_store_diesel::Store, n: usize) {
    let t = tenant(store, "Acme").await;
    for i in 0..n {
        let (new, _) = new_user(&t, &format!("u{i}@example.com"), t0());
        store.insert_invited(&new).await.unwrap();
    }
}

store_test! {
    async fn a_claim_leases_due_messages_and_counts_the_attempt(store, _db) {
        let t = tenant(&store, "Acme").await;
        let (new, token) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();

        // Not due before it was queued.
        let early = t0() - Duration::seconds(1);
        assert!(store.claim_due(early, early + Duration::minutes(1), 10).await.unwrap().is_empty());

        let lease = t0() + Duration::minutes(1);
        let claimed = store.claim_due(t0(), lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let m = &claimed[0];
        assert_eq!(m.id, new.send.outbox.id);
        assert_eq!((m.tenant_id, m.user_id), (t.id, new.user.id));
        assert_eq!(m.email, new.send.outbox.email);
        assert_eq!(m.email.token.expose(), token.expose());
        assert_eq!(m.attempt, 1);
        assert_eq!(m.created_at, t0());

        // Leased: nobody else gets it until the lease ends.
        assert!(store.claim_due(t0(), lease, 10).await.unwrap().is_empty());
        assert!(store.claim_due(lease - Duration::microseconds(1), lease, 10).await.unwrap().is_empty());
        // Lease expired (the worker died): claimable again, as attempt 2.
        let again = store.claim_due(lease, lease + Duration::minutes(1), 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempt, 2);
    }
}

store_test! {
    async fn a_claim_takes_at_most_limit_oldest_first(store, _db) {
        queue(&store, 5).await;
        let first = store.claim_due(t0(), t0() + Duration::minutes(1), 3).await.unwrap();
        assert_eq!(first.len(), 3);
        let rest = store.claim_due(t0(), t0() + Duration::minutes(1), 3).await.unwrap();
        assert_eq!(rest.len(), 2);
        let ids: HashSet<_> = first.iter().chain(&rest).map(|m| m.id).collect();
        assert_eq!(ids.len(), 5);
    }
}

store_test! {
    async fn concurrent_claimers_never_receive_the_same_message(store, _db) {
        queue(&store, 40).await;
        let lease = t0() + Duration::minutes(1);
        let mut seen = HashSet::new();
        // Rounds of 4 simultaneous claimers until the queue is drained.
        for _round in 0..10 {
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let s = store.clone();
                    tokio::spawn(async move { s.claim_due(t0(), lease, 7).await.unwrap() })
                })
                .collect();
            let mut got = 0;
            for task in tasks {
                for m in task.await.unwrap() {
                    assert!(seen.insert(m.id), "message {:?} claimed twice", m.id);
                    assert_eq!(m.attempt, 1);
                    got += 1;
                }
            }
            if got == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 40);
    }
}

fn sent(id: OutboxId) -> Settlement {
    Settlement {
        id,
        outcome: DeliveryOutcome::Sent,
        event: None,
    }
}

fn retry(id: OutboxId, next_attempt_at: DateTime<Utc>, error: &str) -> Settlement {
    Settlement {
        id,
        outcome: DeliveryOutcome::Retry {
            next_attempt_at,
            error: error.into(),
        },
        event: None,
    }
}

fn failed(id: OutboxId, reason: &str) -> Settlement {
    Settlement {
        id,
        outcome: DeliveryOutcome::Failed {
            reason: reason.into(),
        },
        event: None,
    }
}

store_test! {
    async fn only_a_pending_unleased_due_message_counts_as_due(store, _db) {
        assert!(!store.any_due(t0()).await.unwrap(), "empty queue");
        let t = tenant(&store, "Acme").await;
        let (new, _) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();
        assert!(!store.any_due(t0() - Duration::seconds(1)).await.unwrap(), "not yet due");
        assert!(store.any_due(t0()).await.unwrap());
        let lease = t0() + Duration::minutes(1);
        store.claim_due(t0(), lease, 10).await.unwrap();
        assert!(!store.any_due(t0()).await.unwrap(), "leased");
        assert!(store.any_due(lease).await.unwrap(), "lease ran out");
    }
}

store_test! {
    async fn settling_as_sent_erases_the_email_and_ends_the_lease_for_good(store, db) {
        let t = tenant(&store, "Acme").await;
        let (new, _) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();
        let lease = t0() + Duration::minutes(1);
        let m = store.claim_due(t0(), lease, 1).await.unwrap().remove(0);

        assert_eq!(store.settle(lease, t0() + Duration::seconds(2), &[sent(m.id)]).await.unwrap(), 1);
        assert_eq!(
            db.count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent' AND payload IS NULL AND claimed_until IS NULL AND sent_at IS NOT NULL").await,
            1
        );
        assert!(!store.any_due(lease + Duration::hours(1)).await.unwrap());
        // A late retry from the same claim cannot revive it.
        assert_eq!(store.settle(lease, lease, &[retry(m.id, lease, "late")]).await.unwrap(), 0);
        assert!(store.claim_due(lease + Duration::hours(1), lease + Duration::hours(2), 10).await.unwrap().is_empty());
    }
}

store_test! {
    async fn a_retry_makes_the_message_due_later(store, db) {
        let t = tenant(&store, "Acme").await;
        let (new, _) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();
        let lease = t0() + Duration::minutes(1);
        let m = store.claim_due(t0(), lease, 1).await.unwrap().remove(0);

        let next = t0() + Duration::seconds(30);
        assert_eq!(store.settle(lease, t0(), &[retry(m.id, next, "421 try later")]).await.unwrap(), 1);
        // The lease ended, but it is not due before `next`.
        assert!(store.claim_due(next - Duration::microseconds(1), next + Duration::minutes(1), 10).await.unwrap().is_empty());
        let again = store.claim_due(next, next + Duration::minutes(1), 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempt, 2);
        assert_eq!(again[0].email, new.send.outbox.email);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox WHERE last_error = '421 try later'").await, 1);
    }
}

store_test! {
    async fn a_failure_gives_up_and_erases_the_email(store, db) {
        let t = tenant(&store, "Acme").await;
        let (new, _) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();
        let lease = t0() + Duration::minutes(1);
        let m = store.claim_due(t0(), lease, 1).await.unwrap().remove(0);

        assert_eq!(store.settle(lease, t0() + Duration::seconds(1), &[failed(m.id, "550 no such user")]).await.unwrap(), 1);
        assert_eq!(
            db.count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'failed' AND payload IS NULL AND failed_at IS NOT NULL AND last_error = '550 no such user'").await,
            1
        );
        assert!(store.claim_due(t0() + Duration::hours(1), t0() + Duration::hours(2), 10).await.unwrap().is_empty());
    }
}

store_test! {
    async fn one_settle_records_a_whole_batch_of_mixed_outcomes(store, db) {
        queue(&store, 5).await;
        let lease = t0() + Duration::minutes(1);
        let m = store.claim_due(t0(), lease, 5).await.unwrap();
        let next = t0() + Duration::seconds(30);
        let outcomes = [sent(m[0].id), sent(m[1].id), sent(m[2].id), retry(m[3].id, next, "421"), failed(m[4].id, "550")];
        assert_eq!(store.settle(lease, t0(), &outcomes).await.unwrap(), 5);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent' AND payload IS NULL").await, 3);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' AND claimed_until IS NULL AND last_error = '421'").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'failed' AND last_error = '550'").await, 1);
    }
}

store_test! {
    async fn a_worker_whose_lease_ran_out_cannot_settle_a_message_another_claim_took_over(store, db) {
        let t = tenant(&store, "Acme").await;
        let (new, _) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();
        // Worker A claims; its mail server is slow and its lease runs out.
        let lease_a = t0() + Duration::minutes(1);
        let a = store.claim_due(t0(), lease_a, 1).await.unwrap().remove(0);
        // Worker B claims the message after A's lease ended.
        let lease_b = lease_a + Duration::minutes(1);
        let b = store.claim_due(lease_a, lease_b, 1).await.unwrap().remove(0);
        assert_eq!((a.id, b.attempt), (b.id, 2));

        // A finally fails transiently: its settle must neither end B's lease
        // (a third worker would claim the message: a duplicate email) nor
        // record its stale outcome.
        let late = lease_a + Duration::seconds(5);
        assert_eq!(store.settle(lease_a, late, &[retry(a.id, late, "timeout")]).await.unwrap(), 0);
        assert!(store.claim_due(late, late + Duration::minutes(1), 1).await.unwrap().is_empty(), "B's lease still holds");
        assert!(!store.any_due(late).await.unwrap());
        // Nor can A's late success or failure settle it.
        assert_eq!(store.settle(lease_a, late, &[sent(a.id)]).await.unwrap(), 0);
        assert_eq!(store.settle(lease_a, late, &[failed(a.id, "550")]).await.unwrap(), 0);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' AND payload IS NOT NULL AND last_error IS NULL").await, 1);

        // B's own settle works.
        assert_eq!(store.settle(lease_b, late, &[sent(b.id)]).await.unwrap(), 1);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'").await, 1);
    }
}
