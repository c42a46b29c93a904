//! The outbox as the delivery worker sees it: looking for due messages,
//! claiming them (a lease), settling a claim's outcomes. Written once for
//! both backends; only the claim's statement differs (`Conn::claim_due`).

use beckon_ports::{ClaimedMessage, DeliveryOutcome, Settlement};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::conn::Conn;
use crate::errors::TxError;
use crate::rows::{ClaimedRow, FAILED, PENDING, SENT};
use crate::schema::outbox;
use crate::sql_types::{DbTime, DbUuid};

/// Longest `last_error` kept: enough to diagnose, bounded in size.
const MAX_ERROR_CHARS: usize = 1000;

/// Read-only: an idle worker asks this before it claims, so polling an
/// empty queue writes nothing.
pub async fn any_due(c: &impl Conn, now: DateTime<Utc>) -> Result<bool, TxError> {
    let now = DbTime::from(now);
    let due = c
        .load::<DbUuid, _>(
            outbox::table
                .select(outbox::id)
                .filter(outbox::status.eq(PENDING))
                .filter(outbox::next_attempt_at.le(now))
                .filter(
                    outbox::claimed_until
                        .is_null()
                        .or(outbox::claimed_until.le(now)),
                )
                .limit(1),
        )
        .await?;
    Ok(!due.is_empty())
}

/// Write body. Named global exception: the worker serves every tenant.
pub async fn claim_due(
    c: &impl Conn,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<ClaimedMessage>, TxError> {
    let rows = c
        .claim_due(
            DbTime::from(now),
            DbTime::from(lease_until),
            i64::from(limit),
        )
        .await?;
    let mut claimed = rows
        .into_iter()
        .map(ClaimedRow::into_message)
        .collect::<Result<Vec<_>, _>>()?;
    // RETURNING has no order; oldest first is what a reader expects.
    claimed.sort_by_key(|m| (m.created_at, m.id));
    Ok(claimed)
}

/// Write body: settles one claim's messages: all the delivered ones in one
/// statement, each retry or failure (the rare cases) in one of its own,
/// pipelined. Every statement is fenced by the claim's lease: a message
/// another claim took over after this lease ran out is left alone.
pub async fn settle(
    c: &impl Conn,
    lease_until: DateTime<Utc>,
    at: DateTime<Utc>,
    outcomes: &[Settlement],
) -> Result<usize, TxError> {
    let (lease, at) = (DbTime::from(lease_until), DbTime::from(at));
    let held = || {
        outbox::status
            .eq(PENDING)
            .and(outbox::claimed_until.eq(lease))
    };
    let no_lease = || outbox::claimed_until.eq(None::<DbTime>);
    let no_payload = || outbox::payload.eq(None::<String>);
    // The events first: each is fenced by the message's lease, which the
    // updates below end.
    let events = outcomes.iter().filter_map(|s| {
        s.event
            .as_ref()
            .map(|e| crate::repo::webhooks::queue_if_held(c, e, s.id, lease))
    });
    futures_util::future::try_join_all(events).await?;
    let sent: Vec<DbUuid> = outcomes
        .iter()
        .filter(|s| s.outcome == DeliveryOutcome::Sent)
        .map(|s| DbUuid::from(s.id))
        .collect();
    let mut changes = Vec::new();
    if !sent.is_empty() {
        changes.push(futures_util::FutureExt::boxed(c.execute(
            diesel::update(outbox::table.filter(outbox::id.eq_any(sent)).filter(held())).set((
                outbox::status.eq(SENT),
                outbox::sent_at.eq(at),
                no_lease(),
                no_payload(),
            )),
        )));
    }
    for s in outcomes {
        let target = outbox::table
            .filter(outbox::id.eq(DbUuid::from(s.id)))
            .filter(held());
        match &s.outcome {
            DeliveryOutcome::Sent => {}
            DeliveryOutcome::Retry {
                next_attempt_at,
                error,
            } => changes.push(futures_util::FutureExt::boxed(c.execute(
                diesel::update(target).set((
                    outbox::next_attempt_at.eq(DbTime::from(*next_attempt_at)),
                    outbox::last_error.eq(bounded(error)),
                    no_lease(),
                )),
            ))),
            DeliveryOutcome::Failed { reason } => changes.push(futures_util::FutureExt::boxed(
                c.execute(diesel::update(target).set((
                    outbox::status.eq(FAILED),
                    outbox::failed_at.eq(at),
                    outbox::last_error.eq(bounded(reason)),
                    no_lease(),
                    no_payload(),
                ))),
            )),
        }
    }
    let changed = futures_util::future::try_join_all(changes).await?;
    Ok(changed.into_iter().sum())
}

fn bounded(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}
