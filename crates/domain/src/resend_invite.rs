//! Resend an invite: a new token for an unverified user, the old one dead at
//! once, the email queued in the same transaction — within the cooldown and
//! the daily cap, idempotent under a key, audited.

use std::time::Duration;

use beckon_ports::{
    Action, AuditEntry, AuditOutcome, AuthzRequest, Decision, IdempotencyKey, Principal, RequestId,
    Resource, Rotation, StoreError, UserId, UserStatus, WriteOutcome,
};
use chrono::{DateTime, Utc};

use crate::error::from_store_error;
use crate::idempotency::{self, Lookup};
use crate::policy::InvitePolicy;
use crate::rate_limit::{self, wait_before_send};
use crate::send::{Recipient, SendPorts, new_send, sent_event};

/// How often a resend re-decides after losing a race before giving up. Each
/// loss means another request committed, so a few rounds always settle it.
const MAX_ROUNDS: usize = 8;

/// What to resend.
#[derive(Debug, Clone)]
pub struct ResendCommand {
    /// The verified caller, already scoped to its tenant.
    pub principal: Principal,
    /// The user to resend to.
    pub user_id: UserId,
    /// The request's `Idempotency-Key`, if any.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The request's id (for the audit trail).
    pub request_id: RequestId,
}

/// A successful resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendOutcome {
    /// A new token was issued and its email queued.
    Sent,
    /// A repeat of an earlier success under the same key: nothing was done.
    Replayed,
}

/// Why a resend was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResendInviteError {
    /// A policy denied it; `notices` say why.
    #[error("forbidden by policy")]
    Forbidden {
        /// The determining policies' notices.
        notices: Vec<String>,
    },
    /// No such user in the caller's tenant.
    #[error("user not found")]
    NotFound,
    /// The user has accepted already.
    #[error("user is already verified")]
    AlreadyVerified,
    /// The invite was revoked: only a new invite (after deleting the user)
    /// reaches this address again.
    #[error("the invite was revoked")]
    InviteRevoked,
    /// Inside the cooldown or over the daily cap.
    #[error("rate limited")]
    RateLimited {
        /// How long until a send would be allowed.
        retry_after: Duration,
    },
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

from_store_error!(ResendInviteError);

/// The use case.
pub struct ResendInvite {
    p: SendPorts,
    policy: InvitePolicy,
}

impl ResendInvite {
    /// Builds the use case from the ports it needs.
    pub fn new(ports: impl Into<SendPorts>, policy: InvitePolicy) -> Self {
        Self {
            p: ports.into(),
            policy,
        }
    }

