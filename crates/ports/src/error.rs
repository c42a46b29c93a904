//! The errors ports return. Adapters translate their library's errors into
//! these at the boundary.

/// A storage failure, as the domain needs to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique email (case-insensitive, per tenant) is already taken.
    #[error("the email address already belongs to a user of this tenant")]
    EmailTaken,
    /// An idempotency record for this tenant and key exists and is not stale.
    #[error("the idempotency key is already recorded")]
    IdempotencyKeyTaken,
    /// A record refers to one that does not exist (for example an API key
    /// for an unknown tenant).
    #[error("a referenced record does not exist")]
    MissingReference,
    /// The database cannot be reached (connection refused, pool timeout,
    /// database shut down). Nothing was changed.
    #[error("the store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A delivery failure, as the outbox worker needs to tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later: a 4xx reply about this message, a full disk.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// The mail server could not be reached or stopped answering (connection
    /// refused or reset, timeout, TLS handshake): nothing is known about the
    /// message itself. Retried like `Transient`; besides, the worker stops
    /// claiming messages until [`Mailer::probe`](crate::Mailer::probe) finds
    /// the server back, so an outage burns no attempts.
    #[error("mail server unreachable: {0}")]
    Unreachable(String),
    /// Never worth retrying: 5xx rejection, an address the transport refuses.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}
