//! List the caller's tenant's users, a page at a time (keyset on id).

use std::sync::Arc;

use beckon_ports::{
    Action, Authorizer, AuthzRequest, Decision, ListQuery, Principal, Resource, User, UserId,
    UserRepo, UserStatus,
};

use crate::error::from_store_error;

/// The largest page.
pub const MAX_LIMIT: u32 = 200;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: u32 = 50;

/// A page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCommand {
    /// Only users in this status.
    pub status: Option<UserStatus>,
    /// Start after this user id.
    pub after: Option<UserId>,
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: u32,
}

/// A page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// The users, ordered by id.
    pub items: Vec<User>,
    /// The cursor for the next page, when there is one.
    pub next: Option<UserId>,
}

/// Why a list was refused.
#[derive(Debug, thiserror::Error)]
pub enum ListUsersError {
    /// A policy denied it.
    #[error("forbidden by policy")]
    Forbidden {
        /// The determining policies' notices.
        notices: Vec<String>,
    },
    /// `limit` out of range.
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    InvalidLimit,
    /// The store cannot be reached.
    #[error("the store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

from_store_error!(ListUsersError);

/// The use case.
pub struct ListUsers {
    users: Arc<dyn UserRepo>,
    authorizer: Arc<dyn Authorizer>,
}

impl ListUsers {
    /// Builds the use case.
    pub fn new(users: Arc<dyn UserRepo>, authorizer: Arc<dyn Authorizer>) -> Self {
        Self { users, authorizer }
    }

    /// Lists one page.
    #[tracing::instrument(name = "list_users", skip_all, fields(tenant_id = %principal.tenant_id))]
    pub async fn execute(
        &self,
        principal: &Principal,
        cmd: &ListCommand,
    ) -> Result<UserPage, ListUsersError> {
        if cmd.limit == 0 || cmd.limit > MAX_LIMIT {
            return Err(ListUsersError::InvalidLimit);
        }
        let tenant = principal.tenant_id;
        let decision = self.authorizer.authorize(&AuthzRequest {
            principal: principal.clone(),
            action: Action::ListUsers,
            resource: Resource::Tenant { id: tenant },
        });
        if let Decision::Deny { notices } = decision {
            return Err(ListUsersError::Forbidden { notices });
        }
        // One extra row tells whether another page exists.
        let query = ListQuery {
            status: cmd.status,
            after: cmd.after,
            limit: cmd.limit + 1,
        };
        let mut items = self.users.list(tenant, &query).await?;
        let next = if items.len() > cmd.limit as usize {
            items.truncate(cmd.limit as usize);
            items.last().map(|u| u.id)
        } else {
            None
        };
        Ok(UserPage { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::store::MockUserRepo;

    fn users_repo(n: usize) -> MockUserRepo {
        let all: Vec<User> = (0..n)
            .map(|i| invited_user(tenant_a(), i as i64, 0))
            .collect();
        let mut users = MockUserRepo::new();
        users
            .expect_list()
            .returning(move |_, q| Ok(all.iter().take(q.limit as usize).cloned().collect()));
        users
    }

    #[tokio::test]
    async fn a_full_page_carries_the_cursor_of_its_last_item() {
        let list = ListUsers::new(Arc::new(users_repo(5)), allow_all());
        let cmd = ListCommand {
            status: None,
            after: None,
            limit: 2,
        };
        let page = list
            .execute(&principal(tenant_a(), "viewer"), &cmd)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next, Some(page.items[1].id));
    }

    #[tokio::test]
    async fn the_last_page_has_no_cursor() {
        let list = ListUsers::new(Arc::new(users_repo(2)), allow_all());
        let cmd = ListCommand {
            status: None,
            after: None,
            limit: 2,
        };
        let page = list
            .execute(&principal(tenant_a(), "viewer"), &cmd)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next, None);
    }

    #[tokio::test]
    async fn limits_outside_1_to_200_are_refused() {
        let list = ListUsers::new(Arc::new(MockUserRepo::new()), allow_all());
        for limit in [0, 201] {
            let cmd = ListCommand {
                status: None,
                after: None,
                limit,
            };
            assert!(matches!(
                list.execute(&principal(tenant_a(), "viewer"), &cmd).await,
                Err(ListUsersError::InvalidLimit)
            ));
        }
    }

    #[tokio::test]
    async fn a_denied_lister_gets_forbidden_with_notices() {
        let list = ListUsers::new(Arc::new(MockUserRepo::new()), deny_with(&["read-only"]));
        let cmd = ListCommand {
            status: None,
            after: None,
            limit: 10,
        };
        match list.execute(&principal(tenant_a(), "x"), &cmd).await {
            Err(ListUsersError::Forbidden { notices }) => assert_eq!(notices, ["read-only"]),
            other => panic!("{other:?}"),
        }
    }
}
