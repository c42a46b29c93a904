//! Rows as diesel reads and writes them, and their mapping to and from the
//! ports' records. Stored text is parsed back through the value types, so a
//! row that would not be valid input is reported instead of passed on.

use beckon_ports::{
    ApiKeyId, ApiKeyRecord, AuditEntry, AuditOutcome, ClaimedMessage, Delivery, Email,
    IdempotencyKey, IdempotencyRecord, Invite, InviteEmail, Locale, OutboxId, OutboxMessage,
    RequestId, Role, SecretHash, Tenant, TenantId, TenantName, User, UserId, UserName, UserStatus,
};
use diesel::prelude::*;

use crate::errors::{TxError, corrupt};
use crate::schema::{api_keys, audit_log, idempotency_records, outbox, tenants, users};
use crate::sql_types::{DbTime, DbUuid};

/// `outbox.status` values.
pub const PENDING: &str = "pending";
/// Delivered.
pub const SENT: &str = "sent";
/// Given up.
pub const FAILED: &str = "failed";

/// A stored locale; the CHECK allows nothing else.
fn parse_locale(s: &str) -> Result<Locale, TxError> {
    Locale::parse(s).ok_or_else(|| corrupt("tenant locale", "not en, de or fr"))
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub id: DbUuid,
    pub name: String,
    pub created_at: DbTime,
    pub locale: String,
}

impl TenantRow {
    pub fn new(t: &Tenant) -> Self {
        Self {
            id: t.id.into(),
            name: t.name.as_str().to_owned(),
            created_at: t.created_at.into(),
            locale: t.locale.as_str().to_owned(),
        }
    }

