//! Drain the outbox: send due messages through the Mailer, mark them sent
//! (erasing the token), retry transient failures with exponential backoff and
//! jitter, give up into `failed` after a bounded number of attempts or age.

use std::sync::Arc;
use std::time::Duration;

use beckon_ports::{ClaimedMessage, Clock, MailError, Mailer, OutboxRepo, Random, StoreError};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};

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

    /// Claims one batch of due messages and handles them, up to
    /// `concurrency` at a time. A caller loops: at once again when the batch
    /// was full, after a pause otherwise. A store failure while settling one
    /// message does not stop the others; the first such failure is returned
    /// after the batch (the unsettled message's lease expires and it is
    /// claimed again).
    pub async fn run_once(&self) -> Result<DeliveryReport, StoreError> {
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
        let mut settled = stream::iter(batch)
            .map(|message| self.deliver(message))
            .buffer_unordered(self.policy.concurrency.max(1));
        let mut first_error = None;
        while let Some(result) = settled.next().await {
            match result {
                Ok(Settled::Sent) => report.sent += 1,
                Ok(Settled::Retried) => report.retried += 1,
                Ok(Settled::Failed) => report.failed += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Sends one message and settles it.
    async fn deliver(&self, message: ClaimedMessage) -> Result<Settled, StoreError> {
        let result = self.mailer.send(message.id, &message.email).await;
        let now = self.clock.now();
        match result {
            Ok(()) => {
                self.outbox.mark_sent(message.id, now).await?;
                tracing::info!(outbox_id = %message.id, attempt = message.attempt, "invite email delivered");
                Ok(Settled::Sent)
            }
            Err(MailError::Permanent(reason)) => {
                self.outbox.mark_failed(message.id, now, &reason).await?;
                tracing::warn!(outbox_id = %message.id, %reason, "invite email rejected permanently");
                Ok(Settled::Failed)
            }
            Err(MailError::Transient(reason)) if self.exhausted(&message, now) => {
                let why = format!("gave up after {} attempts: {reason}", message.attempt);
                self.outbox.mark_failed(message.id, now, &why).await?;
                tracing::warn!(outbox_id = %message.id, %reason, "invite email given up");
                Ok(Settled::Failed)
            }
            Err(MailError::Transient(reason)) => {
                let next = now + delta(self.backoff(message.attempt));
                self.outbox
                    .schedule_retry(message.id, next, &reason)
                    .await?;
                tracing::info!(outbox_id = %message.id, %reason, "invite email will be retried");
                Ok(Settled::Retried)
            }
        }
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

/// How one message ended this attempt.
enum Settled {
    Sent,
    Retried,
    Failed,
}

#[cfg(test)]
#[path = "deliver_outbox_tests.rs"]
mod tests;