    /// Resends the invite. Order of decisions: policy (whether or not the
    /// user exists), idempotent replay, existence, status, limits; then the
    /// write, which loses cleanly to a concurrent writer and re-decides.
    #[tracing::instrument(
        name = "resend_invite",
        skip_all,
        fields(tenant_id = %cmd.principal.tenant_id, user_id = %cmd.user_id)
    )]
    pub async fn execute(&self, cmd: &ResendCommand) -> Result<ResendOutcome, ResendInviteError> {
        for _ in 0..MAX_ROUNDS {
            let now = self.p.clock.now();
            match self.decide(cmd, now).await? {
                Decided::Done(outcome) => return Ok(outcome),
                Decided::Refused(error, outcome) => {
                    self.audit(cmd, outcome, now).await?;
                    return Err(error);
                }
                Decided::Write(rotation) => match self.p.users.rotate_invite(&rotation).await {
                    Ok(WriteOutcome::Applied) => {
                        tracing::info!("invite resent");
                        return Ok(ResendOutcome::Sent);
                    }
                    // Someone else wrote this user, or took this key, first:
                    // decide again on what is there now.
                    Ok(WriteOutcome::Stale) | Err(StoreError::IdempotencyKeyTaken) => continue,
                    Err(e) => return Err(e.into()),
                },
            }
        }
        Err(ResendInviteError::Unexpected(anyhow::anyhow!(
            "resend lost {MAX_ROUNDS} races in a row"
        )))
    }

    async fn decide(
        &self,
        cmd: &ResendCommand,
        now: DateTime<Utc>,
    ) -> Result<Decided, ResendInviteError> {
        let tenant = cmd.principal.tenant_id;
        let user = self.p.users.get(tenant, cmd.user_id).await?;

        let decision = self.p.authorizer.authorize(&AuthzRequest {
            principal: cmd.principal.clone(),
            action: Action::ResendInvite,
            resource: Resource::User {
                id: cmd.user_id,
                tenant_id: tenant,
                status: user.as_ref().map(|u| u.status),
            },
        });
        if let Decision::Deny { notices } = decision {
            return Ok(Decided::Refused(
                ResendInviteError::Forbidden { notices },
                AuditOutcome::Forbidden,
            ));
        }

        let fingerprint = fingerprint(cmd.user_id);
        let key = cmd.idempotency_key.as_ref();
        match idempotency::lookup(&*self.p.idempotency, tenant, key, &fingerprint, now).await? {
            Lookup::Fresh => {}
            Lookup::Replay(_) => {
                self.audit(cmd, AuditOutcome::Replayed, now).await?;
                return Ok(Decided::Done(ResendOutcome::Replayed));
            }
            Lookup::Reused => {
                return Ok(Decided::Refused(
                    ResendInviteError::IdempotencyKeyReused,
                    AuditOutcome::IdempotencyKeyReused,
                ));
            }
        }

        let Some(user) = user else {
            return Ok(Decided::Refused(
                ResendInviteError::NotFound,
                AuditOutcome::NotFound,
            ));
        };
        let invite = match (&user.status, &user.invite) {
            (UserStatus::Invited, Some(invite)) => invite,
            (UserStatus::Revoked, _) => {
                return Ok(Decided::Refused(
                    ResendInviteError::InviteRevoked,
                    AuditOutcome::InviteRevoked,
                ));
            }
            _ => {
                return Ok(Decided::Refused(
                    ResendInviteError::AlreadyVerified,
                    AuditOutcome::AlreadyVerified,
                ));
            }
        };

        let recent = if self.policy.daily_limit > 0 {
            self.p
                .users
                .sends_since(tenant, user.id, now - rate_limit::WINDOW)
                .await?
        } else {
            Vec::new()
        };
        if let Some(retry_after) = wait_before_send(&self.policy, invite.last_sent_at, &recent, now)
        {
            return Ok(Decided::Refused(
                ResendInviteError::RateLimited { retry_after },
                AuditOutcome::RateLimited,
            ));
        }

        let to = Recipient {
            tenant_id: tenant,
            tenant_name: &cmd.principal.tenant_name,
            locale: cmd.principal.tenant_locale,
            user_id: user.id,
            email: &user.email,
            name: user.name.as_ref(),
        };
        let send = new_send(&*self.p.random, &self.policy, &to, now)
            .map_err(ResendInviteError::Unexpected)?;
        let sends = invite.sends.saturating_add(1);
        Ok(Decided::Write(Box::new(Rotation {
            event: sent_event(&*self.p.random, &send, sends),
            tenant_id: tenant,
            user_id: user.id,
            expected_version: user.version,
            send,
            idempotency: idempotency::record(
                tenant,
                key,
                &fingerprint,
                REPLAY.to_owned(),
                Some(user.id),
                now,
            ),
            audit: self.entry(cmd, AuditOutcome::Succeeded, now),
        })))
    }

    fn entry(&self, cmd: &ResendCommand, outcome: AuditOutcome, now: DateTime<Utc>) -> AuditEntry {
        AuditEntry {
            id: self.p.random.new_id(),
            tenant_id: cmd.principal.tenant_id,
            user_id: Some(cmd.user_id),
            key_id: Some(cmd.principal.key_id),
            request_id: cmd.request_id.clone(),
            action: Action::ResendInvite.as_str().to_owned(),
            outcome,
            at: now,
        }
    }

    /// Records an attempt that changed nothing. An attempt that cannot be
    /// audited is not answered as if it had been: the error propagates.
    async fn audit(
        &self,
        cmd: &ResendCommand,
        outcome: AuditOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), ResendInviteError> {
        Ok(self.p.audit.record(&self.entry(cmd, outcome, now)).await?)
    }
}

/// The stored response of a resend: there is only one success body, so the
/// record needs no more than a marker.
const REPLAY: &str = "resent";

/// A resend is "the same request" when it names the same user.
fn fingerprint(user: UserId) -> String {
    format!("ResendInvite {user}")
}

enum Decided {
    Done(ResendOutcome),
    Refused(ResendInviteError, AuditOutcome),
    Write(Box<Rotation>),
}

#[cfg(test)]
#[path = "resend_invite_tests.rs"]
mod tests;
