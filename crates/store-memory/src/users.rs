//! Users and their invites: invite, resend and accept, each checked whole
//! before anything is written, so that a refused write leaves no trace.
//! The checks run in the order the database store's statements fail in,
//! so both stores refuse a conflicting write with the same error.

use async_trait::async_trait;
use beckon_ports::{
    Activation, AuditEntry, Erasure, IdempotencyWrite, InviteSend, ListQuery, NewUser, Revocation,
    Rotation, SecretHash, StoreError, TenantId, User, UserId, UserRepo, UserStatus, WriteOutcome,
};
use chrono::{DateTime, Utc};

use crate::MemoryStore;
use crate::state::{OutboxStatus, State, StoredMessage, UserRow, micros, unexpected};
use crate::webhooks;

#[async_trait]
impl UserRepo for MemoryStore {
    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        self.with(|s| {
            s.users
                .get(&(tenant, id))
                .map(|row| row.to_user(&s.outbox))
                .transpose()
        })
    }

    async fn list(&self, tenant: TenantId, query: &ListQuery) -> Result<Vec<User>, StoreError> {
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        // As in the database store, "no cursor" is "after the nil id".
        let after = query.after.unwrap_or(UserId::from_uuid(uuid::Uuid::nil()));
        self.with(|s| {
            // Keyed by (tenant, id): the tenant's rows come in id order.
            s.users
                .range((tenant, after)..)
                .map(|(_, row)| row)
                .take_while(|row| row.tenant_id == tenant)
                .filter(|row| row.id > after)
                .filter(|row| query.status.is_none_or(|status| row.status == status))
                .take(limit)
                .map(|row| row.to_user(&s.outbox))
                .collect()
        })
    }

    async fn find_by_token(&self, hash: &SecretHash) -> Result<Option<User>, StoreError> {
        self.with(|s| {
            s.tokens
                .get(hash)
                .and_then(|key| s.users.get(key))
                .filter(|row| matches!(row.status, UserStatus::Invited | UserStatus::Revoked))
                .map(|row| row.to_user(&s.outbox))
                .transpose()
        })
    }

    async fn sends_since(
        &self,
        tenant: TenantId,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let since = micros(since);
        self.with(|s| {
            let mut at: Vec<DateTime<Utc>> = s
                .user_sends
                .get(&(tenant, user))
                .into_iter()
                .flatten()
                .copied()
                .filter(|sent_at| *sent_at >= since)
                .collect();
            at.sort();
            Ok(at)
        })
    }

    async fn insert_invited(&self, new: &NewUser) -> Result<(), StoreError> {
        self.with(|s| insert_invited(s, new))
    }

    async fn rotate_invite(&self, rotation: &Rotation) -> Result<WriteOutcome, StoreError> {
        self.with(|s| rotate_invite(s, rotation))
    }

    async fn activate(&self, a: &Activation) -> Result<WriteOutcome, StoreError> {
        self.with(|s| activate(s, a))
    }

    async fn revoke_invite(&self, revocation: &Revocation) -> Result<WriteOutcome, StoreError> {
        self.with(|s| revoke(s, revocation))
    }

    async fn erase(&self, erasure: &Erasure) -> Result<bool, StoreError> {
        self.with(|s| erase(s, erasure))
    }
}

/// An accept: only if the user is still invited at the version the
/// decision was taken on.
fn activate(s: &mut State, a: &Activation) -> Result<WriteOutcome, StoreError> {
    let key = (a.tenant_id, a.user_id);
    let guard_holds = s
        .users
        .get(&key)
        .is_some_and(|row| row.invited_at(a.expected_version));
    if !guard_holds {
        return Ok(WriteOutcome::Stale);
    }
    check_audit(s, &a.audit)?;
    if let Some(row) = s.users.get_mut(&key) {
        row.status = UserStatus::Active;
        row.verified_at = Some(micros(a.at));
        let consumed = row.token_hash.take();
        row.version += 1;
        if let Some(hash) = consumed {
            s.tokens.remove(&hash);
        }
    }
    write_audit(s, &a.audit);
    webhooks::queue(s, &a.event);
    Ok(WriteOutcome::Applied)
}

