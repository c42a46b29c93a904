//! Users and their invites: the SQL of invite, resend and accept, written
//! once for both backends (see `conn.rs`). `Store` runs the read bodies on
//! a connection and the write bodies in a transaction.

use beckon_ports::{
    Activation, AuditEntry, AuditQuery, Erasure, IdempotencyWrite, InviteSend, ListQuery, NewUser,
    Revocation, Rotation, SecretHash, StoreError, TenantId, User, UserId, UserStatus, WriteOutcome,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use futures_util::join;

use crate::conn::Conn;
use crate::errors::{TxError, is_fk_violation, is_unique_violation};
use crate::repo::webhooks;
use crate::rows::{AuditRow, IdempotencyRow, NewOutboxRow, PENDING, UserRow};
use crate::schema::{audit_log, idempotency_records, invite_sends, outbox, users};
use crate::sql_types::{DbTime, DbUuid};

const INVITED: &str = UserStatus::Invited.as_str();
const REVOKED: &str = UserStatus::Revoked.as_str();

/// Users with the status of their latest send's email: the left join every
/// read of users goes through.
macro_rules! users_with_delivery {
    () => {
        users::table.left_join(
            outbox::table.on(outbox::tenant_id
                .eq(users::tenant_id)
                .and(outbox::id.nullable().eq(users::invite_outbox_id))),
        )
    };
}

type UserWithDelivery = (UserRow, Option<String>);

fn into_user((row, delivery): UserWithDelivery) -> Result<User, TxError> {
    row.into_user(delivery)
}

/// The user, or `None` when the tenant has no user with this id.
pub async fn get(c: &impl Conn, t: TenantId, id: UserId) -> Result<Option<User>, TxError> {
    let rows = c
        .load::<UserWithDelivery, _>(
            users_with_delivery!()
                .filter(users::tenant_id.eq(DbUuid::from(t)))
                .filter(users::id.eq(DbUuid::from(id)))
                .select((users::all_columns, outbox::status.nullable()))
                .limit(1),
        )
        .await?;
    rows.into_iter().next().map(into_user).transpose()
}

/// A page of the tenant's users by id. One statement shape for every
/// query (the optional filters become "any status" and "after the nil
/// id"), so PostgreSQL reuses one prepared statement.
pub async fn list(c: &impl Conn, t: TenantId, q: &ListQuery) -> Result<Vec<User>, TxError> {
    let statuses: Vec<&'static str> = match q.status {
        Some(status) => vec![status.as_str()],
        None => vec![
            UserStatus::Invited.as_str(),
            UserStatus::Active.as_str(),
            UserStatus::Revoked.as_str(),
        ],
    };
    let after = q.after.map_or(uuid::Uuid::nil(), |id| id.as_uuid());
    let rows = c
        .load::<UserWithDelivery, _>(
            users_with_delivery!()
                .filter(users::tenant_id.eq(DbUuid::from(t)))
                .filter(users::status.eq_any(statuses))
                .filter(users::id.gt(DbUuid(after)))
                .select((users::all_columns, outbox::status.nullable()))
                .order(users::id.asc())
                .limit(i64::from(q.limit)),
        )
        .await?;
    rows.into_iter().map(into_user).collect()
}

/// Named global lookup: the token is presented without a tenant.
pub async fn find_by_token(c: &impl Conn, hash: &SecretHash) -> Result<Option<User>, TxError> {
    let rows = c
        .load::<UserWithDelivery, _>(
            users_with_delivery!()
                .filter(users::invite_token_hash.eq(hash.to_hex()))
                .filter(users::status.eq_any([INVITED, REVOKED]))
                .select((users::all_columns, outbox::status.nullable()))
                .limit(1),
        )
        .await?;
    rows.into_iter().next().map(into_user).transpose()
}

/// When the user's invite was sent at or after `since`, oldest first.
pub async fn sends_since(
    c: &impl Conn,
    t: TenantId,
    user: UserId,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, TxError> {
    let at = c
        .load::<DbTime, _>(
            invite_sends::table
                .filter(invite_sends::tenant_id.eq(DbUuid::from(t)))
                .filter(invite_sends::user_id.eq(DbUuid::from(user)))
                .filter(invite_sends::sent_at.ge(DbTime::from(since)))
                .order(invite_sends::sent_at.asc())
                .select(invite_sends::sent_at),
        )
        .await?;
    Ok(at.into_iter().map(DbTime::get).collect())
}

/// Write body: the new user with its first send, idempotency record and
/// audit line, all statements in one pipeline.
pub async fn insert_invited(c: &impl Conn, new: &NewUser) -> Result<(), TxError> {
    let insert_user = async {
        c.execute(diesel::insert_into(users::table).values(UserRow::new(
            &new.user,
            &new.send.token_hash,
            new.send.outbox.id,
        )))
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
        })
    };
    // Joined, not try-joined: every statement's answer is awaited, and the
    // first failure in statement order is the one that explains (a taken
    // email makes the later inserts fail too, for want of the user).
    let (user, send, key, line, event) = join!(
        insert_user,
        record_send(c, &new.send),
        write_idempotency(c, new.idempotency.as_ref()),
        audit(c, AuditRow::new(&new.audit)),
        webhooks::queue(c, &new.event),
    );
    user.and(send).and(key).and(line).and(event)
}

