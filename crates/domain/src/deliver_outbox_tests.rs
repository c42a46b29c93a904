//! Rules of outbox delivery, on mocks.

use super::*;
use crate::test_support::*;
use beckon_ports::{ClaimedMessage, InviteEmail, Mailer, OutboxId};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn message(n: u128, attempt: u32) -> ClaimedMessage {
    let user = invited_user(tenant_a(), 1, 0);
    ClaimedMessage {
        id: OutboxId::from_uuid(uuid::Uuid::from_u128(n)),
        tenant_id: tenant_a(),
        user_id: user.id,
        email: InviteEmail {
            to: user.email,
            to_name: user.name,
            tenant_name: beckon_ports::TenantName::parse("Acme").unwrap(),
            token: token(),
            expires_at: at_secs(3600),
        },
        attempt,
        created_at: at_secs(0),
    }
}

fn policy() -> DeliveryPolicy {
    DeliveryPolicy {
        max_attempts: 3,
        max_age: Duration::from_secs(3600),
        base_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(25),
        lease: Duration::from_secs(60),
        batch: 10,
        concurrency: 4,
    }
}

fn claiming(b: &mut PortsBuilder, batch: Vec<ClaimedMessage>) {
    b.outbox
        .expect_claim_due()
        .withf(|now, lease, limit| *now == at_secs(100) && *lease == at_secs(160) && *limit == 10)
        .times(1)
        .return_once(move |_, _, _| Ok(batch));
}

#[tokio::test]
async fn delivered_messages_are_marked_sent_which_erases_the_token() {
    let mut b = PortsBuilder::new();
    b.clock = fixed_clock(100);
    claiming(&mut b, vec![message(1, 1), message(2, 1)]);
    b.mailer.expect_send().times(2).returning(|_, _| Ok(()));
    b.outbox
        .expect_mark_sent()
        .withf(|_, at| *at == at_secs(100))
        .times(2)
        .returning(|_, _| Ok(()));
    let report = DeliverOutbox::new(&b.build(), policy())
        .run_once()
        .await
        .unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            claimed: 2,
            sent: 2,
            retried: 0,
            failed: 0
        }
    );
}

#[tokio::test]
async fn a_permanent_rejection_fails_the_message_at_once_with_the_reason() {
    let mut b = PortsBuilder::new();
    b.clock = fixed_clock(100);
    claiming(&mut b, vec![message(1, 1)]);
    b.mailer
        .expect_send()
        .returning(|_, _| Err(MailError::Permanent("550 no such user".into())));
    b.outbox
        .expect_mark_failed()
        .withf(|_, _, reason| reason == "550 no such user")
        .times(1)
        .returning(|_, _, _| Ok(()));
    let report = DeliverOutbox::new(&b.build(), policy())
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
}

#[tokio::test]
async fn a_transient_failure_is_retried_with_exponential_backoff() {
    // attempt 1 → 10 s, attempt 2 → 20 s; half of it is jitter (0 here).
    for (attempt, delay) in [(1, 5), (2, 10)] {
        let mut b = PortsBuilder::new();
        b.clock = fixed_clock(100);
        claiming(&mut b, vec![message(1, attempt)]);
        b.mailer
            .expect_send()
            .returning(|_, _| Err(MailError::Transient("421 busy".into())));
        b.outbox
            .expect_schedule_retry()
            .withf(move |_, next, err| *next == at_secs(100 + delay) && err == "421 busy")
            .times(1)
            .returning(|_, _, _| Ok(()));
        let report = DeliverOutbox::new(&b.build(), policy())
            .run_once()
            .await
            .unwrap();
        assert_eq!(report.retried, 1, "attempt {attempt}");
    }
}

#[tokio::test]
async fn backoff_is_capped_and_jitter_stays_within_half_of_it() {
    let b = PortsBuilder::new();
    let d = DeliverOutbox::new(&b.build(), policy());
    assert_eq!(d.backoff(1), Duration::from_secs(5));
    assert_eq!(d.backoff(2), Duration::from_secs(10));
    assert_eq!(d.backoff(3), Duration::from_millis(12_500)); // capped at 25 s
    assert_eq!(d.backoff(40), Duration::from_millis(12_500));
}

