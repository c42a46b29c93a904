//! Test support, for this crate's tests and for embedders' (feature
//! `test-support`): [`MockPorts`], ports made of mockall mocks that fail
//! the test on any call nobody expected; authorizers that allow or deny
//! everything ([`allow_all`], [`deny_with`]); a clock that stands still
//! ([`fixed_clock`], [`manual_clock()`]) and predictable randomness
//! ([`random`], whose token is [`token`]); and fixtures — tenants
//! ([`tenant_a`], [`tenant_b`], [`tenant`]), users ([`invited_user`],
//! [`active_user`]), callers ([`principal`], [`api_key`]) and commands
//! ([`resend_command`]).
//!
//! A rule, tested on mocks (the example `rule_with_mocks` of the `beckon`
//! package is the same test as a program):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use beckon_domain::test_support::*;
//! use beckon_domain::{InvitePolicy, ResendInvite, ResendInviteError};
//!
//! let mut ports = MockPorts::new();
//! ports.with_user(active_user(tenant_a(), 1, 0));
//! ports.accept_any_audit();
//! ports.users.expect_rotate_invite().never();
//! let resend = ResendInvite::new(&ports.build(), InvitePolicy::default());
//!
//! let refused = resend.execute(&resend_command(tenant_a(), user_id(1))).await;
//! assert!(matches!(refused, Err(ResendInviteError::AlreadyVerified)));
//! # }
//! ```
//!
//! Fixtures are built from literal, valid values: they unwrap, as tests do.
#![allow(
    clippy::unwrap_used,
    reason = "test support: fixtures parse literal, valid values"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use beckon_ports::*;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::{Ports, ResendCommand};

/// The first tenant of the fixtures.
///
/// ```
/// use beckon_domain::test_support::{tenant, tenant_a, tenant_b};
/// assert_ne!(tenant_a(), tenant_b());
/// assert_eq!(tenant(tenant_a()).name.as_str(), "Acme");
/// ```
pub fn tenant_a() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(0xa))
}

/// A second tenant, for isolation tests.
pub fn tenant_b() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(0xb))
}

/// The id of fixture user `n`.
pub fn user_id(n: i64) -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x1000 + n as u128))
}

/// An id no fixture user has.
pub fn other_user_id() -> UserId {
    UserId::from_uuid(Uuid::from_u128(0xdead))
}

/// Tenant `id`, named "Acme", created at [`at_secs`]`(0)`.
pub fn tenant(id: TenantId) -> Tenant {
    Tenant {
        id,
        name: TenantName::parse("Acme").unwrap(),
        locale: Locale::En,
        created_at: at_secs(0),
    }
}

/// 2026-11-26T10:00:00Z plus `secs`: the fixtures' time line.
pub fn at_secs(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
        .unwrap()
        .to_utc()
        + TimeDelta::seconds(secs)
}

/// Same as [`at_secs`].
pub fn at(secs: i64) -> DateTime<Utc> {
    at_secs(secs)
}

/// A clock standing at [`at_secs`]`(secs)` (nothing moves it).
///
/// ```
/// use beckon_domain::test_support::{at_secs, fixed_clock};
/// use beckon_ports::Clock;
/// assert_eq!(fixed_clock(90).now(), at_secs(90));
/// ```
pub fn fixed_clock(secs: i64) -> Arc<dyn Clock> {
    manual_clock(secs)
}

/// A [`ManualClock`] standing at [`at_secs`]`(secs)`: keep this handle to
/// move it, and give the ports a clone (`ports.clock = clock.clone()`).
///
/// ```
/// use std::time::Duration;
/// use beckon_domain::test_support::{at_secs, manual_clock};
/// use beckon_ports::Clock;
///
/// let clock = manual_clock(0);
/// clock.advance(Duration::from_secs(61));
/// assert_eq!(clock.now(), at_secs(61));
/// ```
pub fn manual_clock(secs: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(at_secs(secs)))
}

/// Secrets are always 42s (so [`token`] is the token minted); ids count up
/// from `0xf000_0000`; jitter is always 0.
#[derive(Debug, Default)]
pub struct SeqRandom(AtomicU64);

