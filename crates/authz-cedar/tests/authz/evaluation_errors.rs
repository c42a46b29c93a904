//! Cedar skips a policy whose evaluation errors, forbids included: the
//! authorizer must turn any evaluation error into a deny.

use beckon_authz_cedar::{CedarAuthorizer, EVALUATION_ERROR_NOTICE};
use beckon_ports::{Action, Authorizer, Decision};

use crate::loading::copy_of_policies;
use crate::{TENANT_A, request, resource_for};

/// The default policies plus a forbid that overflows at evaluation time
/// (strict validation types it, but cannot see the overflow).
fn with_erroring_forbid() -> CedarAuthorizer {
    let dir = copy_of_policies();
    std::fs::write(
        dir.path().join("overflow.cedar"),
        "@id(\"overflowing-forbid\")\n@notice(\"never seen\")\n\
         forbid (principal, action, resource)\n\
         when { principal.role == \"admin\" && 9223372036854775807 + 1 > 0 };\n",
    )
    .unwrap();
    CedarAuthorizer::from_dir(dir.path()).unwrap()
}

#[test]
fn erroring_forbid_denies_although_a_permit_matches() {
    let authz = with_erroring_forbid();
    let req = request(
        "admin",
        Action::ListUsers,
        resource_for(Action::ListUsers, TENANT_A),
    );
    assert_eq!(
        authz.authorize(&req),
        Decision::Deny {
            notices: vec![EVALUATION_ERROR_NOTICE.to_owned()]
        }
    );
}

#[test]
fn erroring_forbid_keeps_the_notices_of_forbids_that_did_decide() {
    // The overflowing forbid errors for every role whose check reaches it;
    // a viewer's invite is denied by viewer-read-only anyway, and the caller
    // is told both why and that a policy failed.
    let dir = copy_of_policies();
    std::fs::write(
        dir.path().join("overflow.cedar"),
        "@id(\"overflowing-forbid\")\nforbid (principal, action, resource)\n\
         when { 9223372036854775807 + 1 > 0 };\n",
    )
    .unwrap();
    let authz = CedarAuthorizer::from_dir(dir.path()).unwrap();
    let req = request(
        "viewer",
        Action::InviteUser,
        resource_for(Action::InviteUser, TENANT_A),
    );
    assert_eq!(
        authz.authorize(&req),
        Decision::Deny {
            notices: vec![
                "The viewer role may only read users.".to_owned(),
                EVALUATION_ERROR_NOTICE.to_owned()
            ]
        }
    );
}

#[test]
fn requests_the_erroring_forbid_does_not_reach_are_decided_normally() {
    // `&&` short-circuits: for a viewer the overflow is never evaluated.
    let authz = with_erroring_forbid();
    let req = request(
        "viewer",
        Action::ReadUser,
        resource_for(Action::ReadUser, TENANT_A),
    );
    assert_eq!(authz.authorize(&req), Decision::Allow);
}
