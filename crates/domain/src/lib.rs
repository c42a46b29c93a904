//! Beckon's use cases. Every business rule of the invitation lifecycle lives
//! here and only here; the outside world is reached through `beckon-ports`.
//!
//! An embedder builds [`Ports`] from a store and the ports Beckon cannot
//! pick for them ([`Ports::builder`]), [`Beckon`] from the ports (every use
//! case, admin ones included), and calls the use cases:
//!
//! ```
//! # use std::sync::Arc;
//! # use beckon_ports::{Clock, Random, Storage};
//! # async fn run(
//! #     store: impl Storage,
//! #     clock: Arc<dyn Clock>,
//! #     random: Arc<dyn Random>,
//! #     authorizer: Arc<dyn beckon_ports::Authorizer>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use beckon_domain::{Beckon, DeliveryPolicy, InvitePolicy, Ports, ResendCommand};
//! use beckon_ports::{Locale, RequestId, Role, TenantName, UserId};
//!
//! let ports = Ports::builder(store, clock, random).authorizer(authorizer).build();
//! let beckon = Beckon::new(&ports, InvitePolicy::default(), DeliveryPolicy::default());
//!
//! let tenant = beckon
//!     .create_tenant
//!     .execute(TenantName::parse("Acme")?, Locale::En)
//!     .await?;
//! let key = beckon.create_api_key.execute(tenant.id, Role::parse("admin")?, None).await?;
//! let principal = beckon.authenticate.execute(&key.secret).await?;
//! let resent = beckon.resend_invite.execute(&ResendCommand {
//!     principal,
//!     user_id: UserId::from_uuid(uuid::Uuid::from_u128(7)),
//!     idempotency_key: None,
//!     request_id: RequestId::parse("req-1")?,
//! }).await;
//! # let _ = resent;
//! # Ok(())
//! # }
//! ```
//!
//! With the `test-support` feature, [`test_support`] offers ports made of
//! mocks and fixtures, for unit-testing rules the way this crate does.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod accept_invite;
pub mod admin;
pub mod authenticate;
pub mod delete_user;
pub mod deliver_outbox;
pub mod deliver_webhooks;
mod error;
mod idempotency;
pub mod invite_user;
pub mod list_audit;
pub mod list_users;
pub mod metrics;
pub mod policy;
mod ports_builder;
pub mod prune_expired;
mod rate_limit;
pub mod read_user;
pub mod resend_invite;
pub mod revoke_invite;
mod send;
pub mod view_invite;

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

use std::sync::Arc;

pub use accept_invite::{ACCEPT_ACTION, AcceptInvite, AcceptInviteError, Accepted};
pub use admin::{
    AdminError, CreateApiKey, CreateTenant, CreatedApiKey, ManageWebhook, RevokeApiKey,
};
pub use authenticate::{AuthError, Authenticate, TenantMismatch, scope_to_tenant};
pub use delete_user::{DeleteCommand, DeleteOutcome, DeleteUser, DeleteUserError};
pub use deliver_outbox::{DeliverOutbox, DeliveryPorts, DeliveryReport};
pub use deliver_webhooks::DeliverWebhooks;
pub use error::retry_after_seconds;
pub use invite_user::{InviteCommand, InviteOutcome, InviteUser, InviteUserError};
pub use list_audit::{AuditCommand, AuditPage, ListAudit, ListAuditError};
pub use list_users::{ListCommand, ListUsers, ListUsersError, UserPage};
pub use policy::{DeliveryPolicy, InvitePolicy};
pub use ports_builder::{DenyAll, NO_AUTHORIZER, PortsBuilder, QueueOnly};
pub use prune_expired::PruneExpired;
pub use read_user::{ReadUser, ReadUserError};
pub use resend_invite::{ResendCommand, ResendInvite, ResendInviteError, ResendOutcome};
pub use revoke_invite::{RevokeCommand, RevokeInvite, RevokeInviteError, RevokeOutcome};
pub use send::SendPorts;
pub use view_invite::{InviteView, ViewInvite, ViewInviteError};

use beckon_ports::{
    ApiKeyRepo, AuditLog, Authorizer, Clock, Health, IdempotencyStore, Mailer, OutboxRepo, Random,
    TenantRepo, UserRepo,
};

