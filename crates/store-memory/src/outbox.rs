//! The outbox as the delivery worker sees it: looking for due messages,
//! claiming them under a lease, settling a claim fenced by that lease.

use async_trait::async_trait;
use beckon_ports::{ClaimedMessage, DeliveryOutcome, OutboxRepo, Settlement, StoreError};
use chrono::{DateTime, Utc};

use crate::MemoryStore;
use crate::state::{OutboxStatus, StoredMessage, micros, unexpected};

/// Longest error text kept, as in the database store.
const MAX_ERROR_CHARS: usize = 1000;

#[async_trait]
impl OutboxRepo for MemoryStore {
    async fn any_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let now = micros(now);
        self.with(|s| Ok(s.outbox.values().any(|m| m.due(now))))
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let (now, lease_until) = (micros(now), micros(lease_until));
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        self.with(|s| {
            // The oldest due first, as the database store picks them.
            let mut due: Vec<&mut StoredMessage> =
                s.outbox.values_mut().filter(|m| m.due(now)).collect();
            due.sort_by_key(|m| (m.next_attempt_at, m.created_at, m.id));
            due.truncate(limit);
            // Each must still hold its email; one that does not makes the
            // whole claim fail before it leases anything.
            let mut claimed = Vec::with_capacity(due.len());
            for m in &due {
                let email = m.email.clone().ok_or_else(|| {
                    unexpected("stored outbox message is pending without payload")
                })?;
                claimed.push(ClaimedMessage {
                    id: m.id,
                    tenant_id: m.tenant_id,
                    user_id: m.user_id,
                    email,
                    attempt: m.attempts.saturating_add(1),
                    created_at: m.created_at,
                });
            }
            for m in due {
                m.claimed_until = Some(lease_until);
                m.attempts = m.attempts.saturating_add(1);
            }
            claimed.sort_by_key(|m| (m.created_at, m.id));
            Ok(claimed)
        })
    }

    async fn settle(
        &self,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
        outcomes: &[Settlement],
    ) -> Result<usize, StoreError> {
        let (lease, at) = (micros(lease_until), micros(at));
        self.with(|s| {
            // The delivered ones first, then each retry and failure in
            // order, as the database store's statements run: an id settled
            // twice counts once, by its first settlement that held.
            let delivered = outcomes
                .iter()
                .filter(|o| o.outcome == DeliveryOutcome::Sent);
            let others = outcomes
                .iter()
                .filter(|o| o.outcome != DeliveryOutcome::Sent);
            // The events first, fenced by the leases the settle ends.
            for settlement in outcomes {
                if let Some(event) = &settlement.event {
                    crate::webhooks::queue_if_held(s, event, settlement.id, lease);
                }
            }
            let mut changed = 0;
            for settlement in delivered.chain(others) {
                // By id alone, as the worker names them (ids are unique
                // across tenants in practice; the database matches them so).
                for m in s.outbox.values_mut() {
                    if m.id == settlement.id && m.held_until(lease) {
                        apply(m, &settlement.outcome, at);
                        changed += 1;
                    }
                }
            }
            Ok(changed)
        })
    }
}

/// One attempt's outcome on a message its claim still holds.
fn apply(m: &mut StoredMessage, outcome: &DeliveryOutcome, at: DateTime<Utc>) {
    m.claimed_until = None;
    match outcome {
        DeliveryOutcome::Sent => {
            m.status = OutboxStatus::Sent;
            m.sent_at = Some(at);
            m.email = None;
        }
        DeliveryOutcome::Retry {
            next_attempt_at,
            error,
        } => {
            m.next_attempt_at = micros(*next_attempt_at);
            m.last_error = Some(bounded(error));
        }
        DeliveryOutcome::Failed { reason } => {
            m.status = OutboxStatus::Failed;
            m.failed_at = Some(at);
            m.last_error = Some(bounded(reason));
            m.email = None;
        }
    }
}

fn bounded(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}
