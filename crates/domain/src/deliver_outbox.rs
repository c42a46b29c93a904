//! Drain the outbox: send due messages through the Mailer, mark them sent
//! (erasing the token), retry transient failures with exponential backoff and
//! jitter, give up into `failed` after a bounded number of attempts or age.

use std::sync::Arc;
use std::time::Duration;

use beckon_ports::{ClaimedMessage, Clock, MailError, Mailer, OutboxRepo, Random};
use chrono::{DateTime, Utc};

use crate::Ports;
use crate::error::delta;
use crate::policy::DeliveryPolicy;

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Messages leased.
    pub claimed: usize,
    /// Delivered.
    pub sent: usize,
    /// Failed transiently, due again later.
    pub retried: usize,
    /// Given up.
    pub failed: usize,
}

/// The worker's step.
pub struct DeliverOutbox {
    outbox: Arc<dyn OutboxRepo>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    policy: DeliveryPolicy,
}

impl DeliverOutbox {
    /// Builds the use case from the ports it needs.
    pub fn new(ports: &Ports, policy: DeliveryPolicy) -> Self {
        Self {
            outbox: ports.outbox.clone(),
            mailer: ports.mailer.clone(),
            clock: ports.clock.clone(),
            random: ports.random.clone(),
            policy,
        }
    }

    /// Claims one batch of due messages and handles each. A caller loops:
    /// at once again when the batch was full, after a pause otherwise.
    pub async fn run_once(&self) -> Result<DeliveryReport, beckon_ports::StoreError> {
        let now = self.clock.now();
        let lease_until = now + delta(self.policy.lease);
        let batch = self
            .outbox
            .claim_due(now, lease_until, self.policy.batch)
            .await?;
        let mut report = DeliveryReport {
            claimed: batch.len(),
            ..DeliveryReport::default()
        };
        for message in batch {
            let result = self.mailer.send(message.id, &message.email).await;
            let now = self.clock.now();
            match result {
                Ok(()) => {
                    self.outbox.mark_sent(message.id, now).await?;
                    tracing::info!(outbox_id = %message.id, attempt = message.attempt, "invite email delivered");
                    report.sent += 1;
                }
                Err(MailError::Permanent(reason)) => {
                    self.outbox.mark_failed(message.id, now, &reason).await?;
                    tracing::warn!(outbox_id = %message.id, %reason, "invite email rejected permanently");
                    report.failed += 1;
                }
                Err(MailError::Transient(reason)) => {
                    if self.exhausted(&message, now) {
                        let why = format!("gave up after {} attempts: {reason}", message.attempt);
                        self.outbox.mark_failed(message.id, now, &why).await?;
                        tracing::warn!(outbox_id = %message.id, %reason, "invite email given up");
                        report.failed += 1;
                    } else {
                        let next = now + delta(self.backoff(message.attempt));
                        self.outbox
                            .schedule_retry(message.id, next, &reason)
                            .await?;
                        tracing::info!(outbox_id = %message.id, %reason, "invite email will be retried");
                        report.retried += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    fn exhausted(&self, message: &ClaimedMessage, now: DateTime<Utc>) -> bool {
        message.attempt >= self.policy.max_attempts
            || now - message.created_at >= delta(self.policy.max_age)
    }

    /// `base · 2^(attempt-1)`, capped, then "equal jitter": half fixed, half
    /// random, so retries of many messages spread out but never bunch at zero.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let full = self
            .policy
            .base_backoff
            .saturating_mul(1u32 << exp)
            .min(self.policy.max_backoff);
        let half = full / 2;
        let jitter_ms = self
            .random
            .below(u64::try_from(half.as_millis()).unwrap_or(u64::MAX));
        half + Duration::from_millis(jitter_ms)
    }
}

#[cfg(test)]
#[path = "deliver_outbox_tests.rs"]
mod tests;
