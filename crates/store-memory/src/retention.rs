//! Retention: the oldest rows of each kind past their instant, a batch at a
//! time, as the database store deletes them.

use std::collections::HashSet;

use async_trait::async_trait;
use beckon_ports::{PruneBefore, Pruned, Retention, StoreError};
use chrono::{DateTime, Utc};

use crate::MemoryStore;
use crate::state::{OutboxStatus, State, micros};

#[async_trait]
impl Retention for MemoryStore {
    async fn prune(&self, before: &PruneBefore) -> Result<Pruned, StoreError> {
        self.with(|s| Ok(prune(s, before)))
    }
}

/// The `limit` oldest of `rows` (by their instant), as keys.
fn oldest<K: Clone>(mut rows: Vec<(DateTime<Utc>, K)>, limit: u32) -> Vec<K> {
    rows.sort_by_key(|(at, _)| *at);
    rows.into_iter()
        .take(limit as usize)
        .map(|(_, k)| k)
        .collect()
}

fn prune(s: &mut State, b: &PruneBefore) -> Pruned {
    let audit_ids: HashSet<_> = oldest(
        s.audit
            .iter()
            .filter(|e| e.at < micros(b.audit))
            .map(|e| (e.at, (e.tenant_id, e.id)))
            .collect(),
        b.limit,
    )
    .into_iter()
    .collect();
    s.audit
        .retain(|e| !audit_ids.contains(&(e.tenant_id, e.id)));
    for id in &audit_ids {
        s.audit_ids.remove(id);
    }

    let current: HashSet<_> = s
        .users
        .values()
        .filter_map(|u| u.invite_outbox_id.map(|id| (u.tenant_id, id)))
        .collect();
    let messages = oldest(
        s.outbox
            .iter()
            .filter(|(key, m)| {
                m.status != OutboxStatus::Pending
                    && m.created_at < micros(b.outbox)
                    && !current.contains(key)
            })
            .map(|(key, m)| (m.created_at, *key))
            .collect(),
        b.limit,
    );
    for key in &messages {
        s.outbox.remove(key);
    }

    let sends = oldest(
        s.sends
            .iter()
            .filter(|(_, (_, at))| *at < micros(b.sends))
            .map(|(key, (user, at))| (*at, (*key, *user)))
            .collect(),
        b.limit,
    );
    for (key, user) in &sends {
        if let Some((_, at)) = s.sends.remove(key)
            && let Some(times) = s.user_sends.get_mut(&(key.0, *user))
            && let Some(i) = times.iter().position(|t| *t == at)
        {
            times.remove(i);
        }
    }

    let records = oldest(
        s.idempotency
            .iter()
            .filter(|(_, r)| r.created_at < micros(b.idempotency))
            .map(|(key, r)| (r.created_at, key.clone()))
            .collect(),
        b.limit,
    );
    for key in &records {
        s.idempotency.remove(key);
    }

    let events = oldest(
        s.events
            .iter()
            .filter(|e| {
                e.status != crate::webhooks::EventStatus::Pending && e.event.at < micros(b.outbox)
            })
            .map(|e| (e.event.at, e.event.id))
            .collect(),
        b.limit,
    );
    s.events.retain(|e| !events.contains(&e.event.id));

    Pruned {
        audit: audit_ids.len(),
        outbox: messages.len(),
        sends: sends.len(),
        idempotency: records.len(),
        webhooks: events.len(),
    }
}
