//! Accept an invite: the token is the credential. The user becomes active and
//! the token is consumed; replaced, used or unknown tokens are refused alike.

use std::sync::Arc;

use beckon_ports::{
    Clock, InviteToken, TenantId, User, UserId, UserRepo, UserStatus, WriteOutcome,
};

use crate::error::from_store_error;

/// Rounds of "activate, lose to a concurrent writer, look again".
const MAX_ROUNDS: usize = 4;

/// An accepted invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The user that is now active.
    pub user_id: UserId,
    /// Its tenant.
    pub tenant_id: TenantId,
}

/// Why an accept was refused.
#[derive(Debug, thiserror::Error)]
pub enum AcceptInviteError {
    /// Unknown, replaced or already used.
    #[error("invalid invite token")]
    InvalidToken,
    /// The token was valid but its time is up; a resend issues a new one.
    #[error("the invite has expired")]
    Expired,
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
    clock: Arc<dyn Clock>,
}

impl AcceptInvite {
    /// Builds the use case.
    pub fn new(users: Arc<dyn UserRepo>, clock: Arc<dyn Clock>) -> Self {
        Self { users, clock }
    }

    /// Accepts the invite `token` belongs to.
    #[tracing::instrument(name = "accept_invite", skip_all)]
    pub async fn execute(&self, token: &str) -> Result<Accepted, AcceptInviteError> {
        let token = InviteToken::parse(token).ok_or(AcceptInviteError::InvalidToken)?;
        for _ in 0..MAX_ROUNDS {
            let now = self.clock.now();
            let user = pending_user(&*self.users, &token).await?;
            let Some(invite) = &user.invite else {
                return Err(AcceptInviteError::InvalidToken);
            };
            if now >= invite.expires_at {
                return Err(AcceptInviteError::Expired);
            }
            match self
                .users
                .activate(user.tenant_id, user.id, user.version, now)
                .await?
            {
                WriteOutcome::Applied => {
                    tracing::info!(tenant_id = %user.tenant_id, user_id = %user.id, "invite accepted");
                    return Ok(Accepted {
                        user_id: user.id,
                        tenant_id: user.tenant_id,
                    });
                }
                // A resend or another accept got there first; the next look
                // finds the token replaced or consumed.
                WriteOutcome::Stale => continue,
            }
        }
        Err(AcceptInviteError::Unexpected(anyhow::anyhow!(
            "accept lost {MAX_ROUNDS} races in a row"
        )))
    }
}

/// The invited user this token currently belongs to, or `InvalidToken`.
pub(crate) async fn pending_user(
    users: &dyn UserRepo,
    token: &InviteToken,
) -> Result<User, AcceptInviteError> {
    match users.find_by_token(&token.hash()).await? {
        Some(user) if user.status == UserStatus::Invited => Ok(user),
        _ => Err(AcceptInviteError::InvalidToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::store::MockUserRepo;

    fn setup(user: Option<User>, now_secs: i64) -> (MockUserRepo, Arc<dyn Clock>) {
        let mut users = MockUserRepo::new();
        users
            .expect_find_by_token()
            .returning(move |h| Ok(user.clone().filter(|_| *h == token().hash())));
        (users, fixed_clock(now_secs))
    }

    #[tokio::test]
    async fn a_valid_token_activates_its_user() {
        let user = invited_user(tenant_a(), 0, 3);
        let id = user.id;
        let (mut users, clock) = setup(Some(user), 10);
        users
            .expect_activate()
            .withf(move |t, u, v, at| *t == tenant_a() && *u == id && *v == 3 && *at == at_secs(10))
            .times(1)
            .returning(|_, _, _, _| Ok(WriteOutcome::Applied));
        let out = AcceptInvite::new(Arc::new(users), clock)
            .execute(token().expose())
            .await
            .unwrap();
        assert_eq!(
            out,
            Accepted {
                user_id: id,
                tenant_id: tenant_a()
            }
        );
    }

    #[tokio::test]
    async fn garbage_and_unknown_tokens_are_invalid() {
        let (users, clock) = setup(None, 10);
        let accept = AcceptInvite::new(Arc::new(users), clock);
        assert!(matches!(
            accept.execute("nope").await,
            Err(AcceptInviteError::InvalidToken)
        ));
        assert!(matches!(
            accept.execute(token().expose()).await,
            Err(AcceptInviteError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_as_expired_and_changes_nothing() {
        let user = invited_user(tenant_a(), 0, 1);
        let expires = user.invite.as_ref().unwrap().expires_at;
        let (users, clock) = setup(Some(user), (expires - at_secs(0)).num_seconds());
        // No activate expectation: calling it would fail the test.
        let accept = AcceptInvite::new(Arc::new(users), clock);
        assert!(matches!(
            accept.execute(token().expose()).await,
            Err(AcceptInviteError::Expired)
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
            .returning(|_, _, _, _| Ok(WriteOutcome::Stale));
        users
            .expect_find_by_token()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(None));
        let accept = AcceptInvite::new(Arc::new(users), fixed_clock(5));
        assert!(matches!(
            accept.execute(token().expose()).await,
            Err(AcceptInviteError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn a_store_outage_is_unavailable() {
        let mut users = MockUserRepo::new();
        users
            .expect_find_by_token()
            .returning(|_| Err(unavailable()));
        let accept = AcceptInvite::new(Arc::new(users), fixed_clock(5));
        assert!(matches!(
            accept.execute(token().expose()).await,
            Err(AcceptInviteError::Unavailable(_))
        ));
    }
}
