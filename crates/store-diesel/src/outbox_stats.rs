//! `OutboxStats` on the database store.

use async_trait::async_trait;
use beckon_ports::{OutboxBacklog, OutboxKind, OutboxStats, StoreError};

use crate::repo::outbox_stats;
use crate::store::{Backend, Store, answer};

#[async_trait]
impl OutboxStats for Store {
    async fn backlog(&self) -> Result<Vec<OutboxBacklog>, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => db.read(async move |c| outbox_stats::pending(c).await).await,
            Backend::Sqlite(db) => db.read(async move |c| outbox_stats::pending(c).await).await,
        };
        let (pending, oldest_queued_at) = answer(result, "reading the outbox backlog")?;
        let events = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| outbox_stats::pending_events(c).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.read(async move |c| outbox_stats::pending_events(c).await)
                    .await
            }
        };
        let (events, oldest_event) = answer(events, "reading the webhook backlog")?;
        Ok(vec![
            OutboxBacklog {
                kind: OutboxKind::Email,
                pending,
                oldest_queued_at,
            },
            OutboxBacklog {
                kind: OutboxKind::Webhook,
                pending: events,
                oldest_queued_at: oldest_event,
            },
        ])
    }
}
