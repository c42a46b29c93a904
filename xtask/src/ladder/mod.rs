//! The dependency ladder (DESIGN.md, "The shape"): `ports ← domain ← http ←
//! bin` and `ports ← {store-diesel, mail, authz-cedar} ← bin`. Adapters never
//! depend on the domain, on `beckon-http` or on each other; the ports and the
//! domain never name a framework. Checked from the manifests and, for the
//! ports and the domain, from their source.

mod manifest;
mod source;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use manifest::Workspace;

/// The bottom rung: value types and traits.
pub const PORTS: &str = "beckon-ports";
/// The use cases.
pub const DOMAIN: &str = "beckon-domain";
/// The HTTP layer.
pub const HTTP: &str = "beckon-http";
/// The adapters: each implements ports on one library.
pub const ADAPTERS: [&str; 5] = [
    "beckon-store-diesel",
    "beckon-store-memory",
    "beckon-mail",
    "beckon-webhook",
    "beckon-authz-cedar",
];
/// Crate-name prefixes of the frameworks the ports and the domain must not
/// name (`actix-web`, `diesel-async`, `cedar-policy`, …).
pub const FRAMEWORKS: [&str; 5] = ["actix", "diesel", "lettre", "cedar", "reqwest"];

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The crate that breaks it.
    pub krate: String,
    /// What it does and which rule that breaks.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.krate, self.message)
    }
}

/// What a check looked at and what it found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The members whose manifests were read.
    pub crates: Vec<String>,
    /// The source files scanned for framework names.
    pub files_scanned: usize,
    /// Every broken rule.
    pub violations: Vec<Violation>,
}

/// Runs the whole check on the workspace at `root` and prints its result;
/// an error (and so a non-zero exit) when a rule is broken.
pub fn run(root: &Path) -> Result<()> {
    let report = check(root)?;
    if report.violations.is_empty() {
        println!(
            "ladder: ok ({} crates, {} source files of {PORTS} and {DOMAIN})",
            report.crates.len(),
            report.files_scanned
        );
        return Ok(());
    }
    let list: Vec<String> = report
        .violations
        .iter()
        .map(|v| format!("  - {v}"))
        .collect();
    bail!(
        "the dependency ladder is broken ({} violation{}):\n{}",
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        list.join("\n")
    )
}

/// Checks the manifests of every member and the source of the ports and
/// the domain.
pub fn check(root: &Path) -> Result<Report> {
    let workspace = Workspace::load(root)?;
    let mut violations = check_manifests(&workspace);
    let mut files_scanned = 0;
    for (name, who) in [(PORTS, "the ports crate"), (DOMAIN, "the domain")] {
        let Some(member) = workspace.member(name) else {
            continue; // already reported by check_manifests
        };
        let src = root.join(&member.dir).join("src");
        for file in rust_files(&src)? {
            let text = fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            files_scanned += 1;
            let shown = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            violations.extend(check_source(name, who, &shown, &text));
        }
    }
    Ok(Report {
        crates: workspace.members.iter().map(|m| m.name.clone()).collect(),
        files_scanned,
        violations,
    })
}

/// The manifest rules.
pub fn check_manifests(workspace: &Workspace) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut flag = |krate: &str, message: String| {
        out.push(Violation {
            krate: krate.to_owned(),
            message,
        });
    };
    for expected in [PORTS, DOMAIN, HTTP].iter().chain(ADAPTERS.iter()) {
        if workspace.member(expected).is_none() {
            flag(
                expected,
                "not found among the workspace members; if it was renamed, update the names \
                 in xtask/src/ladder/mod.rs so that the ladder keeps checking it"
                    .to_owned(),
            );
        }
    }
    for member in &workspace.members {
        let name = member.name.as_str();
        for dep in &member.deps {
            let to = dep.package.as_str();
            let dep_text = dep.describe();
            if name == PORTS {
                if is_beckon(to) {
                    flag(
                        name,
                        format!(
                            "depends on {dep_text}: the ports crate is the bottom rung and \
                             may depend on no other Beckon crate"
                        ),
                    );
                }
                if let Some(fw) = framework(to) {
                    flag(
                        name,
                        format!(
                            "depends on {dep_text}: the ports crate must not name a framework ({fw}…)"
                        ),
                    );
                }
            } else if name == DOMAIN {
                if is_beckon(to) && to != PORTS {
                    flag(
                        name,
                        format!(
                            "depends on {dep_text}: the domain may depend on {PORTS} only \
                             among Beckon crates"
                        ),
                    );
                }
                if let Some(fw) = framework(to) {
                    flag(
                        name,
                        format!(
                            "depends on {dep_text}: the domain must not name a framework ({fw}…)"
                        ),
                    );
                }
            } else if ADAPTERS.contains(&name) {
                if is_beckon(to) && to != PORTS {
                    flag(
                        name,
                        format!(
                            "depends on {dep_text}: an adapter may depend on {PORTS} only \
                             among Beckon crates (never on the domain, {HTTP} or another adapter)"
                        ),
                    );
                }
            } else if name == HTTP && ADAPTERS.contains(&to) {
                flag(
                    name,
                    format!(
                        "depends on {dep_text}: the HTTP layer must not depend on an adapter \
                         (the binary wires adapters to ports)"
                    ),
                );
            }
        }
    }
    out
}

/// The source rule for one file of `krate` (described as `who`).
pub fn check_source(krate: &str, who: &str, file: &str, text: &str) -> Vec<Violation> {
    source::scan(text, &FRAMEWORKS)
        .into_iter()
        .map(|f| Violation {
            krate: krate.to_owned(),
            message: format!(
                "{file}:{} names `{}` in code (`{}`): {who} must not name actix, diesel, \
                 lettre or cedar",
                f.line, f.ident, f.code
            ),
        })
        .collect()
}

fn is_beckon(package: &str) -> bool {
    package == "beckon" || package.starts_with("beckon-") || package.starts_with("beckon_")
}

/// The framework family `package` belongs to, if any.
fn framework(package: &str) -> Option<&'static str> {
    FRAMEWORKS.iter().copied().find(|f| package.starts_with(f))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests;