#[tokio::test]
async fn a_message_out_of_attempts_is_given_up_as_failed() {
    let mut b = PortsBuilder::new();
    b.clock = fixed_clock(100);
    claiming(&mut b, vec![message(1, 3)]);
    b.mailer
        .expect_send()
        .returning(|_, _| Err(MailError::Transient("timeout".into())));
    b.outbox
        .expect_mark_failed()
        .withf(|_, _, reason| reason.contains("3 attempts") && reason.contains("timeout"))
        .times(1)
        .returning(|_, _, _| Ok(()));
    b.outbox.expect_schedule_retry().never();
    let report = DeliverOutbox::new(&b.build(), policy())
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
}

#[tokio::test]
async fn a_message_older_than_the_max_age_is_given_up_as_failed() {
    let mut b = PortsBuilder::new();
    b.clock = fixed_clock(3700);
    b.outbox
        .expect_claim_due()
        .return_once(|_, _, _| Ok(vec![message(1, 1)]));
    b.mailer
        .expect_send()
        .returning(|_, _| Err(MailError::Transient("refused".into())));
    b.outbox
        .expect_mark_failed()
        .times(1)
        .returning(|_, _, _| Ok(()));
    let report = DeliverOutbox::new(&b.build(), policy())
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
}

#[tokio::test]
async fn one_failing_message_does_not_stop_the_others() {
    let mut b = PortsBuilder::new();
    b.clock = fixed_clock(100);
    claiming(&mut b, vec![message(1, 1), message(2, 1)]);
    b.mailer.expect_send().returning(|id, _| {
        if id.as_uuid().as_u128() == 1 {
            Err(MailError::Transient("x".into()))
        } else {
            Ok(())
        }
    });
    b.outbox
        .expect_schedule_retry()
        .times(1)
        .returning(|_, _, _| Ok(()));
    b.outbox
        .expect_mark_sent()
        .times(1)
        .returning(|_, _| Ok(()));
    let report = DeliverOutbox::new(&b.build(), policy())
        .run_once()
        .await
        .unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            claimed: 2,
            sent: 1,
            retried: 1,
            failed: 0
        }
    );
}

#[tokio::test]
async fn an_outage_while_claiming_is_reported() {
    let mut b = PortsBuilder::new();
    b.outbox
        .expect_claim_due()
        .returning(|_, _, _| Err(unavailable()));
    let result = DeliverOutbox::new(&b.build(), policy()).run_once().await;
    assert!(matches!(
        result,
        Err(beckon_ports::StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_failure_to_settle_one_message_does_not_keep_the_others_unsettled() {
    let mut b = PortsBuilder::new();
    b.clock = fixed_clock(100);
    claiming(&mut b, vec![message(1, 1), message(2, 1), message(3, 1)]);
    b.mailer.expect_send().times(3).returning(|_, _| Ok(()));
    b.outbox.expect_mark_sent().times(3).returning(|id, _| {
        if id.as_uuid().as_u128() == 2 {
            Err(unavailable())
        } else {
            Ok(())
        }
    });
    let result = DeliverOutbox::new(&b.build(), policy()).run_once().await;
    assert!(matches!(
        result,
        Err(beckon_ports::StoreError::Unavailable(_))
    ));
}

/// A mailer that takes a while and records how many sends overlap.
struct Slow {
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl Mailer for Slow {
    async fn send(&self, _: OutboxId, _: &InviteEmail) -> Result<(), MailError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn a_batch_is_sent_concurrently_up_to_the_limit() {
    let peak = Arc::new(AtomicUsize::new(0));
    let mut b = PortsBuilder::new();
    b.clock = fixed_clock(100);
    claiming(&mut b, (0..10).map(|n| message(n, 1)).collect());
    b.outbox
        .expect_mark_sent()
        .times(10)
        .returning(|_, _| Ok(()));
    let mut ports = b.build();
    ports.mailer = Arc::new(Slow {
        in_flight: Arc::new(AtomicUsize::new(0)),
        peak: peak.clone(),
    });
    let report = DeliverOutbox::new(&ports, policy())
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.sent, 10);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        4,
        "the policy's concurrency is 4"
    );
}
