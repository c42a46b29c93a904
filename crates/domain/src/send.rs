//! One send of an invite: a fresh token, its expiry and the email carrying it.

use beckon_ports::{
    Email, InviteEmail, InviteSend, InviteToken, OutboxId, OutboxMessage, Random, TenantId,
    TenantName, UserId, UserName,
};
use chrono::{DateTime, Utc};

use crate::error::delta;
use crate::policy::InvitePolicy;

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