    pub fn into_tenant(self) -> Result<Tenant, TxError> {
        Ok(Tenant {
            id: TenantId::from_uuid(self.id.0),
            name: TenantName::parse(&self.name).map_err(|e| corrupt("tenant name", e))?,
            locale: parse_locale(&self.locale)?,
            created_at: self.created_at.get(),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: DbUuid,
    pub tenant_id: DbUuid,
    pub role: String,
    pub name: Option<String>,
    pub secret_hash: String,
    pub created_at: DbTime,
    pub revoked_at: Option<DbTime>,
}

impl ApiKeyRow {
    pub fn new(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.id.into(),
            tenant_id: k.tenant_id.into(),
            role: k.role.as_str().to_owned(),
            name: k.name.clone(),
            secret_hash: k.secret_hash.to_hex(),
            created_at: k.created_at.into(),
            revoked_at: k.revoked_at.map(DbTime::from),
        }
    }

    pub fn into_record(
        self,
        tenant_name: &str,
        tenant_locale: &str,
    ) -> Result<ApiKeyRecord, TxError> {
        Ok(ApiKeyRecord {
            id: ApiKeyId::from_uuid(self.id.0),
            tenant_id: TenantId::from_uuid(self.tenant_id.0),
            tenant_name: TenantName::parse(tenant_name).map_err(|e| corrupt("tenant name", e))?,
            tenant_locale: parse_locale(tenant_locale)?,
            role: Role::parse(&self.role).map_err(|e| corrupt("role", e))?,
            name: self.name,
            secret_hash: SecretHash::from_hex(&self.secret_hash)
                .ok_or_else(|| corrupt("key hash", "not 64 hex digits"))?,
            created_at: self.created_at.get(),
            revoked_at: self.revoked_at.map(DbTime::get),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub tenant_id: DbUuid,
    pub id: DbUuid,
    pub email: String,
    pub email_normalized: String,
    pub name: Option<String>,
    pub status: String,
    pub created_at: DbTime,
    pub verified_at: Option<DbTime>,
    pub invite_token_hash: Option<String>,
    pub invite_expires_at: Option<DbTime>,
    pub invite_sends: i32,
    pub invite_last_sent_at: Option<DbTime>,
    pub version: i64,
    pub revoked_at: Option<DbTime>,
    pub invite_outbox_id: Option<DbUuid>,
}

impl UserRow {
    /// The row of a new user; the token hash and outbox message come from
    /// its first send.
    pub fn new(u: &User, token: &SecretHash, outbox_id: OutboxId) -> Self {
        let invite = u.invite.as_ref();
        Self {
            tenant_id: u.tenant_id.into(),
            id: u.id.into(),
            email: u.email.as_str().to_owned(),
            email_normalized: u.email.normalized(),
            name: u.name.as_ref().map(|n| n.as_str().to_owned()),
            status: u.status.as_str().to_owned(),
            created_at: u.created_at.into(),
            verified_at: u.verified_at.map(DbTime::from),
            invite_token_hash: Some(token.to_hex()),
            invite_expires_at: invite.map(|i| i.expires_at.into()),
            invite_sends: invite.map_or(0, |i| i32::try_from(i.sends).unwrap_or(i32::MAX)),
            invite_last_sent_at: invite.map(|i| i.last_sent_at.into()),
            version: u.version,
            revoked_at: u.revoked_at.map(DbTime::from),
            invite_outbox_id: Some(outbox_id.into()),
        }
    }

    /// The user, with `delivery_status` the `outbox.status` of its latest
    /// send (`None` when that row is gone: only delivered or failed rows
    /// are ever removed, by retention, so it reads as delivered).
    pub fn into_user(self, delivery_status: Option<String>) -> Result<User, TxError> {
        let delivery = match delivery_status.as_deref() {
            Some(PENDING) => Delivery::Queued,
            Some(FAILED) => Delivery::Failed,
            Some(SENT) | None => Delivery::Sent,
            Some(_) => return Err(corrupt("outbox status", "not pending, sent or failed")),
        };
        let status = UserStatus::parse(&self.status)
            .ok_or_else(|| corrupt("user status", "not invited, active or revoked"))?;
        // The invite columns outlive activation (history); the API shows
        // an invite only while the user is invited.
        let invite = match (status, self.invite_expires_at, self.invite_last_sent_at) {
            (UserStatus::Invited, Some(expires), Some(last)) => Some(Invite {
                expires_at: expires.get(),
                sends: u32::try_from(self.invite_sends).unwrap_or(0),
                last_sent_at: last.get(),
                delivery,
            }),
            (UserStatus::Invited, _, _) => return Err(corrupt("user", "invited without invite")),
            (UserStatus::Active | UserStatus::Revoked, _, _) => None,
        };
        Ok(User {
            id: UserId::from_uuid(self.id.0),
            tenant_id: TenantId::from_uuid(self.tenant_id.0),
            email: Email::parse(&self.email).map_err(|e| corrupt("email", e))?,
            name: self
                .name
                .as_deref()
                .map(UserName::parse)
                .transpose()
                .map_err(|e| corrupt("user name", e))?,
            status,
            created_at: self.created_at.get(),
            verified_at: self.verified_at.map(DbTime::get),
            revoked_at: self.revoked_at.map(DbTime::get),
            invite,
            version: self.version,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxRow {
    pub tenant_id: DbUuid,
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub payload: Option<String>,
    pub status: &'static str,
    pub attempts: i32,
    pub next_attempt_at: DbTime,
    pub created_at: DbTime,
}

impl NewOutboxRow {
    /// A pending message, due at once.
    pub fn new(m: &OutboxMessage) -> Result<Self, TxError> {
        let payload = serde_json::to_string(&m.email).map_err(|e| {
            TxError::Store(beckon_ports::StoreError::Unexpected(
                anyhow::Error::new(e).context("serializing the invite email"),
            ))
        })?;
        Ok(Self {
            tenant_id: m.tenant_id.into(),
            id: m.id.into(),
            user_id: m.user_id.into(),
            payload: Some(payload),
            status: PENDING,
            attempts: 0,
            next_attempt_at: m.created_at.into(),
            created_at: m.created_at.into(),
        })
    }
}

/// What a claim returns.
#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct ClaimedRow {
    pub tenant_id: DbUuid,
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub payload: Option<String>,
    pub attempts: i32,
    pub created_at: DbTime,
}

impl ClaimedRow {
    pub fn into_message(self) -> Result<ClaimedMessage, TxError> {
        let payload = self
            .payload
            .ok_or_else(|| corrupt("outbox message", "pending without payload"))?;
        let email: InviteEmail =
            serde_json::from_str(&payload).map_err(|e| corrupt("outbox payload", e))?;
        Ok(ClaimedMessage {
            id: OutboxId::from_uuid(self.id.0),
            tenant_id: TenantId::from_uuid(self.tenant_id.0),
            user_id: UserId::from_uuid(self.user_id.0),
            email,
            attempt: u32::try_from(self.attempts).unwrap_or(0),
            created_at: self.created_at.get(),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_records)]
pub struct IdempotencyRow {
    pub tenant_id: DbUuid,
    pub idempotency_key: String,
    pub fingerprint: String,
    pub response: String,
    pub created_at: DbTime,
    pub user_id: Option<DbUuid>,
}

impl IdempotencyRow {
    pub fn new(r: &IdempotencyRecord) -> Self {
        Self {
            tenant_id: r.tenant_id.into(),
            idempotency_key: r.key.as_str().to_owned(),
            fingerprint: r.fingerprint.clone(),
            response: r.response.clone(),
            created_at: r.created_at.into(),
            user_id: r.user_id.map(DbUuid::from),
        }
    }

    pub fn into_record(self) -> Result<IdempotencyRecord, TxError> {
        Ok(IdempotencyRecord {
            tenant_id: TenantId::from_uuid(self.tenant_id.0),
            key: IdempotencyKey::parse(&self.idempotency_key)
                .map_err(|e| corrupt("idempotency key", e))?,
            fingerprint: self.fingerprint,
            response: self.response,
            created_at: self.created_at.get(),
            user_id: self.user_id.map(|u| UserId::from_uuid(u.0)),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub tenant_id: DbUuid,
    pub id: DbUuid,
    pub user_id: Option<DbUuid>,
    pub key_id: Option<DbUuid>,
    pub request_id: String,
    pub action: String,
    pub outcome: String,
    pub at: DbTime,
}

impl AuditRow {
    pub fn new(a: &AuditEntry) -> Self {
        Self {
            tenant_id: a.tenant_id.into(),
            id: a.id.into(),
            user_id: a.user_id.map(DbUuid::from),
            key_id: a.key_id.map(DbUuid::from),
            request_id: a.request_id.as_str().to_owned(),
            action: a.action.clone(),
            outcome: a.outcome.as_str().to_owned(),
            at: a.at.into(),
        }
    }

    pub fn into_entry(self) -> Result<AuditEntry, TxError> {
        Ok(AuditEntry {
            id: self.id.0,
            tenant_id: TenantId::from_uuid(self.tenant_id.0),
            user_id: self.user_id.map(|u| UserId::from_uuid(u.0)),
            key_id: self.key_id.map(|k| ApiKeyId::from_uuid(k.0)),
            request_id: RequestId::parse(&self.request_id)
                .map_err(|e| corrupt("audit request id", e))?,
            action: self.action,
            outcome: AuditOutcome::parse(&self.outcome)
                .ok_or_else(|| corrupt("audit outcome", "not a known outcome"))?,
            at: self.at.get(),
        })
    }
}