impl SeqRandom {
    /// Starts counting ids at `0xf000_0000`.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Random for SeqRandom {
    fn secret_bytes(&self) -> Result<[u8; 32], anyhow::Error> {
        Ok([42; 32])
    }
    fn new_id(&self) -> Uuid {
        Uuid::from_u128(0xf000_0000 + u128::from(self.0.fetch_add(1, Ordering::SeqCst)))
    }
    fn below(&self, _bound: u64) -> u64 {
        0
    }
}

/// A fresh [`SeqRandom`].
pub fn random() -> Arc<dyn Random> {
    Arc::new(SeqRandom::new())
}

/// The token [`SeqRandom`] mints: what an invite sent on these ports
/// carries.
///
/// ```
/// use beckon_domain::test_support::{random, token};
/// use beckon_ports::{InviteToken, Random};
/// assert_eq!(InviteToken::from_bytes(random().secret_bytes()?), token());
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn token() -> InviteToken {
    InviteToken::from_bytes([42; 32])
}

/// A caller of `tenant` (named "Acme") with `role` (`"admin"`,
/// `"viewer"`, …).
pub fn principal(tenant: TenantId, role: &str) -> Principal {
    Principal {
        key_id: ApiKeyId::from_uuid(Uuid::from_u128(0x5)),
        tenant_id: tenant,
        tenant_name: TenantName::parse("Acme").unwrap(),
        tenant_locale: Locale::En,
        role: Role::parse(role).unwrap(),
    }
}

/// A stored API key of `tenant` with `role`, and its secret (what a caller
/// presents).
pub fn api_key(tenant: TenantId, role: &str) -> (ApiKeyRecord, String) {
    let key = NewApiKey::new(ApiKeyId::from_uuid(Uuid::now_v7()), [3; 32]);
    let record = ApiKeyRecord {
        id: key.id,
        tenant_id: tenant,
        tenant_name: TenantName::parse("Acme").unwrap(),
        tenant_locale: Locale::En,
        role: Role::parse(role).unwrap(),
        name: None,
        secret_hash: key.hash,
        created_at: at_secs(0),
        revoked_at: None,
    };
    (record, key.secret)
}

/// An invited user `n` (`user{n}@example.com`, [`user_id`]`(n)`), sent once
/// at t=0, expiring at t=3600, at `version`.
///
/// ```
/// use beckon_domain::test_support::{active_user, invited_user, tenant_a, user_id};
/// use beckon_ports::UserStatus;
///
/// let invited = invited_user(tenant_a(), 1, 0);
/// assert_eq!((invited.id, invited.status), (user_id(1), UserStatus::Invited));
/// assert_eq!(active_user(tenant_a(), 1, 0).status, UserStatus::Active);
/// ```
pub fn invited_user(tenant: TenantId, n: i64, version: i64) -> User {
    User {
        id: user_id(n),
        tenant_id: tenant,
        email: Email::parse(&format!("user{n}@example.com")).unwrap(),
        name: Some(UserName::parse("Ada").unwrap()),
        status: UserStatus::Invited,
        created_at: at_secs(0),
        verified_at: None,
        revoked_at: None,
        invite: Some(Invite {
            expires_at: at_secs(3600),
            sends: 1,
            last_sent_at: at_secs(0),
            delivery: Delivery::Queued,
        }),
        version,
    }
}

/// User `n` after its invite was revoked (at t=20): revoked, no invite.
pub fn revoked_user(tenant: TenantId, n: i64, version: i64) -> User {
    User {
        status: UserStatus::Revoked,
        revoked_at: Some(at_secs(20)),
        invite: None,
        ..invited_user(tenant, n, version)
    }
}

/// User `n` after accepting (at t=10): active, no invite.
pub fn active_user(tenant: TenantId, n: i64, version: i64) -> User {
    User {
        status: UserStatus::Active,
        verified_at: Some(at_secs(10)),
        invite: None,
        ..invited_user(tenant, n, version)
    }
}

/// A resend of `user` by an admin of `tenant`, without an idempotency key.
pub fn resend_command(tenant: TenantId, user: UserId) -> ResendCommand {
    ResendCommand {
        principal: principal(tenant, "admin"),
        user_id: user,
        idempotency_key: None,
        request_id: RequestId::parse("req-1").unwrap(),
    }
}

