//! The records the contracts write: a fixed instant, fresh tokens, tenants,
//! users with their first send, resends, idempotency writes, API keys and
//! settlements. Public so that an adapter's own tests can build the same
//! records.

use beckon_ports::{
    Activation, ApiKeyId, ApiKeyRecord, AuditEntry, AuditOutcome, Delivery, DeliveryOutcome, Email,
    Erasure, EventType, IdempotencyKey, IdempotencyRecord, IdempotencyWrite, Invite, InviteEmail,
    InviteSend, InviteToken, Locale, NewUser, OutboxId, OutboxMessage, RequestId, Revocation, Role,
    Rotation, SecretHash, Settlement, Tenant, TenantId, TenantName, TenantRepo, User, UserId,
    UserName, UserStatus, WebhookEvent,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

/// A fixed instant with a microsecond part, as the `Clock` port hands them
/// out: every store must give it back exactly.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
        + Duration::microseconds(123_456)
}

/// A fresh token: token hashes are unique across all tenants.
pub fn token() -> InviteToken {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    InviteToken::from_bytes(bytes)
}

/// A tenant named `name`, created at [`t0`] and stored.
pub async fn tenant<S: TenantRepo>(store: &S, name: &str) -> Tenant {
    tenant_in(store, name, Locale::En).await
}

/// A new tenant named `name` writing in `locale`.
pub async fn tenant_in<S: TenantRepo>(store: &S, name: &str, locale: Locale) -> Tenant {
    let t = Tenant {
        id: TenantId::from_uuid(Uuid::now_v7()),
        name: TenantName::parse(name).expect("a valid tenant name"),
        locale,
        created_at: t0(),
    };
    if let Err(e) = TenantRepo::create(store, &t).await {
        panic!("TenantRepo::create of a new tenant answered {e:?} (fixture)");
    }
    t
}

/// An audit line about `user` in `tenant`.
pub fn audit(
    tenant: TenantId,
    user: Option<UserId>,
    action: &str,
    at: DateTime<Utc>,
) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        user_id: user,
        key_id: Some(ApiKeyId::from_uuid(Uuid::now_v7())),
        request_id: RequestId::from_uuid(Uuid::new_v4()),
        action: action.to_owned(),
        outcome: AuditOutcome::Succeeded,
        at,
    }
}

/// A send to `user` at `at` with a fresh token, and that token.
pub fn send(
    tenant: &Tenant,
    user: UserId,
    email: &Email,
    at: DateTime<Utc>,
) -> (InviteSend, InviteToken) {
    let token = token();
    let expires_at = at + Duration::days(7);
    let send = InviteSend {
        token_hash: token.hash(),
        expires_at,
        sent_at: at,
        outbox: OutboxMessage {
            id: OutboxId::from_uuid(Uuid::now_v7()),
            tenant_id: tenant.id,
            user_id: user,
            email: InviteEmail {
                to: email.clone(),
                to_name: Some(UserName::parse("Ada Lovelace").expect("a valid name")),
                tenant_name: tenant.name.clone(),
                locale: tenant.locale,
                token: token.clone(),
                expires_at,
            },
            created_at: at,
        },
    };
    (send, token)
}

/// A new invited user of `tenant` (a fresh UUIDv7 id), invited at `at`.
pub fn new_user(tenant: &Tenant, email: &str, at: DateTime<Utc>) -> (NewUser, InviteToken) {
    new_user_with_id(tenant, UserId::from_uuid(Uuid::now_v7()), email, at)
}

/// A new invited user of `tenant` with the id `id`, invited at `at`.
pub fn new_user_with_id(
    tenant: &Tenant,
    id: UserId,
    email: &str,
    at: DateTime<Utc>,
) -> (NewUser, InviteToken) {
    let email = Email::parse(email).expect("a valid email address");
    let (send, token) = send(tenant, id, &email, at);
    let user = User {
        id,
        tenant_id: tenant.id,
        email,
        name: Some(UserName::parse("Ada Lovelace").expect("a valid name")),
        status: UserStatus::Invited,
        created_at: at,
        verified_at: None,
        revoked_at: None,
        invite: Some(Invite {
            expires_at: send.expires_at,
            sends: 1,
            last_sent_at: at,
            delivery: Delivery::Queued,
        }),
        version: 0,
    };
    let audit = audit(tenant.id, Some(id), "InviteUser", at);
    let event = WebhookEvent {
        send: Some(1),
        message_id: Some(send.outbox.id),
        ..event(tenant.id, id, EventType::InviteSent, Some(&user.email), at)
    };
    let new = NewUser {
        event,
        user,
        send,
        idempotency: None,
        audit,
    };
    (new, token)
}

