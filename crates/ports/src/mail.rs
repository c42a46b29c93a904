//! The mail port: delivers one rendered invite.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::MailError;
use crate::ids::OutboxId;
use crate::model::InviteEmail;

/// Sends invite emails.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Renders and delivers one message. The Message-ID MUST be derived from
    /// `id` alone, so that every retry of one message carries the same one.
    /// MUST classify failures: `Permanent` only when retrying cannot help.
    async fn send(&self, id: OutboxId, email: &InviteEmail) -> Result<(), MailError>;

    /// Checks, without sending anything, that the server answers again
    /// after a send failed with `Unreachable`: `Ok` when it does. The worker
    /// calls it instead of claiming messages while the server is down, so
    /// it MUST return within `max_send_time` as well. The default says the
    /// server is always there (right for a mailer that never answers
    /// `Unreachable`).
    async fn probe(&self) -> Result<(), MailError> {
        Ok(())
    }

    /// The longest one `send` may take: it MUST return within this (with
    /// `Unreachable` when time ran out). The delivery worker leases messages
    /// for long enough to send a whole batch at this pace.
    fn max_send_time(&self) -> Duration;
}
