//! Erase a user: the user, their token, their queued emails and every
//! stored copy of their address and name; the audit trail keeps ids only.

use beckon_ports::{
    Action, AuditEntry, AuditOutcome, AuthzRequest, Decision, Erasure, EventType, IdempotencyKey,
    Principal, RequestId, Resource, StoreError, UserId,
};
use chrono::{DateTime, Utc};

use crate::error::from_store_error;
use crate::idempotency::{self, Lookup};
use crate::send::{SendPorts, event};

/// How often a delete re-decides after losing a race before giving up.
const MAX_ROUNDS: usize = 4;

/// What to erase.
#[derive(Debug, Clone)]
pub struct DeleteCommand {
    /// The verified caller, already scoped to its tenant.
    pub principal: Principal,
    /// The user to erase.
    pub user_id: UserId,
    /// The request's `Idempotency-Key`, if any.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The request's id (for the audit trail).
    pub request_id: RequestId,
}

/// A successful delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The user is gone.
    Deleted,
    /// A repeat of an earlier success under the same key: nothing was done.
    Replayed,
}

/// Why a delete was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeleteUserError {
    /// A policy denied it; `notices` say why.
    #[error("forbidden by policy")]
    Forbidden {
        /// The determining policies' notices.
        notices: Vec<String>,
    },
    /// No such user in the caller's tenant.
    #[error("user not found")]
    NotFound,
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

from_store_error!(DeleteUserError);

/// The use case.
pub struct DeleteUser {
    p: SendPorts,
}

impl DeleteUser {
    /// Builds the use case from the ports it needs.
    pub fn new(ports: impl Into<SendPorts>) -> Self {
        Self { p: ports.into() }
    }

    /// Erases the user. Order of decisions: policy (whether or not the user
    /// exists), idempotent replay, existence; then the erasure.
    #[tracing::instrument(
        name = "delete_user",
        skip_all,
        fields(tenant_id = %cmd.principal.tenant_id, user_id = %cmd.user_id)
    )]
    pub async fn execute(&self, cmd: &DeleteCommand) -> Result<DeleteOutcome, DeleteUserError> {
        let tenant = cmd.principal.tenant_id;
        let fingerprint = format!("DeleteUser {}", cmd.user_id);
        let key = cmd.idempotency_key.as_ref();
        for _ in 0..MAX_ROUNDS {
            let now = self.p.clock.now();
            let user = self.p.users.get(tenant, cmd.user_id).await?;
            let decision = self.p.authorizer.authorize(&AuthzRequest {
                principal: cmd.principal.clone(),
                action: Action::DeleteUser,
                resource: Resource::User {
                    id: cmd.user_id,
                    tenant_id: tenant,
                    status: user.as_ref().map(|u| u.status),
                },
            });
            if let Decision::Deny { notices } = decision {
                self.audit(cmd, AuditOutcome::Forbidden, now).await?;
                return Err(DeleteUserError::Forbidden { notices });
            }
            match idempotency::lookup(&*self.p.idempotency, tenant, key, &fingerprint, now).await? {
                Lookup::Fresh => {}
                Lookup::Replay(_) => {
                    self.audit(cmd, AuditOutcome::Replayed, now).await?;
                    return Ok(DeleteOutcome::Replayed);
                }
                Lookup::Reused => {
                    self.audit(cmd, AuditOutcome::IdempotencyKeyReused, now)
                        .await?;
                    return Err(DeleteUserError::IdempotencyKeyReused);
                }
            }
            if user.is_none() {
                self.audit(cmd, AuditOutcome::NotFound, now).await?;
                return Err(DeleteUserError::NotFound);
            }
            let erasure = Erasure {
                // No address: the erasure leaves no copy of it.
                event: event(
                    &*self.p.random,
                    EventType::UserDeleted,
                    tenant,
                    cmd.user_id,
                    None,
                    now,
                ),
                tenant_id: tenant,
                user_id: cmd.user_id,
                // The record names no user: it must outlive the erasure.
                idempotency: idempotency::record(
                    tenant,
                    key,
                    &fingerprint,
                    REPLAY.to_owned(),
                    None,
                    now,
                ),
                audit: self.entry(cmd, AuditOutcome::Succeeded, now),
            };
            match self.p.users.erase(&erasure).await {
                Ok(true) => {
                    tracing::info!("user erased");
                    return Ok(DeleteOutcome::Deleted);
                }
                // Gone meanwhile, or the key taken meanwhile: decide again.
                Ok(false) | Err(StoreError::IdempotencyKeyTaken) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeleteUserError::Unexpected(anyhow::anyhow!(
            "delete lost {MAX_ROUNDS} races in a row"
        )))
    }

    fn entry(&self, cmd: &DeleteCommand, outcome: AuditOutcome, now: DateTime<Utc>) -> AuditEntry {
        AuditEntry {
            id: self.p.random.new_id(),
            tenant_id: cmd.principal.tenant_id,
            user_id: Some(cmd.user_id),
            key_id: Some(cmd.principal.key_id),
            request_id: cmd.request_id.clone(),
            action: Action::DeleteUser.as_str().to_owned(),
            outcome,
            at: now,
        }
    }

    async fn audit(
        &self,
        cmd: &DeleteCommand,
        outcome: AuditOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), DeleteUserError> {
        Ok(self.p.audit.record(&self.entry(cmd, outcome, now)).await?)
    }
}

