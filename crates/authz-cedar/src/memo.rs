//! A sound memo of decisions: under policies that cannot tell entity ids
//! apart, a decision depends on a handful of facts about the request, and is
//! computed once per combination instead of once per request.
//!
//! # Why it is sound
//!
//! The entities Beckon builds (`request.rs`) are a deterministic function of
//! the request: an `ApiKey` with `tenant` and `role`, the resource (a
//! `Tenant`, or a `User` with `tenant` and an optional `status`), the
//! tenants, and the schema's actions; the context is empty. A policy sees
//! these values only through Cedar's operators, and Cedar has none that
//! reads an entity's id as a string: ids can only be compared with `==`,
//! `in` (equality when no entity has parents), set membership, and `is`
//! (the type, not the id). So a policy can tell two requests apart only by
//!
//! - (a) the role string, the action, the resource's kind and its status;
//! - (b) the equality pattern of the ids: entities of different types are
//!   never equal, and the `ApiKey` and the `User` are each the only entity
//!   of their type, so the one open question is whether the principal's
//!   tenant is the resource's tenant (for a `Tenant` resource, the resource
//!   itself);
//! - (c) comparisons with entity literals written in the policies, such as
//!   `principal == Beckon::ApiKey::"…"`.
//!
//! (c) is ruled out and (a), (b) make the key when [`scan::obstacle`] finds
//! nothing, that is when
//!
//! 1. no policy names an entity other than one of the schema's actions
//!    (which are the same entities for every request of an action), in its
//!    scope or its conditions;
//! 2. the policy set has no templates and no links;
//! 3. the schema gives no entity type a parent and has no external
//!    declarations (`request.rs` builds no parents either: this guards the
//!    "`in` is equality" step against a later change there).
//!
//! The decision, Allow or Deny with its notices (the evaluation-error notice
//! included: evaluation is deterministic), is then a function of [`Key`].
//! A request that cannot be put to Cedar is never memoised. When a condition
//! fails, the reason is logged at load and every request takes the full path.

pub(crate) mod scan;

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use beckon_ports::{Action, AuthzRequest, Decision, Resource, UserStatus};

/// At most this many decisions are kept. Roles are free text, so the key
/// space is unbounded; past the cap, new keys are decided without caching.
pub(crate) const CAPACITY: usize = 1024;

/// Resource shapes: a tenant, or a user that is missing, invited, active or
/// revoked.
const RESOURCE_SHAPES: usize = 5;

/// The combinations of action × resource shape × same tenant (see `shape`).
const SHAPES: usize = Action::ALL.len() * RESOURCE_SHAPES * 2;

/// What a decision depends on when the memo is sound: the role, and the
/// shape (action, resource kind and status, principal's tenant == the
/// resource's tenant) as an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key<'a> {
    role: &'a str,
    shape: usize,
}

impl<'a> Key<'a> {
    pub(crate) fn of(request: &'a AuthzRequest) -> Self {
        // `Action` is a fieldless enum: its discriminant is its index in
        // `Action::ALL`.
        let action = request.action as usize;
        let principal_tenant = request.principal.tenant_id;
        // Exhaustive on purpose: a new kind or status must get its own shape.
        let (resource, same_tenant) = match &request.resource {
            Resource::Tenant { id } => (0, *id == principal_tenant),
            Resource::User {
                tenant_id, status, ..
            } => {
                let status = match status {
                    None => 1,
                    Some(UserStatus::Invited) => 2,
                    Some(UserStatus::Active) => 3,
                    Some(UserStatus::Revoked) => 4,
                };
                (status, *tenant_id == principal_tenant)
            }
        };
        Self {
            role: request.principal.role.as_str(),
            shape: (action * RESOURCE_SHAPES + resource) * 2 + usize::from(same_tenant),
        }
    }
}

/// Decisions by role, then by shape: looking a role up by `&str` costs no
/// allocation on the hot path.
#[derive(Default)]
pub(crate) struct Memo {
    table: RwLock<Table>,
}

#[derive(Default)]
struct Table {
    roles: HashMap<Box<str>, Box<[Option<Decision>; SHAPES]>>,
    decisions: usize,
}

impl Memo {
    /// The decision for `key`, if one was memoised. A poisoned lock (a
    /// panic while writing, which nothing here does) reads as a miss.
    pub(crate) fn get(&self, key: &Key<'_>) -> Option<Decision> {
        let table = self.table.read().ok()?;
        table.roles.get(key.role)?.get(key.shape)?.clone()
    }

    /// Remembers `decision` for `key`, unless the memo is full. Two threads
    /// that missed the same key computed the same decision: the second write
    /// changes nothing.
    pub(crate) fn insert(&self, key: &Key<'_>, decision: &Decision) {
        let Ok(mut table) = self.table.write() else {
            return;
        };
        let table = &mut *table;
        if table.decisions >= CAPACITY {
            return;
        }
        let slots = table
            .roles
            .entry(key.role.into())
            .or_insert_with(|| Box::new(std::array::from_fn(|_| None)));
        if let Some(slot) = slots.get_mut(key.shape) {
            if slot.is_none() {
                table.decisions += 1;
            }
            *slot = Some(decision.clone());
        }
    }

    /// How many decisions are memoised.
    pub(crate) fn len(&self) -> usize {
        self.table.read().map_or(0, |table| table.decisions)
    }
}

impl fmt::Debug for Memo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memo")
            .field("decisions", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{CAPACITY, Key, Memo, SHAPES};
    use beckon_ports::Decision;

    fn key(role: &str, shape: usize) -> Key<'_> {
        Key { role, shape }
    }

    #[test]
    fn memo_keeps_at_most_its_capacity_and_still_answers_what_it_kept() {
        let memo = Memo::default();
        let roles: Vec<String> = (0..CAPACITY / SHAPES + 2).map(|i| i.to_string()).collect();
        for role in &roles {
            for shape in 0..SHAPES {
                memo.insert(&key(role, shape), &Decision::Allow);
            }
        }
        assert_eq!(memo.len(), CAPACITY);
        assert_eq!(memo.get(&key(&roles[0], 0)), Some(Decision::Allow));
        let last = roles.last().unwrap();
        assert_eq!(memo.get(&key(last, 0)), None);
    }

    #[test]
    fn memo_counts_a_key_written_twice_once() {
        let memo = Memo::default();
        let deny = Decision::Deny { notices: vec![] };
        memo.insert(&key("admin", 3), &Decision::Allow);
        memo.insert(&key("admin", 3), &deny);
        assert_eq!(memo.len(), 1);
        assert_eq!(memo.get(&key("admin", 3)), Some(deny));
        assert_eq!(memo.get(&key("admin", 2)), None);
    }
}