/// Write body of a resend: rotates the token only if the user is still
/// invited at the version the decision was made on, and records the send,
/// the idempotency record and the audit line — every statement sent at
/// once (one round trip on PostgreSQL). When the guard matched no row,
/// `TxError::Stale` rolls the inserts back.
pub async fn rotate_invite(c: &impl Conn, r: &Rotation) -> Result<WriteOutcome, TxError> {
    let s = &r.send;
    let rotate = c.execute(
        diesel::update(
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
            users::invite_outbox_id.eq(Some(DbUuid::from(s.outbox.id))),
            users::version.eq(users::version + 1),
        )),
    );
    let (rotated, send, key, line, event) = join!(
        rotate,
        record_send(c, s),
        write_idempotency(c, r.idempotency.as_ref()),
        audit(c, AuditRow::new(&r.audit)),
        webhooks::queue(c, &r.event),
    );
    // No row matched the guard: whatever the inserts said (without the
    // rotation they may fail for want of the user), nothing happened.
    if rotated? == 0 {
        return Err(TxError::Stale);
    }
    send.and(key).and(line).and(event)?;
    Ok(WriteOutcome::Applied)
}

/// Only if the user is still invited at `expected_version`: marks it
/// active, consumes its token and writes the audit line, both sent at once.
pub async fn activate(c: &impl Conn, a: &Activation) -> Result<WriteOutcome, TxError> {
    let activate = c.execute(
        diesel::update(
            users::table
                .filter(users::tenant_id.eq(DbUuid::from(a.tenant_id)))
                .filter(users::id.eq(DbUuid::from(a.user_id)))
                .filter(users::version.eq(a.expected_version))
                .filter(users::status.eq(INVITED)),
        )
        .set((
            users::status.eq(UserStatus::Active.as_str()),
            users::verified_at.eq(DbTime::from(a.at)),
            users::invite_token_hash.eq(None::<String>),
            users::version.eq(users::version + 1),
        )),
    );
    let (activated, line, event) = join!(
        activate,
        audit(c, AuditRow::new(&a.audit)),
        webhooks::queue(c, &a.event),
    );
    if activated? == 0 {
        return Err(TxError::Stale);
    }
    line.and(event)?;
    Ok(WriteOutcome::Applied)
}

/// Write body of a revoke: only if the user is still invited at the
/// version the decision was made on, marks it revoked and drops its
/// pending emails (a leased one included: its settle is fenced out), with
/// the idempotency record and the audit line, all sent at once.
pub async fn revoke(c: &impl Conn, r: &Revocation) -> Result<WriteOutcome, TxError> {
    let tenant = DbUuid::from(r.tenant_id);
    let user = DbUuid::from(r.user_id);
    let mark = c.execute(
        diesel::update(
            users::table
                .filter(users::tenant_id.eq(tenant))
                .filter(users::id.eq(user))
                .filter(users::version.eq(r.expected_version))
                .filter(users::status.eq(INVITED)),
        )
        .set((
            users::status.eq(REVOKED),
            users::revoked_at.eq(Some(DbTime::from(r.at))),
            users::version.eq(users::version + 1),
        )),
    );
    let drop_pending = c.execute(diesel::delete(
        outbox::table
            .filter(outbox::tenant_id.eq(tenant))
            .filter(outbox::user_id.eq(user))
            .filter(outbox::status.eq(PENDING)),
    ));
    let (marked, dropped, key, line, event) = join!(
        mark,
        drop_pending,
        write_idempotency(c, r.idempotency.as_ref()),
        audit(c, AuditRow::new(&r.audit)),
        webhooks::queue(c, &r.event),
    );
    if marked? == 0 {
        return Err(TxError::Stale);
    }
    dropped?;
    key.and(line).and(event)?;
    Ok(WriteOutcome::Applied)
}

