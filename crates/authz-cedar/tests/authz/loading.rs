//! Loading policy folders (`BECKON_POLICY_DIR`): what is accepted, and what
//! refuses a start with a message an operator can act on.

use std::path::{Path, PathBuf};

use beckon_authz_cedar::{CedarAuthorizer, PolicyError, check};
use beckon_ports::{Action, Authorizer, Decision};

use crate::{ALL_ACTIONS, TENANT_A, request, resource_for};

fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

/// A temp folder holding a copy of `policies/`.
pub fn copy_of_policies() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(policies_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn load_err(dir: &Path) -> PolicyError {
    match CedarAuthorizer::from_dir(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(err) => err,
    }
}

#[test]
fn from_dir_with_the_files_of_policies_decides_like_builtin() {
    let dir = copy_of_policies();
    let from_dir = CedarAuthorizer::from_dir(dir.path()).unwrap();
    let builtin = CedarAuthorizer::builtin().unwrap();
    assert_eq!(from_dir.summary().policy_ids, builtin.summary().policy_ids);
    for role in ["admin", "viewer", "other"] {
        for action in ALL_ACTIONS {
            let req = request(role, action, resource_for(action, TENANT_A));
            assert_eq!(
                from_dir.authorize(&req),
                builtin.authorize(&req),
                "{role} {action:?}"
            );
        }
    }
}

#[test]
fn check_summarizes_builtin_and_folder_policies() {
    let builtin = check(None).unwrap();
    assert_eq!(builtin.source, "builtin");
    assert_eq!(builtin.policies, 4);
    let dir = copy_of_policies();
    let folder = check(Some(dir.path())).unwrap();
    assert_eq!(folder.source, dir.path().display().to_string());
    assert_eq!(folder.policy_ids, builtin.policy_ids);
}

#[test]
fn policy_reading_an_unknown_attribute_fails_validation_with_the_validator_message() {
    let dir = copy_of_policies();
    write(
        dir.path(),
        "extra.cedar",
        "@id(\"by-department\")\n@notice(\"x\")\npermit (principal, action, resource)\nwhen { principal.department == \"sales\" };\n",
    );
    let err = load_err(dir.path());
    assert!(matches!(err, PolicyError::Validation(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("extra.cedar:4:"), "{text}");
    assert!(text.contains("by-department"), "{text}");
    assert!(text.contains("department"), "{text}");
    assert!(text.contains("Beckon::ApiKey"), "{text}");
}

#[test]
fn policy_reading_an_optional_attribute_without_has_fails_validation() {
    let dir = copy_of_policies();
    write(
        dir.path(),
        "extra.cedar",
        "@id(\"only-invited\")\nforbid (principal, action, resource is Beckon::User)\nwhen { resource.status == \"active\" };\n",
    );
    let err = load_err(dir.path());
    assert!(matches!(err, PolicyError::Validation(_)), "{err:?}");
    assert!(err.to_string().contains("status"), "{err}");
}

#[test]
fn policy_without_an_id_fails_to_load() {
    let dir = copy_of_policies();
    write(
        dir.path(),
        "extra.cedar",
        "permit (principal, action, resource) when { principal.role == \"owner\" };\n",
    );
    let err = load_err(dir.path());
    assert!(matches!(err, PolicyError::Ids(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("extra.cedar:1:1"), "{text}");
    assert!(text.contains("@id"), "{text}");
}

#[test]
fn two_policies_with_the_same_id_fail_to_load() {
    let dir = copy_of_policies();
    write(
        dir.path(),
        "extra.cedar",
        "@id(\"admin-all\")\npermit (principal, action, resource) when { principal.role == \"owner\" };\n",
    );
    let err = load_err(dir.path());
    assert!(matches!(err, PolicyError::Ids(_)), "{err:?}");
    assert!(err.to_string().contains("admin-all"), "{err}");
}

#[test]
fn policy_that_does_not_parse_fails_with_its_place() {
    let dir = copy_of_policies();
    write(
        dir.path(),
        "extra.cedar",
        "@id(\"broken\")\npermit (principal, action, resource\n",
    );
    let err = load_err(dir.path());
    assert!(matches!(err, PolicyError::Parse(_)), "{err:?}");
    assert!(err.to_string().contains("extra.cedar:"), "{err}");
}

#[test]
fn folder_without_a_schema_fails_to_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        policies_dir().join("roles.cedar"),
        dir.path().join("roles.cedar"),
    )
    .unwrap();
    assert!(matches!(load_err(dir.path()), PolicyError::Layout { .. }));
}

#[test]
fn folder_with_two_schemas_fails_to_load() {
    let dir = copy_of_policies();
    std::fs::copy(
        policies_dir().join("beckon.cedarschema"),
        dir.path().join("other.cedarschema"),
    )
    .unwrap();
    let err = load_err(dir.path());
    assert!(matches!(err, PolicyError::Layout { .. }), "{err:?}");
}

#[test]
fn folder_without_policies_fails_to_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        policies_dir().join("beckon.cedarschema"),
        dir.path().join("beckon.cedarschema"),
    )
    .unwrap();
    assert!(matches!(load_err(dir.path()), PolicyError::Layout { .. }));
}

#[test]
fn missing_folder_fails_to_load() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_err(&dir.path().join("nope"));
    assert!(matches!(err, PolicyError::Io { .. }), "{err:?}");
}

#[test]
fn schema_that_does_not_fit_beckons_entities_fails_to_load() {
    // A User without `status`: the entity Beckon builds for an existing user
    // would be refused on every request, so the start is refused instead.
    let dir = copy_of_policies();
    let schema = std::fs::read_to_string(dir.path().join("beckon.cedarschema")).unwrap();
    let schema = schema.replace("    status?: String,\n", "");
    write(dir.path(), "beckon.cedarschema", &schema);
    let err = load_err(dir.path());
    assert!(matches!(err, PolicyError::Incompatible(_)), "{err:?}");
    assert!(err.to_string().contains("status"), "{err}");
}

#[test]
fn schema_that_does_not_parse_fails_to_load() {
    let dir = copy_of_policies();
    write(
        dir.path(),
        "beckon.cedarschema",
        "namespace Beckon { entity ; }\n",
    );
    let err = load_err(dir.path());
    assert!(matches!(err, PolicyError::Schema(_)), "{err:?}");
    assert!(err.to_string().contains("beckon.cedarschema:1:"), "{err}");
}

#[test]
fn an_added_permit_takes_effect() {
    let dir = copy_of_policies();
    write(
        dir.path(),
        "owner.cedar",
        "@id(\"owner-all\")\npermit (principal, action, resource) when { principal.role == \"owner\" };\n",
    );
    let authz = CedarAuthorizer::from_dir(dir.path()).unwrap();
    let req = request(
        "owner",
        Action::InviteUser,
        resource_for(Action::InviteUser, TENANT_A),
    );
    assert_eq!(authz.authorize(&req), Decision::Allow);
}
