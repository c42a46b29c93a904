//! A read-only look at the outbox for monitoring: how many messages wait
//! to be delivered, and since when.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;

/// What an outbox message delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    /// An invite email.
    Email,
    /// A webhook event.
    Webhook,
}

impl OutboxKind {
    /// The kind's name (the `kind` label of the outbox metrics).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }

    /// Every kind.
    pub const ALL: [Self; 2] = [Self::Email, Self::Webhook];
}

/// The messages of one kind still to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// Their kind.
    pub kind: OutboxKind,
    /// How many are pending: queued and neither sent nor given up, whether
    /// due now, leased by a worker or waiting for a retry.
    pub pending: u64,
    /// When the oldest of them was queued; `None` when none is pending.
    pub oldest_queued_at: Option<DateTime<Utc>>,
}

/// Monitoring's view of the outbox.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OutboxStats: Send + Sync {
    /// The backlog of every kind in [`OutboxKind::ALL`], in that order (a
    /// kind with nothing pending too, as zero). MUST NOT write: it is
    /// asked at every metrics scrape.
    async fn backlog(&self) -> Result<Vec<OutboxBacklog>, StoreError>;
}
