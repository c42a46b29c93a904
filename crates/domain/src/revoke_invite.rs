//! Revoke an invite: the token dies at once, queued emails are never sent,
//! the user is `revoked` — idempotent by nature (a second revoke changes
//! nothing) and under a key, audited.

use beckon_ports::{
    Action, AuditEntry, AuditOutcome, AuthzRequest, Decision, EventType, IdempotencyKey, Principal,
    RequestId, Resource, Revocation, StoreError, UserId, UserStatus, WriteOutcome,
};
use chrono::{DateTime, Utc};

use crate::error::from_store_error;
use crate::idempotency::{self, Lookup};
use crate::send::{SendPorts, event};

/// How often a revoke re-decides after losing a race before giving up.
const MAX_ROUNDS: usize = 8;

/// What to revoke.
#[derive(Debug, Clone)]
pub struct RevokeCommand {
    /// The verified caller, already scoped to its tenant.
    pub principal: Principal,
    /// The user whose invite to withdraw.
    pub user_id: UserId,
    /// The request's `Idempotency-Key`, if any.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The request's id (for the audit trail).
    pub request_id: RequestId,
}

/// A successful revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// The invite is now revoked.
    Revoked,
    /// It was revoked already: nothing changed.
    AlreadyRevoked,
    /// A repeat of an earlier success under the same key: nothing was done.
    Replayed,
}

/// Why a revoke was refused.
#[derive(Debug, thiserror::Error)]
pub enum RevokeInviteError {
    /// A policy denied it; `notices` say why.
    #[error("forbidden by policy")]
    Forbidden {
        /// The determining policies' notices.
        notices: Vec<String>,
    },
    /// No such user in the caller's tenant.
    #[error("user not found")]
    NotFound,
    /// The user has accepted already: there is no invite to withdraw.
    #[error("user is already verified")]
    AlreadyVerified,
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

from_store_error!(RevokeInviteError);

/// The use case. It needs what the sending use cases need, minus nothing:
/// users, idempotency, audit, authorizer, clock and ids.
pub struct RevokeInvite {
    p: SendPorts,
}

impl RevokeInvite {
    /// Builds the use case from the ports it needs.
    pub fn new(ports: impl Into<SendPorts>) -> Self {
        Self { p: ports.into() }
    }

    /// Revokes the invite. Order of decisions: policy (whether or not the
    /// user exists), idempotent replay, existence, status; then the write,
    /// which loses cleanly to a concurrent writer and re-decides.
    #[tracing::instrument(
        name = "revoke_invite",
        skip_all,
        fields(tenant_id = %cmd.principal.tenant_id, user_id = %cmd.user_id)
    )]
    pub async fn execute(&self, cmd: &RevokeCommand) -> Result<RevokeOutcome, RevokeInviteError> {
        for _ in 0..MAX_ROUNDS {
            let now = self.p.clock.now();
            match self.decide(cmd, now).await? {
                Decided::Done(outcome, line) => {
                    self.audit(cmd, line, now).await?;
                    return Ok(outcome);
                }
                Decided::Refused(error, line) => {
                    self.audit(cmd, line, now).await?;
                    return Err(error);
                }
                Decided::Write(revocation) => match self.p.users.revoke_invite(&revocation).await {
                    Ok(WriteOutcome::Applied) => {
                        tracing::info!("invite revoked");
                        return Ok(RevokeOutcome::Revoked);
                    }
                    Ok(WriteOutcome::Stale) | Err(StoreError::IdempotencyKeyTaken) => continue,
                    Err(e) => return Err(e.into()),
                },
            }
        }
        Err(RevokeInviteError::Unexpected(anyhow::anyhow!(
            "revoke lost {MAX_ROUNDS} races in a row"
        )))
    }

    async fn decide(
        &self,
        cmd: &RevokeCommand,
        now: DateTime<Utc>,
    ) -> Result<Decided, RevokeInviteError> {
        let tenant = cmd.principal.tenant_id;
        let user = self.p.users.get(tenant, cmd.user_id).await?;
        let decision = self.p.authorizer.authorize(&AuthzRequest {
            principal: cmd.principal.clone(),
            action: Action::RevokeInvite,
            resource: Resource::User {
                id: cmd.user_id,
                tenant_id: tenant,
                status: user.as_ref().map(|u| u.status),
            },
        });
        if let Decision::Deny { notices } = decision {
            return Ok(Decided::Refused(
                RevokeInviteError::Forbidden { notices },
                AuditOutcome::Forbidden,
            ));
        }

        let fingerprint = format!("RevokeInvite {}", cmd.user_id);
        let key = cmd.idempotency_key.as_ref();
        match idempotency::lookup(&*self.p.idempotency, tenant, key, &fingerprint, now).await? {
            Lookup::Fresh => {}
            Lookup::Replay(_) => {
                return Ok(Decided::Done(
                    RevokeOutcome::Replayed,
                    AuditOutcome::Replayed,
                ));
            }
            Lookup::Reused => {
                return Ok(Decided::Refused(
                    RevokeInviteError::IdempotencyKeyReused,
                    AuditOutcome::IdempotencyKeyReused,
                ));
            }
        }

        let Some(user) = user else {
            return Ok(Decided::Refused(
                RevokeInviteError::NotFound,
                AuditOutcome::NotFound,
            ));
        };
        match user.status {
            UserStatus::Active => Ok(Decided::Refused(
                RevokeInviteError::AlreadyVerified,
                AuditOutcome::AlreadyVerified,
            )),
            UserStatus::Revoked => Ok(Decided::Done(
                RevokeOutcome::AlreadyRevoked,
                AuditOutcome::Succeeded,
            )),
            UserStatus::Invited => Ok(Decided::Write(Box::new(Revocation {
                event: event(
                    &*self.p.random,
                    EventType::InviteRevoked,
                    tenant,
                    user.id,
                    Some(&user.email),
                    now,
                ),
                tenant_id: tenant,
                user_id: user.id,
                expected_version: user.version,
                at: now,
                idempotency: idempotency::record(
                    tenant,
                    key,
                    &fingerprint,
                    REPLAY.to_owned(),
                    Some(user.id),
                    now,
                ),
                audit: self.entry(cmd, AuditOutcome::Succeeded, now),
            }))),
        }
    }

    fn entry(&self, cmd: &RevokeCommand, outcome: AuditOutcome, now: DateTime<Utc>) -> AuditEntry {
        AuditEntry {
            id: self.p.random.new_id(),
            tenant_id: cmd.principal.tenant_id,
            user_id: Some(cmd.user_id),
            key_id: Some(cmd.principal.key_id),
            request_id: cmd.request_id.clone(),
            action: Action::RevokeInvite.as_str().to_owned(),
            outcome,
            at: now,
        }
    }

    /// Records an attempt that changed nothing; an attempt that cannot be
    /// audited is not answered as if it had been.
    async fn audit(
        &self,
        cmd: &RevokeCommand,
        outcome: AuditOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), RevokeInviteError> {
        Ok(self.p.audit.record(&self.entry(cmd, outcome, now)).await?)
    }
}

/// The stored response of a revoke: there is only one success body.
const REPLAY: &str = "revoked";

enum Decided {
    Done(RevokeOutcome, AuditOutcome),
    Refused(RevokeInviteError, AuditOutcome),
    Write(Box<Revocation>),
}

#[cfg(test)]
#[path = "revoke_invite_tests.rs"]
mod tests;
