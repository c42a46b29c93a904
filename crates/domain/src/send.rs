//! One send of an invite: a fresh token, its expiry and the email carrying it.

use std::sync::Arc;

use beckon_ports::{
    AuditLog, Authorizer, Clock, Email, EventType, IdempotencyStore, InviteEmail, InviteSend,
    InviteToken, Locale, OutboxId, OutboxMessage, Random, TenantId, TenantName, UserId, UserName,
    UserRepo, WebhookEvent,
};
use chrono::{DateTime, Utc};

use crate::Ports;
use crate::error::delta;
use crate::policy::InvitePolicy;

/// The six ports the use cases that change a user (`InviteUser`,
/// `ResendInvite`, `RevokeInvite`, `DeleteUser`) work with, and no others:
/// they write through `UserRepo` (outbox rows are part of those writes), so
/// they need neither the outbox nor a mailer. Built from the whole `Ports` with `From`, so
/// `ResendInvite::new(&ports, …)` works as well as naming the six.
#[derive(Clone)]
pub struct SendPorts {
    /// Users, invites and the writes that queue an email.
    pub users: Arc<dyn UserRepo>,
    /// Earlier answers to replay.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Refusals' audit lines (a success writes its line with the change).
    pub audit: Arc<dyn AuditLog>,
    /// The policies.
    pub authorizer: Arc<dyn Authorizer>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Tokens and ids.
    pub random: Arc<dyn Random>,
}

impl From<&Ports> for SendPorts {
    fn from(ports: &Ports) -> Self {
        Self {
            users: ports.users.clone(),
            idempotency: ports.idempotency.clone(),
            audit: ports.audit.clone(),
            authorizer: ports.authorizer.clone(),
            clock: ports.clock.clone(),
            random: ports.random.clone(),
        }
    }
}

/// Who the send is for.
pub(crate) struct Recipient<'a> {
    pub tenant_id: TenantId,
    pub tenant_name: &'a TenantName,
    pub locale: Locale,
    pub user_id: UserId,
    pub email: &'a Email,
    pub name: Option<&'a UserName>,
}

/// Mints a new token (the previous one dies when this is written) and the
/// outbox message for it.
pub(crate) fn new_send(
    random: &dyn Random,
    policy: &InvitePolicy,
    to: &Recipient<'_>,
    now: DateTime<Utc>,
) -> Result<InviteSend, anyhow::Error> {
    let token = InviteToken::from_bytes(random.secret_bytes()?);
    let expires_at = now + delta(policy.ttl);
    Ok(InviteSend {
        token_hash: token.hash(),
        expires_at,
        sent_at: now,
        outbox: OutboxMessage {
            id: OutboxId::from_uuid(random.new_id()),
            tenant_id: to.tenant_id,
            user_id: to.user_id,
            email: InviteEmail {
                to: to.email.clone(),
                to_name: to.name.cloned(),
                tenant_name: to.tenant_name.clone(),
                locale: to.locale,
                token,
                expires_at,
            },
            created_at: now,
        },
    })
}

/// The webhook event about `user` of `tenant`: a new id, `now`. The store
/// writes it with the change it reports, only when the tenant has an
/// endpoint.
pub(crate) fn event(
    random: &dyn Random,
    event_type: EventType,
    tenant: TenantId,
    user: UserId,
    email: Option<&Email>,
    now: DateTime<Utc>,
) -> WebhookEvent {
    WebhookEvent {
        id: random.new_id(),
        tenant_id: tenant,
        user_id: user,
        event_type,
        email: email.cloned(),
        send: None,
        message_id: None,
        at: now,
    }
}

/// `invite.sent` for `send`, the `number`th send of the invite.
pub(crate) fn sent_event(random: &dyn Random, send: &InviteSend, number: u32) -> WebhookEvent {
    let m = &send.outbox;
    WebhookEvent {
        send: Some(number),
        message_id: Some(m.id),
        ..event(
            random,
            EventType::InviteSent,
            m.tenant_id,
            m.user_id,
            Some(&m.email.to),
            send.sent_at,
        )
    }
}
