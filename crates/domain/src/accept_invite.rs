//! Accept an invite: the token is the credential. The user becomes active and
//! the token is consumed; replaced, used or unknown tokens are refused alike.
//! An accept of a known token is audited (no key: the holder has none).
//! What it answers about a known token carries the tenant's locale, so that
//! the page can speak the tenant's language.

use std::sync::Arc;

use beckon_ports::{
    Activation, AuditEntry, AuditLog, AuditOutcome, Clock, EventType, InviteToken, Locale, Random,
    RequestId, Tenant, TenantId, TenantRepo, User, UserId, UserRepo, UserStatus, WriteOutcome,
};
use chrono::{DateTime, Utc};

use crate::error::from_store_error;

/// Rounds of "activate, lose to a concurrent writer, look again".
const MAX_ROUNDS: usize = 4;

/// The audit trail's name for an accept (not a policy action: the token's
/// holder is not a principal).
pub const ACCEPT_ACTION: &str = "AcceptInvite";

/// An accepted invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The user that is now active.
    pub user_id: UserId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its tenant's locale.
    pub locale: Locale,
}

/// Why an accept was refused.
#[derive(Debug, thiserror::Error)]
pub enum AcceptInviteError {
    /// Unknown, replaced or already used.
    #[error("invalid invite token")]
    InvalidToken,
    /// The invite was withdrawn (revoked). The API answers it as an invalid
    /// token; the page tells the person what happened.
    #[error("the invite was withdrawn")]
    Withdrawn {
        /// The tenant's locale.
        locale: Locale,
    },
    /// The token was valid but its time is up; a resend issues a new one.
    #[error("the invite has expired")]
    Expired {
        /// The tenant's locale.
        locale: Locale,
    },
    /// The store cannot be reached; nothing was changed.
    #[error("the store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

from_store_error!(AcceptInviteError);

/// The use case.
pub struct AcceptInvite {
    users: Arc<dyn UserRepo>,
    tenants: Arc<dyn TenantRepo>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl AcceptInvite {
    /// Builds the use case.
    pub fn new(
        users: Arc<dyn UserRepo>,
        tenants: Arc<dyn TenantRepo>,
        audit: Arc<dyn AuditLog>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            users,
            tenants,
            audit,
            clock,
            random,
        }
    }

    /// Accepts the invite `token` belongs to. `request_id` goes into the
    /// audit line.
    #[tracing::instrument(name = "accept_invite", skip_all)]
    pub async fn execute(
        &self,
        token: &str,
        request_id: &RequestId,
    ) -> Result<Accepted, AcceptInviteError> {
        let token = InviteToken::parse(token).ok_or(AcceptInviteError::InvalidToken)?;
        for _ in 0..MAX_ROUNDS {
            let now = self.clock.now();
            let Some(user) = self.users.find_by_token(&token.hash()).await? else {
                // No tenant to record it in: an unknown token is not audited.
                return Err(AcceptInviteError::InvalidToken);
            };
            let refused = match (&user.status, &user.invite) {
                (UserStatus::Revoked, _) => Some(AuditOutcome::InviteRevoked),
                (UserStatus::Invited, Some(invite)) if now >= invite.expires_at => {
                    Some(AuditOutcome::Expired)
                }
                (UserStatus::Invited, Some(_)) => None,
                _ => return Err(AcceptInviteError::InvalidToken),
            };
            if let Some(outcome) = refused {
                self.audit
                    .record(&self.entry(&user, request_id, outcome, now))
                    .await?;
                let locale = tenant_of(&*self.tenants, &user).await?.locale;
                return Err(if outcome == AuditOutcome::Expired {
                    AcceptInviteError::Expired { locale }
                } else {
                    AcceptInviteError::Withdrawn { locale }
                });
            }
            let activation = Activation {
                event: crate::send::event(
                    &*self.random,
                    EventType::InviteAccepted,
                    user.tenant_id,
                    user.id,
                    Some(&user.email),
                    now,
                ),
                tenant_id: user.tenant_id,
                user_id: user.id,
                expected_version: user.version,
                at: now,
                audit: self.entry(&user, request_id, AuditOutcome::Succeeded, now),
            };
            match self.users.activate(&activation).await? {
                WriteOutcome::Applied => {
                    tracing::info!(tenant_id = %user.tenant_id, user_id = %user.id, "invite accepted");
                    // The accept stands: a failed read of the page's
                    // language must not answer it as a failure (a retry
                    // would find the token consumed). English then.
                    let locale = match tenant_of(&*self.tenants, &user).await {
                        Ok(tenant) => tenant.locale,
                        Err(e) => {
                            tracing::warn!(error = %e, "accepted; the tenant's locale is unknown");
                            Locale::default()
                        }
                    };
                    return Ok(Accepted {
                        user_id: user.id,
                        tenant_id: user.tenant_id,
                        locale,
                    });
                }
                // A resend, a revoke or another accept got there first; the
                // next look finds the token replaced, withdrawn or consumed.
                WriteOutcome::Stale => continue,
            }
        }
        Err(AcceptInviteError::Unexpected(anyhow::anyhow!(
            "accept lost {MAX_ROUNDS} races in a row"
        )))
    }

