//! Deliver the webhook events the store queued with the changes they
//! report: claim a batch under a lease, post each (signed by the sender),
//! settle the batch in one store call. A 2xx answer is success; anything
//! else is retried with the email worker's backoff and limits
//! (`DeliveryPolicy`), and given up as `failed` after the last attempt.
//! Every attempt of one event carries the same `webhook-id`, so a receiver
//! that saw it before drops it: delivery is at least once.

use std::sync::Arc;
use std::time::Duration;

use beckon_ports::{
    ClaimedEvent, Clock, EventOutcome, EventSettlement, Random, StoreError, WebhookError,
    WebhookPost, WebhookRepo, WebhookSender,
};
use futures_util::{StreamExt, stream};

use crate::deliver_outbox::DeliveryReport;
use crate::error::delta;
use crate::policy::DeliveryPolicy;

/// The webhook worker's step.
pub struct DeliverWebhooks {
    webhooks: Arc<dyn WebhookRepo>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    policy: DeliveryPolicy,
}

impl DeliverWebhooks {
    /// Builds the step from the four ports it uses.
    pub fn new(
        webhooks: Arc<dyn WebhookRepo>,
        sender: Arc<dyn WebhookSender>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        policy: DeliveryPolicy,
    ) -> Self {
        Self {
            webhooks,
            sender,
            clock,
            random,
            policy,
        }
    }

    /// Claims one batch of due events, posts them up to `concurrency` at a
    /// time, settles the batch. Nothing due costs one read and no write.
    /// `sent` in the report counts delivered events.
    pub async fn run_once(&self) -> Result<DeliveryReport, StoreError> {
        let now = self.clock.now();
        if !self.webhooks.any_event_due(now).await? {
            return Ok(DeliveryReport::default());
        }
        let lease_until = now + delta(self.lease());
        let batch = self
            .webhooks
            .claim_events(now, lease_until, self.policy.batch)
            .await?;
        let mut report = DeliveryReport {
            claimed: batch.len(),
            ..DeliveryReport::default()
        };
        if batch.is_empty() {
            return Ok(report);
        }
        let outcomes: Vec<EventSettlement> = stream::iter(batch)
            .map(|claimed| self.attempt(claimed))
            .buffer_unordered(self.policy.concurrency.max(1))
            .collect()
            .await;
        for s in &outcomes {
            match s.outcome {
                EventOutcome::Delivered => report.sent += 1,
                EventOutcome::Retry { .. } => report.retried += 1,
                EventOutcome::Failed { .. } => report.failed += 1,
            }
        }
        let settled = self
            .webhooks
            .settle_events(lease_until, self.clock.now(), &outcomes)
            .await?;
        crate::metrics::record_webhook_deliveries(&report);
        report.lost_lease = outcomes.len().saturating_sub(settled);
        Ok(report)
    }

    /// How long a batch stays leased: every round of `concurrency` posts
    /// taking the sender's `max_send_time`, plus the policy's margin.
    pub fn lease(&self) -> Duration {
        self.policy.lease(self.sender.max_send_time())
    }

    async fn attempt(&self, claimed: ClaimedEvent) -> EventSettlement {
        let id = claimed.event.id;
        let Some(endpoint) = &claimed.endpoint else {
            return EventSettlement {
                id,
                outcome: EventOutcome::Failed {
                    reason: "the tenant's webhook endpoint was removed".to_owned(),
                },
            };
        };
        let post = WebhookPost {
            id: claimed.event.webhook_id(),
            timestamp: self.clock.now(),
            body: claimed.event.body(),
        };
        let result = self.sender.post(endpoint, &post).await;
        let now = self.clock.now();
        let event_type = claimed.event.event_type.as_str();
        let outcome = match result {
            Ok(()) => {
                tracing::info!(event_id = %id, event_type, attempt = claimed.attempt, "webhook delivered");
                EventOutcome::Delivered
            }
            Err(WebhookError::Transient(reason))
                if self
                    .policy
                    .exhausted(claimed.attempt, claimed.queued_at, now) =>
            {
                tracing::warn!(event_id = %id, event_type, %reason, "webhook given up");
                EventOutcome::Failed {
                    reason: format!("gave up after {} attempts: {reason}", claimed.attempt),
                }
            }
            Err(WebhookError::Transient(reason)) => {
                tracing::info!(event_id = %id, event_type, %reason, "webhook will be retried");
                EventOutcome::Retry {
                    next_attempt_at: now
                        + delta(self.policy.backoff(claimed.attempt, &*self.random)),
                    error: reason,
                }
            }
        };
        EventSettlement { id, outcome }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use beckon_ports::{
        EventType, ManualClock, MockRandom, MockWebhookRepo, MockWebhookSender, TenantId, UserId,
        WebhookEndpoint, WebhookEvent, WebhookSecret, WebhookUrl,
    };
    use chrono::{DateTime, TimeDelta, Utc};
    use uuid::Uuid;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::seconds(secs)
    }

