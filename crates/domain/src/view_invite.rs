//! Look at an invite without touching it: what the `/invite` page shows
//! before the person presses the button (mail scanners open links too).

use std::sync::Arc;

use beckon_ports::{Clock, InviteToken, Locale, TenantName, TenantRepo, UserRepo, UserStatus};
use chrono::{DateTime, Utc};

use crate::accept_invite::{AcceptInviteError, tenant_of};

/// What the page may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteView {
    /// The inviting tenant's name.
    pub tenant_name: TenantName,
    /// The language to show it in: the tenant's.
    pub locale: Locale,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
}

/// Same refusals as accepting.
pub type ViewInviteError = AcceptInviteError;

/// The use case.
pub struct ViewInvite {
    users: Arc<dyn UserRepo>,
    tenants: Arc<dyn TenantRepo>,
    clock: Arc<dyn Clock>,
}

impl ViewInvite {
    /// Builds the use case.
    pub fn new(
        users: Arc<dyn UserRepo>,
        tenants: Arc<dyn TenantRepo>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            tenants,
            clock,
        }
    }

    /// Reads the invite behind `token`; changes nothing. Refusals of a
    /// known token carry the tenant's locale, as accepting's do.
    pub async fn execute(&self, token: &str) -> Result<InviteView, ViewInviteError> {
        let token = InviteToken::parse(token).ok_or(AcceptInviteError::InvalidToken)?;
        let Some(user) = self.users.find_by_token(&token.hash()).await? else {
            return Err(AcceptInviteError::InvalidToken);
        };
        let tenant = tenant_of(&*self.tenants, &user).await?;
        let locale = tenant.locale;
        let expires_at = match (user.status, &user.invite) {
            (UserStatus::Revoked, _) => return Err(AcceptInviteError::Withdrawn { locale }),
            (UserStatus::Invited, Some(invite)) => invite.expires_at,
            _ => return Err(AcceptInviteError::InvalidToken),
        };
        if self.clock.now() >= expires_at {
            return Err(AcceptInviteError::Expired { locale });
        }
        Ok(InviteView {
            tenant_name: tenant.name,
            locale,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::Tenant;
    use beckon_ports::store::{MockTenantRepo, MockUserRepo};

    /// The token belongs to `user` (if any); tenant A writes in French.
    fn view(user: Option<beckon_ports::User>, now_secs: i64, tenant_read: bool) -> ViewInvite {
        let mut users = MockUserRepo::new();
        users
            .expect_find_by_token()
            .returning(move |h| Ok(user.clone().filter(|_| *h == token().hash())));
        let mut tenants = MockTenantRepo::new();
        if tenant_read {
            tenants.expect_get().times(1).returning(|id| {
                Ok(Some(Tenant {
                    locale: Locale::Fr,
                    ..tenant(id)
                }))
            });
        }
        ViewInvite::new(Arc::new(users), Arc::new(tenants), fixed_clock(now_secs))
    }

    #[tokio::test]
    async fn a_pending_invite_is_shown_in_its_tenants_locale() {
        let user = invited_user(tenant_a(), 0, 1);
        let expires_at = user.invite.as_ref().unwrap().expires_at;
        let got = view(Some(user), 10, true)
            .execute(token().expose())
            .await
            .unwrap();
        assert_eq!(
            got,
            InviteView {
                tenant_name: TenantName::parse("Acme").unwrap(),
                locale: Locale::Fr,
                expires_at,
            }
        );
    }

    #[tokio::test]
    async fn withdrawn_and_expired_invites_are_refused_in_the_tenants_locale() {
        let revoked = view(Some(revoked_user(tenant_a(), 0, 2)), 10, true);
        assert!(matches!(
            revoked.execute(token().expose()).await,
            Err(AcceptInviteError::Withdrawn { locale: Locale::Fr })
        ));
        let user = invited_user(tenant_a(), 0, 1);
        let expires = user.invite.as_ref().unwrap().expires_at;
        let expired = view(Some(user), (expires - at_secs(0)).num_seconds(), true);
        assert!(matches!(
            expired.execute(token().expose()).await,
            Err(AcceptInviteError::Expired { locale: Locale::Fr })
        ));
    }

    #[tokio::test]
    async fn an_unknown_token_is_invalid_without_reading_a_tenant() {
        // No tenant expectation: a read would fail the test.
        let v = view(None, 10, false);
        assert!(matches!(
            v.execute(token().expose()).await,
            Err(AcceptInviteError::InvalidToken)
        ));
        assert!(matches!(
            v.execute("not a token").await,
            Err(AcceptInviteError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn a_user_without_its_tenant_is_unexpected() {
        let mut users = MockUserRepo::new();
        users
            .expect_find_by_token()
            .returning(|_| Ok(Some(invited_user(tenant_a(), 0, 1))));
        let mut tenants = MockTenantRepo::new();
        tenants.expect_get().returning(|_| Ok(None));
        let v = ViewInvite::new(Arc::new(users), Arc::new(tenants), fixed_clock(10));
        assert!(matches!(
            v.execute(token().expose()).await,
            Err(AcceptInviteError::Unexpected(_))
        ));
    }
}
