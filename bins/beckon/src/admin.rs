//! The admin subcommands: each prints one JSON object on stdout, or fails
//! with a one-line error having changed nothing. Those that record a time or
//! make a secret take their [`Sources`] (`main` passes the system ones), so
//! that tests can run them on the clock their app runs on.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use beckon_authz_cedar::verify::{self, Counterexample, Cvc5, Verification, VerifyError};
use beckon_domain::{CreateApiKey, CreateTenant, ManageWebhook, RevokeApiKey};
use beckon_ports::{ApiKeyId, Locale, Role, TenantId, TenantName, WebhookUrl};
use serde_json::{Value, json};

use crate::config::Config;
use crate::system::Sources;
use crate::wiring;

/// `beckon migrate`.
pub async fn migrate(cfg: &Config) -> anyhow::Result<Value> {
    let store = wiring::store(cfg, 0).await?;
    store.migrate().await.context("applying migrations")?;
    Ok(json!({ "migrated": true, "backend": store.backend_name() }))
}

/// `beckon tenant create`.
pub async fn create_tenant(
    cfg: &Config,
    name: &str,
    locale: &str,
    sources: &Sources,
) -> anyhow::Result<Value> {
    let name = TenantName::parse(name).map_err(|e| anyhow!("--name: {e}"))?;
    let locale = Locale::parse(locale).ok_or_else(|| anyhow!("--locale: must be en, de or fr"))?;
    let store = Arc::new(migrated(cfg).await?);
    let tenant = CreateTenant::new(store, sources.clock.clone(), sources.random.clone())
        .execute(name, locale)
        .await?;
    Ok(json!({
        "id": tenant.id.to_string(),
        "name": tenant.name.as_str(),
        "locale": tenant.locale.as_str(),
    }))
}

/// `beckon api-key create`.
pub async fn create_api_key(
    cfg: &Config,
    tenant: &str,
    role: &str,
    name: Option<&str>,
    sources: &Sources,
) -> anyhow::Result<Value> {
    let tenant: TenantId = tenant
        .parse()
        .map_err(|_| anyhow!("--tenant: not a UUID"))?;
    let role = Role::parse(role).map_err(|e| anyhow!("--role: {e}"))?;
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control))
    {
        return Err(anyhow!(
            "--name: at most 200 characters, no control characters"
        ));
    }
    let store = Arc::new(migrated(cfg).await?);
    let created = CreateApiKey::new(
        store.clone(),
        store,
        sources.clock.clone(),
        sources.random.clone(),
    )
    .execute(tenant, role, name)
    .await?;
    Ok(json!({
        "id": created.record.id.to_string(),
        "tenant_id": created.record.tenant_id.to_string(),
        "role": created.record.role.as_str(),
        "key": created.secret,
    }))
}

/// `beckon api-key revoke`.
pub async fn revoke_api_key(cfg: &Config, id: &str, sources: &Sources) -> anyhow::Result<Value> {
    let id: ApiKeyId = id.parse().map_err(|_| anyhow!("--id: not a UUID"))?;
    let store = Arc::new(migrated(cfg).await?);
    RevokeApiKey::new(store, sources.clock.clone())
        .execute(id)
        .await?;
    Ok(json!({ "id": id.to_string(), "revoked": true }))
}

/// `beckon webhook set`: the tenant's endpoint, with a new signing secret
/// shown once.
pub async fn set_webhook(
    cfg: &Config,
    tenant: &str,
    url: &str,
    sources: &Sources,
) -> anyhow::Result<Value> {
    let tenant: TenantId = tenant
        .parse()
        .map_err(|_| anyhow!("--tenant: not a UUID"))?;
    let url = WebhookUrl::parse(url).map_err(|e| anyhow!("--url: {e}"))?;
    let store = Arc::new(migrated(cfg).await?);
    let endpoint = ManageWebhook::new(
        store.clone(),
        store,
        sources.clock.clone(),
        sources.random.clone(),
    )
    .set(tenant, url)
    .await?;
    Ok(json!({
        "tenant_id": endpoint.tenant_id.to_string(),
        "url": endpoint.url.as_str(),
        "secret": endpoint.secret.expose(),
    }))
}

