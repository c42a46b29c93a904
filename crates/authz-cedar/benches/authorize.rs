//! The cost of one authorization decision with the default policies, through
//! `Authorizer::authorize` (what every request pays): an allowed resend, a
//! viewer's denied resend (notices collected), and a list, answered from the
//! memo once warm; and the allowed resend with the memo off, entity building
//! and Cedar's evaluation included (what the first request of a key pays, and
//! every request under policies that turn the memo off).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use beckon_authz_cedar::CedarAuthorizer;
use beckon_ports::{
    Action, ApiKeyId, Authorizer, AuthzRequest, Principal, Resource, Role, TenantId, TenantName,
    UserId, UserStatus,
};
use criterion::{Criterion, criterion_group, criterion_main};

const TENANT: &str = "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0";

fn request(role: &str, action: Action, resource: Resource) -> AuthzRequest {
    AuthzRequest {
        principal: Principal {
            key_id: "0193a1f2-3b4c-7d5e-8f60-718293a4b5c6"
                .parse::<ApiKeyId>()
                .unwrap(),
            tenant_id: TENANT.parse::<TenantId>().unwrap(),
            tenant_name: TenantName::parse("Acme").unwrap(),
            tenant_locale: beckon_ports::Locale::En,
            role: Role::parse(role).unwrap(),
        },
        action,
        resource,
    }
}

fn user() -> Resource {
    Resource::User {
        id: "0193a1f2-0000-7000-8000-000000000001"
            .parse::<UserId>()
            .unwrap(),
        tenant_id: TENANT.parse::<TenantId>().unwrap(),
        status: Some(UserStatus::Invited),
    }
}

fn authorize(c: &mut Criterion) {
    let authz = CedarAuthorizer::load(None).unwrap();
    let cases = [
        (
            "resend allowed (admin)",
            request("admin", Action::ResendInvite, user()),
        ),
        (
            "resend denied (viewer, notices)",
            request("viewer", Action::ResendInvite, user()),
        ),
        (
            "list allowed (viewer)",
            request(
                "viewer",
                Action::ListUsers,
                Resource::Tenant {
                    id: TENANT.parse::<TenantId>().unwrap(),
                },
            ),
        ),
    ];
    let mut group = c.benchmark_group("authorize");
    for (name, req) in &cases {
        group.bench_function(*name, |b| b.iter(|| authz.authorize(black_box(req))));
    }
    let full = authz.clone().without_memo();
    let (_, resend) = &cases[0];
    group.bench_function("resend allowed (admin), memo off", |b| {
        b.iter(|| full.authorize(black_box(resend)))
    });
    group.finish();
}

criterion_group!(benches, authorize);
criterion_main!(benches);
