//! Webhook endpoints and their events (CONTRACT §6 "Events to the
//! tenant's webhook") as the storage ports see them: events are written
//! with the change they report and only for a tenant with an endpoint;
//! claims are leases and settles are fenced by them; removing an endpoint
//! drops what was queued for it; an erasure leaves no address in any event.

use beckon_ports::{
    ClaimedEvent, EventOutcome, EventSettlement, EventType, StoreError, TenantId, WebhookEndpoint,
    WebhookEvent, WebhookSecret, WebhookUrl, WriteOutcome,
};
use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;
use uuid::Uuid;

use crate::fixtures::{
    activation, erasure, event, new_user, revocation, rotation, sent, t0, tenant,
};
use crate::{Contract, Storage, ok};

/// This area's contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![
        Contract::new(
            "WebhookRepo",
            "events_are_written_with_each_change_only_for_a_tenant_with_an_endpoint",
            |s| events_are_written_with_each_change_only_for_a_tenant_with_an_endpoint(s).boxed(),
        ),
        Contract::new(
            "WebhookRepo",
            "a_claim_is_a_lease_and_a_settle_is_fenced_by_it",
            |s| a_claim_is_a_lease_and_a_settle_is_fenced_by_it(s).boxed(),
        ),
        Contract::new(
            "WebhookRepo",
            "an_email_outcome_is_reported_only_while_its_claim_holds",
            |s| an_email_outcome_is_reported_only_while_its_claim_holds(s).boxed(),
        ),
        Contract::new(
            "Retention",
            "settled_events_are_pruned_and_pending_ones_kept",
            |s| settled_events_are_pruned_and_pending_ones_kept(s).boxed(),
        ),
        Contract::new(
            "WebhookRepo",
            "endpoints_are_set_replaced_and_removed_with_their_queue",
            |s| endpoints_are_set_replaced_and_removed_with_their_queue(s).boxed(),
        ),
    ]
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

fn endpoint(tenant: TenantId, url: &str, byte: u8) -> WebhookEndpoint {
    WebhookEndpoint {
        tenant_id: tenant,
        url: WebhookUrl::parse(url).expect("a valid url"),
        secret: WebhookSecret::from_bytes([byte; 32]),
        created_at: t0(),
    }
}

/// Everything due at `now`, leased until `now` + 60 s.
async fn claim_all<S: Storage>(store: &S, now: DateTime<Utc>) -> Vec<ClaimedEvent> {
    ok(
        store
            .claim_events(now, now + Duration::seconds(60), 100)
            .await,
        "claiming events",
    )
}

