//! Beckon's ports: the value types every layer shares and the traits through
//! which the domain reaches the outside world (storage, mail, authorization,
//! time, randomness). This crate performs no I/O: the system clock and the
//! operating system's random source are implemented by the program that
//! wires the ports (the `beckon` binary's `system` module). With the `mocks`
//! feature it also offers test support: mockall mocks of every port
//! (`MockUserRepo`, `MockAuthorizer`, …, re-exported here at the root),
//! [`ManualClock`], and `mockall` itself (`beckon_ports::mockall`), so that
//! a test can use its predicates and sequences without depending on it.
//!
//! Values are parsed once, at the edge, and cannot be invalid afterwards:
//!
//! ```
//! use beckon_ports::{Email, Role, TenantName};
//!
//! let email = Email::parse("Ada@Example.com")?;
//! let role = Role::parse("admin")?;
//! let tenant = TenantName::parse("Acme")?;
//! assert_eq!((role.as_str(), tenant.as_str()), ("admin", "Acme"));
//! assert!(Email::parse("not an address").is_err());
//! # let _ = email;
//! # Ok::<(), beckon_ports::ValueError>(())
//! ```
//!
//! A store implementing every storage port is a [`Storage`], which is what
//! `beckon_domain::Ports::builder` takes.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod authz;
pub mod error;
pub mod ids;
pub mod mail;
#[cfg(any(test, feature = "mocks"))]
pub mod manual_clock;
pub mod model;
pub mod outbox_stats;
pub mod retention;
pub mod secrets;
pub mod store;
pub mod time;
pub mod values;
pub mod webhook;

pub use authz::{Action, Authorizer, AuthzRequest, Decision, Resource};
pub use error::{MailError, StoreError};
pub use ids::{ApiKeyId, IdParseError, OutboxId, TenantId, UserId};
pub use mail::Mailer;
#[cfg(any(test, feature = "mocks"))]
pub use manual_clock::ManualClock;
pub use model::{
    Activation, ApiKeyRecord, AuditEntry, AuditOutcome, AuditQuery, ClaimedMessage, Delivery,
    DeliveryOutcome, Erasure, IdempotencyRecord, IdempotencyWrite, Invite, InviteEmail, InviteSend,
    ListQuery, NewUser, OutboxMessage, Principal, Revocation, Rotation, Settlement, Tenant, User,
    UserStatus, WriteOutcome,
};
pub use outbox_stats::{OutboxBacklog, OutboxKind, OutboxStats};
pub use retention::{PruneBefore, Pruned, Retention};
pub use secrets::{InviteToken, NewApiKey, PresentedApiKey, SecretHash};
pub use store::{
    ApiKeyRepo, AuditLog, Health, IdempotencyStore, OutboxRepo, Storage, TenantRepo, UserRepo,
};
pub use time::{Clock, Random};
pub use values::{
    Email, IdempotencyKey, Locale, RequestId, Role, TenantName, UserName, ValueError,
};
pub use webhook::{
    ClaimedEvent, EventOutcome, EventSettlement, EventType, WebhookEndpoint, WebhookError,
    WebhookEvent, WebhookPost, WebhookRepo, WebhookSecret, WebhookSender, WebhookUrl,
};

// Test support (feature `mocks`): the mocks of every port, at the root.
#[cfg(any(test, feature = "mocks"))]
pub use authz::MockAuthorizer;
#[cfg(any(test, feature = "mocks"))]
pub use mail::MockMailer;
/// `mockall`, re-exported so that tests can use its predicates
/// (`beckon_ports::mockall::predicate::eq`) and sequences without adding
/// it to their own dependencies (feature `mocks`).
#[cfg(any(test, feature = "mocks"))]
pub use mockall;
#[cfg(any(test, feature = "mocks"))]
pub use outbox_stats::MockOutboxStats;
#[cfg(any(test, feature = "mocks"))]
pub use retention::MockRetention;
#[cfg(any(test, feature = "mocks"))]
pub use store::{
    MockApiKeyRepo, MockAuditLog, MockHealth, MockIdempotencyStore, MockOutboxRepo, MockTenantRepo,
    MockUserRepo,
};
#[cfg(any(test, feature = "mocks"))]
pub use time::{MockClock, MockRandom};
#[cfg(any(test, feature = "mocks"))]
pub use webhook::{MockWebhookRepo, MockWebhookSender};
