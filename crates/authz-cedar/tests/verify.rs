//! `verify`: the properties of CONTRACT §6 proven on the default policies,
//! and a counterexample for each policy set planted to break one. Needs the
//! cvc5 solver (`CVC5` or `cvc5` on `PATH`): fails, never skips, without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::str::FromStr;

use beckon_authz_cedar::verify::{
    Counterexample, Cvc5, NO_EVALUATION_ERRORS, TENANT_ISOLATION, VIEWER_READ_ONLY, Verification,
    VerifyError, verify,
};
use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request, Schema,
};
use tempfile::TempDir;

const SCHEMA: &str = include_str!("../../../policies/beckon.cedarschema");
const ROLES: &str = include_str!("../../../policies/roles.cedar");
const TENANCY: &str = include_str!("../../../policies/tenancy.cedar");

fn cvc5() -> Cvc5 {
    Cvc5::from_var(std::env::var_os("CVC5"))
}

/// A policy folder with the schema and the given policy files.
fn folder(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("beckon.cedarschema"), SCHEMA).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

async fn run(dir: Option<&Path>) -> Verification {
    match verify(dir, &cvc5()).await {
        Ok(v) => v,
        Err(VerifyError::SolverMissing { program }) => panic!(
            "the cvc5 solver ({program}) is missing: install it with `apt-get install cvc5` \
             or set CVC5 to its path"
        ),
        Err(e) => panic!("{e}"),
    }
}

fn property<'a>(v: &'a Verification, name: &str) -> &'a beckon_authz_cedar::verify::Property {
    v.properties.iter().find(|p| p.name == name).unwrap()
}

fn counterexample<'a>(v: &'a Verification, name: &str) -> &'a Counterexample {
    property(v, name)
        .counterexample
        .as_ref()
        .unwrap_or_else(|| panic!("{name} proven, expected a counterexample: {v:?}"))
}

/// The counterexample's request and entities, as Cedar values again.
fn concrete(cex: &Counterexample) -> (Request, Entities) {
    let uid = |s: &str| EntityUid::from_str(s).unwrap();
    let request = Request::new(
        uid(&cex.principal),
        uid(&cex.action),
        uid(&cex.resource),
        Context::empty(),
        None,
    )
    .unwrap();
    let entities: Vec<String> = cex
        .entities
        .iter()
        .map(|e| {
            let attrs: Vec<String> = e
                .attrs
                .iter()
                .map(|(k, v)| format!("{k:?}: {}", json_of(v)))
                .collect();
            format!(
                r#"{{"uid": {{"__entity": {}}}, "attrs": {{{}}}, "parents": []}}"#,
                entity_json(&e.uid),
                attrs.join(", ")
            )
        })
        .collect();
    let schema = Schema::from_cedarschema_str(SCHEMA).unwrap().0;
    let entities =
        Entities::from_json_str(&format!("[{}]", entities.join(",")), Some(&schema)).unwrap();
    (request, entities)
}

/// `Beckon::Tenant::"x"` → `{"type": "Beckon::Tenant", "id": "x"}`.
fn entity_json(uid: &str) -> String {
    let uid = EntityUid::from_str(uid).unwrap();
    format!(
        r#"{{"type": {:?}, "id": {:?}}}"#,
        uid.type_name().to_string(),
        uid.id().unescaped()
    )
}

/// An attribute value in Cedar syntax (a string or an entity) as JSON.
fn json_of(value: &str) -> String {
    if value.starts_with('"') {
        value.to_owned()
    } else {
        format!(r#"{{"__entity": {}}}"#, entity_json(value))
    }
}

fn tenant_of<'a>(cex: &'a Counterexample, uid: &'a str) -> &'a str {
    let entity = cex.entities.iter().find(|e| e.uid == uid).unwrap();
    entity
        .attrs
        .get("tenant")
        .map(String::as_str)
        .unwrap_or(uid)
}

fn authorize(policies: &str, cex: &Counterexample) -> Decision {
    let (request, entities) = concrete(cex);
    let set = PolicySet::from_str(policies).unwrap();
    Authorizer::new()
        .is_authorized(&request, &set, &entities)
        .decision()
}

#[tokio::test]
async fn the_default_policies_have_every_property() {
    let v = run(None).await;
    assert_eq!(v.source, "builtin");
    assert_eq!(v.environments.len(), 7, "{:?}", v.environments);
    let mut sorted = v.environments.clone();
    sorted.sort();
    assert_eq!(v.environments, sorted);
    assert_eq!(
        v.environments[0],
        r#"Beckon::ApiKey, Beckon::Action::"DeleteUser", Beckon::User"#
    );
    let names: Vec<&str> = v.properties.iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [TENANT_ISOLATION, NO_EVALUATION_ERRORS, VIEWER_READ_ONLY]
    );
    for p in &v.properties {
        assert!(p.proven(), "{}: {:?}", p.name, p.counterexample);
    }
    assert!(v.proven());
    assert_eq!(property(&v, TENANT_ISOLATION).environments, 7);
    assert_eq!(property(&v, NO_EVALUATION_ERRORS).environments, 7);
    // ReadUser and ListUsers are a viewer's to do: 5 actions are left.
    assert_eq!(property(&v, VIEWER_READ_ONLY).environments, 5);
}

