//! Reads, parses and strictly validates a schema and its policies, once, and
//! re-keys every policy by its `@id` annotation so that decisions, logs and
//! validator messages name policies the way their authors did.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::{Effect, PolicyId, PolicySet, Schema, ValidationMode, Validator};

use crate::diag::{line_column, render};
use crate::error::PolicyError;

/// One file's name (as shown in messages) and text.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) name: String,
    pub(crate) text: String,
}

/// The policies compiled into the binary: the default when no
/// `BECKON_POLICY_DIR` is given.
const BUILTIN_SCHEMA: (&str, &str) = (
    "policies/beckon.cedarschema",
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../policies/beckon.cedarschema"
    )),
);
const BUILTIN_POLICIES: [(&str, &str); 2] = [
    (
        "policies/roles.cedar",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../policies/roles.cedar"
        )),
    ),
    (
        "policies/tenancy.cedar",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../policies/tenancy.cedar"
        )),
    ),
];

/// A schema and a policy set that passed every check.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) schema: Schema,
    pub(crate) policies: PolicySet,
    /// Policy id → `@notice` text, for the policies that have one.
    pub(crate) notices: HashMap<PolicyId, String>,
    /// Every policy id, in file order then order within the file.
    pub(crate) ids: Vec<String>,
    /// Validator and schema warnings, rendered; they do not stop a start.
    pub(crate) warnings: Vec<String>,
}

/// The compiled-in schema and policies.
pub(crate) fn builtin_sources() -> (Source, Vec<Source>) {
    let source = |(name, text): (&str, &str)| Source {
        name: name.to_owned(),
        text: text.to_owned(),
    };
    (
        source(BUILTIN_SCHEMA),
        BUILTIN_POLICIES.into_iter().map(source).collect(),
    )
}

/// Every `*.cedar` file and the one `*.cedarschema` file of `dir`, sorted by
/// name so that the policy order (and so every message) is reproducible.
pub(crate) fn dir_sources(dir: &Path) -> Result<(Source, Vec<Source>), PolicyError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PolicyError::Io { path, source }
    };
    let mut schemas = Vec::new();
    let mut policies = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("cedarschema") => schemas.push(path),
            Some("cedar") => policies.push(path),
            _ => {}
        }
    }
    schemas.sort();
    policies.sort();
    let layout = |problem: String| PolicyError::Layout {
        dir: dir.to_path_buf(),
        problem,
    };
    let schema = match schemas.as_slice() {
        [one] => one.clone(),
        [] => return Err(layout("no *.cedarschema file".to_owned())),
        many => {
            return Err(layout(format!(
                "{} *.cedarschema files, expected exactly one: {}",
                many.len(),
                names(many)
            )));
        }
    };
    if policies.is_empty() {
        // A set without policies denies everything: surely not what was meant.
        return Err(layout("no *.cedar policy file".to_owned()));
    }
    let read = |path: PathBuf| -> Result<Source, PolicyError> {
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        Ok(Source {
            name: path.display().to_string(),
            text,
        })
    };
    let policies = policies.into_iter().map(read).collect::<Result<_, _>>()?;
    Ok((read(schema)?, policies))
}

