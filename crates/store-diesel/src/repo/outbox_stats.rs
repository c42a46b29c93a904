//! Monitoring's view of the outbox: how many messages are pending and when
//! the oldest was queued. Two reads, no write.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::conn::Conn;
use crate::errors::TxError;
use crate::rows::PENDING;
use crate::schema::{outbox, webhook_events};
use crate::sql_types::DbTime;

/// Read body: the number of pending messages and the oldest one's
/// `created_at`. Named global exception: monitoring sees every tenant.
pub async fn pending(c: &impl Conn) -> Result<(u64, Option<DateTime<Utc>>), TxError> {
    let counts = c
        .load::<i64, _>(
            outbox::table
                .filter(outbox::status.eq(PENDING))
                .select(diesel::dsl::count_star()),
        )
        .await?;
    let oldest = c
        .load::<DbTime, _>(
            outbox::table
                .filter(outbox::status.eq(PENDING))
                .select(outbox::created_at)
                .order(outbox::created_at.asc())
                .limit(1),
        )
        .await?;
    Ok(backlog(&counts, &oldest))
}

/// Read body: the number of pending webhook events and the oldest one's
/// time. Named global exception, as [`pending`].
pub async fn pending_events(c: &impl Conn) -> Result<(u64, Option<DateTime<Utc>>), TxError> {
    let counts = c
        .load::<i64, _>(
            webhook_events::table
                .filter(webhook_events::status.eq(PENDING))
                .select(diesel::dsl::count_star()),
        )
        .await?;
    let oldest = c
        .load::<DbTime, _>(
            webhook_events::table
                .filter(webhook_events::status.eq(PENDING))
                .select(webhook_events::occurred_at)
                .order(webhook_events::occurred_at.asc())
                .limit(1),
        )
        .await?;
    Ok(backlog(&counts, &oldest))
}

fn backlog(counts: &[i64], oldest: &[DbTime]) -> (u64, Option<DateTime<Utc>>) {
    let count = counts.first().copied().unwrap_or(0);
    (
        u64::try_from(count).unwrap_or(0),
        oldest.first().map(|t| t.get()),
    )
}