/// A revoke: only if the user is still invited at the version the decision
/// was taken on. The token hash stays (the page tells its holder the invite
/// was withdrawn); the pending emails go, leased ones included.
fn revoke(s: &mut State, r: &Revocation) -> Result<WriteOutcome, StoreError> {
    let key = (r.tenant_id, r.user_id);
    let guard_holds = s
        .users
        .get(&key)
        .is_some_and(|row| row.invited_at(r.expected_version));
    if !guard_holds {
        return Ok(WriteOutcome::Stale);
    }
    check_idempotency(s, r.idempotency.as_ref())?;
    check_audit(s, &r.audit)?;
    if let Some(row) = s.users.get_mut(&key) {
        row.status = UserStatus::Revoked;
        row.revoked_at = Some(micros(r.at));
        row.version += 1;
    }
    s.outbox.retain(|_, m| {
        !(m.tenant_id == r.tenant_id && m.user_id == r.user_id && m.status == OutboxStatus::Pending)
    });
    write_idempotency(s, r.idempotency.as_ref());
    write_audit(s, &r.audit);
    webhooks::queue(s, &r.event);
    Ok(WriteOutcome::Applied)
}

/// An erasure: the user, its sends, messages and the idempotency records
/// about it; then the erasure's own record and audit line.
fn erase(s: &mut State, e: &Erasure) -> Result<bool, StoreError> {
    let key = (e.tenant_id, e.user_id);
    if !s.users.contains_key(&key) {
        return Ok(false);
    }
    // The records about the user go first, so a key they held is free.
    let about_user = |r: &beckon_ports::IdempotencyRecord| {
        r.tenant_id == e.tenant_id && r.user_id == Some(e.user_id)
    };
    let live_key_taken = e.idempotency.as_ref().is_some_and(|w| {
        s.idempotency
            .get(&(w.record.tenant_id, w.record.key.clone()))
            .is_some_and(|held| !about_user(held) && held.created_at >= micros(w.stale_before))
    });
    if live_key_taken {
        return Err(StoreError::IdempotencyKeyTaken);
    }
    check_audit(s, &e.audit)?;

    if let Some(row) = s.users.remove(&key) {
        s.emails.remove(&(e.tenant_id, row.email.normalized()));
        if let Some(hash) = row.token_hash {
            s.tokens.remove(&hash);
        }
    }
    s.user_sends.remove(&key);
    s.sends
        .retain(|(tenant, _), (user, _)| !(*tenant == e.tenant_id && *user == e.user_id));
    s.outbox
        .retain(|_, m| !(m.tenant_id == e.tenant_id && m.user_id == e.user_id));
    s.idempotency.retain(|_, r| !about_user(r));
    webhooks::forget_user(s, e.tenant_id, e.user_id);
    write_idempotency(s, e.idempotency.as_ref());
    write_audit(s, &e.audit);
    webhooks::queue(s, &e.event);
    Ok(true)
}

/// The new user with its first send, idempotency record and audit line.
fn insert_invited(s: &mut State, new: &NewUser) -> Result<(), StoreError> {
    let u = &new.user;
    let key = (u.tenant_id, u.id);
    if s.users.contains_key(&key) {
        return Err(unexpected(
            "a user with this id already exists in the tenant",
        ));
    }
    let email = (u.tenant_id, u.email.normalized());
    if s.emails.contains(&email) {
        return Err(StoreError::EmailTaken);
    }
    if !s.tenants.contains_key(&u.tenant_id) {
        return Err(StoreError::MissingReference);
    }
    check_token_free(s, &new.send.token_hash, None)?;
    check_send(s, &new.send, Some(key))?;
    check_idempotency(s, new.idempotency.as_ref())?;
    check_audit(s, &new.audit)?;

    s.users.insert(
        key,
        UserRow::new(u, new.send.token_hash, new.send.outbox.id),
    );
    s.emails.insert(email);
    s.tokens.insert(new.send.token_hash, key);
    write_send(s, &new.send);
    write_idempotency(s, new.idempotency.as_ref());
    write_audit(s, &new.audit);
    webhooks::queue(s, &new.event);
    Ok(())
}

