//! Proofs about the active policy set (`beckon policy verify`): for every
//! request environment the schema allows (principal type × action × resource
//! type), the symbolic compiler `cedar-policy-symcc` turns the policies into
//! SMT formulas and the cvc5 solver decides them. A property holds when the
//! solver finds no request (with any entities and attribute values the
//! schema allows) that breaks it; otherwise it returns one, the
//! counterexample.
//!
//! The properties (CONTRACT §6):
//!
//! - [`TENANT_ISOLATION`]: whatever the policies permit, the resource belongs
//!   to the principal's tenant. Stated as "the policies imply a reference
//!   policy that permits only same-tenant requests": for a `Tenant` resource
//!   `resource == principal.tenant`, for any other resource type
//!   `resource.tenant == principal.tenant`. For a type whose tenant cannot be
//!   read (no `tenant` attribute), the policies must deny every request.
//! - [`NO_EVALUATION_ERRORS`]: no policy can error on a schema-valid request
//!   (an erroring policy is skipped by Cedar, which may turn a forbid off).
//! - [`VIEWER_READ_ONLY`]: a principal whose `role` is `"viewer"` is permitted
//!   nothing but `ReadUser` and `ListUsers`; stated as "the policies imply
//!   `principal.role != "viewer"`" for every other action.
//!
//! Available with the crate feature `verify`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{Entities, Policy, PolicyId, PolicySet, RequestEnv, Schema};
use cedar_policy_symcc::solver::LocalSolver;
use cedar_policy_symcc::{CedarSymCompiler, CompiledPolicy, CompiledPolicySet, Env};

use crate::authorizer::CedarAuthorizer;
use crate::error::PolicyError;

/// The name of the tenant-isolation property.
pub const TENANT_ISOLATION: &str = "tenant-isolation";
/// The name of the no-evaluation-errors property.
pub const NO_EVALUATION_ERRORS: &str = "no-evaluation-errors";
/// The name of the viewer-read-only property.
pub const VIEWER_READ_ONLY: &str = "viewer-read-only";

/// The type whose entities are tenants, and the actions a viewer may do.
const TENANT_TYPE: &str = "Beckon::Tenant";
const VIEWER_ACTIONS: [&str; 2] = [
    r#"Beckon::Action::"ReadUser""#,
    r#"Beckon::Action::"ListUsers""#,
];

/// How long the solver may think about one query, in milliseconds.
const SOLVER_TIME_LIMIT_MS: u32 = 60_000;

/// How to start the cvc5 solver: its program (a path, or a name looked up on
/// `PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cvc5 {
    program: OsString,
}

impl Cvc5 {
    /// The program named `program`.
    pub fn new(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// The value of the `CVC5` variable when given (the convention of
    /// `cedar-policy-symcc`), otherwise `cvc5` on `PATH`. `var` is the
    /// variable's value, passed in by the caller that reads the environment.
    pub fn from_var(var: Option<OsString>) -> Self {
        Self::new(
            var.filter(|v| !v.is_empty())
                .unwrap_or_else(|| "cvc5".into()),
        )
    }

    /// The program, as given.
    pub fn program(&self) -> &OsString {
        &self.program
    }

    fn start(&self) -> Result<LocalSolver, VerifyError> {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(["--lang", "smt"])
            .arg(format!("--tlimit={SOLVER_TIME_LIMIT_MS}"))
            .kill_on_drop(true);
        LocalSolver::from_command(&mut command).map_err(|err| match err {
            cedar_policy_symcc::solver::SolverError::Io(io)
                if io.kind() == std::io::ErrorKind::NotFound =>
            {
                VerifyError::SolverMissing {
                    program: self.program.to_string_lossy().into_owned(),
                }
            }
            other => VerifyError::Solver(format!(
                "cannot start {}: {}",
                self.program.to_string_lossy(),
                chain(&other)
            )),
        })
    }
}

/// Why the properties could not be decided (as opposed to one failing,
/// which is a [`Property`] with a counterexample).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The policies do not load (the same checks as `serve`).
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The solver program does not exist.
    #[error(
        "the SMT solver {program} was not found: install cvc5 (`apt-get install cvc5`) or set CVC5 to its path"
    )]
    SolverMissing {
        /// The program that was looked for.
        program: String,
    },
    /// The solver failed, gave up (time limit) or the symbolic compiler
    /// refused a query.
    #[error("the solver could not decide: {0}")]
    Solver(String),
}

/// A request that breaks a property, with the entities that make it so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterexample {
    /// The policy at fault, where one policy is (an evaluation error).
    pub policy: Option<String>,
    /// The principal, in Cedar syntax (`Beckon::ApiKey::"…"`).
    pub principal: String,
    /// The action, in Cedar syntax.
    pub action: String,
    /// The resource, in Cedar syntax.
    pub resource: String,
    /// The entities the solver made up, principal and resource first.
    pub entities: Vec<EntityFacts>,
}

