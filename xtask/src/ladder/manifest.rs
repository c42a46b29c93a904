//! Reads the workspace's manifests with the `toml` crate — not `cargo
//! metadata`, so that the check runs while another cargo holds the locks.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml::{Table, Value};

/// The workspace as the ladder sees it: its members and what they depend on.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Every member, in the order the root manifest lists them.
    pub members: Vec<Member>,
}

/// One workspace member.
#[derive(Debug, Clone)]
pub struct Member {
    /// `package.name`.
    pub name: String,
    /// Its folder, relative to the workspace root (`crates/domain`).
    pub dir: PathBuf,
    /// Its normal dependencies (`[dependencies]` and
    /// `[target.'…'.dependencies]`); dev- and build-dependencies are not
    /// part of the ladder.
    pub deps: Vec<Dep>,
}

/// One normal dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// The key in the manifest (the name the code uses, when renamed).
    pub key: String,
    /// The package it really is (`package = "…"`, here or in
    /// `[workspace.dependencies]`), else the key.
    pub package: String,
    /// The table it is declared in, for messages.
    pub table: String,
}

impl Dep {
    /// The dependency as the manifest writes it, for messages.
    pub fn describe(&self) -> String {
        if self.key == self.package {
            format!("{} (in {})", self.package, self.table)
        } else {
            format!("{} (as `{}`, in {})", self.package, self.key, self.table)
        }
    }
}

/// What the root manifest says about the workspace.
struct Root {
    members: Vec<String>,
    exclude: Vec<String>,
    /// `[workspace.dependencies]` keys that rename a package.
    renames: BTreeMap<String, String>,
}

impl Workspace {
    /// Reads the workspace rooted at `root` (the folder of the root
    /// `Cargo.toml`).
    pub fn load(root: &Path) -> Result<Self> {
        let root_manifest = root.join("Cargo.toml");
        let text = read(&root_manifest)?;
        let parsed = parse_root(&text).with_context(|| root_manifest.display().to_string())?;
        let mut members = Vec::new();
        for dir in expand_members(root, &parsed)? {
            let manifest = root.join(&dir).join("Cargo.toml");
            let text = read(&manifest)?;
            let member = parse_member(&dir, &text, &parsed.renames)
                .with_context(|| manifest.display().to_string())?;
            members.push(member);
        }
        Ok(Self { members })
    }

    /// Builds a workspace from manifest texts: the root's, then each
    /// member's folder and manifest (tests feed synthetic ones here).
    #[cfg(test)]
    pub fn from_texts(root: &str, members: &[(&str, &str)]) -> Result<Self> {
        let parsed = parse_root(root).context("root manifest")?;
        let members = members
            .iter()
            .map(|(dir, text)| {
                parse_member(Path::new(dir), text, &parsed.renames)
                    .with_context(|| format!("{dir}/Cargo.toml"))
            })
            .collect::<Result<_>>()?;
        Ok(Self { members })
    }

    /// The member named `name`.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn parse_root(text: &str) -> Result<Root> {
    let table: Table = text.parse()?;
    let Some(workspace) = table.get("workspace").and_then(Value::as_table) else {
        bail!("no [workspace] table");
    };
    let strings = |key: &str| -> Result<Vec<String>> {
        match workspace.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v.as_str() {
                    Some(s) => Ok(s.to_owned()),
                    None => bail!("workspace.{key} must list strings"),
                })
                .collect(),
            Some(_) => bail!("workspace.{key} must be an array"),
        }
    };
    let mut renames = BTreeMap::new();
    if let Some(deps) = workspace.get("dependencies").and_then(Value::as_table) {
        for (key, value) in deps {
            if let Some(package) = value.get("package").and_then(Value::as_str) {
                renames.insert(key.clone(), package.to_owned());
            }
        }
    }
    Ok(Root {
        members: strings("members")?,
        exclude: strings("exclude")?,
        renames,
    })
}

/// Member patterns to folders. Supports plain paths and a trailing `/*`
/// (the only glob this workspace would plausibly use); anything fancier is
/// refused rather than silently skipped.
fn expand_members(root: &Path, parsed: &Root) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for pattern in &parsed.members {
        if let Some(parent) = pattern.strip_suffix("/*") {
            let mut found = Vec::new();
            let listing = fs::read_dir(root.join(parent))
                .with_context(|| format!("cannot list workspace members {pattern}"))?;
            for entry in listing {
                let path = entry?.path();
                if path.join("Cargo.toml").is_file()
                    && let Some(name) = path.file_name()
                {
                    found.push(Path::new(parent).join(name));
                }
            }
            found.sort();
            dirs.extend(found);
        } else if pattern.contains(['*', '?', '[']) {
            bail!("workspace member pattern {pattern:?} is not supported by the ladder check");
        } else {
            dirs.push(PathBuf::from(pattern));
        }
    }
    dirs.retain(|d| !parsed.exclude.iter().any(|e| Path::new(e) == d));
    Ok(dirs)
}

fn parse_member(dir: &Path, text: &str, renames: &BTreeMap<String, String>) -> Result<Member> {
    let table: Table = text.parse()?;
    let Some(name) = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
    else {
        bail!("no package.name");
    };
    let mut deps = Vec::new();
    collect_deps(&table, "[dependencies]", renames, &mut deps);
    if let Some(targets) = table.get("target").and_then(Value::as_table) {
        for (cfg, target) in targets {
            if let Some(t) = target.as_table() {
                let label = format!("[target.'{cfg}'.dependencies]");
                collect_deps(t, &label, renames, &mut deps);
            }
        }
    }
    Ok(Member {
        name: name.to_owned(),
        dir: dir.to_path_buf(),
        deps,
    })
}

/// The `dependencies` table of `owner` (a manifest or a target table).
fn collect_deps(
    owner: &Table,
    label: &str,
    renames: &BTreeMap<String, String>,
    out: &mut Vec<Dep>,
) {
    let Some(deps) = owner.get("dependencies").and_then(Value::as_table) else {
        return;
    };
    for (key, value) in deps {
        let own = value.get("package").and_then(Value::as_str);
        let inherited = value
            .get("workspace")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .then(|| renames.get(key).map(String::as_str))
            .flatten();
        let package = own.or(inherited).unwrap_or(key);
        out.push(Dep {
            key: key.clone(),
            package: package.to_owned(),
            table: label.to_owned(),
        });
    }
}
