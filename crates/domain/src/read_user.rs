//! Read one user of the caller's tenant.

use std::sync::Arc;

use beckon_ports::{
    Action, Authorizer, AuthzRequest, Decision, Principal, Resource, User, UserId, UserRepo,
};

use crate::error::from_store_error;

/// Why a read was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReadUserError {
    /// A policy denied it (whether or not the user exists).
    #[error("forbidden by policy")]
    Forbidden {
        /// The determining policies' notices.
        notices: Vec<String>,
    },
    /// No such user in the caller's tenant.
    #[error("user not found")]
    NotFound,
    /// The store cannot be reached.
    #[error("the store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

from_store_error!(ReadUserError);

/// The use case.
pub struct ReadUser {
    users: Arc<dyn UserRepo>,
    authorizer: Arc<dyn Authorizer>,
}

impl ReadUser {
    /// Builds the use case.
    pub fn new(users: Arc<dyn UserRepo>, authorizer: Arc<dyn Authorizer>) -> Self {
        Self { users, authorizer }
    }

    /// Reads the user. Authorization is decided before existence is revealed.
    #[tracing::instrument(name = "read_user", skip_all, fields(tenant_id = %principal.tenant_id, user_id = %id))]
    pub async fn execute(&self, principal: &Principal, id: UserId) -> Result<User, ReadUserError> {
        let tenant = principal.tenant_id;
        let user = self.users.get(tenant, id).await?;
        let decision = self.authorizer.authorize(&AuthzRequest {
            principal: principal.clone(),
            action: Action::ReadUser,
            resource: Resource::User {
                id,
                tenant_id: tenant,
                status: user.as_ref().map(|u| u.status),
            },
        });
        if let Decision::Deny { notices } = decision {
            return Err(ReadUserError::Forbidden { notices });
        }
        user.ok_or(ReadUserError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::{authz::MockAuthorizer, store::MockUserRepo};

    #[tokio::test]
    async fn a_reader_gets_the_user_and_a_missing_one_is_not_found() {
        let user = invited_user(tenant_a(), 0, 0);
        let id = user.id;
        let mut users = MockUserRepo::new();
        users
            .expect_get()
            .returning(move |_, u| Ok((u == id).then(|| user.clone())));
        let read = ReadUser::new(Arc::new(users), allow_all());
        let p = principal(tenant_a(), "viewer");
        assert_eq!(read.execute(&p, id).await.unwrap().id, id);
        assert!(matches!(
            read.execute(&p, other_user_id()).await,
            Err(ReadUserError::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_denied_reader_gets_403_whether_or_not_the_user_exists() {
        let user = invited_user(tenant_a(), 0, 0);
        let id = user.id;
        let mut users = MockUserRepo::new();
        users
            .expect_get()
            .returning(move |_, u| Ok((u == id).then(|| user.clone())));
        let mut authz = MockAuthorizer::new();
        authz.expect_authorize().returning(|_| Decision::Deny {
            notices: vec!["no".into()],
        });
        let read = ReadUser::new(Arc::new(users), Arc::new(authz));
        let p = principal(tenant_a(), "nobody");
        for target in [id, other_user_id()] {
            match read.execute(&p, target).await {
                Err(ReadUserError::Forbidden { notices }) => assert_eq!(notices, ["no"]),
                other => panic!("{other:?}"),
            }
        }
    }
}