/// One entity of a counterexample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityFacts {
    /// Its uid, in Cedar syntax.
    pub uid: String,
    /// Its attributes, in Cedar syntax, by name.
    pub attrs: BTreeMap<String, String>,
    /// Its parents' uids.
    pub parents: Vec<String>,
}

/// One property and how it fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Its name ([`TENANT_ISOLATION`], [`NO_EVALUATION_ERRORS`],
    /// [`VIEWER_READ_ONLY`]).
    pub name: &'static str,
    /// What it says, in a sentence.
    pub statement: &'static str,
    /// How many request environments it was decided in.
    pub environments: usize,
    /// `None`: proven. Otherwise the first request found that breaks it.
    pub counterexample: Option<Counterexample>,
}

impl Property {
    /// Whether the solver proved it.
    pub fn proven(&self) -> bool {
        self.counterexample.is_none()
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Where the policies came from: `builtin` or the folder's path.
    pub source: String,
    /// The request environments of the schema, as `Principal, Action, Resource`.
    pub environments: Vec<String>,
    /// The properties, in the order of CONTRACT §6.
    pub properties: Vec<Property>,
}

impl Verification {
    /// Whether every property was proven.
    pub fn proven(&self) -> bool {
        self.properties.iter().all(Property::proven)
    }
}

/// Loads the policies as `serve` would (built in, or the folder `dir`) and
/// decides the three properties with the solver `cvc5`.
/// The solver is started first: without it nothing can be proven.
pub async fn verify(dir: Option<&Path>, cvc5: &Cvc5) -> Result<Verification, VerifyError> {
    let mut compiler = CedarSymCompiler::new(cvc5.start()?).map_err(solver_error)?;
    let authorizer = CedarAuthorizer::load(dir)?;
    let source = authorizer.summary().source;
    let (schema, policies) = authorizer.schema_and_policies();
    let result = verify_loaded(source, schema, policies, &mut compiler).await;
    let _ = compiler.solver_mut().clean_up().await;
    result
}

async fn verify_loaded(
    source: String,
    schema: &Schema,
    policies: &PolicySet,
    compiler: &mut CedarSymCompiler<LocalSolver>,
) -> Result<Verification, VerifyError> {
    // Sorted, so that the environments and the first counterexample found
    // are the same from run to run.
    let mut envs: Vec<RequestEnv> = schema.request_envs().collect();
    envs.sort_by_key(env_name);
    let mut isolation = Property {
        name: TENANT_ISOLATION,
        statement: "every request the policies permit acts on the principal's own tenant",
        environments: 0,
        counterexample: None,
    };
    let mut no_errors = Property {
        name: NO_EVALUATION_ERRORS,
        statement: "no policy errors on any request the schema allows",
        environments: 0,
        counterexample: None,
    };
    let mut viewer = Property {
        name: VIEWER_READ_ONLY,
        statement: "a principal with role \"viewer\" is permitted nothing but ReadUser and ListUsers",
        environments: 0,
        counterexample: None,
    };
    for env in &envs {
        let compiled = CompiledPolicySet::compile(policies, env, schema).map_err(solver_error)?;

        isolation.environments += 1;
        if isolation.counterexample.is_none() {
            let found = match isolation_reference(env, schema) {
                Some(reference) => compiler
                    .check_implies_with_counterexample_opt(&compiled, &reference)
                    .await
                    .map_err(solver_error)?,
                None => compiler
                    .check_always_denies_with_counterexample_opt(&compiled)
                    .await
                    .map_err(solver_error)?,
            };
            isolation.counterexample = found.map(|cex| describe(&cex, None));
        }

        no_errors.environments += 1;
        for policy in ordered(policies) {
            if no_errors.counterexample.is_some() {
                break;
            }
            let compiled = CompiledPolicy::compile(policy, env, schema).map_err(solver_error)?;
            let found = compiler
                .check_never_errors_with_counterexample_opt(&compiled)
                .await
                .map_err(solver_error)?;
            no_errors.counterexample = found.map(|cex| describe(&cex, Some(policy.id())));
        }

        if VIEWER_ACTIONS.contains(&env.action().to_string().as_str()) {
            continue;
        }
        // A principal type without a `role` cannot be a viewer.
        let Some(reference) = compile_reference(
            r#"permit (principal, action, resource) when { principal.role != "viewer" };"#,
            env,
            schema,
        ) else {
            continue;
        };
        viewer.environments += 1;
        if viewer.counterexample.is_none() {
            let found = compiler
                .check_implies_with_counterexample_opt(&compiled, &reference)
                .await
                .map_err(solver_error)?;
            viewer.counterexample = found.map(|cex| describe(&cex, None));
        }
    }
    Ok(Verification {
        source,
        environments: envs.iter().map(env_name).collect(),
        properties: vec![isolation, no_errors, viewer],
    })
}

/// `Principal, Action, Resource`.
fn env_name(env: &RequestEnv) -> String {
    format!("{}, {}, {}", env.principal(), env.action(), env.resource())
}

/// The policy permitting exactly the same-tenant requests of `env`, or
/// `None` when the principal's or the resource's tenant cannot be read.
fn isolation_reference(env: &RequestEnv, schema: &Schema) -> Option<CompiledPolicySet> {
    let condition = if env.resource().to_string() == TENANT_TYPE {
        "resource == principal.tenant"
    } else {
        "resource.tenant == principal.tenant"
    };
    compile_reference(
        &format!("permit (principal, action, resource) when {{ {condition} }};"),
        env,
        schema,
    )
}

/// A reference policy compiled for `env`, or `None` when it does not
/// type-check there (an attribute it reads is not in the schema).
fn compile_reference(text: &str, env: &RequestEnv, schema: &Schema) -> Option<CompiledPolicySet> {
    let policy = Policy::from_str(text).ok()?;
    CompiledPolicy::compile(&policy, env, schema)
        .ok()
        .map(CompiledPolicy::into_compiled_policyset)
}

/// The policies in a stable order (by id), so that the counterexample
/// reported first is the same from run to run.
fn ordered(policies: &PolicySet) -> Vec<&Policy> {
    let mut all: Vec<&Policy> = policies.policies().collect();
    all.sort_by_key(|p| p.id().to_string());
    all
}

fn describe(cex: &Env, policy: Option<&PolicyId>) -> Counterexample {
    let text = |uid: Option<&cedar_policy::EntityUid>| {
        uid.map_or_else(|| "unknown".to_owned(), ToString::to_string)
    };
    let principal = text(cex.request.principal());
    let resource = text(cex.request.resource());
    Counterexample {
        policy: policy.map(ToString::to_string),
        action: text(cex.request.action()),
        entities: entity_facts(&cex.entities, &[&principal, &resource]),
        principal,
        resource,
    }
}

/// The entities, those named in `first` first, then by uid; actions are
/// left out (the schema fixes them).
fn entity_facts(entities: &Entities, first: &[&String]) -> Vec<EntityFacts> {
    let mut facts: Vec<EntityFacts> = entities
        .iter()
        .filter(|e| !e.uid().type_name().to_string().ends_with("Action"))
        .map(|e| {
            let (uid, attrs, parents) = e.clone().into_inner();
            let mut parents: Vec<String> = parents.iter().map(ToString::to_string).collect();
            parents.sort();
            EntityFacts {
                uid: uid.to_string(),
                attrs: attrs
                    .into_keys()
                    .filter_map(|name| {
                        let value = e.attr(&name)?.ok()?.to_string();
                        Some((name, value))
                    })
                    .collect(),
                parents,
            }
        })
        .collect();
    facts.sort_by_key(|f| {
        let rank = first
            .iter()
            .position(|uid| **uid == f.uid)
            .unwrap_or(first.len());
        (rank, f.uid.clone())
    });
    facts
}

impl fmt::Display for Counterexample {
    /// One line: `[policy P errors:] PRINCIPAL {attrs} does ACTION on
    /// RESOURCE {attrs}; other entities: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(policy) = &self.policy {
            write!(f, "policy {policy} errors when ")?;
        }
        let attrs_of = |uid: &str| -> String {
            self.entities
                .iter()
                .find(|e| e.uid == uid)
                .map(|e| format!(" {}", Attrs(e)))
                .unwrap_or_default()
        };
        write!(
            f,
            "{}{} does {} on {}{}",
            self.principal,
            attrs_of(&self.principal),
            self.action,
            self.resource,
            attrs_of(&self.resource),
        )?;
        let others: Vec<String> = self
            .entities
            .iter()
            .filter(|e| e.uid != self.principal && e.uid != self.resource)
            .filter(|e| !e.attrs.is_empty() || !e.parents.is_empty())
            .map(|e| format!("{} {}", e.uid, Attrs(e)))
            .collect();
        if !others.is_empty() {
            write!(f, "; other entities: {}", others.join(", "))?;
        }
        Ok(())
    }
}

/// `{name: value, …}` and `in [parents]` of one entity.
struct Attrs<'a>(&'a EntityFacts);

impl fmt::Display for Attrs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attrs: Vec<String> = self
            .0
            .attrs
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        write!(f, "{{{}}}", attrs.join(", "))?;
        if !self.0.parents.is_empty() {
            write!(f, " in [{}]", self.0.parents.join(", "))?;
        }
        Ok(())
    }
}

fn solver_error(err: cedar_policy_symcc::err::Error) -> VerifyError {
    VerifyError::Solver(chain(&err))
}

/// An error and its sources, `: `-separated.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