#[tokio::test]
async fn without_the_isolation_forbid_a_cross_tenant_request_is_found() {
    let dir = folder(&[("roles.cedar", ROLES)]);
    let v = run(Some(dir.path())).await;
    assert!(!v.proven());
    let cex = counterexample(&v, TENANT_ISOLATION);
    assert_eq!(cex.policy, None);
    // The principal's tenant is not the resource's, and the policies
    // permit the request all the same.
    let principal_tenant = tenant_of(cex, &cex.principal);
    let resource_tenant = tenant_of(cex, &cex.resource);
    assert_ne!(principal_tenant, resource_tenant, "{cex:?}");
    assert_eq!(authorize(ROLES, cex), Decision::Allow, "{cex}");
    assert_eq!(
        authorize(&format!("{ROLES}\n{TENANCY}"), cex),
        Decision::Deny,
        "{cex}"
    );
    // The other properties do not depend on that forbid.
    assert!(property(&v, NO_EVALUATION_ERRORS).proven());
    assert!(property(&v, VIEWER_READ_ONLY).proven());
}

const AUDITOR: &str = r#"
@id("auditor-reads-everyone")
permit (principal, action == Beckon::Action::"ReadUser", resource)
when { principal.role == "auditor" };
"#;

#[tokio::test]
async fn a_permit_that_ignores_tenants_is_held_back_by_the_forbid() {
    let dir = folder(&[
        ("roles.cedar", ROLES),
        ("tenancy.cedar", TENANCY),
        ("auditor.cedar", AUDITOR),
    ]);
    let v = run(Some(dir.path())).await;
    assert!(v.proven(), "{v:?}");
}

#[tokio::test]
async fn a_forbid_that_forgets_tenant_resources_lets_a_key_act_on_another_tenant() {
    // The isolation forbid rewritten to guard users only: inviting into, or
    // listing, another tenant is no longer forbidden.
    let users_only = r#"
@id("tenant-isolation")
@notice("An API key may act only on its own tenant's users.")
forbid (principal, action, resource is Beckon::User)
unless { resource.tenant == principal.tenant };
"#;
    let dir = folder(&[("roles.cedar", ROLES), ("tenancy.cedar", users_only)]);
    let v = run(Some(dir.path())).await;
    let cex = counterexample(&v, TENANT_ISOLATION);
    assert!(cex.resource.starts_with("Beckon::Tenant::"), "{cex}");
    assert_ne!(tenant_of(cex, &cex.principal), cex.resource, "{cex:?}");
    assert_eq!(
        authorize(&format!("{ROLES}\n{users_only}"), cex),
        Decision::Allow
    );
}