/// A resend to `user` at `at`, decided on `version`, and its new token.
pub fn rotation(
    tenant: &Tenant,
    user: &User,
    version: i64,
    at: DateTime<Utc>,
) -> (Rotation, InviteToken) {
    let (send, token) = send(tenant, user.id, &user.email, at);
    let rotation = Rotation {
        event: WebhookEvent {
            send: Some(2),
            message_id: Some(send.outbox.id),
            ..event(
                tenant.id,
                user.id,
                EventType::InviteSent,
                Some(&user.email),
                at,
            )
        },
        tenant_id: tenant.id,
        user_id: user.id,
        expected_version: version,
        send,
        idempotency: None,
        audit: audit(tenant.id, Some(user.id), "ResendInvite", at),
    };
    (rotation, token)
}

/// An acceptance of `user` at `at`, decided on `version`, with its audit
/// line (no key: the token's holder has none).
pub fn activation(tenant: TenantId, user: UserId, version: i64, at: DateTime<Utc>) -> Activation {
    let mut audit = audit(tenant, Some(user), "AcceptInvite", at);
    audit.key_id = None;
    Activation {
        event: event(tenant, user, EventType::InviteAccepted, None, at),
        tenant_id: tenant,
        user_id: user,
        expected_version: version,
        at,
        audit,
    }
}

/// A revoke of `user` at `at`, decided on `version`.
pub fn revocation(tenant: TenantId, user: UserId, version: i64, at: DateTime<Utc>) -> Revocation {
    Revocation {
        event: event(tenant, user, EventType::InviteRevoked, None, at),
        tenant_id: tenant,
        user_id: user,
        expected_version: version,
        at,
        idempotency: None,
        audit: audit(tenant, Some(user), "RevokeInvite", at),
    }
}

/// An erasure of `user` at `at`.
pub fn erasure(tenant: TenantId, user: UserId, at: DateTime<Utc>) -> Erasure {
    Erasure {
        event: event(tenant, user, EventType::UserDeleted, None, at),
        tenant_id: tenant,
        user_id: user,
        idempotency: None,
        audit: audit(tenant, Some(user), "DeleteUser", at),
    }
}

/// An idempotency record of `key` in `tenant` created at `at`, replacing
/// records older than a day.
pub fn idempotency(
    tenant: &Tenant,
    key: &str,
    response: &str,
    at: DateTime<Utc>,
) -> IdempotencyWrite {
    IdempotencyWrite {
        record: IdempotencyRecord {
            tenant_id: tenant.id,
            key: IdempotencyKey::parse(key).expect("a valid idempotency key"),
            fingerprint: "POST /v1/users/x/resend-invite".into(),
            response: response.into(),
            created_at: at,
            user_id: None,
        },
        stale_before: at - Duration::hours(24),
    }
}

/// An API key of `tenant` (its `tenant_name` and `tenant_locale` are
/// placeholders the store must ignore).
pub fn api_key(tenant: TenantId) -> ApiKeyRecord {
    ApiKeyRecord {
        id: ApiKeyId::from_uuid(Uuid::now_v7()),
        tenant_id: tenant,
        tenant_name: TenantName::parse("ignored by create").expect("a valid tenant name"),
        tenant_locale: Locale::Fr,
        role: Role::parse("admin").expect("a valid role"),
        name: Some("ci".into()),
        secret_hash: SecretHash::of(Uuid::new_v4().as_bytes()),
        created_at: t0(),
        revoked_at: None,
    }
}

/// Delivered.
pub fn sent(id: OutboxId) -> Settlement {
    Settlement {
        id,
        outcome: DeliveryOutcome::Sent,
        event: None,
    }
}

/// Failed for now; due again at `next_attempt_at`.
pub fn retry(id: OutboxId, next_attempt_at: DateTime<Utc>, error: &str) -> Settlement {
    Settlement {
        id,
        outcome: DeliveryOutcome::Retry {
            next_attempt_at,
            error: error.into(),
        },
        event: None,
    }
}

/// Given up.
pub fn failed(id: OutboxId, reason: &str) -> Settlement {
    Settlement {
        id,
        outcome: DeliveryOutcome::Failed {
            reason: reason.into(),
        },
        event: None,
    }
}

/// A webhook event about `user` of `tenant` at `at` (a new id).
pub fn event(
    tenant: TenantId,
    user: UserId,
    event_type: EventType,
    email: Option<&Email>,
    at: DateTime<Utc>,
) -> WebhookEvent {
    WebhookEvent {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        user_id: user,
        event_type,
        email: email.cloned(),
        send: None,
        message_id: None,
        at,
    }
}
