//! The ladder against the real workspace, and against synthetic manifests
//! that break each rule (so the check demonstrably can fail).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

const ROOT: &str = r#"
[workspace]
members = ["crates/*", "bins/beckon", "xtask"]

[workspace.dependencies]
beckon-ports = { path = "crates/ports" }
beckon-domain = { path = "crates/domain" }
beckon-http = { path = "crates/http" }
beckon-mail = { path = "crates/mail" }
beckon-webhook = { path = "crates/webhook" }
beckon-store-diesel = { path = "crates/store-diesel" }
beckon-store-memory = { path = "crates/store-memory" }
beckon-authz-cedar = { path = "crates/authz-cedar" }
domain-core = { path = "crates/domain", package = "beckon-domain" }
anyhow = "1"
"#;

/// The members of a workspace that keeps the ladder: (folder, name, deps).
const GOOD: [(&str, &str, &str); 10] = [
    (
        "crates/ports",
        "beckon-ports",
        "anyhow.workspace = true\nuuid = \"1\"",
    ),
    (
        "crates/domain",
        "beckon-domain",
        "beckon-ports.workspace = true\nanyhow = \"1\"",
    ),
    (
        "crates/store-diesel",
        "beckon-store-diesel",
        "beckon-ports.workspace = true\ndiesel = \"2\"\ndiesel-async = \"0.9\"",
    ),
    (
        "crates/store-memory",
        "beckon-store-memory",
        "beckon-ports.workspace = true\nasync-trait = \"0.1\"",
    ),
    (
        "crates/mail",
        "beckon-mail",
        "beckon-ports.workspace = true\nlettre = \"0.11\"",
    ),
    (
        "crates/webhook",
        "beckon-webhook",
        "beckon-ports.workspace = true\nreqwest = \"0.12\"",
    ),
    (
        "crates/authz-cedar",
        "beckon-authz-cedar",
        "beckon-ports.workspace = true\ncedar-policy = \"=4.14.1\"",
    ),
    (
        "crates/http",
        "beckon-http",
        "beckon-ports.workspace = true\nbeckon-domain.workspace = true\nactix-web = \"4\"",
    ),
    (
        "bins/beckon",
        "beckon",
        "beckon-domain.workspace = true\nbeckon-http.workspace = true\nbeckon-mail.workspace = true\nbeckon-webhook.workspace = true\nbeckon-store-diesel.workspace = true\nbeckon-authz-cedar.workspace = true",
    ),
    ("xtask", "xtask", "anyhow.workspace = true"),
];

fn manifest(name: &str, deps: &str, extra: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n[dependencies]\n{deps}\n{extra}\n"
    )
}

