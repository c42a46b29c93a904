//! Invite a new user: an unverified user in the caller's tenant and its first
//! invite email, in one transaction. The first invite counts as a send.

use beckon_ports::{
    Action, AuditEntry, AuditOutcome, AuthzRequest, Decision, Delivery, Email, IdempotencyKey,
    Invite, NewUser, Principal, RequestId, Resource, StoreError, User, UserId, UserName,
    UserStatus,
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::error::from_store_error;
use crate::idempotency::{self, Lookup};
use crate::policy::InvitePolicy;
use crate::send::{Recipient, SendPorts, new_send, sent_event};

/// Rounds of "insert, lose to a concurrent twin, look again" before giving up.
const MAX_ROUNDS: usize = 4;

/// Whom to invite.
#[derive(Debug, Clone)]
pub struct InviteCommand {
    /// The verified caller, already scoped to its tenant.
    pub principal: Principal,
    /// The invitee's address.
    pub email: Email,
    /// The invitee's name, if given.
    pub name: Option<UserName>,
    /// The request's `Idempotency-Key`, if any.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The request's id (for the audit trail).
    pub request_id: RequestId,
}

/// A successful invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteOutcome {
    /// The user as created (on a replay: as it was when first created).
    pub user: User,
    /// Whether this answered a repeat from the idempotency record.
    pub replayed: bool,
}

/// Why an invite was refused.
#[derive(Debug, thiserror::Error)]
pub enum InviteUserError {
    /// A policy denied it.
    #[error("forbidden by policy")]
    Forbidden {
        /// The determining policies' notices.
        notices: Vec<String>,
    },
    /// The address (case-insensitively) already belongs to a user of this tenant.
    #[error("a user with this email already exists")]
    UserExists,
    /// The idempotency key was used for a different request.
    #[error("idempotency key reused for another request")]
    IdempotencyKeyReused,
    /// The store cannot be reached; nothing was changed.
    #[error("the store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

from_store_error!(InviteUserError);

/// The use case.
pub struct InviteUser {
    p: SendPorts,
    policy: InvitePolicy,
}

impl InviteUser {
    /// Builds the use case from the ports it needs.
    pub fn new(ports: impl Into<SendPorts>, policy: InvitePolicy) -> Self {
        Self {
            p: ports.into(),
            policy,
        }
    }