fn names(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

/// Parses the schema, parses each policy file, re-keys its policies by
/// `@id`, and validates them strictly. Every problem found in a phase is
/// reported together, so an operator fixes them in one round.
pub(crate) fn load(schema_src: &Source, policy_srcs: &[Source]) -> Result<Loaded, PolicyError> {
    let mut warnings = Vec::new();
    let schema = match Schema::from_cedarschema_str(&schema_src.text) {
        Ok((schema, schema_warnings)) => {
            for warning in schema_warnings {
                warnings.push(render(&warning, &schema_src.name, &schema_src.text));
            }
            schema
        }
        Err(err) => {
            return Err(PolicyError::Schema(render(
                &err,
                &schema_src.name,
                &schema_src.text,
            )));
        }
    };

    let mut parse_errors = Vec::new();
    let mut parsed = Vec::new();
    for src in policy_srcs {
        match PolicySet::from_str(&src.text) {
            Ok(set) => parsed.push((src, set)),
            Err(err) => parse_errors.push(render(&err, &src.name, &src.text)),
        }
    }
    if !parse_errors.is_empty() {
        return Err(PolicyError::Parse(parse_errors.join("\n")));
    }

    let mut id_errors = Vec::new();
    let mut seen: HashMap<String, &str> = HashMap::new();
    let mut notices = HashMap::new();
    let mut ids = Vec::new();
    let mut files = Vec::new();
    for (src, set) in &parsed {
        for template in set.templates() {
            id_errors.push(format!(
                "{}: {}: templates (policies with ?principal or ?resource) are not supported",
                src.name,
                template
                    .annotation("id")
                    .unwrap_or("a template without @id"),
            ));
        }
        let mut in_file: Vec<_> = set.policies().collect();
        // The parser names policies policy0, policy1, … in file order, and
        // iterates them in no particular order.
        in_file.sort_by_key(|p| parser_index(p.id()));
        let mut rekeyed = PolicySet::new();
        for (position, policy) in in_file.into_iter().enumerate() {
            let Some(id) = policy
                .annotation("id")
                .map(str::trim)
                .filter(|id| !id.is_empty())
            else {
                let text = policy.to_cedar();
                let place = text
                    .as_deref()
                    .and_then(|t| src.text.find(t))
                    .map(|offset| {
                        let (line, column) = line_column(&src.text, offset);
                        format!(":{line}:{column}")
                    })
                    .unwrap_or_default();
                id_errors.push(format!(
                    "{}{place}: policy #{} ({}) has no @id(\"…\") annotation",
                    src.name,
                    position + 1,
                    first_line(text.as_deref()),
                ));
                continue;
            };
            if let Some(first) = seen.insert(id.to_owned(), &src.name) {
                id_errors.push(format!(
                    "{}: @id(\"{id}\") is already used in {first}",
                    src.name
                ));
                continue;
            }
            let policy_id = PolicyId::new(id);
            match policy.annotation("notice") {
                Some(notice) => {
                    notices.insert(policy_id.clone(), notice.to_owned());
                }
                None if policy.effect() == Effect::Forbid => warnings.push(format!(
                    "{}: forbid policy {id} has no @notice: its denies will not say why",
                    src.name
                )),
                None => {}
            }
            ids.push(id.to_owned());
            if let Err(err) = rekeyed.add(policy.new_id(policy_id)) {
                id_errors.push(format!("{}: {id}: {err}", src.name));
            }
        }
        files.push((*src, rekeyed));
    }
    if !id_errors.is_empty() {
        return Err(PolicyError::Ids(id_errors.join("\n")));
    }

    // Validated file by file so that each message can point into its file.
    let validator = Validator::new(schema.clone());
    let mut invalid = Vec::new();
    let mut policies = PolicySet::new();
    for (src, set) in files {
        let result = validator.validate(&set, ValidationMode::Strict);
        for err in result.validation_errors() {
            invalid.push(render(err, &src.name, &src.text));
        }
        for warning in result.validation_warnings() {
            warnings.push(render(warning, &src.name, &src.text));
        }
        for policy in set.policies() {
            if let Err(err) = policies.add(policy.clone()) {
                invalid.push(format!("{}: {}: {err}", src.name, policy.id()));
            }
        }
    }
    if !invalid.is_empty() {
        return Err(PolicyError::Validation(invalid.join("\n")));
    }
    Ok(Loaded {
        schema,
        policies,
        notices,
        ids,
        warnings,
    })
}

/// `policy12` → 12; anything else sorts last.
fn parser_index(id: &PolicyId) -> usize {
    id.to_string()
        .strip_prefix("policy")
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

/// The first non-annotation line of a policy's text, to point at it.
fn first_line(text: Option<&str>) -> String {
    let line = text
        .and_then(|t| {
            t.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('@') && !l.starts_with("//"))
        })
        .unwrap_or("?");
    let mut short = String::new();
    for (i, c) in line.chars().enumerate() {
        if i == 60 {
            let _ = write!(short, "…");
            break;
        }
        short.push(c);
    }
    short
}
