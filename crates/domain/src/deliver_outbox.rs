//! Drain the outbox: send due messages through the Mailer, mark them sent
//! (erasing the token), retry transient failures with exponential backoff and
//! jitter, give up into `failed` after a bounded number of attempts or age.
//! One claim and one settle per batch: two write transactions for up to
//! `batch` messages, none while nothing is due.
//!
//! While the mail server is unreachable the worker claims nothing: it
//! probes the server instead, and claims again once it answers. An outage
//! therefore costs a message at most the one attempt that found the server
//! gone, its backoff stays short, and the backlog goes out as soon as the
//! server is back rather than when each message's growing backoff ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use beckon_ports::{
    ClaimedMessage, Clock, DeliveryOutcome, EventType, MailError, Mailer, OutboxRepo, Random,
    Settlement, StoreError, WebhookEvent,
};
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
    /// Handled, but not settled: the lease ran out first and another claim
    /// took the message over (its outcome is that claim's to record).
    pub lost_lease: usize,
    /// The mail server is unreachable: the step found it so (a send failed
    /// with `MailError::Unreachable` and none succeeded), or it was so and
    /// the probe found it still is (then nothing was claimed).
    pub mailer_unreachable: bool,
}

/// The four ports delivery works with: the outbox, the mailer, the clock
/// and randomness (backoff jitter). Built from the whole `Ports` with
/// `From`, so `DeliverOutbox::new(&ports, …)` works as well.
#[derive(Clone)]
pub struct DeliveryPorts {
    /// The queued messages.
    pub outbox: Arc<dyn OutboxRepo>,
    /// Where they go.
    pub mailer: Arc<dyn Mailer>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Jitter for retries.
    pub random: Arc<dyn Random>,
}

impl From<&Ports> for DeliveryPorts {
    fn from(ports: &Ports) -> Self {
        Self {
            outbox: ports.outbox.clone(),
            mailer: ports.mailer.clone(),
            clock: ports.clock.clone(),
            random: ports.random.clone(),
        }
    }
}

/// The worker's step.
pub struct DeliverOutbox {
    outbox: Arc<dyn OutboxRepo>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    policy: DeliveryPolicy,
    /// Set when a batch found the mail server unreachable; cleared when a
    /// probe finds it back. Shared by every loop running this step.
    mailer_down: AtomicBool,
}

impl DeliverOutbox {
    /// Builds the use case from the ports it needs.
    pub fn new(ports: impl Into<DeliveryPorts>, policy: DeliveryPolicy) -> Self {
        let ports = ports.into();
        Self {
            outbox: ports.outbox,
            mailer: ports.mailer,
            clock: ports.clock,
            random: ports.random,
            policy,
            mailer_down: AtomicBool::new(false),
        }
    }