    /// Invites the user.
    #[tracing::instrument(name = "invite_user", skip_all, fields(tenant_id = %cmd.principal.tenant_id))]
    pub async fn execute(&self, cmd: &InviteCommand) -> Result<InviteOutcome, InviteUserError> {
        let tenant = cmd.principal.tenant_id;
        let decision = self.p.authorizer.authorize(&AuthzRequest {
            principal: cmd.principal.clone(),
            action: Action::InviteUser,
            resource: Resource::Tenant { id: tenant },
        });
        let now = self.p.clock.now();
        if let Decision::Deny { notices } = decision {
            self.audit(cmd, None, AuditOutcome::Forbidden, now).await?;
            return Err(InviteUserError::Forbidden { notices });
        }

        let fingerprint = fingerprint(cmd);
        let key = cmd.idempotency_key.as_ref();
        for _ in 0..MAX_ROUNDS {
            let now = self.p.clock.now();
            match idempotency::lookup(&*self.p.idempotency, tenant, key, &fingerprint, now).await? {
                Lookup::Fresh => {}
                Lookup::Replay(stored) => {
                    let user: User = serde_json::from_str(&stored).map_err(|e| {
                        InviteUserError::Unexpected(
                            anyhow::Error::new(e).context("stored invite response"),
                        )
                    })?;
                    self.audit(cmd, Some(user.id), AuditOutcome::Replayed, now)
                        .await?;
                    return Ok(InviteOutcome {
                        user,
                        replayed: true,
                    });
                }
                Lookup::Reused => {
                    self.audit(cmd, None, AuditOutcome::IdempotencyKeyReused, now)
                        .await?;
                    return Err(InviteUserError::IdempotencyKeyReused);
                }
            }

            let new = self.new_user(cmd, &fingerprint, now)?;
            match self.p.users.insert_invited(&new).await {
                Ok(()) => {
                    tracing::info!(user_id = %new.user.id, "user invited");
                    return Ok(InviteOutcome {
                        user: new.user,
                        replayed: false,
                    });
                }
                // A concurrent twin under the same key may have won: look again.
                Err(StoreError::IdempotencyKeyTaken) => continue,
                Err(StoreError::EmailTaken) => {
                    // Taken by a concurrent twin under the same key? Then replay it.
                    let again =
                        idempotency::lookup(&*self.p.idempotency, tenant, key, &fingerprint, now);
                    if !matches!(again.await?, Lookup::Fresh) {
                        continue;
                    }
                    self.audit(cmd, None, AuditOutcome::Conflict, now).await?;
                    return Err(InviteUserError::UserExists);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(InviteUserError::Unexpected(anyhow::anyhow!(
            "invite lost {MAX_ROUNDS} races in a row"
        )))
    }

    fn new_user(
        &self,
        cmd: &InviteCommand,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<NewUser, InviteUserError> {
        let tenant = cmd.principal.tenant_id;
        let id = UserId::from_uuid(self.p.random.new_id());
        let to = Recipient {
            tenant_id: tenant,
            tenant_name: &cmd.principal.tenant_name,
            locale: cmd.principal.tenant_locale,
            user_id: id,
            email: &cmd.email,
            name: cmd.name.as_ref(),
        };
        let send = new_send(&*self.p.random, &self.policy, &to, now)
            .map_err(InviteUserError::Unexpected)?;
        let user = User {
            id,
            tenant_id: tenant,
            email: cmd.email.clone(),
            name: cmd.name.clone(),
            status: UserStatus::Invited,
            created_at: now,
            verified_at: None,
            revoked_at: None,
            invite: Some(Invite {
                expires_at: send.expires_at,
                sends: 1,
                last_sent_at: now,
                delivery: Delivery::Queued,
            }),
            version: 0,
        };
        let response = serde_json::to_string(&user)
            .map_err(|e| InviteUserError::Unexpected(anyhow::Error::new(e)))?;
        let key = cmd.idempotency_key.as_ref();
        Ok(NewUser {
            event: sent_event(&*self.p.random, &send, 1),
            idempotency: idempotency::record(tenant, key, fingerprint, response, Some(id), now),
            audit: self.entry(cmd, Some(id), AuditOutcome::Succeeded, now),
            user,
            send,
        })
    }

    fn entry(
        &self,
        cmd: &InviteCommand,
        user: Option<UserId>,
        outcome: AuditOutcome,
        now: DateTime<Utc>,
    ) -> AuditEntry {
        AuditEntry {
            id: self.p.random.new_id(),
            tenant_id: cmd.principal.tenant_id,
            user_id: user,
            key_id: Some(cmd.principal.key_id),
            request_id: cmd.request_id.clone(),
            action: Action::InviteUser.as_str().to_owned(),
            outcome,
            at: now,
        }
    }

    async fn audit(
        &self,
        cmd: &InviteCommand,
        user: Option<UserId>,
        outcome: AuditOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), InviteUserError> {
        Ok(self
            .p
            .audit
            .record(&self.entry(cmd, user, outcome, now))
            .await?)
    }
}

/// Same key, different body → a different request. The body is the address
/// exactly as given plus the name.
fn fingerprint(cmd: &InviteCommand) -> String {
    let mut h = Sha256::new();
    h.update(cmd.email.as_str().as_bytes());
    h.update([0]);
    if let Some(name) = &cmd.name {
        h.update([1]);
        h.update(name.as_str().as_bytes());
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("InviteUser {digest}")
}

#[cfg(test)]
#[path = "invite_user_tests.rs"]
mod tests;