/// Tenant A has an endpoint, tenant B none. Each write of A's user queues
/// its event (the type, the user, the address, the send number, the
/// endpoint with it); B's writes queue nothing. The erasure's own event
/// carries no address, and the user's earlier events lose theirs.
pub async fn events_are_written_with_each_change_only_for_a_tenant_with_an_endpoint<S: Storage>(
    store: S,
) {
    let a = tenant(&store, "Acme").await;
    let b = tenant(&store, "Beta").await;
    let hook = endpoint(a.id, "https://hooks.example.com/a", 1);
    ok(store.set_endpoint(&hook).await, "setting A's endpoint");
    assert!(
        !ok(store.any_event_due(at(100)).await, "looking for events"),
        "nothing happened yet"
    );

    let (ada, _) = new_user(&a, "ada@example.com", at(1));
    let (bob, _) = new_user(&b, "bob@example.com", at(1));
    ok(store.insert_invited(&ada).await, "inviting Ada");
    ok(store.insert_invited(&bob).await, "inviting Bob");
    let (resend, _) = rotation(&a, &ada.user, 0, at(2));
    assert_eq!(
        ok(store.rotate_invite(&resend).await, "resending"),
        WriteOutcome::Applied
    );
    let (resend_b, _) = rotation(&b, &bob.user, 0, at(2));
    ok(store.rotate_invite(&resend_b).await, "resending to Bob");
    let accept = activation(a.id, ada.user.id, 1, at(3));
    assert_eq!(
        ok(store.activate(&accept).await, "accepting"),
        WriteOutcome::Applied
    );
    let (cy, _) = new_user(&a, "cy@example.com", at(4));
    ok(store.insert_invited(&cy).await, "inviting Cy");
    let revoke = revocation(a.id, cy.user.id, 0, at(5));
    assert_eq!(
        ok(store.revoke_invite(&revoke).await, "revoking"),
        WriteOutcome::Applied
    );
    ok(
        store
            .activate(&activation(b.id, bob.user.id, 1, at(5)))
            .await,
        "accepting Bob",
    );
    // A lost race writes no event.
    let stale = activation(a.id, cy.user.id, 0, at(6));
    assert_eq!(
        ok(store.activate(&stale).await, "accepting a revoked invite"),
        WriteOutcome::Stale
    );

    assert!(ok(store.any_event_due(at(100)).await, "looking for events"));
    let claimed = claim_all(&store, at(100)).await;
    let seen: Vec<(EventType, Uuid)> = claimed
        .iter()
        .map(|c| (c.event.event_type, c.event.user_id.as_uuid()))
        .collect();
    let (ada_id, cy_id) = (ada.user.id.as_uuid(), cy.user.id.as_uuid());
    assert_eq!(
        seen,
        vec![
            (EventType::InviteSent, ada_id),
            (EventType::InviteSent, ada_id),
            (EventType::InviteAccepted, ada_id),
            (EventType::InviteSent, cy_id),
            (EventType::InviteRevoked, cy_id),
        ],
        "A's events, oldest first, and none of B's or of the lost race"
    );
    assert!(claimed.iter().all(|c| c.attempt == 1));
    assert!(
        claimed.iter().all(|c| c.endpoint.as_ref() == Some(&hook)),
        "each event comes with its tenant's endpoint"
    );
    assert_eq!(claimed[0].event, ada.event, "stored as written");
    assert_eq!(claimed[1].event, resend.event);
    assert_eq!(claimed[1].event.send, Some(2));
    assert_eq!(claimed[0].queued_at, at(1));

    // Erase Ada: her earlier events keep no address; the erasure's own
    // event has none.
    let erase = erasure(a.id, ada.user.id, at(7));
    assert!(ok(store.erase(&erase).await, "erasing Ada"));
    let later = claim_all(&store, at(200)).await;
    assert_eq!(
        later.len(),
        6,
        "the leases ran out at 160 s, plus the erasure"
    );
    for c in later.iter().filter(|c| c.event.user_id == ada.user.id) {
        assert_eq!(
            c.event.email, None,
            "{:?} keeps no address",
            c.event.event_type
        );
    }
    let deleted = later
        .iter()
        .find(|c| c.event.event_type == EventType::UserDeleted)
        .expect("the erasure's event");
    assert_eq!(deleted.event.user_id, ada.user.id);
    assert_eq!(
        later
            .iter()
            .find(|c| c.event.user_id == cy.user.id)
            .and_then(|c| c.event.email.as_ref())
            .map(|e| e.as_str()),
        Some("cy@example.com"),
        "another user's events keep theirs"
    );
}