    fn entry(
        &self,
        user: &User,
        request_id: &RequestId,
        outcome: AuditOutcome,
        now: DateTime<Utc>,
    ) -> AuditEntry {
        AuditEntry {
            id: self.random.new_id(),
            tenant_id: user.tenant_id,
            user_id: Some(user.id),
            key_id: None,
            request_id: request_id.clone(),
            action: ACCEPT_ACTION.to_owned(),
            outcome,
            at: now,
        }
    }
}

/// The user's tenant; a user without one is a broken store.
pub(crate) async fn tenant_of(
    tenants: &dyn TenantRepo,
    user: &User,
) -> Result<Tenant, AcceptInviteError> {
    tenants
        .get(user.tenant_id)
        .await?
        .ok_or_else(|| AcceptInviteError::Unexpected(anyhow::anyhow!("user without tenant")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::store::{MockAuditLog, MockTenantRepo, MockUserRepo};
    use beckon_ports::{Locale, TenantName};

    fn setup(user: Option<User>) -> MockUserRepo {
        let mut users = MockUserRepo::new();
        users
            .expect_find_by_token()
            .returning(move |h| Ok(user.clone().filter(|_| *h == token().hash())));
        users
    }

    /// Tenant A, writing in German.
    fn tenants() -> MockTenantRepo {
        let mut tenants = MockTenantRepo::new();
        tenants.expect_get().returning(|id| {
            Ok((id == tenant_a()).then(|| Tenant {
                id,
                name: TenantName::parse("Acme").unwrap(),
                locale: Locale::De,
                created_at: at_secs(0),
            }))
        });
        tenants
    }

    fn accept(users: MockUserRepo, audit: MockAuditLog, now_secs: i64) -> AcceptInvite {
        AcceptInvite::new(
            Arc::new(users),
            Arc::new(tenants()),
            Arc::new(audit),
            fixed_clock(now_secs),
            random(),
        )
    }

    fn req() -> RequestId {
        RequestId::parse("req-accept").unwrap()
    }

    /// An audit log that expects exactly one line with `outcome`.
    fn one_line(outcome: AuditOutcome, user: UserId) -> MockAuditLog {
        let mut audit = MockAuditLog::new();
        audit
            .expect_record()
            .withf(move |e| {
                e.outcome == outcome
                    && e.user_id == Some(user)
                    && e.key_id.is_none()
                    && e.action == ACCEPT_ACTION
                    && e.request_id.as_str() == "req-accept"
            })
            .times(1)
            .returning(|_| Ok(()));
        audit
    }

    #[tokio::test]
    async fn a_valid_token_activates_its_user_with_its_audit_line() {
        let user = invited_user(tenant_a(), 0, 3);
        let id = user.id;
        let mut users = setup(Some(user));
        users
            .expect_activate()
            .withf(move |a| {
                a.tenant_id == tenant_a()
                    && a.user_id == id
                    && a.expected_version == 3
                    && a.at == at_secs(10)
                    && a.audit.outcome == AuditOutcome::Succeeded
                    && a.audit.key_id.is_none()
                    && a.audit.user_id == Some(id)
                    && a.audit.action == ACCEPT_ACTION
                    && a.audit.request_id.as_str() == "req-accept"
            })
            .times(1)
            .returning(|_| Ok(WriteOutcome::Applied));
        let out = accept(users, MockAuditLog::new(), 10)
            .execute(token().expose(), &req())
            .await
            .unwrap();
        assert_eq!(
            out,
            Accepted {
                user_id: id,
                tenant_id: tenant_a(),
                locale: Locale::De,
            }
        );
    }

    #[tokio::test]
    async fn an_accept_stands_in_english_when_its_tenant_cannot_be_read() {
        let user = invited_user(tenant_a(), 0, 3);
        let id = user.id;
        let mut users = setup(Some(user));
        users
            .expect_activate()
            .times(1)
            .returning(|_| Ok(WriteOutcome::Applied));
        let mut tenants = MockTenantRepo::new();
        tenants.expect_get().returning(|_| Err(unavailable()));
        let accept = AcceptInvite::new(
            Arc::new(users),
            Arc::new(tenants),
            Arc::new(MockAuditLog::new()),
            fixed_clock(10),
            random(),
        );
        let out = accept.execute(token().expose(), &req()).await.unwrap();
        assert_eq!(
            out,
            Accepted {
                user_id: id,
                tenant_id: tenant_a(),
                locale: Locale::En,
            }
        );
    }

    #[tokio::test]
    async fn garbage_and_unknown_tokens_are_invalid_and_not_audited() {
        // No audit expectation: a line would fail the test.
        let accept = accept(setup(None), MockAuditLog::new(), 10);
        assert!(matches!(
            accept.execute("nope", &req()).await,
            Err(AcceptInviteError::InvalidToken)
        ));
        assert!(matches!(
            accept.execute(token().expose(), &req()).await,
            Err(AcceptInviteError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_as_expired_audited_and_changes_nothing() {
        let user = invited_user(tenant_a(), 0, 1);
        let id = user.id;
        let expires = user.invite.as_ref().unwrap().expires_at;
        // No activate expectation: calling it would fail the test.
        let accept = accept(
            setup(Some(user)),
            one_line(AuditOutcome::Expired, id),
            (expires - at_secs(0)).num_seconds(),
        );
        assert!(matches!(
            accept.execute(token().expose(), &req()).await,
            Err(AcceptInviteError::Expired { locale: Locale::De })
        ));
    }

    #[tokio::test]
    async fn a_revoked_invite_is_withdrawn_audited_and_changes_nothing() {
        let user = revoked_user(tenant_a(), 0, 2);
        let id = user.id;
        let accept = accept(
            setup(Some(user)),
            one_line(AuditOutcome::InviteRevoked, id),
            30,
        );
        assert!(matches!(
            accept.execute(token().expose(), &req()).await,
            Err(AcceptInviteError::Withdrawn { locale: Locale::De })
        ));
    }

    #[tokio::test]
    async fn losing_the_race_to_a_resend_answers_invalid_token() {
        let user = invited_user(tenant_a(), 0, 1);
        let mut users = MockUserRepo::new();
        let mut seq = mockall::Sequence::new();
        users
            .expect_find_by_token()
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_| Ok(Some(user.clone())));
        users
            .expect_activate()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(WriteOutcome::Stale));
        users
            .expect_find_by_token()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(None));
        let accept = accept(users, MockAuditLog::new(), 5);
        assert!(matches!(
            accept.execute(token().expose(), &req()).await,
            Err(AcceptInviteError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn a_user_whose_tenant_is_missing_is_unexpected() {
        let user = revoked_user(tenant_b(), 0, 2);
        let id = user.id;
        let accept = accept(
            setup(Some(user)),
            one_line(AuditOutcome::InviteRevoked, id),
            30,
        );
        assert!(matches!(
            accept.execute(token().expose(), &req()).await,
            Err(AcceptInviteError::Unexpected(_))
        ));
    }

    #[tokio::test]
    async fn a_store_outage_is_unavailable() {
        let mut users = MockUserRepo::new();
        users
            .expect_find_by_token()
            .returning(|_| Err(unavailable()));
        let accept = accept(users, MockAuditLog::new(), 5);
        assert!(matches!(
            accept.execute(token().expose(), &req()).await,
            Err(AcceptInviteError::Unavailable(_))
        ));
    }
}
