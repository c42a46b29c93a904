//! Monitoring's view of the outbox: the pending backlog.

use async_trait::async_trait;
use beckon_ports::{OutboxBacklog, OutboxKind, OutboxStats, StoreError};

use crate::MemoryStore;
use crate::state::OutboxStatus;

#[async_trait]
impl OutboxStats for MemoryStore {
    async fn backlog(&self) -> Result<Vec<OutboxBacklog>, StoreError> {
        self.with(|s| {
            let pending = s
                .outbox
                .values()
                .filter(|m| m.status == OutboxStatus::Pending);
            let (count, oldest) = pending.fold((0u64, None), |(n, oldest), m| {
                let at = m.created_at;
                (
                    n + 1,
                    Some(oldest.map_or(at, |o: chrono::DateTime<_>| o.min(at))),
                )
            });
            let events = s
                .events
                .iter()
                .filter(|e| e.status == crate::webhooks::EventStatus::Pending);
            let (event_count, oldest_event) = events.fold((0u64, None), |(n, oldest), e| {
                let at = e.event.at;
                (
                    n + 1,
                    Some(oldest.map_or(at, |o: chrono::DateTime<_>| o.min(at))),
                )
            });
            Ok(vec![
                OutboxBacklog {
                    kind: OutboxKind::Email,
                    pending: count,
                    oldest_queued_at: oldest,
                },
                OutboxBacklog {
                    kind: OutboxKind::Webhook,
                    pending: event_count,
                    oldest_queued_at: oldest_event,
                },
            ])
        })
    }
}
