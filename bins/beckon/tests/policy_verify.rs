//! `beckon policy verify` through the real binary (CONTRACT §6): a line per
//! property on stderr, one JSON object on stdout, a failure exit with a
//! counterexample when a property fails. Needs the cvc5 solver (`CVC5` or
//! `cvc5` on `PATH`; `apt-get install cvc5`): fails, never skips, without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

const PROPERTIES: [&str; 3] = [
    "tenant-isolation",
    "no-evaluation-errors",
    "viewer-read-only",
];
const POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");

/// `beckon policy verify` in a scratch folder, with no inherited `BECKON_*`
/// and `vars` set.
fn verify(dir: &TempDir, vars: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_beckon"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BECKON_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir.path())
        .env(
            "BECKON_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("beckon.db").display()),
        )
        .args(["policy", "verify"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The built-in policies copied into `dir`/policies, `edit` applied to each
/// file's (name, text), `None` dropping the file, and `extra` added.
fn policy_dir(
    dir: &TempDir,
    edit: impl Fn(&str, String) -> Option<String>,
    extra: Option<&str>,
) -> PathBuf {
    let dst = dir.path().join("policies");
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(POLICIES).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        if let Some(text) = edit(&name, text) {
            std::fs::write(dst.join(&name), text).unwrap();
        }
    }
    if let Some(extra) = extra {
        std::fs::write(dst.join("extra.cedar"), extra).unwrap();
    }
    dst
}

/// The JSON object on stdout and the lines on stderr, after asserting the
/// exit status; says how to install cvc5 when it is missing.
fn report(out: &Output, success: bool) -> (Value, Vec<String>) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("was not found"),
        "the cvc5 solver is missing: `apt-get install cvc5` (or set CVC5): {stderr}"
    );
    assert_eq!(out.status.success(), success, "stderr: {stderr}");
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(stdout.trim_end().lines().count(), 1, "one line: {stdout}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    // The property lines, without the log's.
    let lines = stderr
        .lines()
        .filter(|l| PROPERTIES.iter().any(|p| l.starts_with(&format!("{p}: "))))
        .map(str::to_owned)
        .collect();
    (json, lines)
}

fn property<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
}

#[test]
fn the_built_in_policies_are_proven() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lines) = report(&verify(&dir, &[]), true);
    assert_eq!(json["proven"], true, "{json}");
    assert_eq!(json["source"], "builtin");
    assert_eq!(json["environments"].as_array().unwrap().len(), 7);
    let names: Vec<&str> = json["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, PROPERTIES);
    for p in json["properties"].as_array().unwrap() {
        assert_eq!(p["result"], "proven", "{p}");
        assert!(p.get("counterexample").is_none(), "{p}");
    }
    assert_eq!(
        lines,
        [
            "tenant-isolation: proven (7 request environments)",
            "no-evaluation-errors: proven (7 request environments)",
            "viewer-read-only: proven (5 request environments)",
        ]
    );
}

#[test]
fn without_the_isolation_forbid_it_prints_a_cross_tenant_counterexample_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_dir(
        &dir,
        |name, text| (name != "tenancy.cedar").then_some(text),
        None,
    );
    let (json, lines) = report(&verify(&dir, &[("BECKON_POLICY_DIR", &policies)]), false);
    assert_eq!(json["proven"], false);
    let isolation = property(&json, "tenant-isolation");
    assert_eq!(isolation["result"], "counterexample", "{isolation}");
    let cex = &isolation["counterexample"];
    let principal = cex["principal"].as_str().unwrap();
    assert!(principal.starts_with("Beckon::ApiKey::"), "{cex}");
    let entity = |uid: &str| {
        cex["entities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["uid"] == uid)
            .cloned()
            .unwrap_or_else(|| panic!("{uid} not among {cex}"))
    };
    let key_tenant = entity(principal)["attrs"]["tenant"].clone();
    let resource = cex["resource"].as_str().unwrap();
    let resource_tenant = if resource.starts_with("Beckon::Tenant::") {
        Value::from(resource)
    } else {
        entity(resource)["attrs"]["tenant"].clone()
    };
    assert_ne!(key_tenant, resource_tenant, "{cex}");
    assert_eq!(property(&json, "no-evaluation-errors")["result"], "proven");
    assert_eq!(property(&json, "viewer-read-only")["result"], "proven");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("tenant-isolation: counterexample: Beckon::ApiKey::"),
        "{lines:?}"
    );
    assert!(lines[0].contains(cex["text"].as_str().unwrap()));
}

#[test]
fn a_viewer_allowed_to_resend_is_a_counterexample() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_dir(
        &dir,
        |name, text| {
            Some(if name == "roles.cedar" {
                text.replace(
                    r#"[Beckon::Action::"ReadUser", Beckon::Action::"ListUsers"]"#,
                    r#"[Beckon::Action::"ReadUser", Beckon::Action::"ListUsers", Beckon::Action::"ResendInvite"]"#,
                )
                .replacen("    Beckon::Action::\"ResendInvite\",\n", "", 2)
            } else {
                text
            })
        },
        None,
    );
    let (json, lines) = report(&verify(&dir, &[("BECKON_POLICY_DIR", &policies)]), false);
    let viewer = property(&json, "viewer-read-only");
    assert_eq!(viewer["result"], "counterexample", "{json}");
    assert_eq!(
        viewer["counterexample"]["action"],
        r#"Beckon::Action::"ResendInvite""#
    );
    assert_eq!(property(&json, "tenant-isolation")["result"], "proven");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("viewer-read-only: counterexample: ")
                && l.contains("role: \"viewer\"")),
        "{lines:?}"
    );
}

#[test]
fn a_policy_that_can_error_is_named_in_its_counterexample() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_dir(
        &dir,
        |_, text| Some(text),
        Some(
            "@id(\"overflowing\")\n@notice(\"never seen\")\n\
             forbid (principal, action, resource)\n\
             when { 9223372036854775807 + (if principal.role == \"admin\" then 1 else 0) < 0 };\n",
        ),
    );
    let (json, lines) = report(&verify(&dir, &[("BECKON_POLICY_DIR", &policies)]), false);
    let errors = property(&json, "no-evaluation-errors");
    assert_eq!(errors["counterexample"]["policy"], "overflowing", "{json}");
    assert!(
        lines.iter().any(|l| l
            .starts_with("no-evaluation-errors: counterexample: policy overflowing errors when ")),
        "{lines:?}"
    );
}

#[test]
fn a_missing_solver_fails_with_one_line_saying_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-cvc5-here");
    let out = verify(&dir, &[("CVC5", &missing)]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-cvc5-here"), "{stderr}");
    assert!(stderr.contains("apt-get install cvc5"), "{stderr}");
}

#[test]
fn an_invalid_policy_set_fails_with_the_validators_message() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_dir(
        &dir,
        |_, text| Some(text),
        Some(
            "@id(\"broken\")\npermit (principal, action, resource)\n\
             when { principal.no_such_attribute == \"x\" };\n",
        ),
    );
    let out = verify(&dir, &[("BECKON_POLICY_DIR", &policies)]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the policies are invalid"), "{stderr}");
    assert!(stderr.contains("no_such_attribute"), "{stderr}");
}
