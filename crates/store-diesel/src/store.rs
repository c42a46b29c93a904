//! `Store`: the one type the binary wires in. Each port method runs a body
//! of `repo/` on the store's backend: on PostgreSQL through the pool
//! (`connection.rs`), on SQLite through its thread (`sqlite.rs`). The two
//! arms of each method differ only in how the body gets there.

use std::fmt;
use std::future::Future;

use anyhow::anyhow;
use async_trait::async_trait;
use beckon_ports::{
    Activation, ApiKeyId, ApiKeyRecord, ApiKeyRepo, AuditEntry, AuditLog, AuditQuery,
    ClaimedMessage, Erasure, Health, IdempotencyKey, IdempotencyRecord, IdempotencyStore,
    ListQuery, NewUser, OutboxRepo, Revocation, Rotation, SecretHash, Settlement, StoreError,
    Tenant, TenantId, TenantRepo, User, UserId, UserRepo, WriteOutcome,
};
use beckon_ports::{ClaimedEvent, EventSettlement, WebhookEndpoint, WebhookRepo};
use chrono::{DateTime, Utc};

use crate::connection::{self, PgDb, StoreOptions, Target};
use crate::errors::TxError;
use crate::migrate;
use crate::repo::{admin, outbox, users, webhooks};
use crate::rows::AuditRow;
use crate::sqlite::SqliteDb;

#[derive(Clone)]
pub(crate) enum Backend {
    Postgres(PgDb),
    Sqlite(SqliteDb),
}

/// Beckon's storage on PostgreSQL or SQLite. Cheap to clone (it is a
/// handle); every clone shares the same connections.
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
}

impl fmt::Debug for Store {
    // Never print the URL: it may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl Store {
    /// Opens a pool (PostgreSQL) or starts the SQLite thread for `url`
    /// (`sqlite://PATH`, `sqlite::memory:`, `postgres://…`,
    /// `postgresql://…`). Connections open lazily, so an unreachable
    /// database shows up as `Unavailable` on first use (and in
    /// [`Health::ping`]), not here; an unsupported URL is an error here.
    pub async fn connect(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        let backend = match Target::parse(url)? {
            Target::Postgres(url) => Backend::Postgres(connection::postgres(&url, opts)?),
            Target::SqliteFile(path) => Backend::Sqlite(SqliteDb::open(&path, false)?),
            Target::SqliteMemory => Backend::Sqlite(SqliteDb::open(":memory:", true)?),
        };
        Ok(Store { backend })
    }

    /// Applies the embedded migrations that have not been applied yet;
    /// running it again changes nothing.
    ///
    /// Instances starting together on one database race to apply the same
    /// migration (no advisory locks, by design): the loser's DDL fails once
    /// the winner commits. So a failed run is retried a few times; by then
    /// the winner's migrations are recorded and the retry finds nothing to do.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        const ATTEMPTS: u32 = 5;
        let mut attempt = 1;
        loop {
            let result = match &self.backend {
                Backend::Postgres(db) => migrate::postgres(db).await,
                Backend::Sqlite(db) => migrate::sqlite(db).await,
            };
            match result {
                Err(StoreError::Unexpected(e)) if attempt < ATTEMPTS => {
                    tracing::info!(attempt, error = %e, "migrations failed; retrying (another instance may be applying them)");
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                        .await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// `"postgres"` or `"sqlite"`, for logs.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }
}

/// Runs a PostgreSQL write on its own task. A caller that gives up (a
/// client that hangs up, a timeout) drops its future; the transaction then
/// still finishes or rolls back cleanly instead of being cut off halfway.
/// The operation time limit applies inside the task (`PgDb::timed`), so a
/// write to a server that went silent still ends, with `Unavailable`.
/// (SQLite writes are jobs of the SQLite thread: they finish anyway.)
pub(crate) async fn detached<T: Send + 'static>(
    work: impl Future<Output = Result<T, TxError>> + Send + 'static,
) -> Result<T, TxError> {
    tokio::spawn(work)
        .await
        .map_err(|e| TxError::Store(StoreError::Unexpected(anyhow!("store task failed: {e}"))))?
}

/// The port's answer: the body's error translated, naming what was done.
pub(crate) fn answer<T>(result: Result<T, TxError>, what: &'static str) -> Result<T, StoreError> {
    result.map_err(|e| e.into_store(what))
}

/// A guarded write's answer: a lost race (`TxError::Stale`, rolled back)
/// is an answer of its own, not an error.
fn guarded(
    result: Result<WriteOutcome, TxError>,
    what: &'static str,
) -> Result<WriteOutcome, StoreError> {
    match result {
        Err(TxError::Stale) => Ok(WriteOutcome::Stale),
        other => answer(other, what),
    }
}

#[async_trait]
impl TenantRepo for Store {
    async fn create(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let t = tenant.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| admin::create_tenant(c, &t).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| admin::create_tenant(c, &t).await)
                    .await
            }
        };
        answer(result, "creating a tenant")
    }

    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => db.read(async move |c| admin::get_tenant(c, id).await).await,
            Backend::Sqlite(db) => db.read(async move |c| admin::get_tenant(c, id).await).await,
        };
        answer(result, "reading a tenant")
    }
}

