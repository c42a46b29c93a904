//! The authorization port: may this principal do this action on this resource?

use crate::ids::{TenantId, UserId};
use crate::model::{Principal, UserStatus};

/// One per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `POST /v1/users`
    InviteUser,
    /// `POST /v1/users/{id}/resend-invite`
    ResendInvite,
    /// `GET /v1/users/{id}`
    ReadUser,
    /// `GET /v1/users`
    ListUsers,
    /// `POST /v1/users/{id}/revoke-invite`
    RevokeInvite,
    /// `DELETE /v1/users/{id}`
    DeleteUser,
    /// `GET /v1/audit`
    ReadAudit,
}

impl Action {
    /// The action's name in the policies.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InviteUser => "InviteUser",
            Self::ResendInvite => "ResendInvite",
            Self::ReadUser => "ReadUser",
            Self::ListUsers => "ListUsers",
            Self::RevokeInvite => "RevokeInvite",
            Self::DeleteUser => "DeleteUser",
            Self::ReadAudit => "ReadAudit",
        }
    }

    /// Every action, in declaration order.
    pub const ALL: [Self; 7] = [
        Self::InviteUser,
        Self::ResendInvite,
        Self::ReadUser,
        Self::ListUsers,
        Self::RevokeInvite,
        Self::DeleteUser,
        Self::ReadAudit,
    ];

    /// Whether the action is done to one user (`Resource::User`) rather
    /// than to the tenant as a whole (`Resource::Tenant`).
    pub const fn acts_on_user(self) -> bool {
        match self {
            Self::ResendInvite | Self::ReadUser | Self::RevokeInvite | Self::DeleteUser => true,
            Self::InviteUser | Self::ListUsers | Self::ReadAudit => false,
        }
    }
}

/// What an action is done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A tenant as a whole (inviting, listing).
    Tenant {
        /// The tenant.
        id: TenantId,
    },
    /// One user. For a user that does not exist, `tenant_id` is the tenant
    /// asked about and `status` is `None`: the decision must not depend on
    /// whether the user exists.
    User {
        /// The user.
        id: UserId,
        /// The tenant it belongs to.
        tenant_id: TenantId,
        /// Its status, when it exists.
        status: Option<UserStatus>,
    },
}

/// The question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzRequest {
    /// Who asks.
    pub principal: Principal,
    /// To do what.
    pub action: Action,
    /// To what.
    pub resource: Resource,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused; `notices` are the texts of the policies that decided it
    /// (empty when nothing permitted the request).
    Deny {
        /// Why, in the policies' words.
        notices: Vec<String>,
    },
}

/// Decides requests.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Authorizer: Send + Sync {
    /// MUST deny when evaluating any policy fails (an erroring forbid must
    /// not turn into an allow).
    fn authorize(&self, request: &AuthzRequest) -> Decision;
}
