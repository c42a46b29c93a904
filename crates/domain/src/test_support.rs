//! Fixtures for the use-case tests: fixed time, predictable randomness, and
//! mocks that allow or deny everything.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use beckon_ports::authz::MockAuthorizer;
use beckon_ports::mail::MockMailer;
use beckon_ports::store::{
    MockApiKeyRepo, MockAuditLog, MockHealth, MockIdempotencyStore, MockOutboxRepo, MockTenantRepo,
    MockUserRepo,
};
use beckon_ports::*;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::Ports;

pub fn tenant_a() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(0xa))
}

pub fn tenant_b() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(0xb))
}

pub fn user_id(n: i64) -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x1000 + n as u128))
}

pub fn other_user_id() -> UserId {
    UserId::from_uuid(Uuid::from_u128(0xdead))
}

pub fn tenant(id: TenantId) -> Tenant {
    Tenant {
        id,
        name: TenantName::parse("Acme").unwrap(),
        created_at: at_secs(0),
    }
}

/// 2026-11-26T10:00:00Z plus `secs`.
pub fn at_secs(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
        .unwrap()
        .to_utc()
        + TimeDelta::seconds(secs)
}

pub fn at(secs: i64) -> DateTime<Utc> {
    at_secs(secs)
}

/// A clock standing at [`at_secs`]`(secs)` (nothing moves it).
pub fn fixed_clock(secs: i64) -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(at_secs(secs)))
}

/// Secrets are always 42s (so [`token`] is the token minted); ids count up.
pub struct SeqRandom(AtomicU64);

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

pub fn random() -> Arc<dyn Random> {
    Arc::new(SeqRandom(AtomicU64::new(0)))
}

/// The token [`SeqRandom`] mints.
pub fn token() -> InviteToken {
    InviteToken::from_bytes([42; 32])
}

pub fn principal(tenant: TenantId, role: &str) -> Principal {
    Principal {
        key_id: ApiKeyId::from_uuid(Uuid::from_u128(0x5)),
        tenant_id: tenant,
        tenant_name: TenantName::parse("Acme").unwrap(),
        role: Role::parse(role).unwrap(),
    }
}

pub fn api_key(tenant: TenantId, role: &str) -> (ApiKeyRecord, String) {
    let key = NewApiKey::new(ApiKeyId::from_uuid(Uuid::now_v7()), [3; 32]);
    let record = ApiKeyRecord {
        id: key.id,
        tenant_id: tenant,
        tenant_name: TenantName::parse("Acme").unwrap(),
        role: Role::parse(role).unwrap(),
        name: None,
        secret_hash: key.hash,
        created_at: at_secs(0),
        revoked_at: None,
    };
    (record, key.secret)
}

/// An invited user `n`, sent once at t=0, expiring at t=3600.
pub fn invited_user(tenant: TenantId, n: i64, version: i64) -> User {
    User {
        id: user_id(n),
        tenant_id: tenant,
        email: Email::parse(&format!("user{n}@example.com")).unwrap(),
        name: Some(UserName::parse("Ada").unwrap()),
        status: UserStatus::Invited,
        created_at: at_secs(0),
        verified_at: None,
        invite: Some(Invite {
            expires_at: at_secs(3600),
            sends: 1,
            last_sent_at: at_secs(0),
        }),
        version,
    }
}

pub fn active_user(tenant: TenantId, n: i64, version: i64) -> User {
    User {
        status: UserStatus::Active,
        verified_at: Some(at_secs(10)),
        invite: None,
        ..invited_user(tenant, n, version)
    }
}

pub fn allow_all() -> Arc<dyn Authorizer> {
    let mut authz = MockAuthorizer::new();
    authz.expect_authorize().returning(|_| Decision::Allow);
    Arc::new(authz)
}

pub fn deny_with(notices: &[&str]) -> Arc<dyn Authorizer> {
    let notices: Vec<String> = notices.iter().map(|s| s.to_string()).collect();
    let mut authz = MockAuthorizer::new();
    authz.expect_authorize().returning(move |_| Decision::Deny {
        notices: notices.clone(),
    });
    Arc::new(authz)
}

pub fn unavailable() -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("connection refused"))
}

/// Ports where everything not given is a mock with no expectations (any
/// call to it fails the test).
pub struct PortsBuilder {
    pub users: MockUserRepo,
    pub idempotency: MockIdempotencyStore,
    pub audit: MockAuditLog,
    pub outbox: MockOutboxRepo,
    pub mailer: MockMailer,
    pub authorizer: Arc<dyn Authorizer>,
    pub clock: Arc<dyn Clock>,
}

impl PortsBuilder {
    pub fn new() -> Self {
        Self {
            users: MockUserRepo::new(),
            idempotency: MockIdempotencyStore::new(),
            audit: MockAuditLog::new(),
            outbox: MockOutboxRepo::new(),
            mailer: MockMailer::new(),
            authorizer: allow_all(),
            clock: fixed_clock(0),
        }
    }

    pub fn build(self) -> Ports {
        Ports {
            tenants: Arc::new(MockTenantRepo::new()),
            api_keys: Arc::new(MockApiKeyRepo::new()),
            users: Arc::new(self.users),
            idempotency: Arc::new(self.idempotency),
            audit: Arc::new(self.audit),
            outbox: Arc::new(self.outbox),
            health: Arc::new(MockHealth::new()),
            authorizer: self.authorizer,
            mailer: Arc::new(self.mailer),
            clock: self.clock,
            random: random(),
        }
    }
}
