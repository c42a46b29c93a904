//! The resend use case alone, on the in-memory store, the real Cedar
//! authorizer and the system clock and randomness: what a resend costs
//! Beckon itself, without HTTP or a database (cooldown and daily cap off,
//! so every call is a full rotation with a queued email).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use beckon::system::{OsRandom, SystemClock};
use beckon_authz_cedar::CedarAuthorizer;
use beckon_domain::{
    CreateTenant, InviteCommand, InvitePolicy, InviteUser, Ports, ResendCommand, ResendInvite,
};
use beckon_ports::{ApiKeyId, Email, Locale, Principal, RequestId, Role, TenantName, UserId};
use beckon_store_memory::MemoryStore;
use criterion::{Criterion, criterion_group, criterion_main};

fn resend(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // The default mailer only queues: the use case never sends.
    let ports = Ports::builder(
        MemoryStore::new(),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
    )
    .authorizer(Arc::new(CedarAuthorizer::load(None).unwrap()))
    .build();
    let policy = InvitePolicy {
        cooldown: Duration::ZERO,
        daily_limit: 0,
        ..InvitePolicy::default()
    };
    let tenant = rt
        .block_on(
            CreateTenant::new(
                ports.tenants.clone(),
                ports.clock.clone(),
                ports.random.clone(),
            )
            .execute(TenantName::parse("Bench").unwrap(), Locale::En),
        )
        .unwrap();
    let principal = Principal {
        key_id: ApiKeyId::from_uuid(uuid::Uuid::now_v7()),
        tenant_id: tenant.id,
        tenant_name: tenant.name.clone(),
        tenant_locale: tenant.locale,
        role: Role::parse("admin").unwrap(),
    };
    let request_id = RequestId::parse("bench").unwrap();
    let invite = InviteUser::new(&ports, policy.clone());
    let users: Vec<UserId> = (0..200)
        .map(|i| {
            let cmd = InviteCommand {
                principal: principal.clone(),
                email: Email::parse(&format!("u{i}@example.com")).unwrap(),
                name: None,
                idempotency_key: None,
                request_id: request_id.clone(),
            };
            rt.block_on(invite.execute(&cmd)).unwrap().user.id
        })
        .collect();

    let resend = ResendInvite::new(&ports, policy);
    let mut n = 0;
    c.bench_function("resend use case (memory store, Cedar)", |b| {
        b.iter(|| {
            n = (n + 1) % users.len();
            let cmd = ResendCommand {
                principal: principal.clone(),
                user_id: users[n],
                idempotency_key: None,
                request_id: request_id.clone(),
            };
            rt.block_on(resend.execute(&cmd)).unwrap()
        });
    });
}

criterion_group!(benches, resend);
criterion_main!(benches);
