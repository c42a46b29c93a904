//! `CedarAuthorizer`: the `Authorizer` port on Cedar, with the policy set and
//! schema parsed and validated once and shared by every request, and
//! decisions memoised when the policies allow it (`memo`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use beckon_ports::{
    Action, ApiKeyId, Authorizer, AuthzRequest, Decision, Principal, Resource, Role, TenantId,
    TenantName, UserId, UserStatus,
};
use cedar_policy::{Entity, PolicyId, PolicySet, Schema};

use crate::error::PolicyError;
use crate::load::{self, Source};
use crate::memo::{self, Key, Memo};
use crate::request::Names;

/// The notice of a deny forced by an evaluation error or by a request that
/// could not be put to Cedar. Deliberately vague: the details are logged.
pub const EVALUATION_ERROR_NOTICE: &str = "A policy could not be evaluated; the request is denied.";

/// What `beckon policy check` reports about a valid policy set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySummary {
    /// Where the policies came from: `builtin` or the folder's path.
    pub source: String,
    /// How many policies there are.
    pub policies: usize,
    /// Their `@id`s, in file order (files sorted by name).
    pub policy_ids: Vec<String>,
    /// Validator and schema warnings, and forbids without `@notice`; they do
    /// not stop a start.
    pub warnings: Vec<String>,
}

/// Decides requests with Cedar. Cheap to clone: everything is behind an
/// `Arc`, the memo of decisions included (clones share it).
///
/// When the policies cannot tell entity ids apart (no entity literals other
/// than actions, no templates, no entity hierarchy: see the `memo` module),
/// each decision is computed in full once per role, action, resource kind,
/// status and "same tenant or not", and then answered from memory.
#[derive(Debug, Clone)]
pub struct CedarAuthorizer {
    inner: Arc<Inner>,
    /// The memo, or why decisions are not memoised.
    memo: Result<Arc<Memo>, Arc<str>>,
}

#[derive(Debug)]
struct Inner {
    schema: Schema,
    policies: PolicySet,
    /// Policy id → (position in `ids`, `@notice`): the position gives
    /// notices a stable order.
    notices: HashMap<PolicyId, (usize, String)>,
    ids: Vec<String>,
    warnings: Vec<String>,
    source: String,
    names: Names,
    /// The schema's action entities, for requests built unchecked.
    actions: Vec<Entity>,
    cedar: cedar_policy::Authorizer,
}

impl CedarAuthorizer {
    /// The policies and schema compiled into the binary (`policies/`).
    pub fn builtin() -> Result<Self, PolicyError> {
        let (schema, policies) = load::builtin_sources();
        Self::from_sources("builtin", &schema, &policies)
    }

    /// Every `*.cedar` file and the one `*.cedarschema` file of `dir` (the
    /// `BECKON_POLICY_DIR` folder).
    pub fn from_dir(dir: &Path) -> Result<Self, PolicyError> {
        let (schema, policies) = load::dir_sources(dir)?;
        Self::from_sources(&dir.display().to_string(), &schema, &policies)
    }

    /// `from_dir` when a folder is given, `builtin` otherwise.
    pub fn load(dir: Option<&Path>) -> Result<Self, PolicyError> {
        match dir {
            Some(dir) => Self::from_dir(dir),
            None => Self::builtin(),
        }
    }