/// The good workspace with `extra` appended to the manifest of `krate`
/// (a dependency line lands in `[dependencies]`; a `[table]` starts its own).
fn violations_with(krate: &str, extra: &str) -> Vec<Violation> {
    let texts: Vec<(String, String)> = GOOD
        .iter()
        .map(|(dir, name, deps)| {
            let (deps, tail) = if *name == krate {
                if extra.trim_start().starts_with('[') {
                    (deps.to_string(), extra)
                } else {
                    (format!("{deps}\n{extra}"), "")
                }
            } else {
                (deps.to_string(), "")
            };
            (dir.to_string(), manifest(name, &deps, tail))
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = texts
        .iter()
        .map(|(d, t)| (d.as_str(), t.as_str()))
        .collect();
    check_manifests(&Workspace::from_texts(ROOT, &borrowed).unwrap())
}

/// Exactly one violation, by `krate`, whose text holds every one of `words`.
fn assert_one(violations: &[Violation], krate: &str, words: &[&str]) {
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let v = &violations[0];
    assert_eq!(v.krate, krate, "{v}");
    for w in words {
        assert!(v.to_string().contains(w), "{v:?} lacks {w:?}");
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn the_real_workspace_keeps_the_ladder() {
    let report = check(&workspace_root()).unwrap();
    let listed: Vec<String> = report.violations.iter().map(ToString::to_string).collect();
    assert!(
        report.violations.is_empty(),
        "ladder broken:\n{}",
        listed.join("\n")
    );
    // Not vacuous: every ruled crate was read and the source was scanned.
    for name in [PORTS, DOMAIN, HTTP].iter().chain(ADAPTERS.iter()) {
        assert!(
            report.crates.iter().any(|c| c == name),
            "{name} not checked"
        );
    }
    assert!(
        report.files_scanned >= 10,
        "only {} files scanned",
        report.files_scanned
    );
}

#[test]
fn a_workspace_that_keeps_the_ladder_passes() {
    assert_eq!(violations_with("beckon-ports", ""), []);
}

#[test]
fn an_adapter_depending_on_the_domain_fails() {
    let v = violations_with("beckon-mail", "beckon-domain.workspace = true");
    assert_one(
        &v,
        "beckon-mail",
        &["depends on beckon-domain", "an adapter"],
    );
}

#[test]
fn an_adapter_depending_on_another_adapter_fails() {
    let v = violations_with(
        "beckon-authz-cedar",
        "beckon-store-diesel = { path = \"../store-diesel\" }",
    );
    assert_one(
        &v,
        "beckon-authz-cedar",
        &["depends on beckon-store-diesel", "another adapter"],
    );
}

#[test]
fn an_adapter_depending_on_http_fails() {
    let v = violations_with("beckon-store-diesel", "beckon-http.workspace = true");
    assert_one(&v, "beckon-store-diesel", &["depends on beckon-http"]);
}

#[test]
fn the_ports_depending_on_any_beckon_crate_fails() {
    for dep in ["beckon-domain", "beckon-mail", "beckon-http"] {
        let v = violations_with("beckon-ports", &format!("{dep}.workspace = true"));
        assert_one(
            &v,
            "beckon-ports",
            &[&format!("depends on {dep}"), "bottom rung"],
        );
    }
}

#[test]
fn the_ports_naming_a_framework_fails() {
    for dep in ["actix-web", "diesel-async", "lettre", "cedar-policy"] {
        let v = violations_with("beckon-ports", &format!("{dep} = \"1\""));
        assert_one(
            &v,
            "beckon-ports",
            &[&format!("depends on {dep}"), "framework"],
        );
    }
}

#[test]
fn the_domain_depending_on_a_beckon_crate_other_than_the_ports_fails() {
    for dep in ["beckon-http", "beckon-store-diesel", "beckon-authz-cedar"] {
        let v = violations_with("beckon-domain", &format!("{dep}.workspace = true"));
        assert_one(
            &v,
            "beckon-domain",
            &[&format!("depends on {dep}"), "beckon-ports only"],
        );
    }
}

#[test]
fn the_domain_naming_a_framework_fails() {
    for dep in [
        "actix-web",
        "actix-rt",
        "diesel",
        "diesel_migrations",
        "lettre",
        "cedar-policy",
    ] {
        let v = violations_with("beckon-domain", &format!("{dep} = \"1\""));
        assert_one(
            &v,
            "beckon-domain",
            &[&format!("depends on {dep}"), "framework"],
        );
    }
}

#[test]
fn http_depending_on_an_adapter_fails() {
    for dep in ADAPTERS {
        let v = violations_with("beckon-http", &format!("{dep}.workspace = true"));
        assert_one(
            &v,
            "beckon-http",
            &[&format!("depends on {dep}"), "adapter"],
        );
    }
}

#[test]
fn dev_dependencies_may_use_anything() {
    let dev = "[dev-dependencies]\nbeckon-store-diesel.workspace = true\ndiesel = \"2\"\nactix-web = \"4\"";
    assert_eq!(violations_with("beckon-domain", dev), []);
    assert_eq!(
        violations_with(
            "beckon-mail",
            "[dev-dependencies]\nbeckon-domain.workspace = true"
        ),
        []
    );
}

#[test]
fn target_specific_dependencies_count() {
    let v = violations_with(
        "beckon-domain",
        "[target.'cfg(unix)'.dependencies]\ndiesel = \"2\"",
    );
    assert_one(
        &v,
        "beckon-domain",
        &["depends on diesel", "target.'cfg(unix)'.dependencies"],
    );
}

#[test]
fn a_renamed_dependency_is_judged_by_its_package() {
    let v = violations_with(
        "beckon-mail",
        "core = { package = \"beckon-domain\", path = \"../domain\" }",
    );
    assert_one(&v, "beckon-mail", &["depends on beckon-domain (as `core`"]);
}

#[test]
fn a_rename_in_the_workspace_dependencies_is_followed() {
    let v = violations_with("beckon-mail", "domain-core.workspace = true");
    assert_one(
        &v,
        "beckon-mail",
        &["depends on beckon-domain (as `domain-core`"],
    );
}

#[test]
fn a_ruled_crate_missing_from_the_workspace_fails() {
    let texts: Vec<(&str, String)> = GOOD
        .iter()
        .map(|(dir, name, deps)| {
            let name = if *name == "beckon-domain" {
                "beckon-core"
            } else {
                name
            };
            (*dir, manifest(name, deps, ""))
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = texts.iter().map(|(d, t)| (*d, t.as_str())).collect();
    let v = check_manifests(&Workspace::from_texts(ROOT, &borrowed).unwrap());
    assert_one(
        &v,
        "beckon-domain",
        &["not found among the workspace members"],
    );
}

/// A throwaway folder holding a synthetic workspace.
struct TempWorkspace(PathBuf);

impl TempWorkspace {
    fn new(tag: &str, domain_source: &str) -> Self {
        let root = std::env::temp_dir().join(format!("xtask-ladder-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("Cargo.toml"), ROOT).unwrap();
        for (dir, name, deps) in GOOD {
            let src = root.join(dir).join("src");
            fs::create_dir_all(&src).unwrap();
            fs::write(root.join(dir).join("Cargo.toml"), manifest(name, deps, "")).unwrap();
            fs::write(src.join("lib.rs"), "//! A crate.\n").unwrap();
        }
        let nested = root.join("crates/domain/src/use_cases");
        fs::create_dir_all(&nested).unwrap();
        fs::write(nested.join("store.rs"), domain_source).unwrap();
        Self(root)
    }
}

impl Drop for TempWorkspace {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_workspace_on_disk_with_clean_source_passes() {
    let ws = TempWorkspace::new("clean", "//! Uses no diesel:: at all.\npub fn f() {}\n");
    let report = check(&ws.0).unwrap();
    assert_eq!(report.violations, []);
    assert_eq!(report.crates.len(), GOOD.len());
    assert_eq!(report.files_scanned, 3); // ports' lib.rs, domain's lib.rs and store.rs
    run(&ws.0).unwrap();
}

#[test]
fn framework_code_in_the_domain_source_fails_the_run_naming_file_and_line() {
    let ws = TempWorkspace::new("dirty", "//! Storage.\n\nuse diesel::prelude::*;\n");
    let err = run(&ws.0).unwrap_err().to_string();
    assert!(
        err.contains("the dependency ladder is broken (1 violation)"),
        "{err}"
    );
    assert!(
        err.contains("beckon-domain: crates/domain/src/use_cases/store.rs:3 names `diesel`"),
        "{err}"
    );
    assert!(err.contains("`use diesel::prelude::*;`"), "{err}");
}