/// `beckon webhook remove`: the endpoint and the events still queued for
/// it. `removed` is false when the tenant had none.
pub async fn remove_webhook(
    cfg: &Config,
    tenant: &str,
    sources: &Sources,
) -> anyhow::Result<Value> {
    let tenant: TenantId = tenant
        .parse()
        .map_err(|_| anyhow!("--tenant: not a UUID"))?;
    let store = Arc::new(migrated(cfg).await?);
    let removed = ManageWebhook::new(
        store.clone(),
        store,
        sources.clock.clone(),
        sources.random.clone(),
    )
    .remove(tenant)
    .await?;
    Ok(json!({ "tenant_id": tenant.to_string(), "removed": removed }))
}

/// `beckon policy check`.
pub fn check_policies(cfg: &Config) -> anyhow::Result<Value> {
    let summary = beckon_authz_cedar::check(cfg.policy_dir.as_deref())
        .map_err(|e| anyhow!("the policies are invalid:\n{e}"))?;
    Ok(json!({
        "valid": true,
        "source": summary.source,
        "policies": summary.policies,
        "policy_ids": summary.policy_ids,
        "warnings": summary.warnings,
    }))
}

/// What `beckon policy verify` found: a line per property for people, the
/// JSON object for programs, and whether every property was proven.
#[derive(Debug)]
pub struct Verified {
    /// `NAME: proven (N request environments)` or `NAME: counterexample: …`.
    pub lines: Vec<String>,
    /// `{"source", "environments", "properties": [{"name", "statement",
    /// "environments", "result", "counterexample"?}], "proven"}`.
    pub json: Value,
    /// Whether every property was proven.
    pub proven: bool,
}

/// `beckon policy verify`: the active policies' properties, decided by the
/// solver `cvc5`. A missing solver or a policy set that does not load is an
/// error; a property that fails is not (it is in [`Verified`]).
pub async fn verify_policies(cfg: &Config, cvc5: &Cvc5) -> anyhow::Result<Verified> {
    let verification = verify::verify(cfg.policy_dir.as_deref(), cvc5)
        .await
        .map_err(|e| match e {
            VerifyError::Policy(e) => anyhow!("the policies are invalid:\n{e}"),
            other => anyhow!(other),
        })?;
    Ok(verified(&verification))
}

fn verified(v: &Verification) -> Verified {
    let mut lines = Vec::new();
    let mut properties = Vec::new();
    for p in &v.properties {
        let mut entry = json!({
            "name": p.name,
            "statement": p.statement,
            "environments": p.environments,
        });
        match &p.counterexample {
            None => {
                lines.push(format!(
                    "{}: proven ({} request environments)",
                    p.name, p.environments
                ));
                entry["result"] = json!("proven");
            }
            Some(cex) => {
                lines.push(format!("{}: counterexample: {cex}", p.name));
                entry["result"] = json!("counterexample");
                entry["counterexample"] = counterexample_json(cex);
            }
        }
        properties.push(entry);
    }
    Verified {
        lines,
        json: json!({
            "source": v.source,
            "environments": v.environments,
            "properties": properties,
            "proven": v.proven(),
        }),
        proven: v.proven(),
    }
}

fn counterexample_json(cex: &Counterexample) -> Value {
    let entities: Vec<Value> = cex
        .entities
        .iter()
        .map(|e| json!({ "uid": e.uid, "attrs": e.attrs, "parents": e.parents }))
        .collect();
    json!({
        "policy": cex.policy,
        "principal": cex.principal,
        "action": cex.action,
        "resource": cex.resource,
        "entities": entities,
        "text": cex.to_string(),
    })
}

/// Admin commands bring the schema up to date first, so that the walk from
/// an empty database needs no separate step.
async fn migrated(cfg: &Config) -> anyhow::Result<beckon_store_diesel::Store> {
    let store = wiring::store(cfg, 0).await?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}
