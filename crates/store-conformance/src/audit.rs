//! `AuditLog`: lines are appended, whatever they mention.

use beckon_ports::{AuditLog, UserId};
use futures_util::FutureExt;
use uuid::Uuid;

use crate::fixtures::{audit, t0, tenant};
use crate::{Contract, Storage, ok};

/// This port's contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![Contract::new(
        "AuditLog",
        "audit_lines_are_appended_whatever_user_they_mention",
        |s| audit_lines_are_appended_whatever_user_they_mention(s).boxed(),
    )]
}

/// `record` accepts a line about no user and lines about a user that does
/// not exist (a refusal names the requested id, existing or not), and
/// several lines about the same user. (What was written cannot be read
/// back through the ports; an adapter's own tests look.)
pub async fn audit_lines_are_appended_whatever_user_they_mention<S: Storage>(store: S) {
    let t = tenant(&store, "Acme").await;
    let nobody = UserId::from_uuid(Uuid::now_v7());
    for entry in [
        audit(t.id, None, "InviteUser", t0()),
        audit(t.id, Some(nobody), "ResendInvite", t0()),
        audit(t.id, Some(nobody), "ResendInvite", t0()),
    ] {
        ok(
            AuditLog::record(&store, &entry).await,
            "AuditLog::record of a refusal (about no user, or a user that does not exist)",
        );
    }
}
