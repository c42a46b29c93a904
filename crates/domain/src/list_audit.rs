//! Read the caller's tenant's audit trail, newest first, a page at a time.

use std::sync::Arc;

use beckon_ports::{
    Action, AuditEntry, AuditLog, AuditQuery, Authorizer, AuthzRequest, Decision, Principal,
    Resource, UserId,
};

use crate::error::from_store_error;
use crate::list_users::MAX_LIMIT;

/// A page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCommand {
    /// Only entries about this user.
    pub user_id: Option<UserId>,
    /// Start after this entry (the `next` of the previous page): older ones.
    pub after: Option<uuid::Uuid>,
    /// Page size, 1 to 200.
    pub limit: u32,
}

/// A page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The entries, newest first.
    pub items: Vec<AuditEntry>,
    /// The cursor for the next (older) page, when there is one.
    pub next: Option<uuid::Uuid>,
}

/// Why reading the trail was refused.
#[derive(Debug, thiserror::Error)]
pub enum ListAuditError {
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

from_store_error!(ListAuditError);

/// The use case.
pub struct ListAudit {
    audit: Arc<dyn AuditLog>,
    authorizer: Arc<dyn Authorizer>,
}

impl ListAudit {
    /// Builds the use case.
    pub fn new(audit: Arc<dyn AuditLog>, authorizer: Arc<dyn Authorizer>) -> Self {
        Self { audit, authorizer }
    }

    /// Reads one page.
    #[tracing::instrument(name = "list_audit", skip_all, fields(tenant_id = %principal.tenant_id))]
    pub async fn execute(
        &self,
        principal: &Principal,
        cmd: &AuditCommand,
    ) -> Result<AuditPage, ListAuditError> {
        if cmd.limit == 0 || cmd.limit > MAX_LIMIT {
            return Err(ListAuditError::InvalidLimit);
        }
        let tenant = principal.tenant_id;
        let decision = self.authorizer.authorize(&AuthzRequest {
            principal: principal.clone(),
            action: Action::ReadAudit,
            resource: Resource::Tenant { id: tenant },
        });
        if let Decision::Deny { notices } = decision {
            return Err(ListAuditError::Forbidden { notices });
        }
        // One extra row tells whether another page exists.
        let query = AuditQuery {
            user_id: cmd.user_id,
            before: cmd.after,
            limit: cmd.limit + 1,
        };
        let mut items = self.audit.entries(tenant, &query).await?;
        let next = if items.len() > cmd.limit as usize {
            items.truncate(cmd.limit as usize);
            items.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::store::MockAuditLog;
    use beckon_ports::{AuditOutcome, RequestId};

    fn entry(n: u128) -> AuditEntry {
        AuditEntry {
            id: uuid::Uuid::from_u128(n),
            tenant_id: tenant_a(),
            user_id: Some(user_id(1)),
            key_id: None,
            request_id: RequestId::parse("r").unwrap(),
            action: "ResendInvite".to_owned(),
            outcome: AuditOutcome::Succeeded,
            at: at_secs(0),
        }
    }

    fn log(n: u128) -> MockAuditLog {
        let mut audit = MockAuditLog::new();
        audit.expect_entries().returning(move |_, q| {
            Ok((1..=n)
                .rev()
                .map(entry)
                .filter(|e| q.before.is_none_or(|b| e.id < b))
                .take(q.limit as usize)
                .collect())
        });
        audit
    }

    #[tokio::test]
    async fn pages_run_newest_first_and_the_last_one_has_no_cursor() {
        let list = ListAudit::new(Arc::new(log(5)), allow_all());
        let p = principal(tenant_a(), "admin");
        let mut cmd = AuditCommand {
            user_id: None,
            after: None,
            limit: 2,
        };
        let mut seen = Vec::new();
        loop {
            let page = list.execute(&p, &cmd).await.unwrap();
            seen.extend(page.items.iter().map(|e| e.id.as_u128()));
            match page.next {
                Some(next) => cmd.after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, [5, 4, 3, 2, 1]);
    }

    #[tokio::test]
    async fn a_limit_out_of_range_is_refused_and_a_denied_caller_is_forbidden() {
        let list = ListAudit::new(Arc::new(MockAuditLog::new()), allow_all());
        let p = principal(tenant_a(), "admin");
        for limit in [0, 201] {
            let cmd = AuditCommand {
                user_id: None,
                after: None,
                limit,
            };
            assert!(matches!(
                list.execute(&p, &cmd).await,
                Err(ListAuditError::InvalidLimit)
            ));
        }
        let list = ListAudit::new(Arc::new(MockAuditLog::new()), deny_with(&["no"]));
        let cmd = AuditCommand {
            user_id: None,
            after: None,
            limit: 10,
        };
        match list.execute(&p, &cmd).await {
            Err(ListAuditError::Forbidden { notices }) => assert_eq!(notices, ["no"]),
            other => panic!("{other:?}"),
        }
    }
}
