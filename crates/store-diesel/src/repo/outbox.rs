//! The outbox repository body (see `outbox_body!`), instantiated per backend.

/// Expands to the delivery worker's operations for one connection type.
/// `$lock` is appended to the claim's sub-select: `.for_update().skip_locked()`
/// on PostgreSQL, nothing on SQLite (whose `BEGIN IMMEDIATE` already makes
/// the claim the only writer). It is the one place the backends differ.
macro_rules! outbox_body {
    ($conn:ty, $pool:ty, $db:ty, $begin:ident, [$($lock:tt)*]) => {
        pub mod outbox {
            use beckon_ports::{ClaimedMessage, OutboxId, StoreError};
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

            pub async fn mark_sent(db: &Db, id: OutboxId, at: DateTime<Utc>) -> Result<(), StoreError> {
                settle(db, id, "marking a message sent", Settle::Sent(DbTime::from(at))).await
            }

            pub async fn schedule_retry(
                db: &Db,
                id: OutboxId,
                next: DateTime<Utc>,
                error: &str,
            ) -> Result<(), StoreError> {
                let why = bounded(error);
                settle(db, id, "scheduling a retry", Settle::Retry(DbTime::from(next), &why)).await
            }

            pub async fn mark_failed(
                db: &Db,
                id: OutboxId,
                at: DateTime<Utc>,
                reason: &str,
            ) -> Result<(), StoreError> {
                let why = bounded(reason);
                settle(db, id, "marking a message failed", Settle::Failed(DbTime::from(at), &why)).await
            }

            #[derive(Clone, Copy)]
            enum Settle<'a> {
                Sent(DbTime),
                Retry(DbTime, &'a str),
                Failed(DbTime, &'a str),
            }

            /// Ends the lease of a pending message one way or another. Only
            /// pending rows change, so a late worker cannot undo a final state.
            async fn settle(db: &Db, id: OutboxId, what: &'static str, how: Settle<'_>) -> Result<(), StoreError> {
                with_retry(what, || db.timed(async |conn: &mut Conn| {
                    conn.$begin(async |c| {
                        let target = outbox::table
                            .filter(outbox::id.eq(DbUuid::from(id)))
                            .filter(outbox::status.eq(PENDING));
                        let no_lease = outbox::claimed_until.eq(None::<DbTime>);
                        let no_payload = outbox::payload.eq(None::<String>);
                        match how {
                            Settle::Sent(at) => {
                                diesel::update(target)
                                    .set((outbox::status.eq(SENT), outbox::sent_at.eq(at), no_lease, no_payload))
                                    .execute(c)
                                    .await?
                            }
                            Settle::Retry(next, why) => {
                                diesel::update(target)
                                    .set((outbox::next_attempt_at.eq(next), outbox::last_error.eq(why), no_lease))
                                    .execute(c)
                                    .await?
                            }
                            Settle::Failed(at, why) => {
                                diesel::update(target)
                                    .set((
                                        outbox::status.eq(FAILED),
                                        outbox::failed_at.eq(at),
                                        outbox::last_error.eq(why),
                                        no_lease,
                                        no_payload,
                                    ))
                                    .execute(c)
                                    .await?
                            }
                        };
                        Ok::<_, TxError>(())
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
