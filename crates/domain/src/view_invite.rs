//! Look at an invite without touching it: what the `/invite` page shows
//! before the person presses the button (mail scanners open links too).

use std::sync::Arc;

use beckon_ports::{Clock, InviteToken, TenantName, TenantRepo, UserRepo};
use chrono::{DateTime, Utc};

use crate::accept_invite::{AcceptInviteError, pending_user};

/// What the page may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteView {
    /// The inviting tenant's name.
    pub tenant_name: TenantName,
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

    /// Reads the invite behind `token`; changes nothing.
    pub async fn execute(&self, token: &str) -> Result<InviteView, ViewInviteError> {
        let token = InviteToken::parse(token).ok_or(AcceptInviteError::InvalidToken)?;
        let user = pending_user(&*self.users, &token).await?;
        let invite = user
            .invite
            .as_ref()
            .ok_or(AcceptInviteError::InvalidToken)?;
        if self.clock.now() >= invite.expires_at {
            return Err(AcceptInviteError::Expired);
        }
        let tenant =
            self.tenants.get(user.tenant_id).await?.ok_or_else(|| {
                AcceptInviteError::Unexpected(anyhow::anyhow!("user without tenant"))
            })?;
        Ok(InviteView {
            tenant_name: tenant.name,
            expires_at: invite.expires_at,
        })
    }
}
