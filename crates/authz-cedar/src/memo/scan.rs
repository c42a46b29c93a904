//! Decides, once at load, whether a schema and policy set let decisions be
//! memoised: reads every policy's JSON form (Cedar's EST) against a list of
//! the forms it knows, and the schema's entity hierarchy.
//!
//! The scan is a whitelist: an operator, a field or a value it does not
//! recognise is a reason not to memoise, so a form added by a later Cedar
//! (or one overlooked here) costs speed, never soundness.

use std::collections::HashSet;

use cedar_policy::{EntityUid, PolicySet, Schema};
use serde_json::{Map, Value};

/// Cedar 4.14.1's extension functions (ipaddr, decimal, datetime). None of
/// them takes an entity, so none can read an entity's id.
const EXTENSION_FUNCTIONS: [&str; 22] = [
    "ip",
    "isIpv4",
    "isIpv6",
    "isLoopback",
    "isMulticast",
    "isInRange",
    "decimal",
    "lessThan",
    "lessThanOrEqual",
    "greaterThan",
    "greaterThanOrEqual",
    "datetime",
    "duration",
    "offset",
    "durationSince",
    "toDate",
    "toTime",
    "toMilliseconds",
    "toSeconds",
    "toMinutes",
    "toHours",
    "toDays",
];

/// Cedar's operators other than literals, variables, sets and records; their
/// operands (sub-expressions, attribute names, a `like` pattern, an entity
/// type) are checked field by field.
const OPERATORS: [&str; 25] = [
    "has",
    "like",
    "is",
    "!",
    "neg",
    "isEmpty",
    "==",
    "!=",
    "in",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "+",
    "-",
    "*",
    "contains",
    "containsAll",
    "containsAny",
    "getTag",
    "hasTag",
    "if-then-else",
    ".",
];

/// Why decisions may not be memoised under `schema` and `policies`, or
/// `None` when they may (see the `memo` module for the argument).
pub(crate) fn obstacle(schema: &Schema, policies: &PolicySet) -> Option<String> {
    if policies.templates().next().is_some() {
        return Some("the policy set has templates".to_owned());
    }
    if !schema.is_complete() {
        return Some("the schema declares external types or actions".to_owned());
    }
    // A hierarchy makes `in` more than equality, and an entity's ancestors
    // would be something a policy can observe beyond the memo's key.
    for ty in schema.entity_types() {
        match schema.ancestors(ty).map(|mut it| it.next().cloned()) {
            None => return Some(format!("the schema's hierarchy of {ty} is unknown")),
            Some(Some(parent)) => {
                return Some(format!("entity type {ty} can be a member of {parent}"));
            }
            Some(None) => {}
        }
    }
    let scan = Scan {
        actions: schema.actions().cloned().collect(),
    };
    for policy in policies.policies() {
        if !policy.is_static() {
            return Some(format!("policy {} is a template link", policy.id()));
        }
        let verdict = match policy.to_json() {
            Ok(json) => scan.policy(&json),
            Err(err) => Err(format!("cannot read it as JSON ({err})")),
        };
        if let Err(why) = verdict {
            return Some(format!("policy {}: {why}", policy.id()));
        }
    }
    None
}

/// What a policy may mention: the schema's actions, the same entities for
/// every request of an action.
struct Scan {
    actions: HashSet<EntityUid>,
}

type Verdict = Result<(), String>;

impl Scan {
    fn policy(&self, json: &Value) -> Verdict {
        for (field, value) in object(json)? {
            match field.as_str() {
                "effect" | "annotations" => {}
                "principal" | "action" | "resource" => self.scope(value)?,
                "conditions" => {
                    for clause in array(value)? {
                        for (part, body) in object(clause)? {
                            match part.as_str() {
                                "kind" => {}
                                "body" => self.expr(body)?,
                                other => return Err(unknown("clause field", other)),
                            }
                        }
                    }
                }
                other => return Err(unknown("policy field", other)),
            }
        }
        Ok(())
    }