/// A resend: only if the user is still invited at the version the decision
/// was taken on. The guard is checked first: a write that lost its race is
/// `Stale`, whatever else might be wrong with it.
fn rotate_invite(s: &mut State, r: &Rotation) -> Result<WriteOutcome, StoreError> {
    let key = (r.tenant_id, r.user_id);
    let guard_holds = s
        .users
        .get(&key)
        .is_some_and(|row| row.invited_at(r.expected_version));
    if !guard_holds {
        return Ok(WriteOutcome::Stale);
    }
    check_token_free(s, &r.send.token_hash, Some(key))?;
    check_send(s, &r.send, None)?;
    check_idempotency(s, r.idempotency.as_ref())?;
    check_audit(s, &r.audit)?;

    if let Some(row) = s.users.get_mut(&key) {
        if let Some(old) = row.token_hash.replace(r.send.token_hash) {
            s.tokens.remove(&old);
        }
        s.tokens.insert(r.send.token_hash, key);
        row.invite_expires_at = Some(micros(r.send.expires_at));
        row.invite_last_sent_at = Some(micros(r.send.sent_at));
        row.invite_sends = row.invite_sends.saturating_add(1);
        row.invite_outbox_id = Some(r.send.outbox.id);
        row.version += 1;
    }
    write_send(s, &r.send);
    write_idempotency(s, r.idempotency.as_ref());
    write_audit(s, &r.audit);
    webhooks::queue(s, &r.event);
    Ok(WriteOutcome::Applied)
}

/// A token hash is unique across all users (the database's unique index);
/// `owner` is the row about to take it, which may hold it already.
fn check_token_free(
    s: &State,
    hash: &SecretHash,
    owner: Option<(TenantId, UserId)>,
) -> Result<(), StoreError> {
    let clash = s.tokens.get(hash).is_some_and(|key| Some(*key) != owner);
    if clash {
        return Err(unexpected("the token hash belongs to another user"));
    }
    Ok(())
}

/// The send's history row and its email need their user (`new_user` is
/// the one being inserted) and ids of their own.
fn check_send(
    s: &State,
    send: &InviteSend,
    new_user: Option<(TenantId, UserId)>,
) -> Result<(), StoreError> {
    let m = &send.outbox;
    let user = (m.tenant_id, m.user_id);
    if new_user != Some(user) && !s.users.contains_key(&user) {
        return Err(unexpected("the send refers to a user that does not exist"));
    }
    let id = (m.tenant_id, m.id);
    if s.sends.contains_key(&id) || s.outbox.contains_key(&id) {
        return Err(unexpected("an outbox message with this id already exists"));
    }
    Ok(())
}

/// A live record of the key refuses the write; a stale one (created before
/// `stale_before`) will be replaced.
fn check_idempotency(s: &State, w: Option<&IdempotencyWrite>) -> Result<(), StoreError> {
    let Some(w) = w else { return Ok(()) };
    let key = (w.record.tenant_id, w.record.key.clone());
    match s.idempotency.get(&key) {
        Some(held) if held.created_at >= micros(w.stale_before) => {
            Err(StoreError::IdempotencyKeyTaken)
        }
        _ => Ok(()),
    }
}

/// An audit line needs an id of its own within its tenant.
pub fn check_audit(s: &State, entry: &AuditEntry) -> Result<(), StoreError> {
    let taken = s.audit_ids.contains(&(entry.tenant_id, entry.id));
    if taken {
        return Err(unexpected("an audit line with this id already exists"));
    }
    Ok(())
}

fn write_send(s: &mut State, send: &InviteSend) {
    let m = &send.outbox;
    let sent_at = micros(send.sent_at);
    let created_at = micros(m.created_at);
    s.sends.insert((m.tenant_id, m.id), (m.user_id, sent_at));
    s.user_sends
        .entry((m.tenant_id, m.user_id))
        .or_default()
        .push(sent_at);
    s.outbox.insert(
        (m.tenant_id, m.id),
        StoredMessage {
            id: m.id,
            tenant_id: m.tenant_id,
            user_id: m.user_id,
            email: Some(m.email.clone()),
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: created_at,
            claimed_until: None,
            last_error: None,
            created_at,
            sent_at: None,
            failed_at: None,
        },
    );
}

fn write_idempotency(s: &mut State, w: Option<&IdempotencyWrite>) {
    if let Some(w) = w {
        let mut record = w.record.clone();
        record.created_at = micros(record.created_at);
        s.idempotency
            .insert((record.tenant_id, record.key.clone()), record);
    }
}

pub fn write_audit(s: &mut State, entry: &AuditEntry) {
    let mut entry = entry.clone();
    entry.at = micros(entry.at);
    s.audit_ids.insert((entry.tenant_id, entry.id));
    s.audit.push(entry);
}
