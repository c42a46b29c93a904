//! `Store`: the one type the binary wires in. It implements every storage
//! port by dispatching to the body expanded for its backend.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use anyhow::anyhow;
use async_trait::async_trait;
use beckon_ports::{
    ApiKeyId, ApiKeyRecord, ApiKeyRepo, AuditEntry, AuditLog, ClaimedMessage, Health,
    IdempotencyKey, IdempotencyRecord, IdempotencyStore, ListQuery, NewUser, OutboxRepo, Rotation,
    SecretHash, Settlement, StoreError, Tenant, TenantId, TenantRepo, User, UserId, UserRepo,
    WriteOutcome,
};
use chrono::{DateTime, Utc};

use crate::backend::{pg, sqlite};
use crate::connection::{self, PgDb, SqliteDb, StoreOptions, Target};
use crate::migrate;

#[derive(Clone)]
enum Backend {
    Postgres(PgDb),
    Sqlite(SqliteDb),
}

/// Beckon's storage on PostgreSQL or SQLite. Cheap to clone (it is a pool
/// handle); every clone shares the same connections.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// SQLite only: one writer at a time in this process, in arrival order.
    /// SQLite allows one writer anyway; its busy handler makes the others
    /// sleep and retry, which under load starves some of them for seconds
    /// (measured: the outbox worker hit the 5 s busy timeout at ~2,000
    /// resends/s). A FIFO lock in front keeps waits short and fair; other
    /// processes (the admin CLI) still meet the busy timeout.
    writes: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl fmt::Debug for Store {
    // Never print the URL: it may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish()
    }
}

/// Calls the same operation on whichever backend the store runs on.
macro_rules! dispatch {
    ($self:expr, $module:ident :: $op:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Postgres(db) => pg::$module::$op(db, $($arg),*).await,
            Backend::Sqlite(db) => sqlite::$module::$op(db, $($arg),*).await,
        }
    };
}

impl Store {
    /// Opens a pool for `url` (`sqlite://PATH`, `sqlite::memory:`,
    /// `postgres://…`, `postgresql://…`). Connections open lazily, so an
    /// unreachable database shows up as `Unavailable` on first use (and in
    /// [`Health::ping`]), not here; an unsupported URL is an error here.
    pub async fn connect(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        let backend = match Target::parse(url)? {
            Target::Postgres(url) => Backend::Postgres(connection::postgres(&url, opts)?),
            Target::SqliteFile(path) => Backend::Sqlite(connection::sqlite(&path, false, opts)?),
            Target::SqliteMemory => Backend::Sqlite(connection::sqlite(":memory:", true, opts)?),
        };
        let writes = match backend {
            Backend::Sqlite(_) => Some(Arc::new(tokio::sync::Mutex::new(()))),
            Backend::Postgres(_) => None,
        };
        Ok(Store { backend, writes })
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

    /// Runs a write on its own task. A caller that gives up (a client that
    /// hangs up, a timeout) drops its future; the transaction then still
    /// finishes or rolls back cleanly instead of being cut off halfway,
    /// which diesel-async does not clean up, and for `sqlite::memory:` would
    /// cost the pool its only connection and with it the database.
    ///
    /// The operation time limit (PostgreSQL) applies inside the task: each
    /// body runs on its connection through `timed`, so a write to a server
    /// that went silent still ends, with `Unavailable`, and frees its pool
    /// slot; the connection it was cut off on is closed, which rolls its
    /// transaction back (see `timed` for a COMMIT already sent). SQLite
    /// writes, holding the write gate, are bounded by SQLite's busy timeout
    /// instead (see `connection::sqlite`).
    async fn detached<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Store) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let gate = self.writes.clone();
        let work = op(self.clone());
        tokio::spawn(async move {
            let _turn = match gate {
                Some(gate) => Some(gate.lock_owned().await),
                None => None,
            };
            work.await
        })
        .await
        .map_err(|e| StoreError::Unexpected(anyhow!("store task failed: {e}")))?
    }
}

#[async_trait]
impl TenantRepo for Store {
    async fn create(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let tenant = tenant.clone();
        self.detached(|s| async move { dispatch!(s, admin::create_tenant(&tenant)) })
            .await
    }

    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        dispatch!(self, admin::get_tenant(id))
    }
}

#[async_trait]
impl ApiKeyRepo for Store {
    async fn create(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.detached(|s| async move { dispatch!(s, admin::create_key(&record)) })
            .await
    }

    async fn find(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, StoreError> {
        dispatch!(self, admin::find_key(id))
    }

    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.detached(|s| async move { dispatch!(s, admin::revoke_key(id, at)) })
            .await
    }
}

#[async_trait]
impl UserRepo for Store {
    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        dispatch!(self, users::get(tenant, id))
    }

    async fn list(&self, tenant: TenantId, query: &ListQuery) -> Result<Vec<User>, StoreError> {
        dispatch!(self, users::list(tenant, query))
    }

    async fn find_by_token(&self, hash: &SecretHash) -> Result<Option<User>, StoreError> {
        dispatch!(self, users::find_by_token(hash))
    }

    async fn sends_since(
        &self,
        tenant: TenantId,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        dispatch!(self, users::sends_since(tenant, user, since))
    }

    async fn insert_invited(&self, new: &NewUser) -> Result<(), StoreError> {
        let new = new.clone();
        self.detached(|s| async move { dispatch!(s, users::insert_invited(&new)) })
            .await
    }

    async fn rotate_invite(&self, rotation: &Rotation) -> Result<WriteOutcome, StoreError> {
        let rotation = rotation.clone();
        self.detached(|s| async move { dispatch!(s, users::rotate_invite(&rotation)) })
            .await
    }

    async fn activate(
        &self,
        tenant: TenantId,
        user: UserId,
        expected_version: i64,
        at: DateTime<Utc>,
    ) -> Result<WriteOutcome, StoreError> {
        self.detached(|s| async move {
            dispatch!(s, users::activate(tenant, user, expected_version, at))
        })
        .await
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
        dispatch!(self, admin::find_idempotency(tenant, key, not_before))
    }
}

#[async_trait]
impl AuditLog for Store {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let entry = entry.clone();
        self.detached(|s| async move { dispatch!(s, admin::record_audit(&entry)) })
            .await
    }
}

#[async_trait]
impl OutboxRepo for Store {
    async fn any_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        dispatch!(self, outbox::any_due(now))
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        self.detached(|s| async move { dispatch!(s, outbox::claim_due(now, lease_until, limit)) })
            .await
    }

    async fn settle(
        &self,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
        outcomes: &[Settlement],
    ) -> Result<usize, StoreError> {
        let outcomes = outcomes.to_vec();
        self.detached(|s| async move { dispatch!(s, outbox::settle(lease_until, at, &outcomes)) })
            .await
    }
}

#[async_trait]
impl Health for Store {
    async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, admin::ping())
    }
}
