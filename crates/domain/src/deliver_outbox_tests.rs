//! Rules of outbox delivery, on mocks.

use super::*;
use crate::test_support::*;
use beckon_ports::{ClaimedMessage, DeliveryOutcome, InviteEmail, Mailer, OutboxId, Settlement};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn message(n: u128, attempt: u32) -> ClaimedMessage {
    let user = invited_user(tenant_a(), 1, 0);
    ClaimedMessage {
        id: OutboxId::from_uuid(uuid::Uuid::from_u128(n)),
        tenant_id: tenant_a(),
        user_id: user.id,
        email: InviteEmail {
            locale: beckon_ports::Locale::En,
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
        lease_margin: Duration::from_secs(30),
        batch: 10,
        concurrency: 4,
    }
}

/// The mock mailer's bound on one send.
const MAX_SEND: Duration = Duration::from_secs(10);

/// Something is due at 100 s and the claim returns `batch`; the lease is
/// 3 rounds of 4 sends × 10 s + 30 s of margin = 60 s.
fn claiming(b: &mut MockPorts, batch: Vec<ClaimedMessage>) {
    b.clock = fixed_clock(100);
    b.mailer.expect_max_send_time().return_const(MAX_SEND);
    b.outbox
        .expect_any_due()
        .withf(|now| *now == at_secs(100))
        .returning(|_| Ok(true));
    b.outbox
        .expect_claim_due()
        .withf(|now, lease, limit| *now == at_secs(100) && *lease == at_secs(160) && *limit == 10)
        .times(1)
        .return_once(move |_, _, _| Ok(batch));
}

/// Expects one settle of the claim leased until 160 s, hands its outcomes
/// (by message number) to `check` and answers that all were settled.
fn settling(b: &mut MockPorts, check: impl Fn(&[(u128, DeliveryOutcome)]) + Send + 'static) {
    b.outbox
        .expect_settle()
        .withf(|lease, at, _| *lease == at_secs(160) && *at == at_secs(100))
        .times(1)
        .returning(move |_, _, outcomes: &[Settlement]| {
            let mut seen: Vec<(u128, DeliveryOutcome)> = outcomes
                .iter()
                .map(|s| (s.id.as_uuid().as_u128(), s.outcome.clone()))
                .collect();
            seen.sort_by_key(|(n, _)| *n);
            check(&seen);
            Ok(outcomes.len())
        });
}

async fn run(b: MockPorts) -> DeliveryReport {
    DeliverOutbox::new(&b.build(), policy())
        .run_once()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_idle_queue_costs_one_read_and_no_claim() {
    let mut b = MockPorts::new();
    b.outbox.expect_any_due().times(1).returning(|_| Ok(false));
    b.outbox.expect_claim_due().never();
    b.outbox.expect_settle().never();
    assert_eq!(run(b).await, DeliveryReport::default());
}

#[tokio::test]
async fn delivered_messages_are_settled_as_sent_in_one_call() {
    let mut b = MockPorts::new();
    claiming(&mut b, vec![message(1, 1), message(2, 1)]);
    b.mailer.expect_send().times(2).returning(|_, _| Ok(()));
    settling(&mut b, |seen| {
        assert_eq!(
            seen,
            [(1, DeliveryOutcome::Sent), (2, DeliveryOutcome::Sent)]
        );
    });
    assert_eq!(
        run(b).await,
        DeliveryReport {
            claimed: 2,
            sent: 2,
            ..DeliveryReport::default()
        }
    );
}

#[tokio::test]
async fn a_permanent_rejection_fails_the_message_at_once_with_the_reason() {
    let mut b = MockPorts::new();
    claiming(&mut b, vec![message(1, 1)]);
    b.mailer
        .expect_send()
        .returning(|_, _| Err(MailError::Permanent("550 no such user".into())));
    settling(&mut b, |seen| {
        assert_eq!(
            seen,
            [(
                1,
                DeliveryOutcome::Failed {
                    reason: "550 no such user".into()
                }
            )]
        );
    });
    assert_eq!(run(b).await.failed, 1);
}

#[tokio::test]
async fn a_transient_failure_is_retried_with_exponential_backoff() {
    // attempt 1 → 10 s, attempt 2 → 20 s; half of it is jitter (0 here).
    for (attempt, delay) in [(1, 5), (2, 10)] {
        let mut b = MockPorts::new();
        claiming(&mut b, vec![message(1, attempt)]);
        b.mailer
            .expect_send()
            .returning(|_, _| Err(MailError::Transient("421 busy".into())));
        settling(&mut b, move |seen| {
            let retry = DeliveryOutcome::Retry {
                next_attempt_at: at_secs(100 + delay),
                error: "421 busy".into(),
            };
            assert_eq!(seen, [(1, retry)]);
        });
        assert_eq!(run(b).await.retried, 1, "attempt {attempt}");
    }
}

#[tokio::test]
async fn backoff_is_capped_and_jitter_stays_within_half_of_it() {
    let b = MockPorts::new();
    let d = DeliverOutbox::new(&b.build(), policy());
    assert_eq!(d.backoff(1), Duration::from_secs(5));
    assert_eq!(d.backoff(2), Duration::from_secs(10));
    assert_eq!(d.backoff(3), Duration::from_millis(12_500)); // capped at 25 s
    assert_eq!(d.backoff(40), Duration::from_millis(12_500));
}

#[tokio::test]
async fn the_lease_covers_every_round_of_sends_at_the_mailers_bound_plus_the_margin() {
    let mut b = MockPorts::new();
    b.mailer.expect_max_send_time().return_const(MAX_SEND);
    let d = DeliverOutbox::new(&b.build(), policy());
    // 10 messages, 4 at a time: 3 rounds of at most 10 s, then 30 s.
    assert_eq!(d.lease(), Duration::from_secs(60));
}

#[tokio::test]
async fn a_message_out_of_attempts_is_given_up_as_failed() {
    let mut b = MockPorts::new();
    claiming(&mut b, vec![message(1, 3)]);
    b.mailer
        .expect_send()
        .returning(|_, _| Err(MailError::Transient("timeout".into())));
    settling(&mut b, |seen| {
        let [(1, DeliveryOutcome::Failed { reason })] = seen else {
            panic!("expected one failure, got {seen:?}");
        };
        assert!(reason.contains("3 attempts") && reason.contains("timeout"));
    });
    assert_eq!(run(b).await.failed, 1);
}

#[tokio::test]
async fn a_message_older_than_the_max_age_is_given_up_as_failed() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(3700);
    b.mailer.expect_max_send_time().return_const(MAX_SEND);
    b.outbox.expect_any_due().returning(|_| Ok(true));
    b.outbox
        .expect_claim_due()
        .return_once(|_, _, _| Ok(vec![message(1, 1)]));
    b.mailer
        .expect_send()
        .returning(|_, _| Err(MailError::Transient("refused".into())));
    b.outbox
        .expect_settle()
        .withf(|_, _, outcomes| {
            matches!(
                outcomes,
                [Settlement {
                    outcome: DeliveryOutcome::Failed { .. },
                    ..
                }]
            )
        })
        .times(1)
        .returning(|_, _, _| Ok(1));
    assert_eq!(run(b).await.failed, 1);
}

#[tokio::test]
async fn one_failing_message_does_not_stop_the_others() {
    let mut b = MockPorts::new();
    claiming(&mut b, vec![message(1, 1), message(2, 1)]);
    b.mailer.expect_send().returning(|id, _| {
        if id.as_uuid().as_u128() == 1 {
            Err(MailError::Transient("x".into()))
        } else {
            Ok(())
        }
    });
    settling(&mut b, |seen| {
        assert!(matches!(seen[0], (1, DeliveryOutcome::Retry { .. })));
        assert_eq!(seen[1], (2, DeliveryOutcome::Sent));
    });
    assert_eq!(
        run(b).await,
        DeliveryReport {
            claimed: 2,
            sent: 1,
            retried: 1,
            ..DeliveryReport::default()
        }
    );
}

#[tokio::test]
async fn an_outage_while_looking_for_work_or_claiming_is_reported() {
    let mut b = MockPorts::new();
    b.outbox.expect_any_due().returning(|_| Err(unavailable()));
    let result = DeliverOutbox::new(&b.build(), policy()).run_once().await;
    assert!(matches!(
        result,
        Err(beckon_ports::StoreError::Unavailable(_))
    ));

    let mut b = MockPorts::new();
    b.mailer.expect_max_send_time().return_const(MAX_SEND);
    b.outbox.expect_any_due().returning(|_| Ok(true));
    b.outbox
        .expect_claim_due()
        .returning(|_, _, _| Err(unavailable()));
    b.mailer.expect_send().never();
    let result = DeliverOutbox::new(&b.build(), policy()).run_once().await;
    assert!(matches!(
        result,
        Err(beckon_ports::StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn an_outage_while_settling_is_reported_and_the_lease_brings_the_batch_back() {
    let mut b = MockPorts::new();
    claiming(&mut b, vec![message(1, 1), message(2, 1)]);
    b.mailer.expect_send().times(2).returning(|_, _| Ok(()));
    b.outbox
        .expect_settle()
        .times(1)
        .returning(|_, _, _| Err(unavailable()));
    let result = DeliverOutbox::new(&b.build(), policy()).run_once().await;
    assert!(matches!(
        result,
        Err(beckon_ports::StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn messages_whose_lease_ran_out_before_settling_are_counted_not_hidden() {
    let mut b = MockPorts::new();
    claiming(&mut b, vec![message(1, 1), message(2, 1), message(3, 1)]);
    b.mailer.expect_send().times(3).returning(|_, _| Ok(()));
    // Another claim took one of them over: the fenced settle changed two.
    b.outbox.expect_settle().times(1).returning(|_, _, _| Ok(2));
    let report = run(b).await;
    assert_eq!((report.sent, report.lost_lease), (3, 1));
}

/// A mailer that yields a few times per send and records how many sends
/// overlap (no wall clock: overlap comes from polling, not from time).
struct Slow {
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl Mailer for Slow {
    async fn send(&self, _: OutboxId, _: &InviteEmail) -> Result<(), MailError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    fn max_send_time(&self) -> Duration {
        MAX_SEND
    }
}

#[tokio::test]
async fn a_batch_is_sent_concurrently_up_to_the_limit() {
    let peak = Arc::new(AtomicUsize::new(0));
    let mut b = MockPorts::new();
    claiming(&mut b, (0..10).map(|n| message(n, 1)).collect());
    settling(&mut b, |seen| assert_eq!(seen.len(), 10));
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

/// Something is always due at 100 s; each claim hands out the next batch of
/// `batches` (the lease as in [`claiming`]) and each settle settles all.
fn claiming_batches(b: &mut MockPorts, batches: Vec<Vec<ClaimedMessage>>) {
    b.clock = fixed_clock(100);
    b.mailer.expect_max_send_time().return_const(MAX_SEND);
    b.outbox.expect_any_due().returning(|_| Ok(true));
    let count = batches.len();
    let batches = std::sync::Mutex::new(batches.into_iter());
    b.outbox
        .expect_claim_due()
        .withf(|now, lease, _| *now == at_secs(100) && *lease == at_secs(160))
        .times(count)
        .returning(move |_, _, _| Ok(batches.lock().unwrap().next().unwrap()));
    b.outbox
        .expect_settle()
        .times(count)
        .returning(|_, _, outcomes: &[Settlement]| Ok(outcomes.len()));
}

#[tokio::test]
async fn an_unreachable_server_stops_claims_until_a_probe_finds_it_back() {
    let mut b = MockPorts::new();
    claiming_batches(
        &mut b,
        vec![vec![message(1, 1), message(2, 1)], vec![message(3, 1)]],
    );
    let sends = Arc::new(AtomicUsize::new(0));
    let counter = sends.clone();
    b.mailer.expect_send().times(3).returning(move |_, _| {
        match counter.fetch_add(1, Ordering::SeqCst) {
            0 | 1 => Err(MailError::Unreachable("connection refused".into())),
            _ => Ok(()),
        }
    });
    let probes = Arc::new(AtomicUsize::new(0));
    let counter = probes.clone();
    b.mailer.expect_probe().times(2).returning(move || {
        match counter.fetch_add(1, Ordering::SeqCst) {
            0 => Err(MailError::Unreachable("connection refused".into())),
            _ => Ok(()),
        }
    });
    let deliver = DeliverOutbox::new(&b.build(), policy());

    // The batch finds the server gone: both retried, with the usual backoff.
    let first = deliver.run_once().await.unwrap();
    assert_eq!((first.claimed, first.retried), (2, 2));
    assert!(first.mailer_unreachable);
    // Still gone: the probe says so and nothing is claimed (no attempt is
    // spent on an outage).
    let second = deliver.run_once().await.unwrap();
    assert_eq!(
        second,
        DeliveryReport {
            mailer_unreachable: true,
            ..DeliveryReport::default()
        }
    );
    // Back: the probe answers, the next batch is claimed and sent.
    let third = deliver.run_once().await.unwrap();
    assert_eq!((third.claimed, third.sent), (1, 1));
    assert!(!third.mailer_unreachable);
    assert_eq!(probes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_send_is_retried_after_the_usual_backoff() {
    let mut b = MockPorts::new();
    claiming(&mut b, vec![message(1, 2)]);
    b.mailer
        .expect_send()
        .returning(|_, _| Err(MailError::Unreachable("timed out".into())));
    settling(&mut b, |seen| {
        let retry = DeliveryOutcome::Retry {
            next_attempt_at: at_secs(110),
            error: "timed out".into(),
        };
        assert_eq!(seen, [(1, retry)]);
    });
    assert!(run(b).await.mailer_unreachable);
}

#[tokio::test]
async fn one_delivered_message_in_the_batch_shows_the_server_is_there() {
    let mut b = MockPorts::new();
    claiming_batches(
        &mut b,
        vec![vec![message(1, 1), message(2, 1)], vec![message(3, 1)]],
    );
    b.mailer.expect_send().times(3).returning(|id, _| {
        if id.as_uuid().as_u128() == 1 {
            Err(MailError::Unreachable("connection reset".into()))
        } else {
            Ok(())
        }
    });
    b.mailer.expect_probe().never();
    let deliver = DeliverOutbox::new(&b.build(), policy());
    let first = deliver.run_once().await.unwrap();
    assert_eq!((first.sent, first.retried), (1, 1));
    assert!(!first.mailer_unreachable);
    // No probe: the next batch is claimed straight away.
    assert_eq!(deliver.run_once().await.unwrap().sent, 1);
}

#[tokio::test]
async fn while_the_server_is_down_and_nothing_is_due_there_is_no_probe() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(100);
    b.mailer.expect_max_send_time().return_const(MAX_SEND);
    b.outbox.expect_any_due().times(1).returning(|_| Ok(true));
    b.outbox
        .expect_claim_due()
        .times(1)
        .return_once(|_, _, _| Ok(vec![message(1, 1)]));
    b.outbox.expect_any_due().returning(|_| Ok(false));
    b.outbox
        .expect_settle()
        .times(1)
        .returning(|_, _, outcomes: &[Settlement]| Ok(outcomes.len()));
    b.mailer
        .expect_send()
        .returning(|_, _| Err(MailError::Unreachable("connection refused".into())));
    b.mailer.expect_probe().never();
    let deliver = DeliverOutbox::new(&b.build(), policy());
    assert!(deliver.run_once().await.unwrap().mailer_unreachable);
    assert_eq!(deliver.run_once().await.unwrap(), DeliveryReport::default());
}
