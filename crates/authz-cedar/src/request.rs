//! Builds Cedar's request and entities from a port `AuthzRequest`, in code
//! rather than from JSON (which costs several times more per request).
//!
//! The shapes built here are the ones `policies/beckon.cedarschema` declares:
//! `ApiKey { tenant, role }`, `User { tenant, status? }`, `Tenant`.
//!
//! The memo of decisions (`memo`) relies on what is built here: besides ids,
//! every value put into an entity must be part of `memo::Key`, and no entity
//! gets a parent. Adding an attribute means adding it to the key.

use std::str::FromStr;

use crate::diag::describe;
use beckon_ports::{Action, AuthzRequest, Resource, TenantId};
use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Request, RestrictedExpression,
    Schema,
};

/// Why a request could not be put to Cedar; the request is then denied.
/// Rendered at once with Cedar's details (which live in the error's source
/// chain and help, not in its headline).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BuildError(String);

impl From<cedar_policy::EntityAttrEvaluationError> for BuildError {
    fn from(err: cedar_policy::EntityAttrEvaluationError) -> Self {
        Self(format!("entity: {}", describe(&err)))
    }
}

impl From<cedar_policy::entities_errors::EntitiesError> for BuildError {
    fn from(err: cedar_policy::entities_errors::EntitiesError) -> Self {
        Self(format!("entities: {}", describe(&err)))
    }
}

impl From<cedar_policy::RequestValidationError> for BuildError {
    fn from(err: cedar_policy::RequestValidationError) -> Self {
        Self(format!("request: {}", describe(&err)))
    }
}

/// The names every request uses, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    api_key: EntityTypeName,
    user: EntityTypeName,
    tenant: EntityTypeName,
    /// One per [`Action`], in `Action::ALL` order.
    actions: [EntityUid; Action::ALL.len()],
}

impl Names {
    pub(crate) fn new() -> Result<Self, String> {
        let type_name = |name: &str| {
            EntityTypeName::from_str(name).map_err(|err| format!("entity type {name}: {err}"))
        };
        let action_type = type_name("Beckon::Action")?;
        let action =
            |name: &str| EntityUid::from_type_name_and_id(action_type.clone(), EntityId::new(name));
        Ok(Self {
            api_key: type_name("Beckon::ApiKey")?,
            user: type_name("Beckon::User")?,
            tenant: type_name("Beckon::Tenant")?,
            actions: Action::ALL.map(|a| action(a.as_str())),
        })
    }

    fn action(&self, action: Action) -> EntityUid {
        self.actions[action as usize].clone()
    }

    fn uid(kind: &EntityTypeName, id: impl ToString) -> EntityUid {
        EntityUid::from_type_name_and_id(kind.clone(), EntityId::new(id.to_string()))
    }

    fn tenant_uid(&self, id: TenantId) -> EntityUid {
        Self::uid(&self.tenant, id)
    }

    /// The Cedar request and the entities it needs.
    ///
    /// The request is checked against the schema (a mismatch is an error,
    /// and so a deny); the entities only when `check_entities`. That check
    /// builds Cedar's view of every entity type each time, the larger part
    /// of a decision's cost, so it runs once per shape when the policies
    /// load (`probe`), and requests are then built unchecked: same code,
    /// same shapes, already proven to fit. `actions` are then the schema's
    /// action entities (with their groups), which the check adds itself.
    pub(crate) fn build(
        &self,
        request: &AuthzRequest,
        full_schema: &Schema,
        check_entities: bool,
        actions: &[Entity],
    ) -> Result<(Request, Entities), BuildError> {
        let schema = check_entities.then_some(full_schema);
        let principal = &request.principal;
        let principal_tenant = self.tenant_uid(principal.tenant_id);
        let principal_uid = Self::uid(&self.api_key, principal.key_id);
        let key = Entity::new_with_tags(
            principal_uid.clone(),
            [
                (
                    "tenant".to_owned(),
                    RestrictedExpression::new_entity_uid(principal_tenant.clone()),
                ),
                (
                    "role".to_owned(),
                    RestrictedExpression::new_string(principal.role.as_str().to_owned()),
                ),
            ],
            [],
            [],
        )?;
        let mut tenants = vec![principal.tenant_id];
        let (resource_uid, user) = match &request.resource {
            Resource::Tenant { id } => {
                tenants.push(*id);
                (self.tenant_uid(*id), None)
            }
            Resource::User {
                id,
                tenant_id,
                status,
            } => {
                let uid = Self::uid(&self.user, id);
                let mut attrs = vec![(
                    "tenant".to_owned(),
                    RestrictedExpression::new_entity_uid(self.tenant_uid(*tenant_id)),
                )];
                // A missing user has no status; everything else about it is
                // built exactly as for an existing one.
                if let Some(status) = status {
                    attrs.push((
                        "status".to_owned(),
                        RestrictedExpression::new_string(status.as_str().to_owned()),
                    ));
                }
                tenants.push(*tenant_id);
                (
                    uid.clone(),
                    Some(Entity::new_with_tags(uid, attrs, [], [])?),
                )
            }
        };
        // Entities must be unique, and the two tenants are usually the same
        // (at most two entries: adjacent duplicates are all there can be).
        tenants.dedup();
        let tenants = tenants
            .into_iter()
            .map(|t| Entity::new_no_attrs(self.tenant_uid(t), Default::default()));
        let actions = actions.iter().filter(|_| schema.is_none()).cloned();
        let entities = Entities::from_entities(
            std::iter::once(key)
                .chain(user)
                .chain(tenants)
                .chain(actions),
            schema,
        )?;
        // The request itself is always checked: it is cheap, and it denies
        // an action on a kind of resource it does not apply to.
        let cedar_request = Request::new(
            principal_uid,
            self.action(request.action),
            resource_uid,
            Context::empty(),
            Some(full_schema),
        )?;
        Ok((cedar_request, entities))
    }
}