    fn from_sources(
        source: &str,
        schema: &Source,
        policies: &[Source],
    ) -> Result<Self, PolicyError> {
        let loaded = load::load(schema, policies)?;
        let names = Names::new().map_err(PolicyError::Incompatible)?;
        probe(&names, &loaded.schema)?;
        let actions = grouped_actions(&loaded.schema)?;
        let memo = match memo::scan::obstacle(&loaded.schema, &loaded.policies) {
            None => {
                tracing::info!(
                    source,
                    "Cedar decisions are memoised by role, action and resource shape"
                );
                Ok(Arc::new(Memo::default()))
            }
            Some(why) => {
                tracing::info!(source, reason = %why,
                    "Cedar decisions are not memoised: every request is evaluated in full");
                Err(why.into())
            }
        };
        let notices = loaded
            .notices
            .into_iter()
            .map(|(id, notice)| {
                let position = loaded
                    .ids
                    .iter()
                    .position(|known| *known == id.to_string())
                    .unwrap_or(usize::MAX);
                (id, (position, notice))
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                schema: loaded.schema,
                policies: loaded.policies,
                notices,
                ids: loaded.ids,
                warnings: loaded.warnings,
                source: source.to_owned(),
                names,
                actions,
                cedar: cedar_policy::Authorizer::new(),
            }),
            memo,
        })
    }

    /// The same policies, every decision evaluated in full: the decisions
    /// are the same, only slower. For comparisons (tests, benches).
    #[must_use]
    pub fn without_memo(self) -> Self {
        Self {
            memo: Err("turned off with without_memo".into()),
            ..self
        }
    }

    /// `Ok` when decisions are memoised; otherwise why not.
    pub fn memoisation(&self) -> Result<(), &str> {
        self.memo.as_ref().map(|_| ()).map_err(|why| &**why)
    }

    /// The validated schema and policies (re-keyed by `@id`), for proofs.
    #[cfg(feature = "verify")]
    pub(crate) fn schema_and_policies(&self) -> (&Schema, &PolicySet) {
        (&self.inner.schema, &self.inner.policies)
    }

    /// What was loaded, for `beckon policy check` and the start-up log.
    pub fn summary(&self) -> PolicySummary {
        PolicySummary {
            source: self.inner.source.clone(),
            policies: self.inner.ids.len(),
            policy_ids: self.inner.ids.clone(),
            warnings: self.inner.warnings.clone(),
        }
    }

    /// The `@notice`s of `reasons`, in policy order, each text once.
    fn notices<'a>(&self, reasons: impl Iterator<Item = &'a PolicyId>) -> Vec<String> {
        let mut found: Vec<&(usize, String)> = reasons
            .filter_map(|id| self.inner.notices.get(id))
            .collect();
        found.sort_by_key(|(position, _)| *position);
        let mut notices: Vec<String> = Vec::with_capacity(found.len());
        for (_, notice) in found {
            if !notices.contains(notice) {
                notices.push(notice.clone());
            }
        }
        notices
    }
}

/// Loads and validates the policies as `serve` would, without serving:
/// `beckon policy check`. `dir` is `BECKON_POLICY_DIR`, `None` for built-in.
pub fn check(dir: Option<&Path>) -> Result<PolicySummary, PolicyError> {
    CedarAuthorizer::load(dir).map(|authorizer| authorizer.summary())
}

impl Authorizer for CedarAuthorizer {
    fn authorize(&self, request: &AuthzRequest) -> Decision {
        let Ok(memo) = &self.memo else {
            return self.evaluate(request).decision;
        };
        let key = Key::of(request);
        if let Some(decision) = memo.get(&key) {
            return decision;
        }
        let evaluated = self.evaluate(request);
        // A request that could not be put to Cedar failed for reasons the
        // memo's argument does not cover; it is denied again in full.
        if evaluated.by_cedar {
            memo.insert(&key, &evaluated.decision);
        }
        evaluated.decision
    }
}

/// A decision, and whether Cedar made it (rather than a request that could
/// not be put to Cedar, which is not memoised).
struct Evaluated {
    decision: Decision,
    by_cedar: bool,
}