    /// A scope constraint: `{"op": "All" | "==" | "in" | "is", …}`, and the
    /// `{"entity": …}` of an `is … in`.
    fn scope(&self, json: &Value) -> Verdict {
        for (field, value) in object(json)? {
            match field.as_str() {
                "op" => match value.as_str() {
                    Some("All" | "all" | "==" | "in" | "is") => {}
                    _ => return Err(format!("the scope operator {value}")),
                },
                "entity" => self.entity(value)?,
                "entities" => {
                    for entity in array(value)? {
                        self.entity(entity)?;
                    }
                }
                "entity_type" => string(value)?,
                "in" => self.scope(value)?,
                "slot" => return Err("it has a template slot".to_owned()),
                other => return Err(unknown("scope field", other)),
            }
        }
        Ok(())
    }

    /// An entity literal: allowed only when it is one of the schema's actions.
    fn entity(&self, json: &Value) -> Verdict {
        match EntityUid::from_json(json.clone()) {
            Ok(uid) if self.actions.contains(&uid) => Ok(()),
            Ok(uid) => Err(format!("it names the entity {uid}")),
            Err(err) => Err(format!("an entity reference it cannot read ({err})")),
        }
    }

    /// An expression: an object with exactly one key, the operator.
    fn expr(&self, json: &Value) -> Verdict {
        let node = object(json)?;
        let mut entries = node.iter();
        let (Some((op, body)), None) = (entries.next(), entries.next()) else {
            return Err("an expression without exactly one operator".to_owned());
        };
        match op.as_str() {
            "Value" => self.value(body),
            "Var" => match body.as_str() {
                Some("principal" | "action" | "resource" | "context") => Ok(()),
                _ => Err(format!("the variable {body}")),
            },
            "Set" => array(body)?.iter().try_for_each(|e| self.expr(e)),
            "Record" => object(body)?.values().try_for_each(|e| self.expr(e)),
            op if OPERATORS.contains(&op) => self.operands(body),
            op if EXTENSION_FUNCTIONS.contains(&op) => {
                array(body)?.iter().try_for_each(|e| self.expr(e))
            }
            other => Err(unknown("expression", other)),
        }
    }

    /// An operator's fields: sub-expressions, attribute names, a `like`
    /// pattern or an entity type.
    fn operands(&self, json: &Value) -> Verdict {
        for (field, value) in object(json)? {
            match field.as_str() {
                "left" | "right" | "arg" | "if" | "then" | "else" | "in" => self.expr(value)?,
                // `has` takes one name or a path of names.
                "attr" => match value {
                    Value::String(_) => {}
                    Value::Array(names) => names.iter().try_for_each(string)?,
                    _ => return Err(format!("the attribute {value}")),
                },
                "pattern" => {
                    for elem in array(value)? {
                        match elem {
                            Value::String(s) if s == "Wildcard" => {}
                            Value::Object(literal) if literal.len() == 1 => {
                                literal.get("Literal").map_or_else(
                                    || Err(format!("the pattern element {elem}")),
                                    string,
                                )?;
                            }
                            _ => return Err(format!("the pattern element {elem}")),
                        }
                    }
                }
                "entity_type" => string(value)?,
                other => return Err(unknown("operand", other)),
            }
        }
        Ok(())
    }

    /// A literal value: a bool, number or string, a set or record of values,
    /// an extension value, or an entity.
    fn value(&self, json: &Value) -> Verdict {
        match json {
            Value::Bool(_) | Value::Number(_) | Value::String(_) => Ok(()),
            Value::Array(items) => items.iter().try_for_each(|v| self.value(v)),
            Value::Object(map) if map.contains_key("__entity") => self.entity(json),
            Value::Object(map) if map.len() == 1 && map.contains_key("__extn") => map
                .get("__extn")
                .map_or(Ok(()), |call| self.extension_value(call)),
            Value::Object(map) if map.keys().any(|k| k.starts_with("__")) => {
                Err(format!("the escaped value {json}"))
            }
            Value::Object(map) => map.values().try_for_each(|v| self.value(v)),
            Value::Null => Err("a null value".to_owned()),
        }
    }
}