/// Write body of an erasure: everything stored about the user, then the
/// erasure's own idempotency record and audit line. `false` (and a
/// rollback) when there was no such user.
pub async fn erase(c: &impl Conn, e: &Erasure) -> Result<bool, TxError> {
    let tenant = DbUuid::from(e.tenant_id);
    let user = DbUuid::from(e.user_id);
    // Rows that reference the user first: its sends and messages.
    let (sends, messages, records, events) = join!(
        c.execute(diesel::delete(
            invite_sends::table
                .filter(invite_sends::tenant_id.eq(tenant))
                .filter(invite_sends::user_id.eq(user)),
        )),
        c.execute(diesel::delete(
            outbox::table
                .filter(outbox::tenant_id.eq(tenant))
                .filter(outbox::user_id.eq(user)),
        )),
        c.execute(diesel::delete(
            idempotency_records::table
                .filter(idempotency_records::tenant_id.eq(tenant))
                .filter(idempotency_records::user_id.eq(Some(user))),
        )),
        webhooks::forget_user(c, e.tenant_id, e.user_id),
    );
    sends?;
    messages?;
    records?;
    events?;
    let (deleted, key, line, event) = join!(
        c.execute(diesel::delete(
            users::table
                .filter(users::tenant_id.eq(tenant))
                .filter(users::id.eq(user)),
        )),
        write_idempotency(c, e.idempotency.as_ref()),
        audit(c, AuditRow::new(&e.audit)),
        webhooks::queue(c, &e.event),
    );
    if deleted? == 0 {
        return Err(TxError::Stale);
    }
    key.and(line).and(event)?;
    Ok(true)
}

/// A page of the tenant's audit trail, newest first. One statement shape
/// for every query: no user filter is "user id is anything", no cursor is
/// "before the largest id".
pub async fn audit_page(
    c: &impl Conn,
    t: TenantId,
    q: &AuditQuery,
) -> Result<Vec<AuditEntry>, TxError> {
    let before = q.before.unwrap_or(uuid::Uuid::max());
    let rows = match q.user_id {
        Some(user) => {
            c.load::<AuditRow, _>(
                audit_log::table
                    .filter(audit_log::tenant_id.eq(DbUuid::from(t)))
                    .filter(audit_log::user_id.eq(Some(DbUuid::from(user))))
                    .filter(audit_log::id.lt(DbUuid(before)))
                    .select(audit_log::all_columns)
                    .order(audit_log::id.desc())
                    .limit(i64::from(q.limit)),
            )
            .await?
        }
        None => {
            c.load::<AuditRow, _>(
                audit_log::table
                    .filter(audit_log::tenant_id.eq(DbUuid::from(t)))
                    .filter(audit_log::id.lt(DbUuid(before)))
                    .select(audit_log::all_columns)
                    .order(audit_log::id.desc())
                    .limit(i64::from(q.limit)),
            )
            .await?
        }
    };
    rows.into_iter().map(AuditRow::into_entry).collect()
}

/// The send's history row and its email.
async fn record_send(c: &impl Conn, s: &InviteSend) -> Result<(), TxError> {
    let m = &s.outbox;
    let row = NewOutboxRow::new(m)?;
    let (sent, queued) = join!(
        c.execute(diesel::insert_into(invite_sends::table).values((
            invite_sends::tenant_id.eq(DbUuid::from(m.tenant_id)),
            invite_sends::id.eq(DbUuid::from(m.id)),
            invite_sends::user_id.eq(DbUuid::from(m.user_id)),
            invite_sends::sent_at.eq(DbTime::from(s.sent_at)),
        ))),
        c.execute(diesel::insert_into(outbox::table).values(row)),
    );
    sent?;
    queued?;
    Ok(())
}

/// Replaces a stale record of the key, then claims the key: a live record
/// makes the insert fail and the transaction roll back.
async fn write_idempotency(c: &impl Conn, w: Option<&IdempotencyWrite>) -> Result<(), TxError> {
    let Some(w) = w else { return Ok(()) };
    let r = &w.record;
    let clear_stale = c.execute(diesel::delete(
        idempotency_records::table
            .filter(idempotency_records::tenant_id.eq(DbUuid::from(r.tenant_id)))
            .filter(idempotency_records::idempotency_key.eq(r.key.as_str().to_owned()))
            .filter(idempotency_records::created_at.lt(DbTime::from(w.stale_before))),
    ));
    let claim = async {
        c.execute(diesel::insert_into(idempotency_records::table).values(IdempotencyRow::new(r)))
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
            })
    };
    let (cleared, claimed) = join!(clear_stale, claim);
    cleared?;
    claimed?;
    Ok(())
}

/// One audit line.
pub async fn audit(c: &impl Conn, row: AuditRow) -> Result<(), TxError> {
    c.execute(diesel::insert_into(audit_log::table).values(row))
        .await?;
    Ok(())
}