/// A leased event is not claimed again until its lease ends; a settle with
/// another lease changes nothing; delivered and failed events are done,
/// a retried one is due again at its time.
pub async fn a_claim_is_a_lease_and_a_settle_is_fenced_by_it<S: Storage>(store: S) {
    let a = tenant(&store, "Acme").await;
    ok(
        store
            .set_endpoint(&endpoint(a.id, "http://127.0.0.1:9/", 2))
            .await,
        "setting the endpoint",
    );
    let mut ids = Vec::new();
    for i in 0..3 {
        let (new, _) = new_user(&a, &format!("u{i}@example.com"), at(i));
        ids.push(new.event.id);
        ok(store.insert_invited(&new).await, "inviting");
    }
    let lease = at(60);
    let first = ok(store.claim_events(at(10), lease, 2).await, "claiming two");
    assert_eq!(
        first.iter().map(|c| c.event.id).collect::<Vec<_>>(),
        ids[..2].to_vec(),
        "the oldest, at most the limit"
    );
    let second = ok(
        store.claim_events(at(11), at(61), 10).await,
        "claiming again",
    );
    assert_eq!(
        second.iter().map(|c| c.event.id).collect::<Vec<_>>(),
        vec![ids[2]],
        "a leased event is not claimed twice"
    );

    let outcomes = [
        EventSettlement {
            id: ids[0],
            outcome: EventOutcome::Delivered,
        },
        EventSettlement {
            id: ids[1],
            outcome: EventOutcome::Retry {
                next_attempt_at: at(100),
                error: "HTTP 500".into(),
            },
        },
    ];
    assert_eq!(
        ok(
            store.settle_events(at(99), at(20), &outcomes).await,
            "settling with another lease"
        ),
        0,
        "a settle under another lease changes nothing"
    );
    assert_eq!(
        ok(
            store.settle_events(lease, at(20), &outcomes).await,
            "settling"
        ),
        2
    );
    let failed = [EventSettlement {
        id: ids[2],
        outcome: EventOutcome::Failed {
            reason: "gave up".into(),
        },
    }];
    assert_eq!(
        ok(
            store.settle_events(at(61), at(21), &failed).await,
            "giving up"
        ),
        1
    );
    assert_eq!(
        ok(
            store.settle_events(lease, at(22), &outcomes).await,
            "settling twice"
        ),
        0,
        "a settled event is not settled again"
    );
    assert!(
        !ok(
            store.any_event_due(at(99)).await,
            "looking before the retry"
        ),
        "the retried event waits for its time; the others are done"
    );
    let again = claim_all(&store, at(100)).await;
    assert_eq!(
        again
            .iter()
            .map(|c| (c.event.id, c.attempt))
            .collect::<Vec<_>>(),
        vec![(ids[1], 2)],
        "only the retried one, on its second attempt"
    );
}

/// The delivery worker's settle writes `invite.delivered` with the outcome
/// of the email it reports, in the same transaction, and only while its
/// claim still holds the message.
pub async fn an_email_outcome_is_reported_only_while_its_claim_holds<S: Storage>(store: S) {
    let a = tenant(&store, "Acme").await;
    let (new, _) = new_user(&a, "ada@example.com", at(0));
    ok(store.insert_invited(&new).await, "inviting");
    // The endpoint is set after the invite: only the delivery is reported.
    ok(
        store
            .set_endpoint(&endpoint(a.id, "https://hooks.example.com/", 3))
            .await,
        "setting the endpoint",
    );
    let lease = at(60);
    let claimed = ok(
        store.claim_due(at(1), lease, 10).await,
        "claiming the email",
    );
    assert_eq!(claimed.len(), 1);
    let message = claimed[0].id;
    let delivered = |id_byte: u128| WebhookEvent {
        id: Uuid::from_u128(id_byte),
        message_id: Some(message),
        ..event(
            a.id,
            new.user.id,
            EventType::InviteDelivered,
            Some(&new.user.email),
            at(2),
        )
    };
    let mut late = sent(message);
    late.event = Some(delivered(1));
    assert_eq!(
        ok(
            store.settle(at(59), at(2), &[late]).await,
            "settling with a lost lease"
        ),
        0
    );
    assert!(
        !ok(store.any_event_due(at(100)).await, "looking for events"),
        "an outcome the claim no longer held reports nothing"
    );
    let mut held = sent(message);
    held.event = Some(delivered(2));
    assert_eq!(ok(store.settle(lease, at(3), &[held]).await, "settling"), 1);
    let events = claim_all(&store, at(100)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, delivered(2));
}