    fn claimed(n: u128, attempt: u32, endpoint: bool) -> ClaimedEvent {
        let tenant = TenantId::from_uuid(Uuid::from_u128(9));
        ClaimedEvent {
            event: WebhookEvent {
                id: Uuid::from_u128(n),
                tenant_id: tenant,
                user_id: UserId::from_uuid(Uuid::from_u128(100 + n)),
                event_type: EventType::InviteAccepted,
                email: None,
                send: None,
                message_id: None,
                at: at(0),
            },
            attempt,
            queued_at: at(0),
            endpoint: endpoint.then(|| WebhookEndpoint {
                tenant_id: tenant,
                url: WebhookUrl::parse("http://127.0.0.1:9/hook").unwrap(),
                secret: WebhookSecret::from_bytes([1; 32]),
                created_at: at(0),
            }),
        }
    }

    fn random() -> Arc<MockRandom> {
        let mut random = MockRandom::new();
        random.expect_below().returning(|_| 0);
        Arc::new(random)
    }

    /// Posts answer by event id: odd ids fail, even ones succeed.
    fn sender(posts: Arc<Mutex<Vec<WebhookPost>>>) -> MockWebhookSender {
        let mut sender = MockWebhookSender::new();
        sender
            .expect_max_send_time()
            .return_const(Duration::from_secs(10));
        sender.expect_post().returning(move |_, post| {
            posts.lock().unwrap().push(post.clone());
            if post.id.ends_with(|c: char| "13579bdf".contains(c)) {
                Err(WebhookError::Transient("HTTP 500".to_owned()))
            } else {
                Ok(())
            }
        });
        sender
    }

    #[tokio::test]
    async fn nothing_due_claims_nothing() {
        let mut repo = MockWebhookRepo::new();
        repo.expect_any_event_due()
            .times(1)
            .returning(|_| Ok(false));
        repo.expect_claim_events().never();
        let step = DeliverWebhooks::new(
            Arc::new(repo),
            Arc::new(MockWebhookSender::new()),
            Arc::new(ManualClock::new(at(100))),
            random(),
            DeliveryPolicy::default(),
        );
        assert_eq!(step.run_once().await.unwrap(), DeliveryReport::default());
    }

    #[tokio::test]
    async fn a_batch_is_posted_and_settled_as_it_ended() {
        let policy = DeliveryPolicy::default();
        let mut repo = MockWebhookRepo::new();
        repo.expect_any_event_due().returning(|_| Ok(true));
        repo.expect_claim_events().times(1).returning(|_, _, _| {
            Ok(vec![
                claimed(2, 1, true),
                claimed(3, 1, true),
                claimed(5, policy_attempts(), true),
                claimed(4, 1, false),
            ])
        });
        let settled = Arc::new(Mutex::new(Vec::new()));
        let seen = settled.clone();
        repo.expect_settle_events()
            .times(1)
            .returning(move |lease, _, outcomes| {
                seen.lock().unwrap().push((lease, outcomes.to_vec()));
                Ok(outcomes.len())
            });
        let posts = Arc::new(Mutex::new(Vec::new()));
        let step = DeliverWebhooks::new(
            Arc::new(repo),
            Arc::new(sender(posts.clone())),
            Arc::new(ManualClock::new(at(100))),
            random(),
            policy.clone(),
        );
        let report = step.run_once().await.unwrap();
        assert_eq!((report.claimed, report.sent), (4, 1));
        assert_eq!((report.retried, report.failed), (1, 2));

        let settled = settled.lock().unwrap();
        let (lease, outcomes) = &settled[0];
        assert_eq!(*lease, at(100) + delta(step.lease()));
        let by_id = |n: u128| {
            outcomes
                .iter()
                .find(|s| s.id == Uuid::from_u128(n))
                .map(|s| s.outcome.clone())
                .unwrap()
        };
        assert_eq!(by_id(2), EventOutcome::Delivered);
        // The first retry waits half the base backoff (jitter 0).
        assert_eq!(
            by_id(3),
            EventOutcome::Retry {
                next_attempt_at: at(100) + delta(policy.base_backoff / 2),
                error: "HTTP 500".to_owned()
            }
        );
        assert!(
            matches!(by_id(5), EventOutcome::Failed { reason } if reason.contains("gave up after 8 attempts"))
        );
        assert!(matches!(by_id(4), EventOutcome::Failed { reason } if reason.contains("removed")));

        // Three posts (not the one without an endpoint), each with the
        // event's own id and the attempt's time.
        let posts = posts.lock().unwrap();
        assert_eq!(posts.len(), 3);
        assert!(posts.iter().all(|p| p.timestamp == at(100)));
        let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
        assert!(ids.contains(&"msg_00000000000000000000000000000002"));
    }

    fn policy_attempts() -> u32 {
        DeliveryPolicy::default().max_attempts
    }
}
