//! Tests of the Cedar authorizer through its public API: the default
//! policies' decisions, loading policy folders, the deny-on-error rule, and
//! the memo of decisions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod decisions;
mod evaluation_errors;
mod loading;
mod memo;

use std::fmt::Debug;
use std::hash::{BuildHasher, RandomState};
use std::str::FromStr;

use beckon_ports::{
    Action, ApiKeyId, AuthzRequest, Principal, Resource, Role, TenantId, TenantName, UserId,
    UserStatus,
};

pub const TENANT_A: &str = "0190a000-0000-7000-8000-00000000000a";
pub const TENANT_B: &str = "0190b000-0000-7000-8000-00000000000b";
pub const KEY: &str = "0190c000-0000-7000-8000-00000000000c";
pub const USER: &str = "0190d000-0000-7000-8000-00000000000d";

pub const ALL_ACTIONS: [Action; 7] = Action::ALL;

pub fn tenant(id: &str) -> TenantId {
    id.parse().unwrap()
}

pub fn principal(tenant_id: &str, role: &str) -> Principal {
    Principal {
        tenant_locale: beckon_ports::Locale::En,
        key_id: KEY.parse::<ApiKeyId>().unwrap(),
        tenant_id: tenant(tenant_id),
        tenant_name: TenantName::parse("Acme").unwrap(),
        role: Role::parse(role).unwrap(),
    }
}

pub fn user_in(tenant_id: &str, status: Option<UserStatus>) -> Resource {
    Resource::User {
        id: USER.parse::<UserId>().unwrap(),
        tenant_id: tenant(tenant_id),
        status,
    }
}

/// The resource an action of the default schema applies to, in `tenant_id`.
pub fn resource_for(action: Action, tenant_id: &str) -> Resource {
    if action.acts_on_user() {
        user_in(tenant_id, Some(UserStatus::Invited))
    } else {
        Resource::Tenant {
            id: tenant(tenant_id),
        }
    }
}

pub fn request(role: &str, action: Action, resource: Resource) -> AuthzRequest {
    AuthzRequest {
        principal: principal(TENANT_A, role),
        action,
        resource,
    }
}

/// A fresh random id of any UUID type: every `RandomState` is seeded apart.
pub fn random_id<T: FromStr>() -> T
where
    T::Err: Debug,
{
    let (high, low) = (
        RandomState::new().hash_one(1u8),
        RandomState::new().hash_one(2u8),
    );
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
    .parse()
    .unwrap()
}