/// Setting again replaces URL and secret (queued events then go to the new
/// one); an unknown tenant is `MissingReference`; removing drops the
/// queued events and answers whether there was an endpoint.
pub async fn endpoints_are_set_replaced_and_removed_with_their_queue<S: Storage>(store: S) {
    let a = tenant(&store, "Acme").await;
    assert_eq!(ok(store.endpoint(a.id).await, "reading"), None);
    let ghost = TenantId::from_uuid(Uuid::now_v7());
    assert!(
        matches!(
            store
                .set_endpoint(&endpoint(ghost, "https://x.example.com/", 4))
                .await,
            Err(StoreError::MissingReference)
        ),
        "an endpoint needs its tenant"
    );
    let first = endpoint(a.id, "https://one.example.com/", 5);
    ok(store.set_endpoint(&first).await, "setting");
    let (new, _) = new_user(&a, "ada@example.com", at(0));
    ok(store.insert_invited(&new).await, "inviting");
    let second = endpoint(a.id, "https://two.example.com/", 6);
    ok(store.set_endpoint(&second).await, "replacing");
    assert_eq!(
        ok(store.endpoint(a.id).await, "reading"),
        Some(second.clone())
    );
    let claimed = claim_all(&store, at(10)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        claimed[0].endpoint.as_ref(),
        Some(&second),
        "a queued event goes to the endpoint set now"
    );

    assert!(ok(store.remove_endpoint(a.id).await, "removing"));
    assert_eq!(ok(store.endpoint(a.id).await, "reading"), None);
    assert!(
        !ok(store.any_event_due(at(1000)).await, "looking for events"),
        "removing the endpoint drops its queue"
    );
    assert!(
        !ok(store.remove_endpoint(a.id).await, "removing again"),
        "nothing left to remove"
    );
    let (other, _) = new_user(&a, "bo@example.com", at(20));
    ok(
        store.insert_invited(&other).await,
        "inviting without an endpoint",
    );
    assert!(
        !ok(store.any_event_due(at(1000)).await, "looking for events"),
        "no endpoint, no event"
    );
}

/// Retention deletes delivered and failed events older than its instant,
/// never a pending one.
pub async fn settled_events_are_pruned_and_pending_ones_kept<S: Storage>(store: S) {
    let a = tenant(&store, "Acme").await;
    ok(
        store
            .set_endpoint(&endpoint(a.id, "https://hooks.example.com/", 7))
            .await,
        "setting the endpoint",
    );
    let mut ids = Vec::new();
    for i in 0..4 {
        let (new, _) = new_user(&a, &format!("u{i}@example.com"), at(i));
        ids.push(new.event.id);
        ok(store.insert_invited(&new).await, "inviting");
    }
    let lease = at(60);
    let claimed = ok(store.claim_events(at(10), lease, 10).await, "claiming");
    assert_eq!(claimed.len(), 4);
    let outcomes = [
        EventSettlement {
            id: ids[0],
            outcome: EventOutcome::Delivered,
        },
        EventSettlement {
            id: ids[1],
            outcome: EventOutcome::Failed {
                reason: "gave up".into(),
            },
        },
        EventSettlement {
            id: ids[2],
            outcome: EventOutcome::Retry {
                next_attempt_at: at(20),
                error: "HTTP 503".into(),
            },
        },
    ];
    assert_eq!(
        ok(
            store.settle_events(lease, at(11), &outcomes).await,
            "settling"
        ),
        3
    );
    let long_ago = t0() - Duration::days(1);
    let before = beckon_ports::PruneBefore {
        audit: long_ago,
        outbox: at(100),
        sends: long_ago,
        idempotency: long_ago,
        limit: 100,
    };
    let pruned = ok(store.prune(&before).await, "pruning");
    assert_eq!(pruned.webhooks, 2, "the delivered and the failed event");
    assert_eq!(pruned.outbox, 0, "pending emails stay");
    let left = claim_all(&store, at(1000)).await;
    assert_eq!(
        left.iter().map(|c| c.event.id).collect::<Vec<_>>(),
        vec![ids[2], ids[3]],
        "the retried and the leased event stay"
    );
}
