//! One send of an invite: a fresh token, its expiry and the email carrying it.

use std::sync::Arc;

use beckon_ports::{
    AuditLog, Authorizer, Clock, Email, IdempotencyStore, InviteEmail, InviteSend, InviteToken,
    OutboxId, OutboxMessage, Random, TenantId, TenantName, UserId, UserName, UserRepo,
};
use chrono::{DateTime, Utc};

use crate::Ports;
use crate::error::delta;
use crate::policy::InvitePolicy;

/// The ports every use case that sends an invite works with.
pub(crate) struct SendPorts {
    pub users: Arc<dyn UserRepo>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub audit: Arc<dyn AuditLog>,
    pub authorizer: Arc<dyn Authorizer>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
}

impl SendPorts {
    pub fn new(ports: &Ports) -> Self {
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
                token,
                expires_at,
            },
            created_at: now,
        },
    })
}
