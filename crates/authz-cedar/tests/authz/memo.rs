//! The memo of decisions answers exactly what the full path answers, and
//! turns itself off when policies could tell one key, user or tenant from
//! another.

use beckon_authz_cedar::{CedarAuthorizer, EVALUATION_ERROR_NOTICE};
use beckon_ports::{
    Action, ApiKeyId, Authorizer, AuthzRequest, Decision, Principal, Resource, Role, TenantId,
    TenantName, UserStatus,
};

use crate::loading::copy_of_policies;
use crate::{ALL_ACTIONS, random_id};

/// A request whose every id is fresh, the resource's tenant being the
/// principal's or another; `status` is ignored for a tenant resource.
fn random_request(
    role: &str,
    action: Action,
    user: bool,
    status: Option<UserStatus>,
    same_tenant: bool,
) -> AuthzRequest {
    let tenant_id: TenantId = random_id();
    let other = if same_tenant { tenant_id } else { random_id() };
    let resource = if user {
        Resource::User {
            id: random_id(),
            tenant_id: other,
            status,
        }
    } else {
        Resource::Tenant { id: other }
    };
    request_of(random_id(), tenant_id, role, action, resource)
}

fn request_of(
    key_id: ApiKeyId,
    tenant_id: TenantId,
    role: &str,
    action: Action,
    resource: Resource,
) -> AuthzRequest {
    AuthzRequest {
        principal: Principal {
            tenant_locale: beckon_ports::Locale::En,
            key_id,
            tenant_id,
            tenant_name: TenantName::parse("Acme").unwrap(),
            role: Role::parse(role).unwrap(),
        },
        action,
        resource,
    }
}

/// The default policies plus `extra` (one file), from a temp folder.
fn with_policy(extra: &str) -> CedarAuthorizer {
    let dir = copy_of_policies();
    std::fs::write(dir.path().join("extra.cedar"), extra).unwrap();
    CedarAuthorizer::from_dir(dir.path()).unwrap()
}

fn list_users(key_id: ApiKeyId, tenant_id: TenantId) -> AuthzRequest {
    let resource = Resource::Tenant { id: tenant_id };
    request_of(key_id, tenant_id, "admin", Action::ListUsers, resource)
}

fn read_user(user: &str, tenant_id: TenantId) -> AuthzRequest {
    let resource = Resource::User {
        id: user.parse().unwrap(),
        tenant_id,
        status: Some(UserStatus::Active),
    };
    request_of(random_id(), tenant_id, "admin", Action::ReadUser, resource)
}

#[test]
fn the_default_policies_are_memoised() {
    let authz = CedarAuthorizer::builtin().unwrap();
    assert_eq!(authz.memoisation(), Ok(()));
    assert!(authz.without_memo().memoisation().is_err());
}

