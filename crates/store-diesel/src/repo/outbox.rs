//! The outbox repository body (see `outbox_body!`), instantiated per backend.

/// Expands to the delivery worker's operations for one connection type.
/// `$lock` is appended to the claim's sub-select: `.for_update().skip_locked()`
/// on PostgreSQL, nothing on SQLite (whose `BEGIN IMMEDIATE` already makes
/// the claim the only writer). It is the one place the backends differ.
macro_rules! outbox_body {
    ($conn:ty, $pool:ty, $db:ty, $begin:ident, [$($lock:tt)*]) => {
        pub mod outbox {
            use beckon_ports::{ClaimedMessage, DeliveryOutcome, Settlement, StoreError};
            use chrono::{DateTime, Utc};
            use diesel::prelude::*;
            #[allow(unused_imports)]
            use diesel_async::AsyncConnection as _;
            use diesel_async::RunQueryDsl;

            use crate::errors::TxError;
            use crate::retry::with_retry;
            use crate::rows::{ClaimedRow, FAILED, PENDING, SENT};
            use crate::schema::{due_outbox, outbox};
            use crate::sql_types::{DbTime, DbUuid};

            type Conn = $conn;
            type Db = $pool;

            /// Longest `last_error` kept: enough to diagnose, bounded in size.
            const MAX_ERROR_CHARS: usize = 1000;

            /// Named global exception: the worker serves every tenant.
            pub async fn claim_due(
                db: &Db,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<ClaimedMessage>, StoreError> {
                let (now, lease) = (DbTime::from(now), DbTime::from(lease_until));
                let limit = i64::from(limit);
                let rows = with_retry("claiming outbox messages", || db.timed(async |conn: &mut Conn| {
                    conn.$begin(async |c| {
                        let due = due_outbox
                            .select(due_outbox.field(outbox::id))
                            .filter(due_outbox.field(outbox::status).eq(PENDING))
                            .filter(due_outbox.field(outbox::next_attempt_at).le(now))
                            .filter(
                                due_outbox
                                    .field(outbox::claimed_until)
                                    .is_null()
                                    .or(due_outbox.field(outbox::claimed_until).le(now)),
                            )
                            .order(due_outbox.field(outbox::next_attempt_at).asc())
                            .limit(limit)
                            $($lock)*;
                        let rows = diesel::update(outbox::table.filter(outbox::id.eq_any(due)))
                            .set((
                                outbox::claimed_until.eq(lease),
                                outbox::attempts.eq(outbox::attempts + 1),
                            ))
                            .returning(ClaimedRow::as_returning())
                            .get_results::<ClaimedRow>(c)
                            .await?;
                        Ok::<_, TxError>(rows)
                    })
                    .await
                }))
                .await?;
                let mut claimed = rows
                    .into_iter()
                    .map(ClaimedRow::into_message)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.into_store("reading claimed messages"))?;
                // RETURNING has no order; oldest first is what a reader expects.
                claimed.sort_by_key(|m| (m.created_at, m.id));
                Ok(claimed)
            }

            /// Read-only: an idle worker asks this before it claims, so
            /// polling an empty queue writes nothing.
            pub async fn any_due(db: &Db, now: DateTime<Utc>) -> Result<bool, StoreError> {
                let now = DbTime::from(now);
                let run = db.timed(async |c: &mut Conn| {
                    let due = outbox::table
                        .select(outbox::id)
                        .filter(outbox::status.eq(PENDING))
                        .filter(outbox::next_attempt_at.le(now))
                        .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.le(now)))
                        .first::<DbUuid>(c)
                        .await
                        .optional()?;
                    Ok::<_, TxError>(due.is_some())
                });
                run.await.map_err(|e: TxError| e.into_store("looking for due messages"))
            }

            /// Settles one claim's messages in one transaction: all the
            /// delivered ones in one statement, each retry or failure (the
            /// rare cases) in one of its own. Every statement is fenced by
            /// the claim's lease: a message another claim took over after
            /// this lease ran out is left alone.
            pub async fn settle(
                db: &Db,
                lease_until: DateTime<Utc>,
                at: DateTime<Utc>,
                outcomes: &[Settlement],
            ) -> Result<usize, StoreError> {
                let (lease, at) = (DbTime::from(lease_until), DbTime::from(at));
                let sent: Vec<DbUuid> = outcomes
                    .iter()
                    .filter(|s| s.outcome == DeliveryOutcome::Sent)
                    .map(|s| DbUuid::from(s.id))
                    .collect();
                let others: Vec<(DbUuid, &DeliveryOutcome)> = outcomes
                    .iter()
                    .filter(|s| s.outcome != DeliveryOutcome::Sent)
                    .map(|s| (DbUuid::from(s.id), &s.outcome))
                    .collect();
                with_retry("settling outbox messages", || db.timed(async |conn: &mut Conn| {
                    conn.$begin(async |c| {
                        let held = outbox::status.eq(PENDING).and(outbox::claimed_until.eq(lease));
                        let no_lease = outbox::claimed_until.eq(None::<DbTime>);
                        let no_payload = || outbox::payload.eq(None::<String>);
                        let mut changed = 0;
                        if !sent.is_empty() {
                            changed += diesel::update(outbox::table.filter(outbox::id.eq_any(&sent)).filter(held))
                                .set((outbox::status.eq(SENT), outbox::sent_at.eq(at), no_lease, no_payload()))
                                .execute(c)
                                .await?;
                        }
                        for (id, outcome) in &others {
                            let target = outbox::table.filter(outbox::id.eq(*id)).filter(held);
                            changed += match outcome {
                                DeliveryOutcome::Sent => 0,
                                DeliveryOutcome::Retry { next_attempt_at, error } => {
                                    diesel::update(target)
                                        .set((
                                            outbox::next_attempt_at.eq(DbTime::from(*next_attempt_at)),
                                            outbox::last_error.eq(bounded(error)),
                                            no_lease,
                                        ))
                                        .execute(c)
                                        .await?
                                }
                                DeliveryOutcome::Failed { reason } => {
                                    diesel::update(target)
                                        .set((
                                            outbox::status.eq(FAILED),
                                            outbox::failed_at.eq(at),
                                            outbox::last_error.eq(bounded(reason)),
                                            no_lease,
                                            no_payload(),
                                        ))
                                        .execute(c)
                                        .await?
                                }
                            };
                        }
                        Ok::<_, TxError>(changed)
                    })
                    .await
                }))
                .await
            }

            fn bounded(text: &str) -> String {
                text.chars().take(MAX_ERROR_CHARS).collect()
            }
        }
    };
}

pub(crate) use outbox_body;