#[async_trait]
impl ApiKeyRepo for Store {
    async fn create(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let k = record.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => db.read(async move |c| admin::create_key(c, &k).await).await,
            Backend::Sqlite(db) => {
                db.write(async move |c| admin::create_key(c, &k).await)
                    .await
            }
        };
        answer(result, "creating an API key")
    }

    async fn find(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => db.read(async move |c| admin::find_key(c, id).await).await,
            Backend::Sqlite(db) => db.read(async move |c| admin::find_key(c, id).await).await,
        };
        answer(result, "reading an API key")
    }

    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(
                    async move { db.write(async |c| admin::revoke_key(c, id, at).await).await },
                )
                .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| admin::revoke_key(c, id, at).await)
                    .await
            }
        };
        answer(result, "revoking an API key")
    }
}

#[async_trait]
impl UserRepo for Store {
    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| users::get(c, tenant, id).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.read(async move |c| users::get(c, tenant, id).await)
                    .await
            }
        };
        answer(result, "reading a user")
    }

    async fn list(&self, tenant: TenantId, query: &ListQuery) -> Result<Vec<User>, StoreError> {
        let q = query.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| users::list(c, tenant, &q).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.read(async move |c| users::list(c, tenant, &q).await)
                    .await
            }
        };
        answer(result, "listing users")
    }

    async fn find_by_token(&self, hash: &SecretHash) -> Result<Option<User>, StoreError> {
        let h = *hash;
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| users::find_by_token(c, &h).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.read(async move |c| users::find_by_token(c, &h).await)
                    .await
            }
        };
        answer(result, "finding a user by token")
    }

    async fn sends_since(
        &self,
        tenant: TenantId,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| users::sends_since(c, tenant, user, since).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.read(async move |c| users::sends_since(c, tenant, user, since).await)
                    .await
            }
        };
        answer(result, "reading sends")
    }

    async fn insert_invited(&self, new: &NewUser) -> Result<(), StoreError> {
        let new = new.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move {
                    db.write(async |c| users::insert_invited(c, &new).await)
                        .await
                })
                .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| users::insert_invited(c, &new).await)
                    .await
            }
        };
        answer(result, "inviting a user")
    }

    async fn rotate_invite(&self, rotation: &Rotation) -> Result<WriteOutcome, StoreError> {
        let r = rotation.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move { db.write(async |c| users::rotate_invite(c, &r).await).await })
                    .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| users::rotate_invite(c, &r).await)
                    .await
            }
        };
        guarded(result, "rotating an invite")
    }

    async fn activate(&self, activation: &Activation) -> Result<WriteOutcome, StoreError> {
        let a = activation.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move { db.write(async |c| users::activate(c, &a).await).await })
                    .await
            }
            Backend::Sqlite(db) => db.write(async move |c| users::activate(c, &a).await).await,
        };
        guarded(result, "activating a user")
    }

    async fn revoke_invite(&self, revocation: &Revocation) -> Result<WriteOutcome, StoreError> {
        let r = revocation.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move { db.write(async |c| users::revoke(c, &r).await).await }).await
            }
            Backend::Sqlite(db) => db.write(async move |c| users::revoke(c, &r).await).await,
        };
        guarded(result, "revoking an invite")
    }

    async fn erase(&self, erasure: &Erasure) -> Result<bool, StoreError> {
        let e = erasure.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move { db.write(async |c| users::erase(c, &e).await).await }).await
            }
            Backend::Sqlite(db) => db.write(async move |c| users::erase(c, &e).await).await,
        };
        match result {
            // No such user: rolled back, nothing written.
            Err(TxError::Stale) => Ok(false),
            other => answer(other, "erasing a user"),
        }
    }
}