/// An authorizer that allows everything.
///
/// ```
/// use beckon_domain::test_support::{MockPorts, allow_all, deny_with};
///
/// let mut ports = MockPorts::new(); // allows everything already
/// ports.authorizer = deny_with(&["Viewers may not resend invites."]);
/// ports.authorizer = allow_all();
/// ```
pub fn allow_all() -> Arc<dyn Authorizer> {
    let mut authz = MockAuthorizer::new();
    authz.expect_authorize().returning(|_| Decision::Allow);
    Arc::new(authz)
}

/// An authorizer that denies everything with these notices.
pub fn deny_with(notices: &[&str]) -> Arc<dyn Authorizer> {
    let notices: Vec<String> = notices.iter().map(|s| s.to_string()).collect();
    let mut authz = MockAuthorizer::new();
    authz.expect_authorize().returning(move |_| Decision::Deny {
        notices: notices.clone(),
    });
    Arc::new(authz)
}

/// The error of a store that cannot be reached.
pub fn unavailable() -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("connection refused"))
}

/// Ports where everything not given is a mock with no expectations (any
/// call to it fails the test): set expectations on the mocks
/// (`ports.users.expect_get()…`), replace the authorizer, clock or random
/// source, then [`build`](MockPorts::build). By default the authorizer
/// allows everything, the clock stands at [`at_secs`]`(0)` and randomness
/// is a [`SeqRandom`].
///
/// ```
/// use beckon_domain::test_support::*;
/// use beckon_ports::mockall::predicate::eq;
///
/// let mut ports = MockPorts::new();
/// ports.clock = fixed_clock(120);
/// ports.users
///     .expect_get()
///     .with(eq(tenant_a()), eq(user_id(1)))
///     .returning(|t, _| Ok(Some(invited_user(t, 1, 0))));
/// let ports = ports.build();
/// # let _ = ports;
/// ```
pub struct MockPorts {
    /// Tenants.
    pub tenants: MockTenantRepo,
    /// API keys.
    pub api_keys: MockApiKeyRepo,
    /// Users and invites.
    pub users: MockUserRepo,
    /// Idempotency records.
    pub idempotency: MockIdempotencyStore,
    /// The audit trail.
    pub audit: MockAuditLog,
    /// The outbox.
    pub outbox: MockOutboxRepo,
    /// Store liveness.
    pub health: MockHealth,
    /// Email delivery.
    pub mailer: MockMailer,
    /// Policies; [`allow_all`] unless replaced.
    pub authorizer: Arc<dyn Authorizer>,
    /// Time; [`fixed_clock`]`(0)` unless replaced.
    pub clock: Arc<dyn Clock>,
    /// Randomness; [`random`] unless replaced.
    pub random: Arc<dyn Random>,
}

impl Default for MockPorts {
    fn default() -> Self {
        Self::new()
    }
}

impl MockPorts {
    /// Mocks expecting nothing, allowing everything, at t=0.
    pub fn new() -> Self {
        Self {
            tenants: MockTenantRepo::new(),
            api_keys: MockApiKeyRepo::new(),
            users: MockUserRepo::new(),
            idempotency: MockIdempotencyStore::new(),
            audit: MockAuditLog::new(),
            outbox: MockOutboxRepo::new(),
            health: MockHealth::new(),
            mailer: MockMailer::new(),
            authorizer: allow_all(),
            clock: fixed_clock(0),
            random: random(),
        }
    }

    /// `users.get` answers `user` for its tenant and id, and no user for
    /// any other; `users.sends_since` answers its one send at t=0.
    pub fn with_user(&mut self, user: User) {
        self.users.expect_get().returning(move |t, id| {
            Ok(Some(user.clone()).filter(|u| u.id == id && u.tenant_id == t))
        });
        self.users
            .expect_sends_since()
            .returning(|_, _, _| Ok(vec![at_secs(0)]));
    }

    /// The audit log takes any number of lines.
    pub fn accept_any_audit(&mut self) {
        self.audit.expect_record().returning(|_| Ok(()));
    }

    /// The ports, for a use case's `new`.
    pub fn build(self) -> Ports {
        Ports {
            tenants: Arc::new(self.tenants),
            api_keys: Arc::new(self.api_keys),
            users: Arc::new(self.users),
            idempotency: Arc::new(self.idempotency),
            audit: Arc::new(self.audit),
            outbox: Arc::new(self.outbox),
            health: Arc::new(self.health),
            authorizer: self.authorizer,
            mailer: Arc::new(self.mailer),
            clock: self.clock,
            random: self.random,
        }
    }
}