impl CedarAuthorizer {
    /// The full path: build the entities, ask Cedar, read its diagnostics.
    /// Warnings are logged here: for a memoised decision, once, when it is
    /// computed, not on every answer from the memo.
    fn evaluate(&self, request: &AuthzRequest) -> Evaluated {
        let inner = &self.inner;
        let action = request.action.as_str();
        let tenant_id = request.principal.tenant_id;
        let key_id = request.principal.key_id;
        let (cedar_request, entities) =
            match inner
                .names
                .build(request, &inner.schema, false, &inner.actions)
            {
                Ok(built) => built,
                Err(err) => {
                    tracing::warn!(%tenant_id, %key_id, action, error = %err,
                    "cannot put the request to Cedar; denying");
                    return Evaluated {
                        decision: Decision::Deny {
                            notices: vec![EVALUATION_ERROR_NOTICE.to_owned()],
                        },
                        by_cedar: false,
                    };
                }
            };
        let response = inner
            .cedar
            .is_authorized(&cedar_request, &inner.policies, &entities);
        let diagnostics = response.diagnostics();
        // Cedar skips a policy whose evaluation fails, forbids included: an
        // erroring forbid would silently let a permit through. So any error
        // denies, whatever Cedar decided.
        let mut errored = false;
        for err in diagnostics.errors() {
            errored = true;
            // The message names the policy and the failing operation; the
            // entities hold ids, roles and statuses, never a secret or email.
            tracing::warn!(%tenant_id, %key_id, action, error = %err,
                "a Cedar policy failed to evaluate; denying");
        }
        let decision = match (response.decision(), errored) {
            (cedar_policy::Decision::Allow, false) => Decision::Allow,
            (cedar_policy::Decision::Allow, true) => Decision::Deny {
                notices: vec![EVALUATION_ERROR_NOTICE.to_owned()],
            },
            (cedar_policy::Decision::Deny, _) => {
                let mut notices = self.notices(diagnostics.reason());
                if errored {
                    notices.push(EVALUATION_ERROR_NOTICE.to_owned());
                }
                Decision::Deny { notices }
            }
        };
        Evaluated {
            decision,
            by_cedar: true,
        }
    }
}

/// The schema's action entities when some action belongs to a group, for
/// requests built without the schema check (which would add them); none
/// otherwise. Without groups a policy's `action in [...]` is decided by
/// equality, for which Cedar needs no action entity, and every entity a
/// request carries costs time on every decision.
fn grouped_actions(schema: &Schema) -> Result<Vec<Entity>, PolicyError> {
    let actions = schema
        .action_entities()
        .map_err(|e| PolicyError::Incompatible(format!("the schema's actions: {e}")))?;
    let grouped = actions.iter().any(|action| {
        actions
            .ancestors(&action.uid())
            .is_some_and(|mut ancestors| ancestors.next().is_some())
    });
    Ok(if grouped {
        actions.iter().cloned().collect()
    } else {
        Vec::new()
    })
}

/// Builds one request per action and resource shape against `schema`, so
/// that a custom schema that does not accept Beckon's entities stops the
/// start instead of denying every request at run time.
fn probe(names: &Names, schema: &Schema) -> Result<(), PolicyError> {
    let Some((principal, user)) = probe_values() else {
        return Err(PolicyError::Incompatible(
            "cannot build the probe values".to_owned(),
        ));
    };
    let tenant = principal.tenant_id;
    let mut problems = Vec::new();
    for action in Action::ALL {
        let resources = if !action.acts_on_user() {
            vec![Resource::Tenant { id: tenant }]
        } else {
            [
                None,
                Some(UserStatus::Invited),
                Some(UserStatus::Active),
                Some(UserStatus::Revoked),
            ]
            .into_iter()
            .map(|status| Resource::User {
                id: user,
                tenant_id: tenant,
                status,
            })
            .collect()
        };
        for resource in resources {
            let request = AuthzRequest {
                principal: principal.clone(),
                action,
                resource,
            };
            if let Err(err) = names.build(&request, schema, true, &[]) {
                problems.push(format!("{}: {err}", action.as_str()));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.dedup();
        Err(PolicyError::Incompatible(problems.join("\n")))
    }
}

/// A principal and a user id to probe the schema with; the values never
/// reach a policy decision.
fn probe_values() -> Option<(Principal, UserId)> {
    let nil = "00000000-0000-0000-0000-000000000000";
    let principal = Principal {
        key_id: nil.parse::<ApiKeyId>().ok()?,
        tenant_id: nil.parse::<TenantId>().ok()?,
        tenant_name: TenantName::parse("probe").ok()?,
        tenant_locale: beckon_ports::Locale::En,
        role: Role::parse("probe").ok()?,
    };
    Some((principal, nil.parse::<UserId>().ok()?))
}