#[async_trait]
impl IdempotencyStore for Store {
    async fn find(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
        not_before: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let k = key.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| admin::find_idempotency(c, tenant, &k, not_before).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.read(async move |c| admin::find_idempotency(c, tenant, &k, not_before).await)
                    .await
            }
        };
        answer(result, "reading an idempotency record")
    }
}

#[async_trait]
impl AuditLog for Store {
    /// A refusal's audit line. On PostgreSQL one statement, committed on
    /// its own without a BEGIN/COMMIT round trip; on SQLite it joins the
    /// next group commit instead of costing a commit of its own.
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let row = AuditRow::new(entry);
        let result = match &self.backend {
            Backend::Postgres(db) => db.read(async move |c| users::audit(c, row).await).await,
            Backend::Sqlite(db) => db.write(async move |c| users::audit(c, row).await).await,
        };
        answer(result, "writing an audit line")
    }

    async fn entries(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let q = query.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| users::audit_page(c, tenant, &q).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.read(async move |c| users::audit_page(c, tenant, &q).await)
                    .await
            }
        };
        answer(result, "reading the audit trail")
    }
}

#[async_trait]
impl OutboxRepo for Store {
    async fn any_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => db.read(async move |c| outbox::any_due(c, now).await).await,
            Backend::Sqlite(db) => db.read(async move |c| outbox::any_due(c, now).await).await,
        };
        answer(result, "looking for due messages")
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        // One statement: a transaction of its own on PostgreSQL.
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| outbox::claim_due(c, now, lease_until, limit).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| outbox::claim_due(c, now, lease_until, limit).await)
                    .await
            }
        };
        answer(result, "claiming outbox messages")
    }

    async fn settle(
        &self,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
        outcomes: &[Settlement],
    ) -> Result<usize, StoreError> {
        let outcomes = outcomes.to_vec();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move {
                    db.write(async |c| outbox::settle(c, lease_until, at, &outcomes).await)
                        .await
                })
                .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| outbox::settle(c, lease_until, at, &outcomes).await)
                    .await
            }
        };
        answer(result, "settling outbox messages")
    }
}

#[async_trait]
impl Health for Store {
    async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Postgres(db) => db.ping().await,
            Backend::Sqlite(db) => db.ping().await,
        }
    }
}

#[async_trait]
impl WebhookRepo for Store {
    async fn set_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        let e = endpoint.clone();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move {
                    db.write(async |c| webhooks::set_endpoint(c, &e).await)
                        .await
                })
                .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| webhooks::set_endpoint(c, &e).await)
                    .await
            }
        };
        answer(result, "setting a webhook endpoint")
    }

    async fn remove_endpoint(&self, tenant: TenantId) -> Result<bool, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move {
                    db.write(async |c| webhooks::remove_endpoint(c, tenant).await)
                        .await
                })
                .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| webhooks::remove_endpoint(c, tenant).await)
                    .await
            }
        };
        answer(result, "removing a webhook endpoint")
    }

    async fn endpoint(&self, tenant: TenantId) -> Result<Option<WebhookEndpoint>, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| webhooks::endpoint(c, tenant).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.read(async move |c| webhooks::endpoint(c, tenant).await)
                    .await
            }
        };
        answer(result, "reading a webhook endpoint")
    }

    async fn any_event_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => {
                db.read(async move |c| webhooks::any_due(c, now).await)
                    .await
            }
            Backend::Sqlite(db) => {
                db.read(async move |c| webhooks::any_due(c, now).await)
                    .await
            }
        };
        answer(result, "looking for due webhook events")
    }

    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move {
                    db.write(async |c| webhooks::claim(c, now, lease_until, limit).await)
                        .await
                })
                .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| webhooks::claim(c, now, lease_until, limit).await)
                    .await
            }
        };
        answer(result, "claiming webhook events")
    }

    async fn settle_events(
        &self,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
        outcomes: &[EventSettlement],
    ) -> Result<usize, StoreError> {
        let outcomes = outcomes.to_vec();
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move {
                    db.write(async |c| webhooks::settle(c, lease_until, at, &outcomes).await)
                        .await
                })
                .await
            }
            Backend::Sqlite(db) => {
                db.write(async move |c| webhooks::settle(c, lease_until, at, &outcomes).await)
                    .await
            }
        };
        answer(result, "settling webhook events")
    }
}