#[test]
fn memoised_decisions_equal_full_decisions_for_every_shape_with_fresh_ids() {
    let memoised = CedarAuthorizer::builtin().unwrap();
    let full = memoised.clone().without_memo();
    let statuses = [None, Some(UserStatus::Invited), Some(UserStatus::Active)];
    for role in ["admin", "viewer", "auditor"] {
        for action in ALL_ACTIONS {
            // Both kinds for every action: an action on the wrong kind is
            // denied, and must stay so once the right kind is memoised.
            for user in [false, true] {
                for status in statuses {
                    for same_tenant in [true, false] {
                        let expected = full.authorize(&random_request(
                            role,
                            action,
                            user,
                            status,
                            same_tenant,
                        ));
                        // Cold, then warm (answered from the memo).
                        for round in ["cold", "warm"] {
                            let req = random_request(role, action, user, status, same_tenant);
                            assert_eq!(
                                memoised.authorize(&req),
                                expected,
                                "{round}: {role} {action:?} user={user} {status:?} \
                                 same_tenant={same_tenant}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_literal_api_key_turns_the_memo_off_and_only_that_key_is_denied() {
    let key: ApiKeyId = random_id();
    let authz = with_policy(&format!(
        "@id(\"banned-key\")\n@notice(\"This key is banned.\")\n\
         forbid (principal == Beckon::ApiKey::\"{key}\", action, resource);\n"
    ));
    let why = authz.memoisation().unwrap_err();
    assert!(
        why.contains("banned-key") && why.contains("Beckon::ApiKey"),
        "{why}"
    );
    let tenant: TenantId = random_id();
    let banned = Decision::Deny {
        notices: vec!["This key is banned.".to_owned()],
    };
    // Either order: neither key's decision may be reused for the other.
    assert_eq!(
        authz.authorize(&list_users(random_id(), tenant)),
        Decision::Allow
    );
    assert_eq!(authz.authorize(&list_users(key, tenant)), banned);
    assert_eq!(
        authz.authorize(&list_users(random_id(), tenant)),
        Decision::Allow
    );
    assert_eq!(authz.authorize(&list_users(key, tenant)), banned);
}

#[test]
fn a_literal_user_in_a_condition_turns_the_memo_off_and_only_that_user_is_denied() {
    let user = "0190e000-0000-7000-8000-00000000000e";
    let authz = with_policy(&format!(
        "@id(\"hidden-user\")\nforbid (principal, action, resource)\n\
         when {{ resource == Beckon::User::\"{user}\" }};\n"
    ));
    let why = authz.memoisation().unwrap_err();
    assert!(
        why.contains("hidden-user") && why.contains("Beckon::User"),
        "{why}"
    );
    let tenant: TenantId = random_id();
    let other = "0190e000-0000-7000-8000-0000000000ff";
    assert_eq!(authz.authorize(&read_user(other, tenant)), Decision::Allow);
    assert_eq!(
        authz.authorize(&read_user(user, tenant)),
        Decision::Deny { notices: vec![] }
    );
    assert_eq!(authz.authorize(&read_user(other, tenant)), Decision::Allow);
}

#[test]
fn a_literal_tenant_in_a_condition_turns_the_memo_off_and_only_that_tenant_is_denied() {
    let tenant: TenantId = random_id();
    let authz = with_policy(&format!(
        "@id(\"frozen-tenant\")\nforbid (principal, action, resource)\n\
         when {{ principal.tenant == Beckon::Tenant::\"{tenant}\" }};\n"
    ));
    let why = authz.memoisation().unwrap_err();
    assert!(why.contains("Beckon::Tenant"), "{why}");
    assert_eq!(
        authz.authorize(&list_users(random_id(), random_id())),
        Decision::Allow
    );
    assert_eq!(
        authz.authorize(&list_users(random_id(), tenant)),
        Decision::Deny { notices: vec![] }
    );
    assert_eq!(
        authz.authorize(&list_users(random_id(), random_id())),
        Decision::Allow
    );
}

#[test]
fn a_literal_tenant_in_the_scope_turns_the_memo_off_and_only_that_tenant_is_denied() {
    let tenant: TenantId = random_id();
    let authz = with_policy(&format!(
        "@id(\"frozen-tenant\")\n\
         forbid (principal, action, resource in Beckon::Tenant::\"{tenant}\");\n"
    ));
    assert!(authz.memoisation().is_err());
    assert_eq!(
        authz.authorize(&list_users(random_id(), random_id())),
        Decision::Allow
    );
    assert_eq!(
        authz.authorize(&list_users(random_id(), tenant)),
        Decision::Deny { notices: vec![] }
    );
}

#[test]
fn a_schema_with_an_entity_hierarchy_turns_the_memo_off() {
    let dir = copy_of_policies();
    let path = dir.path().join("beckon.cedarschema");
    let schema = std::fs::read_to_string(&path).unwrap();
    let schema = schema.replace("entity User = {", "entity User in [Tenant] = {");
    std::fs::write(&path, schema).unwrap();
    let authz = CedarAuthorizer::from_dir(dir.path()).unwrap();
    let why = authz.memoisation().unwrap_err();
    assert!(why.contains("Beckon::User"), "{why}");
}

#[test]
fn an_erroring_policy_denies_with_the_error_notice_cached_or_not() {
    let authz = with_policy(
        "@id(\"overflowing-forbid\")\nforbid (principal, action, resource)\n\
         when { principal.role == \"admin\" && 9223372036854775807 + 1 > 0 };\n",
    );
    assert_eq!(authz.memoisation(), Ok(()));
    let full = authz.clone().without_memo();
    let errored = Decision::Deny {
        notices: vec![EVALUATION_ERROR_NOTICE.to_owned()],
    };
    for authz in [&authz, &authz, &full] {
        let req = random_request("admin", Action::ListUsers, false, None, true);
        assert_eq!(authz.authorize(&req), errored);
    }
    let viewer = random_request("viewer", Action::ListUsers, false, None, true);
    assert_eq!(authz.authorize(&viewer), Decision::Allow);
}
