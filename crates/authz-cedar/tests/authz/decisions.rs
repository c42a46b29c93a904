//! The default (built-in) policies decide as the contract says.

use beckon_authz_cedar::CedarAuthorizer;
use beckon_ports::{Action, Authorizer, Decision, Resource, UserStatus};

use crate::{ALL_ACTIONS, TENANT_A, TENANT_B, request, resource_for, tenant, user_in};

const VIEWER_NOTICE: &str = "The viewer role may only read users.";
const ISOLATION_NOTICE: &str = "An API key may act only on its own tenant.";

fn builtin() -> CedarAuthorizer {
    CedarAuthorizer::builtin().unwrap()
}

fn deny(notices: &[&str]) -> Decision {
    Decision::Deny {
        notices: notices.iter().map(|n| (*n).to_owned()).collect(),
    }
}

#[test]
fn builtin_policies_load_with_their_ids() {
    let summary = builtin().summary();
    assert_eq!(summary.source, "builtin");
    assert_eq!(
        summary.policy_ids,
        [
            "admin-all",
            "viewer-read",
            "viewer-read-only",
            "tenant-isolation"
        ]
    );
    assert_eq!(summary.policies, 4);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
}

#[test]
fn admin_is_allowed_every_action() {
    let authz = builtin();
    for action in ALL_ACTIONS {
        let decision = authz.authorize(&request("admin", action, resource_for(action, TENANT_A)));
        assert_eq!(decision, Decision::Allow, "{action:?}");
    }
}

#[test]
fn admin_is_allowed_to_act_on_an_active_user() {
    let authz = builtin();
    let active = user_in(TENANT_A, Some(UserStatus::Active));
    let decision = authz.authorize(&request("admin", Action::ReadUser, active));
    assert_eq!(decision, Decision::Allow);
}

#[test]
fn viewer_is_allowed_to_read_and_list_users() {
    let authz = builtin();
    for action in [Action::ReadUser, Action::ListUsers] {
        let decision = authz.authorize(&request("viewer", action, resource_for(action, TENANT_A)));
        assert_eq!(decision, Decision::Allow, "{action:?}");
    }
}

#[test]
fn viewer_is_denied_invite_and_resend_with_the_viewer_notice() {
    let authz = builtin();
    for action in [Action::InviteUser, Action::ResendInvite] {
        let decision = authz.authorize(&request("viewer", action, resource_for(action, TENANT_A)));
        assert_eq!(decision, deny(&[VIEWER_NOTICE]), "{action:?}");
    }
}

#[test]
fn unknown_role_is_denied_with_no_notice() {
    let authz = builtin();
    for action in ALL_ACTIONS {
        let decision = authz.authorize(&request("auditor", action, resource_for(action, TENANT_A)));
        assert_eq!(decision, deny(&[]), "{action:?}");
    }
}

#[test]
fn key_of_tenant_a_is_denied_a_user_of_tenant_b_with_the_isolation_notice() {
    let authz = builtin();
    for action in [Action::ReadUser, Action::ResendInvite] {
        let resource = user_in(TENANT_B, Some(UserStatus::Invited));
        let decision = authz.authorize(&request("admin", action, resource));
        assert_eq!(decision, deny(&[ISOLATION_NOTICE]), "{action:?}");
    }
}

#[test]
fn key_of_tenant_a_is_denied_tenant_b_as_a_whole_with_the_isolation_notice() {
    let authz = builtin();
    for action in [Action::InviteUser, Action::ListUsers] {
        let resource = Resource::Tenant {
            id: tenant(TENANT_B),
        };
        let decision = authz.authorize(&request("admin", action, resource));
        assert_eq!(decision, deny(&[ISOLATION_NOTICE]), "{action:?}");
    }
}

#[test]
fn viewer_inviting_in_another_tenant_gets_both_notices_in_policy_order() {
    let authz = builtin();
    let resource = Resource::Tenant {
        id: tenant(TENANT_B),
    };
    let decision = authz.authorize(&request("viewer", Action::InviteUser, resource));
    assert_eq!(decision, deny(&[VIEWER_NOTICE, ISOLATION_NOTICE]));
}

#[test]
fn missing_user_is_decided_like_an_existing_invited_user() {
    let authz = builtin();
    for role in ["admin", "viewer", "auditor"] {
        for action in [Action::ReadUser, Action::ResendInvite] {
            for tenant_id in [TENANT_A, TENANT_B] {
                let missing = authz.authorize(&request(role, action, user_in(tenant_id, None)));
                let invited = authz.authorize(&request(
                    role,
                    action,
                    user_in(tenant_id, Some(UserStatus::Invited)),
                ));
                assert_eq!(missing, invited, "{role} {action:?} {tenant_id}");
            }
        }
    }
}

#[test]
fn action_on_the_wrong_kind_of_resource_is_denied() {
    // ReadUser applies to a User; asked about a Tenant, the request does not
    // conform to the schema and must be refused, never guessed.
    let authz = builtin();
    let resource = Resource::Tenant {
        id: tenant(TENANT_A),
    };
    let decision = authz.authorize(&request("admin", Action::ReadUser, resource));
    assert!(matches!(decision, Decision::Deny { .. }), "{decision:?}");
}

#[test]
fn authorizer_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<CedarAuthorizer>();
    let authz = builtin();
    let handle = {
        let authz = authz.clone();
        std::thread::spawn(move || {
            authz.authorize(&request(
                "admin",
                Action::ListUsers,
                resource_for(Action::ListUsers, TENANT_A),
            ))
        })
    };
    assert_eq!(handle.join().unwrap(), Decision::Allow);
}
