//! [`PortsBuilder`]: [`Ports`] from one store in one expression, with safe
//! defaults for what an embedder may not have yet (an authorizer, a
//! mailer).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use beckon_ports::{
    Authorizer, AuthzRequest, Clock, Decision, InviteEmail, MailError, Mailer, OutboxId, Random,
    Storage,
};

use crate::Ports;

/// Builds [`Ports`]; start it with [`Ports::builder`].
///
/// The store fills every storage port (and the health check). Time and
/// randomness are required: the domain does no I/O, so it has no system
/// clock or random source of its own to default to — `beckon::system` has
/// them (`SystemClock`, `OsRandom`, `Sources::system()`), and tests pass a
/// `ManualClock`. Left out, the authorizer is [`DenyAll`] (every request
/// is refused with a notice saying no authorizer was configured) and the
/// mailer is [`QueueOnly`] (the use cases only queue email, so they work;
/// the delivery worker needs a real mailer).
#[must_use = "a builder does nothing until `build` is called"]
pub struct PortsBuilder {
    ports: Ports,
}

impl Ports {
    /// Ports on `store` (every storage port and the health check), with
    /// time from `clock` and randomness from `random`; the authorizer and
    /// the mailer default as [`PortsBuilder`] says.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use beckon_domain::{Beckon, DeliveryPolicy, InvitePolicy, Ports};
    /// # fn doc<S: beckon_ports::Storage>(
    /// #     store: S,
    /// #     clock: Arc<dyn beckon_ports::Clock>,
    /// #     random: Arc<dyn beckon_ports::Random>,
    /// #     authorizer: Arc<dyn beckon_ports::Authorizer>,
    /// #     mailer: Arc<dyn beckon_ports::Mailer>,
    /// # ) {
    /// let ports = Ports::builder(store, clock, random)
    ///     .authorizer(authorizer)
    ///     .mailer(mailer)
    ///     .build();
    /// let beckon = Beckon::new(&ports, InvitePolicy::default(), DeliveryPolicy::default());
    /// # let _ = beckon;
    /// # }
    /// ```
    pub fn builder<S: Storage>(
        store: S,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> PortsBuilder {
        let store = Arc::new(store);
        PortsBuilder {
            ports: Ports {
                tenants: store.clone(),
                api_keys: store.clone(),
                users: store.clone(),
                idempotency: store.clone(),
                audit: store.clone(),
                outbox: store.clone(),
                health: store,
                authorizer: Arc::new(DenyAll),
                mailer: Arc::new(QueueOnly),
                clock,
                random,
            },
        }
    }
}

impl PortsBuilder {
    /// Decides who may do what (`beckon-authz-cedar`'s `CedarAuthorizer`
    /// in the binary). Without one, every request is denied.
    pub fn authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.ports.authorizer = authorizer;
        self
    }

    /// Delivers the queued email (`beckon-mail` in the binary). Needed only
    /// by the delivery worker (`DeliverOutbox`): the use cases queue email
    /// in the store's outbox and never call the mailer.
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.ports.mailer = mailer;
        self
    }

    /// The ports.
    pub fn build(self) -> Ports {
        self.ports
    }
}

/// The notice of every [`DenyAll`] refusal.
pub const NO_AUTHORIZER: &str =
    "No authorizer is configured: every request is denied (Ports::builder(..).authorizer(..)).";

/// The authorizer of ports built without one: denies everything, with the
/// notice [`NO_AUTHORIZER`], so a forgotten authorizer fails closed and
/// says why.
#[derive(Debug, Default, Clone, Copy)]
pub struct DenyAll;

impl Authorizer for DenyAll {
    fn authorize(&self, _request: &AuthzRequest) -> Decision {
        Decision::Deny {
            notices: vec![NO_AUTHORIZER.to_owned()],
        }
    }
}

/// The mailer of ports built without one. The use cases never call a
/// mailer (they queue email in the store's outbox), so they work on it;
/// the delivery worker does, and every send and probe answers
/// `Unreachable`, so messages stay queued: after the first attempt the
/// worker claims nothing more, as during an outage of a real mail server.
/// Run the worker only with a real mailer.
#[derive(Debug, Default, Clone, Copy)]
pub struct QueueOnly;

#[async_trait]
impl Mailer for QueueOnly {
    async fn send(&self, _id: OutboxId, _email: &InviteEmail) -> Result<(), MailError> {
        Err(no_mailer())
    }

    async fn probe(&self) -> Result<(), MailError> {
        Err(no_mailer())
    }

    fn max_send_time(&self) -> Duration {
        Duration::from_secs(1)
    }
}

fn no_mailer() -> MailError {
    MailError::Unreachable("no mailer is configured (Ports::builder(..).mailer(..))".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::{Action, Email, Resource, TenantName};

    #[test]
    fn ports_built_without_an_authorizer_deny_everything_and_say_why() {
        let request = AuthzRequest {
            principal: principal(tenant_a(), "admin"),
            action: Action::ListUsers,
            resource: Resource::Tenant { id: tenant_a() },
        };
        assert_eq!(
            DenyAll.authorize(&request),
            Decision::Deny {
                notices: vec![NO_AUTHORIZER.to_owned()]
            }
        );
    }

    #[tokio::test]
    async fn ports_built_without_a_mailer_keep_every_message_queued() {
        let email = InviteEmail {
            to: Email::parse("ada@example.com").unwrap(),
            to_name: None,
            tenant_name: TenantName::parse("Acme").unwrap(),
            locale: beckon_ports::Locale::En,
            token: token(),
            expires_at: at_secs(0),
        };
        let id = OutboxId::from_uuid(uuid::Uuid::from_u128(1));
        assert!(matches!(
            QueueOnly.send(id, &email).await,
            Err(MailError::Unreachable(_))
        ));
        assert!(matches!(
            QueueOnly.probe().await,
            Err(MailError::Unreachable(_))
        ));
    }
}