impl Scan {
    /// `{"fn": name, "arg": value}` or `{"fn": name, "args": [value, …]}`.
    fn extension_value(&self, json: &Value) -> Verdict {
        for (field, value) in object(json)? {
            match field.as_str() {
                "fn" => match value.as_str() {
                    Some(f) if EXTENSION_FUNCTIONS.contains(&f) => {}
                    _ => return Err(format!("the extension function {value}")),
                },
                "arg" => self.value(value)?,
                "args" => array(value)?.iter().try_for_each(|v| self.value(v))?,
                other => return Err(unknown("extension value field", other)),
            }
        }
        Ok(())
    }
}

fn object(json: &Value) -> Result<&Map<String, Value>, String> {
    json.as_object()
        .ok_or_else(|| format!("{json} where an object was expected"))
}

fn array(json: &Value) -> Result<&Vec<Value>, String> {
    json.as_array()
        .ok_or_else(|| format!("{json} where an array was expected"))
}

fn string(json: &Value) -> Verdict {
    json.as_str()
        .map(|_| ())
        .ok_or_else(|| format!("{json} where a string was expected"))
}

fn unknown(what: &str, name: &str) -> String {
    format!("the {what} {name:?}, which the memo's scan does not know")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::obstacle;
    use cedar_policy::{PolicySet, Schema};

    const SCHEMA: &str = include_str!("../../../../policies/beckon.cedarschema");

    fn obstacle_of(policies: &str) -> Option<String> {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA).unwrap();
        obstacle(&schema, &policies.parse::<PolicySet>().unwrap())
    }

    #[test]
    fn actions_operators_and_extension_functions_are_no_obstacle() {
        let policy = r#"permit (principal is Beckon::ApiKey, action in [Beckon::Action::"ReadUser",
            Beckon::Action::"ListUsers"], resource)
            when { action == Beckon::Action::"ReadUser" || [action].contains(Beckon::Action::"ListUsers") }
            when { principal.role like "adm*" && !(resource has tenant.x) && -(1 + 2 * 3) < 0 }
            when { (if resource is Beckon::User then ip("10.0.0.1").isLoopback() else true)
                   && decimal("1.5").lessThan(decimal("2.0"))
                   && datetime("2024-01-01").toDate() == datetime("2024-01-01")
                   && {a: [1, "x"]}.a.containsAny([1]) && principal.tenant == resource }
            unless { principal in resource };"#;
        assert_eq!(obstacle_of(policy), None);
    }

    #[test]
    fn an_entity_literal_anywhere_in_a_policy_is_an_obstacle() {
        for (policy, named) in [
            (
                r#"permit (principal in Beckon::Tenant::"t", action, resource);"#,
                "Tenant",
            ),
            (
                r#"permit (principal, action, resource is Beckon::User in Beckon::Tenant::"t");"#,
                "Tenant",
            ),
            (
                r#"permit (principal, action, resource) when { [1, {a: Beckon::User::"u"}].contains(2) };"#,
                "User",
            ),
            (
                r#"permit (principal, action, resource) when { principal is Beckon::ApiKey in Beckon::Tenant::"t" };"#,
                "Tenant",
            ),
            (
                r#"permit (principal, action, resource) unless { if true then resource == Beckon::Tenant::"t" else false };"#,
                "Tenant",
            ),
            (
                r#"permit (principal, action == Beckon::Action::"Nope", resource);"#,
                "Nope",
            ),
        ] {
            let why = obstacle_of(policy).unwrap_or_default();
            assert!(why.contains(named), "{policy}: {why:?}");
        }
    }

    #[test]
    fn a_template_is_an_obstacle() {
        let why = obstacle_of("permit (principal == ?principal, action, resource);");
        assert!(why.unwrap_or_default().contains("template"));
    }
}
