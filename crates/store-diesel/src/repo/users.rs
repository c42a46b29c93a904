//! The users repository body, written once and instantiated per backend by
//! `crate::backend` (see `users_body!`).

/// Expands to the user and invite operations for one connection type.
/// `$conn` is the connection, `$db` its diesel backend, `$begin` the method
/// that opens a write transaction (`transaction` on PostgreSQL,
/// `immediate_transaction` on SQLite).
macro_rules! users_body {
    ($conn:ty, $pool:ty, $db:ty, $begin:ident) => {
        pub mod users {
            use beckon_ports::{
                IdempotencyWrite, InviteSend, ListQuery, NewUser, Rotation, SecretHash, StoreError,
                TenantId, User, UserId, UserStatus, WriteOutcome,
            };
            use chrono::{DateTime, Utc};
            use diesel::prelude::*;
            #[allow(unused_imports)]
            use diesel_async::AsyncConnection as _;
            use diesel_async::RunQueryDsl;

            use crate::errors::{TxError, is_fk_violation, is_unique_violation};
            use crate::retry::with_retry;
            use crate::rows::{AuditRow, IdempotencyRow, NewOutboxRow, UserRow};
            use crate::schema::{idempotency_records, invite_sends, outbox, users};
            use crate::sql_types::{DbTime, DbUuid};

            type Conn = $conn;
            type Db = $pool;

            const INVITED: &str = UserStatus::Invited.as_str();

            pub async fn get(db: &Db, t: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
                let run = db.timed(async |c| {
                    let row = users::table
                        .filter(users::tenant_id.eq(DbUuid::from(t)))
                        .filter(users::id.eq(DbUuid::from(id)))
                        .select(UserRow::as_select())
                        .first::<UserRow>(c)
                        .await
                        .optional()?;
                    row.map(UserRow::into_user).transpose()
                });
                run.await
                    .map_err(|e: TxError| e.into_store("reading a user"))
            }

            pub async fn list(
                db: &Db,
                t: TenantId,
                q: &ListQuery,
            ) -> Result<Vec<User>, StoreError> {
                let run = db.timed(async |c| {
                    let mut query = users::table
                        .filter(users::tenant_id.eq(DbUuid::from(t)))
                        .select(UserRow::as_select())
                        .order(users::id.asc())
                        .limit(i64::from(q.limit))
                        .into_boxed::<$db>();
                    if let Some(status) = q.status {
                        query = query.filter(users::status.eq(status.as_str()));
                    }
                    if let Some(after) = q.after {
                        query = query.filter(users::id.gt(DbUuid::from(after)));
                    }
                    let rows = query.load::<UserRow>(c).await?;
                    rows.into_iter()
                        .map(UserRow::into_user)
                        .collect::<Result<Vec<_>, _>>()
                });
                run.await
                    .map_err(|e: TxError| e.into_store("listing users"))
            }

            /// Named global lookup: the token is presented without a tenant.
            pub async fn find_by_token(
                db: &Db,
                hash: &SecretHash,
            ) -> Result<Option<User>, StoreError> {
                let run = db.timed(async |c| {
                    let row = users::table
                        .filter(users::invite_token_hash.eq(hash.to_hex()))
                        .filter(users::status.eq(INVITED))
                        .select(UserRow::as_select())
                        .first::<UserRow>(c)
                        .await
                        .optional()?;
                    row.map(UserRow::into_user).transpose()
                });
                run.await
                    .map_err(|e: TxError| e.into_store("finding a user by token"))
            }

            pub async fn sends_since(
                db: &Db,
                t: TenantId,
                user: UserId,
                since: DateTime<Utc>,
            ) -> Result<Vec<DateTime<Utc>>, StoreError> {
                let run = db.timed(async |c| {
                    let at = invite_sends::table
                        .filter(invite_sends::tenant_id.eq(DbUuid::from(t)))
                        .filter(invite_sends::user_id.eq(DbUuid::from(user)))
                        .filter(invite_sends::sent_at.ge(DbTime::from(since)))
                        .order(invite_sends::sent_at.asc())
                        .select(invite_sends::sent_at)
                        .load::<DbTime>(c)
                        .await?;
                    Ok(at.into_iter().map(DbTime::get).collect())
                });
                run.await
                    .map_err(|e: TxError| e.into_store("reading sends"))
            }

            pub async fn insert_invited(db: &Db, new: &NewUser) -> Result<(), StoreError> {
                with_retry("inviting a user", || {
                    db.timed(async |conn: &mut Conn| {
                        conn.$begin(async |c| tx_insert_invited(c, new).await).await
                    })
                })
                .await
            }

            async fn tx_insert_invited(c: &mut Conn, new: &NewUser) -> Result<(), TxError> {
                diesel::insert_into(users::table)
                    .values(UserRow::new(&new.user, &new.send.token_hash))
                    .execute(c)
                    .await
                    .map_err(|e| {
                        if is_unique_violation(
                            &e,
                            "users_tenant_email_key",
                            "users.tenant_id, users.email_normalized",
                        ) {
                            TxError::Store(StoreError::EmailTaken)
                        } else if is_fk_violation(&e) {
                            TxError::Store(StoreError::MissingReference)
                        } else {
                            TxError::Db(e)
                        }
                    })?;
                record_send(c, &new.send).await?;
                write_idempotency(c, new.idempotency.as_ref()).await?;
                diesel::insert_into(crate::schema::audit_log::table)
                    .values(AuditRow::new(&new.audit))
                    .execute(c)
                    .await?;
                Ok(())
            }

            pub async fn rotate_invite(db: &Db, r: &Rotation) -> Result<WriteOutcome, StoreError> {
                with_retry("rotating an invite", || {
                    db.timed(async |conn: &mut Conn| {
                        conn.$begin(async |c| tx_rotate_invite(c, r).await).await
                    })
                })
                .await
            }

            async fn tx_rotate_invite(c: &mut Conn, r: &Rotation) -> Result<WriteOutcome, TxError> {
                let s = &r.send;
                // The optimistic check comes first: a lost race writes nothing
                // and costs one statement.
                let updated = diesel::update(
                    users::table
                        .filter(users::tenant_id.eq(DbUuid::from(r.tenant_id)))
                        .filter(users::id.eq(DbUuid::from(r.user_id)))
                        .filter(users::version.eq(r.expected_version))
                        .filter(users::status.eq(INVITED)),
                )
                .set((
                    users::invite_token_hash.eq(s.token_hash.to_hex()),
                    users::invite_expires_at.eq(DbTime::from(s.expires_at)),
                    users::invite_last_sent_at.eq(DbTime::from(s.sent_at)),
                    users::invite_sends.eq(users::invite_sends + 1),
                    users::version.eq(users::version + 1),
                ))
                .execute(c)
                .await?;
                if updated == 0 {
                    return Ok(WriteOutcome::Stale);
                }
                record_send(c, s).await?;
                write_idempotency(c, r.idempotency.as_ref()).await?;
                diesel::insert_into(crate::schema::audit_log::table)
                    .values(AuditRow::new(&r.audit))
                    .execute(c)
                    .await?;
                Ok(WriteOutcome::Applied)
            }

            pub async fn activate(
                db: &Db,
                t: TenantId,
                user: UserId,
                expected_version: i64,
                at: DateTime<Utc>,
            ) -> Result<WriteOutcome, StoreError> {
                with_retry("activating a user", || {
                    db.timed(async |conn: &mut Conn| {
                        conn.$begin(async |c| {
                            let updated = diesel::update(
                                users::table
                                    .filter(users::tenant_id.eq(DbUuid::from(t)))
                                    .filter(users::id.eq(DbUuid::from(user)))
                                    .filter(users::version.eq(expected_version))
                                    .filter(users::status.eq(INVITED)),
                            )
                            .set((
                                users::status.eq(UserStatus::Active.as_str()),
                                users::verified_at.eq(DbTime::from(at)),
                                users::invite_token_hash.eq(None::<String>),
                                users::version.eq(users::version + 1),
                            ))
                            .execute(c)
                            .await?;
                            Ok::<_, TxError>(if updated == 0 {
                                WriteOutcome::Stale
                            } else {
                                WriteOutcome::Applied
                            })
                        })
                        .await
                    })
                })
                .await
            }

            /// The send's history row and its email, in the caller's transaction.
            async fn record_send(c: &mut Conn, s: &InviteSend) -> Result<(), TxError> {
                let m = &s.outbox;
                diesel::insert_into(invite_sends::table)
                    .values((
                        invite_sends::tenant_id.eq(DbUuid::from(m.tenant_id)),
                        invite_sends::id.eq(DbUuid::from(m.id)),
                        invite_sends::user_id.eq(DbUuid::from(m.user_id)),
                        invite_sends::sent_at.eq(DbTime::from(s.sent_at)),
                    ))
                    .execute(c)
                    .await?;
                diesel::insert_into(outbox::table)
                    .values(NewOutboxRow::new(m)?)
                    .execute(c)
                    .await?;
                Ok(())
            }

            /// Replaces a stale record of the key, then claims the key: a
            /// live record makes the insert fail and the transaction roll back.
            async fn write_idempotency(
                c: &mut Conn,
                w: Option<&IdempotencyWrite>,
            ) -> Result<(), TxError> {
                let Some(w) = w else { return Ok(()) };
                let r = &w.record;
                diesel::delete(
                    idempotency_records::table
                        .filter(idempotency_records::tenant_id.eq(DbUuid::from(r.tenant_id)))
                        .filter(idempotency_records::idempotency_key.eq(r.key.as_str()))
                        .filter(idempotency_records::created_at.lt(DbTime::from(w.stale_before))),
                )
                .execute(c)
                .await?;
                diesel::insert_into(idempotency_records::table)
                    .values(IdempotencyRow::new(r))
                    .execute(c)
                    .await
                    .map_err(|e| {
                        if is_unique_violation(
                            &e,
                            "idempotency_records_pkey",
                            "idempotency_records.tenant_id, idempotency_records.idempotency_key",
                        ) {
                            TxError::Store(StoreError::IdempotencyKeyTaken)
                        } else {
                            TxError::Db(e)
                        }
                    })?;
                Ok(())
            }
        }
    };
}

pub(crate) use users_body;
