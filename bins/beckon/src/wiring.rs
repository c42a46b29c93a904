//! Builds the adapters from the configuration and plugs them into the ports.

use std::sync::Arc;

use anyhow::Context;
use beckon_authz_cedar::CedarAuthorizer;
use beckon_domain::{Beckon, DeliveryPolicy, InvitePolicy, Ports};
use beckon_mail::{MailConfig, mailer_from_url};
use beckon_ports::Mailer;
use beckon_store_diesel::{Store, StoreOptions};

use crate::config::Config;
use crate::system::Sources;

/// Connects to the database named by the configuration, for
/// `worker_runtimes` HTTP workers besides the current runtime (zero for an
/// admin command).
pub async fn store(cfg: &Config, worker_runtimes: usize) -> anyhow::Result<Store> {
    let opts = StoreOptions {
        max_connections: cfg.database_max_connections,
        worker_runtimes: u32::try_from(worker_runtimes).unwrap_or(u32::MAX),
        acquire_timeout: cfg.database_acquire_timeout,
    };
    Store::connect(&cfg.database_url, &opts)
        .await
        .map_err(|e| anyhow::anyhow!("BECKON_DATABASE_URL: {e:#}"))
}

/// Loads and validates the policies (refusing invalid ones).
pub fn authorizer(cfg: &Config) -> anyhow::Result<CedarAuthorizer> {
    let authz = CedarAuthorizer::load(cfg.policy_dir.as_deref())
        .map_err(|e| anyhow::anyhow!("BECKON_POLICY_DIR: the policies are invalid:\n{e}"))?;
    for warning in &authz.summary().warnings {
        tracing::warn!(%warning, "policy warning");
    }
    Ok(authz)
}

/// Builds the mailer.
pub fn mailer(cfg: &Config) -> anyhow::Result<Arc<dyn Mailer>> {
    let mail = MailConfig::new(&cfg.mail_from, &cfg.accept_url)?;
    Ok(mailer_from_url(&cfg.mailer, mail)?)
}

/// Every port, on the given store, with time and randomness from `sources`.
pub fn ports(
    store: &Store,
    authorizer: CedarAuthorizer,
    mailer: Arc<dyn Mailer>,
    sources: &Sources,
) -> Ports {
    Ports::builder(store.clone(), sources.clock.clone(), sources.random.clone())
        .authorizer(Arc::new(authorizer))
        .mailer(mailer)
        .build()
}

/// The invite rules from the configuration.
pub fn invite_policy(cfg: &Config) -> InvitePolicy {
    InvitePolicy {
        ttl: cfg.invite_ttl,
        cooldown: cfg.resend_cooldown,
        daily_limit: cfg.resend_daily_limit,
    }
}

/// Everything `serve` needs, migrated and validated, with time and
/// randomness from `sources`, for an HTTP server of `http_workers`
/// workers (each gets its share of the PostgreSQL connections: see
/// `StoreOptions::pool_size`).
pub async fn application(
    cfg: &Config,
    sources: &Sources,
    http_workers: usize,
) -> anyhow::Result<(Beckon, Store)> {
    let authz = authorizer(cfg)?;
    let mailer = mailer(cfg)?;
    let store = store(cfg, http_workers).await?;
    store.migrate().await.context("applying migrations")?;
    let ports = ports(&store, authz, mailer, sources);
    Ok((
        Beckon::new(&ports, invite_policy(cfg), DeliveryPolicy::default()),
        store,
    ))
}