/// The stored response of a delete: there is only one success (204).
const REPLAY: &str = "deleted";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::mockall::predicate::always;

    fn command() -> DeleteCommand {
        DeleteCommand {
            principal: principal(tenant_a(), "admin"),
            user_id: user_id(1),
            idempotency_key: None,
            request_id: RequestId::parse("req-del").unwrap(),
        }
    }

    fn expect_line(ports: &mut MockPorts, outcome: AuditOutcome) {
        ports
            .audit
            .expect_record()
            .withf(move |e| {
                e.outcome == outcome
                    && e.action == "DeleteUser"
                    && e.user_id == Some(user_id(1))
                    && e.request_id.as_str() == "req-del"
            })
            .times(1)
            .returning(|_| Ok(()));
    }

    #[tokio::test]
    async fn an_existing_user_is_erased_with_its_audit_line_in_the_erasure() {
        let mut ports = MockPorts::new();
        ports.with_user(active_user(tenant_a(), 1, 4));
        ports
            .users
            .expect_erase()
            .withf(|e| {
                e.tenant_id == tenant_a()
                    && e.user_id == user_id(1)
                    && e.idempotency.is_none()
                    && e.audit.outcome == AuditOutcome::Succeeded
            })
            .times(1)
            .returning(|_| Ok(true));
        let out = DeleteUser::new(&ports.build()).execute(&command()).await;
        assert_eq!(out.unwrap(), DeleteOutcome::Deleted);
    }

    #[tokio::test]
    async fn a_missing_user_is_not_found_and_audited() {
        let mut ports = MockPorts::new();
        ports.with_user(invited_user(tenant_a(), 2, 0));
        expect_line(&mut ports, AuditOutcome::NotFound);
        let out = DeleteUser::new(&ports.build()).execute(&command()).await;
        assert!(matches!(out, Err(DeleteUserError::NotFound)));
    }

    #[tokio::test]
    async fn a_denied_caller_is_forbidden_whether_or_not_the_user_exists() {
        for exists in [true, false] {
            let mut ports = MockPorts::new();
            ports.authorizer = deny_with(&["Only admins delete."]);
            ports.with_user(invited_user(tenant_a(), if exists { 1 } else { 2 }, 0));
            expect_line(&mut ports, AuditOutcome::Forbidden);
            match DeleteUser::new(&ports.build()).execute(&command()).await {
                Err(DeleteUserError::Forbidden { notices }) => {
                    assert_eq!(notices, ["Only admins delete."]);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_user_gone_meanwhile_is_not_found_on_the_next_look() {
        let mut ports = MockPorts::new();
        let mut seq = mockall::Sequence::new();
        ports
            .users
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|t, _| Ok(Some(invited_user(t, 1, 0))));
        ports
            .users
            .expect_erase()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(false));
        ports
            .users
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(None));
        expect_line(&mut ports, AuditOutcome::NotFound);
        let out = DeleteUser::new(&ports.build()).execute(&command()).await;
        assert!(matches!(out, Err(DeleteUserError::NotFound)));
    }

    #[tokio::test]
    async fn a_repeat_under_the_same_key_replays_and_another_request_is_refused() {
        let same = format!("DeleteUser {}", user_id(1));
        for (fingerprint, replayed) in [(same, true), ("ResendInvite x".to_owned(), false)] {
            let mut ports = MockPorts::new();
            ports.with_user(invited_user(tenant_a(), 1, 0));
            ports
                .idempotency
                .expect_find()
                .with(always(), always(), always())
                .returning(move |t, k, _| {
                    Ok(Some(beckon_ports::IdempotencyRecord {
                        tenant_id: t,
                        key: k.clone(),
                        fingerprint: fingerprint.clone(),
                        response: REPLAY.to_owned(),
                        created_at: at_secs(0),
                        user_id: None,
                    }))
                });
            ports.accept_any_audit();
            let mut cmd = command();
            cmd.idempotency_key = Some(IdempotencyKey::parse("k-1").unwrap());
            let out = DeleteUser::new(&ports.build()).execute(&cmd).await;
            if replayed {
                assert_eq!(out.unwrap(), DeleteOutcome::Replayed);
            } else {
                assert!(matches!(out, Err(DeleteUserError::IdempotencyKeyReused)));
            }
        }
    }

    #[tokio::test]
    async fn a_store_outage_is_unavailable() {
        let mut ports = MockPorts::new();
        ports
            .users
            .expect_get()
            .returning(|_, _| Err(unavailable()));
        let out = DeleteUser::new(&ports.build()).execute(&command()).await;
        assert!(matches!(out, Err(DeleteUserError::Unavailable(_))));
    }
}