/// Every port the use cases need, wired once by the embedding program:
/// most easily with [`Ports::builder`], field by field when the storage
/// ports come from different places.
#[derive(Clone)]
pub struct Ports {
    /// Tenants.
    pub tenants: Arc<dyn TenantRepo>,
    /// API keys.
    pub api_keys: Arc<dyn ApiKeyRepo>,
    /// Users and invites.
    pub users: Arc<dyn UserRepo>,
    /// Idempotency records.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// The audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// The outbox.
    pub outbox: Arc<dyn OutboxRepo>,
    /// Store liveness.
    pub health: Arc<dyn Health>,
    /// Policies.
    pub authorizer: Arc<dyn Authorizer>,
    /// Email delivery.
    pub mailer: Arc<dyn Mailer>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub random: Arc<dyn Random>,
}

/// All use cases, built from one set of ports: what an HTTP layer or an
/// embedding service holds. Every use case is here, the operator's
/// (tenants and API keys) included.
#[derive(Clone)]
pub struct Beckon {
    /// Bearer key → principal.
    pub authenticate: Arc<Authenticate>,
    /// `POST /v1/users`.
    pub invite_user: Arc<InviteUser>,
    /// `POST /v1/users/{id}/resend-invite`.
    pub resend_invite: Arc<ResendInvite>,
    /// `POST /v1/users/{id}/revoke-invite`.
    pub revoke_invite: Arc<RevokeInvite>,
    /// `DELETE /v1/users/{id}`.
    pub delete_user: Arc<DeleteUser>,
    /// `GET /v1/audit`.
    pub list_audit: Arc<ListAudit>,
    /// `POST /v1/invites/accept`.
    pub accept_invite: Arc<AcceptInvite>,
    /// `GET /invite` (read-only look at a token).
    pub view_invite: Arc<ViewInvite>,
    /// `GET /v1/users/{id}`.
    pub read_user: Arc<ReadUser>,
    /// `GET /v1/users`.
    pub list_users: Arc<ListUsers>,
    /// The outbox worker's step.
    pub deliver_outbox: Arc<DeliverOutbox>,
    /// Store liveness (`/readyz`).
    pub health: Arc<dyn Health>,
    /// `beckon tenant create`.
    pub create_tenant: Arc<CreateTenant>,
    /// `beckon api-key create`.
    pub create_api_key: Arc<CreateApiKey>,
    /// `beckon api-key revoke`.
    pub revoke_api_key: Arc<RevokeApiKey>,
}

impl Beckon {
    /// Builds every use case.
    pub fn new(ports: &Ports, invite: InvitePolicy, delivery: DeliveryPolicy) -> Self {
        // The one place the use cases get their authorizer: every decision
        // is counted (`beckon_authz_decisions_total`).
        let ports = &Ports {
            authorizer: Arc::new(metrics::CountedAuthorizer(ports.authorizer.clone())),
            ..ports.clone()
        };
        Self {
            authenticate: Arc::new(Authenticate::new(
                ports.api_keys.clone(),
                ports.clock.clone(),
            )),
            invite_user: Arc::new(InviteUser::new(ports, invite.clone())),
            resend_invite: Arc::new(ResendInvite::new(ports, invite)),
            revoke_invite: Arc::new(RevokeInvite::new(ports)),
            delete_user: Arc::new(DeleteUser::new(ports)),
            list_audit: Arc::new(ListAudit::new(
                ports.audit.clone(),
                ports.authorizer.clone(),
            )),
            accept_invite: Arc::new(AcceptInvite::new(
                ports.users.clone(),
                ports.tenants.clone(),
                ports.audit.clone(),
                ports.clock.clone(),
                ports.random.clone(),
            )),
            view_invite: Arc::new(ViewInvite::new(
                ports.users.clone(),
                ports.tenants.clone(),
                ports.clock.clone(),
            )),
            read_user: Arc::new(ReadUser::new(ports.users.clone(), ports.authorizer.clone())),
            list_users: Arc::new(ListUsers::new(
                ports.users.clone(),
                ports.authorizer.clone(),
            )),
            deliver_outbox: Arc::new(DeliverOutbox::new(ports, delivery)),
            health: ports.health.clone(),
            create_tenant: Arc::new(CreateTenant::new(
                ports.tenants.clone(),
                ports.clock.clone(),
                ports.random.clone(),
            )),
            create_api_key: Arc::new(CreateApiKey::new(
                ports.tenants.clone(),
                ports.api_keys.clone(),
                ports.clock.clone(),
                ports.random.clone(),
            )),
            revoke_api_key: Arc::new(RevokeApiKey::new(
                ports.api_keys.clone(),
                ports.clock.clone(),
            )),
        }
    }
}