    /// Claims one batch of due messages, sends them up to `concurrency` at
    /// a time, then settles the whole batch in one store call. A caller
    /// loops: at once again when the batch was full, after a pause
    /// otherwise.
    ///
    /// An idle queue costs one read and no write: the claim (a write) only
    /// runs when the store says something is due.
    ///
    /// The lease covers the worst case of a batch: every round of
    /// `concurrency` sends taking the mailer's `max_send_time`, plus the
    /// policy's margin for claiming and settling. Should a lease run out
    /// all the same, the settle is fenced by it and changes nothing another
    /// claim took over; the report counts those as `lost_lease`.
    pub async fn run_once(&self) -> Result<DeliveryReport, StoreError> {
        let now = self.clock.now();
        if !self.outbox.any_due(now).await? {
            return Ok(DeliveryReport::default());
        }
        if self.mailer_down.load(Ordering::Relaxed) {
            if let Err(e) = self.mailer.probe().await {
                tracing::debug!(error = %e, "mail server still unreachable");
                return Ok(DeliveryReport {
                    mailer_unreachable: true,
                    ..DeliveryReport::default()
                });
            }
            self.mailer_down.store(false, Ordering::Relaxed);
            tracing::info!("mail server reachable again; delivery resumes");
        }
        let lease_until = now + delta(self.lease());
        let batch = self
            .outbox
            .claim_due(now, lease_until, self.policy.batch)
            .await?;
        let mut report = DeliveryReport {
            claimed: batch.len(),
            ..DeliveryReport::default()
        };
        if batch.is_empty() {
            return Ok(report);
        }
        let outcomes: Vec<(Settlement, bool)> = stream::iter(batch)
            .map(|message| self.attempt(message))
            .buffer_unordered(self.policy.concurrency.max(1))
            .collect()
            .await;
        let mut unreachable = false;
        for (s, was_unreachable) in &outcomes {
            unreachable |= was_unreachable;
            match s.outcome {
                DeliveryOutcome::Sent => report.sent += 1,
                DeliveryOutcome::Retry { .. } => report.retried += 1,
                DeliveryOutcome::Failed { .. } => report.failed += 1,
            }
        }
        // One success shows the server is there: an unreachable send beside
        // it was a dropped connection, not an outage.
        if unreachable && report.sent == 0 {
            report.mailer_unreachable = true;
            if !self.mailer_down.swap(true, Ordering::Relaxed) {
                tracing::warn!("mail server unreachable; probing it before claiming more");
            }
        }
        let outcomes: Vec<Settlement> = outcomes.into_iter().map(|(s, _)| s).collect();
        let settled = self
            .outbox
            .settle(lease_until, self.clock.now(), &outcomes)
            .await?;
        crate::metrics::record_deliveries(&report);
        report.lost_lease = outcomes.len().saturating_sub(settled);
        if report.lost_lease > 0 {
            tracing::warn!(
                lost = report.lost_lease,
                "leases ran out before settling; another claim took those messages over"
            );
        }
        Ok(report)
    }

    /// How long a batch stays leased (see [`DeliverOutbox::run_once`]).
    pub fn lease(&self) -> Duration {
        self.policy.lease(self.mailer.max_send_time())
    }

    /// Sends one message and says how its attempt ended, and whether it
    /// found the server unreachable.
    async fn attempt(&self, message: ClaimedMessage) -> (Settlement, bool) {
        let result = self.mailer.send(message.id, &message.email).await;
        let now = self.clock.now();
        let id = message.id;
        let unreachable = matches!(result, Err(MailError::Unreachable(_)));
        let outcome = match result {
            Ok(()) => {
                tracing::info!(outbox_id = %id, attempt = message.attempt, "invite email delivered");
                DeliveryOutcome::Sent
            }
            Err(MailError::Permanent(reason)) => {
                tracing::warn!(outbox_id = %id, %reason, "invite email rejected permanently");
                DeliveryOutcome::Failed { reason }
            }
            Err(MailError::Transient(reason) | MailError::Unreachable(reason))
                if self.exhausted(&message, now) =>
            {
                tracing::warn!(outbox_id = %id, %reason, "invite email given up");
                DeliveryOutcome::Failed {
                    reason: format!("gave up after {} attempts: {reason}", message.attempt),
                }
            }
            Err(MailError::Transient(reason) | MailError::Unreachable(reason)) => {
                tracing::info!(outbox_id = %id, %reason, "invite email will be retried");
                DeliveryOutcome::Retry {
                    next_attempt_at: now + delta(self.backoff(message.attempt)),
                    error: reason,
                }
            }
        };
        let reported = match outcome {
            DeliveryOutcome::Sent => Some(EventType::InviteDelivered),
            DeliveryOutcome::Failed { .. } => Some(EventType::InviteDeliveryFailed),
            DeliveryOutcome::Retry { .. } => None,
        };
        let event = reported.map(|event_type| WebhookEvent {
            message_id: Some(id),
            ..crate::send::event(
                &*self.random,
                event_type,
                message.tenant_id,
                message.user_id,
                Some(&message.email.to),
                now,
            )
        });
        (Settlement { id, outcome, event }, unreachable)
    }

    fn exhausted(&self, message: &ClaimedMessage, now: DateTime<Utc>) -> bool {
        self.policy
            .exhausted(message.attempt, message.created_at, now)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.policy.backoff(attempt, &*self.random)
    }
}

#[cfg(test)]
#[path = "deliver_outbox_tests.rs"]
mod tests;
