//! Beckon's ports: the value types every layer shares and the traits through
//! which the domain reaches the outside world (storage, mail, authorization,
//! time, randomness). This crate performs no I/O: the system clock and the
//! operating system's random source are implemented by the program that
//! wires the ports (the `beckon` binary's `system` module). With the `mocks`
//! feature it also offers test support: mockall mocks of every port and
//! [`ManualClock`].
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod authz;
pub mod error;
pub mod ids;
pub mod mail;
#[cfg(any(test, feature = "mocks"))]
pub mod manual_clock;
pub mod model;
pub mod secrets;
pub mod store;
pub mod time;
pub mod values;

pub use authz::{Action, Authorizer, AuthzRequest, Decision, Resource};
pub use error::{MailError, StoreError};
pub use ids::{ApiKeyId, IdParseError, OutboxId, TenantId, UserId};
pub use mail::Mailer;
#[cfg(any(test, feature = "mocks"))]
pub use manual_clock::ManualClock;
pub use model::{
    ApiKeyRecord, AuditEntry, AuditOutcome, ClaimedMessage, DeliveryOutcome, IdempotencyRecord,
    IdempotencyWrite, Invite, InviteEmail, InviteSend, ListQuery, NewUser, OutboxMessage,
    Principal, Rotation, Settlement, Tenant, User, UserStatus, WriteOutcome,
};
pub use secrets::{InviteToken, NewApiKey, PresentedApiKey, SecretHash};
pub use store::{ApiKeyRepo, AuditLog, Health, IdempotencyStore, OutboxRepo, TenantRepo, UserRepo};
pub use time::{Clock, Random};
pub use values::{Email, IdempotencyKey, RequestId, Role, TenantName, UserName, ValueError};
