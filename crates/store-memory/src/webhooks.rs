//! Webhook endpoints and queued events in memory, as the database store
//! keeps them (`migrations/*/2026-12-07-000200_webhooks`).

use async_trait::async_trait;
use beckon_ports::{
    ClaimedEvent, EventOutcome, EventSettlement, OutboxId, StoreError, TenantId, UserId,
    WebhookEndpoint, WebhookEvent, WebhookRepo,
};
use chrono::{DateTime, Utc};

use crate::MemoryStore;
use crate::state::{State, micros};

/// Longest `last_error` kept (as the database store).
const MAX_ERROR_CHARS: usize = 1000;

/// A queued event and its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub event: WebhookEvent,
    pub status: EventStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub settled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Pending,
    Delivered,
    Failed,
}

impl StoredEvent {
    fn due(&self, now: DateTime<Utc>) -> bool {
        self.status == EventStatus::Pending
            && self.next_attempt_at <= now
            && self.claimed_until.is_none_or(|until| until <= now)
    }
}

/// Queues `e` if its tenant has an endpoint (part of the write that
/// reports it).
pub fn queue(s: &mut State, e: &WebhookEvent) {
    if !s.webhooks.contains_key(&e.tenant_id) {
        return;
    }
    let mut event = e.clone();
    event.at = micros(e.at);
    s.events.push(StoredEvent {
        event,
        status: EventStatus::Pending,
        attempts: 0,
        next_attempt_at: micros(e.at),
        claimed_until: None,
        last_error: None,
        settled_at: None,
    });
}

/// Queues `e` only if the message it reports on is still held by the
/// claim leasing it until `lease` (run before the settle applies).
pub fn queue_if_held(s: &mut State, e: &WebhookEvent, message: OutboxId, lease: DateTime<Utc>) {
    let held = s
        .outbox
        .get(&(e.tenant_id, message))
        .is_some_and(|m| m.held_until(lease));
    if held {
        queue(s, e);
    }
}

/// No event keeps an erased user's address.
pub fn forget_user(s: &mut State, tenant: TenantId, user: UserId) {
    for stored in &mut s.events {
        if stored.event.tenant_id == tenant && stored.event.user_id == user {
            stored.event.email = None;
        }
    }
}

#[async_trait]
impl WebhookRepo for MemoryStore {
    async fn set_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        self.with(|s| {
            if !s.tenants.contains_key(&endpoint.tenant_id) {
                return Err(StoreError::MissingReference);
            }
            let mut endpoint = endpoint.clone();
            endpoint.created_at = micros(endpoint.created_at);
            s.webhooks.insert(endpoint.tenant_id, endpoint);
            Ok(())
        })
    }

    async fn remove_endpoint(&self, tenant: TenantId) -> Result<bool, StoreError> {
        self.with(|s| {
            s.events.retain(|stored| {
                !(stored.event.tenant_id == tenant && stored.status == EventStatus::Pending)
            });
            Ok(s.webhooks.remove(&tenant).is_some())
        })
    }

    async fn endpoint(&self, tenant: TenantId) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.with(|s| Ok(s.webhooks.get(&tenant).cloned()))
    }

    async fn any_event_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let now = micros(now);
        self.with(|s| Ok(s.events.iter().any(|e| e.due(now))))
    }

    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        let (now, lease) = (micros(now), micros(lease_until));
        self.with(|s| {
            let mut due: Vec<usize> = (0..s.events.len())
                .filter(|&i| s.events[i].due(now))
                .collect();
            due.sort_by_key(|&i| (s.events[i].next_attempt_at, s.events[i].event.id));
            due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let mut claimed = Vec::with_capacity(due.len());
            for i in due {
                let stored = &mut s.events[i];
                stored.claimed_until = Some(lease);
                stored.attempts += 1;
                claimed.push(ClaimedEvent {
                    event: stored.event.clone(),
                    attempt: stored.attempts,
                    queued_at: stored.event.at,
                    endpoint: s.webhooks.get(&stored.event.tenant_id).cloned(),
                });
            }
            claimed.sort_by_key(|e| (e.queued_at, e.event.id));
            Ok(claimed)
        })
    }

    async fn settle_events(
        &self,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
        outcomes: &[EventSettlement],
    ) -> Result<usize, StoreError> {
        let (lease, at) = (micros(lease_until), micros(at));
        self.with(|s| {
            let mut changed = 0;
            for settlement in outcomes {
                for stored in &mut s.events {
                    let held = stored.event.id == settlement.id
                        && stored.status == EventStatus::Pending
                        && stored.claimed_until == Some(lease);
                    if held {
                        apply(stored, &settlement.outcome, at);
                        changed += 1;
                    }
                }
            }
            Ok(changed)
        })
    }
}

fn apply(stored: &mut StoredEvent, outcome: &EventOutcome, at: DateTime<Utc>) {
    stored.claimed_until = None;
    match outcome {
        EventOutcome::Delivered => {
            stored.status = EventStatus::Delivered;
            stored.settled_at = Some(at);
            stored.event.email = None;
        }
        EventOutcome::Retry {
            next_attempt_at,
            error,
        } => {
            stored.next_attempt_at = micros(*next_attempt_at);
            stored.last_error = Some(error.chars().take(MAX_ERROR_CHARS).collect());
        }
        EventOutcome::Failed { reason } => {
            stored.status = EventStatus::Failed;
            stored.settled_at = Some(at);
            stored.last_error = Some(reason.chars().take(MAX_ERROR_CHARS).collect());
            stored.event.email = None;
        }
    }
}
