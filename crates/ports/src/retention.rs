//! Retention: what may be forgotten, and when (CONTRACT §7,
//! `BECKON_RETENTION`). The store deletes in small batches; the caller
//! decides the instants, so that nothing a rule still needs is touched.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;

/// One pruning step: rows older than each instant may go, at most `limit`
/// of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneBefore {
    /// Audit lines written before this.
    pub audit: DateTime<Utc>,
    /// Delivered or failed outbox messages queued before this — except the
    /// message of a user's latest send (its state is `invite.delivery`) —
    /// and delivered or failed webhook events that happened before this.
    pub outbox: DateTime<Utc>,
    /// Send records (cooldown and daily cap) sent before this.
    pub sends: DateTime<Utc>,
    /// Idempotency records created before this.
    pub idempotency: DateTime<Utc>,
    /// At most this many rows of each kind.
    pub limit: u32,
}

/// How many rows of each kind one step deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Audit lines.
    pub audit: usize,
    /// Outbox messages.
    pub outbox: usize,
    /// Send records.
    pub sends: usize,
    /// Idempotency records.
    pub idempotency: usize,
    /// Webhook events delivered or given up.
    pub webhooks: usize,
}

impl Pruned {
    /// Whether any kind filled its batch: there may be more to delete.
    pub fn filled(&self, limit: u32) -> bool {
        let limit = limit as usize;
        [
            self.audit,
            self.outbox,
            self.sends,
            self.idempotency,
            self.webhooks,
        ]
        .iter()
        .any(|n| *n >= limit)
    }
}

/// Deleting what is no longer needed.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Retention: Send + Sync {
    /// Deletes, in one transaction, up to `before.limit` rows of each kind
    /// older than its instant: audit lines; outbox messages that are sent
    /// or failed (never a pending one, never the one a user's latest send
    /// names); send records; idempotency records; webhook events delivered
    /// or given up (never a pending one). Returns how many went.
    async fn prune(&self, before: &PruneBefore) -> Result<Pruned, StoreError>;
}