#[tokio::test]
async fn a_viewer_allowed_to_resend_is_found() {
    // viewer-read extended to ResendInvite, and the forbid told to match.
    let roles = ROLES
        .replace(
            r#"action in [Beckon::Action::"ReadUser", Beckon::Action::"ListUsers"]"#,
            r#"action in [Beckon::Action::"ReadUser", Beckon::Action::"ListUsers", Beckon::Action::"ResendInvite"]"#,
        )
        .replacen("    Beckon::Action::\"ResendInvite\",\n", "", 2);
    assert_ne!(roles, ROLES);
    let dir = folder(&[("roles.cedar", &roles), ("tenancy.cedar", TENANCY)]);
    let v = run(Some(dir.path())).await;
    let cex = counterexample(&v, VIEWER_READ_ONLY);
    assert_eq!(cex.action, r#"Beckon::Action::"ResendInvite""#, "{cex}");
    let principal = cex
        .entities
        .iter()
        .find(|e| e.uid == cex.principal)
        .unwrap();
    assert_eq!(principal.attrs["role"], r#""viewer""#);
    assert_eq!(
        authorize(&format!("{roles}\n{TENANCY}"), cex),
        Decision::Allow
    );
    assert!(property(&v, TENANT_ISOLATION).proven());
    assert!(property(&v, NO_EVALUATION_ERRORS).proven());
}

#[tokio::test]
async fn a_viewer_permit_under_the_read_only_forbid_is_no_counterexample() {
    let extra = r#"
@id("viewer-resend")
permit (principal, action == Beckon::Action::"ResendInvite", resource)
when { principal.role == "viewer" };
"#;
    let dir = folder(&[
        ("roles.cedar", ROLES),
        ("tenancy.cedar", TENANCY),
        ("viewer.cedar", extra),
    ]);
    assert!(run(Some(dir.path())).await.proven());
}

#[tokio::test]
async fn a_policy_that_can_overflow_is_found_with_the_request_that_makes_it() {
    // Strict validation types the arithmetic; only the solver sees that it
    // overflows, and only for an admin.
    let overflow = r#"
@id("overflowing")
@notice("never seen")
forbid (principal, action, resource)
when { 9223372036854775807 + (if principal.role == "admin" then 1 else 0) < 0 };
"#;
    let dir = folder(&[
        ("roles.cedar", ROLES),
        ("tenancy.cedar", TENANCY),
        ("zz-overflow.cedar", overflow),
    ]);
    let v = run(Some(dir.path())).await;
    let cex = counterexample(&v, NO_EVALUATION_ERRORS);
    assert_eq!(cex.policy.as_deref(), Some("overflowing"));
    let principal = cex
        .entities
        .iter()
        .find(|e| e.uid == cex.principal)
        .unwrap();
    assert_eq!(principal.attrs["role"], r#""admin""#, "{cex}");
    assert!(
        cex.to_string()
            .starts_with("policy overflowing errors when ")
    );
}

#[tokio::test]
async fn reading_an_optional_attribute_unguarded_is_refused_before_the_solver() {
    // The other classic error, a missing attribute, cannot reach the
    // solver: strict validation refuses it, as it refuses it at start.
    let unguarded = r#"
@id("unguarded")
permit (principal, action, resource is Beckon::User)
when { resource.status == "invited" };
"#;
    let dir = folder(&[("roles.cedar", ROLES), ("unguarded.cedar", unguarded)]);
    let err = verify(Some(dir.path()), &cvc5()).await.unwrap_err();
    assert!(matches!(err, VerifyError::Policy(_)), "{err:?}");
    assert!(err.to_string().contains("status"), "{err}");
}

#[tokio::test]
async fn a_missing_solver_is_an_error_that_says_how_to_install_it() {
    let missing = tempfile::tempdir().unwrap();
    let program = missing.path().join("no-cvc5-here");
    let err = verify(None, &Cvc5::new(&program)).await.unwrap_err();
    assert!(
        matches!(&err, VerifyError::SolverMissing { program: p } if p.ends_with("no-cvc5-here")),
        "{err:?}"
    );
    assert!(err.to_string().contains("apt-get install cvc5"), "{err}");
}

#[tokio::test]
async fn a_solver_that_does_not_speak_smt_is_an_error() {
    // `true` exits at once: the symbolic compiler finds no solver to talk to.
    let err = verify(None, &Cvc5::new("true")).await.unwrap_err();
    assert!(matches!(err, VerifyError::Solver(_)), "{err:?}");
}

#[test]
fn the_solver_is_the_cvc5_variable_or_cvc5_on_the_path() {
    assert_eq!(Cvc5::from_var(None).program(), "cvc5");
    assert_eq!(Cvc5::from_var(Some("".into())).program(), "cvc5");
    assert_eq!(
        Cvc5::from_var(Some("/opt/cvc5/bin/cvc5".into())).program(),
        "/opt/cvc5/bin/cvc5"
    );
}

#[tokio::test]
async fn an_unreadable_policy_folder_is_a_policy_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = verify(Some(&dir.path().join("absent")), &cvc5())
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Policy(_)), "{err:?}");
}
