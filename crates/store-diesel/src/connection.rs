//! Connection URLs, options, and the PostgreSQL pool: how a body gets a
//! connection, a transaction and a time limit. (SQLite's counterpart is
//! `sqlite.rs`.)

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::anyhow;
use beckon_ports::StoreError;
use diesel::{ConnectionError, ConnectionResult};
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use tokio::runtime::{self, Handle, RuntimeFlavor};
use tokio_postgres::NoTls;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::errors::TxError;
use crate::retry::with_retry;
use crate::tls::PgTls;

/// How the store uses its database connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most connections the PostgreSQL store opens (SQLite uses one),
    /// split between its pools: see [`StoreOptions::pool_size`].
    pub max_connections: u32,
    /// How many single-threaded runtimes will use the store besides the
    /// multi-threaded one it was built on: the HTTP workers of `beckon
    /// serve`, each of which gets a pool of its own (see `Pools`). Zero
    /// when there are none.
    pub worker_runtimes: u32,
    /// How long a request waits for a connection (including opening one)
    /// before the store answers `StoreError::Unavailable`. Also sets how
    /// long one operation may then run: see [`StoreOptions::operation_timeout`].
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    /// How long one store operation (a query, a whole write transaction, a
    /// ping) may run on its connection before the store gives up on it,
    /// answers `StoreError::Unavailable` and discards the connection: twice
    /// `acquire_timeout` (10 s by default). PostgreSQL only: SQLite work
    /// cannot be cut short (one thread runs it all); its lock waits end after
    /// its 5 s busy timeout instead.
    ///
    /// Derived rather than configured of its own so that one setting still
    /// says how soon an outage turns into 503s (at most `acquire_timeout`
    /// waiting for a connection plus this on it), and twice so that an
    /// operation gets more time than opening a connection does: Beckon's
    /// operations are single-row reads and short transactions that take
    /// milliseconds, so hitting the limit means a database that stopped
    /// answering, not a slow query.
    ///
    /// At least 1 s, so that a very short acquire timeout does not cut
    /// healthy operations on a busy machine.
    pub fn operation_timeout(&self) -> Duration {
        self.acquire_timeout
            .saturating_mul(2)
            .max(Duration::from_secs(1))
    }

    /// The most connections each pool opens: `max_connections` split
    /// evenly between the shared pool and the `worker_runtimes` pools (at
    /// least one each), so that together they stay within it. Ten
    /// connections and two HTTP workers make three pools of three.
    pub fn pool_size(&self) -> usize {
        let pools = self.worker_runtimes.saturating_add(1);
        usize::try_from((self.max_connections / pools).max(1)).unwrap_or(1)
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            worker_runtimes: 0,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// What a `BECKON_DATABASE_URL` names. Its `Debug` leaves out the
/// PostgreSQL URL, which may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// A PostgreSQL URL, passed through as is.
    Postgres(String),
    /// A SQLite database file (relative paths are relative to the working
    /// directory).
    SqliteFile(String),
    /// One in-process SQLite database.
    SqliteMemory,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postgres(_) => f.write_str("Postgres(..)"),
            Self::SqliteFile(path) => f.debug_tuple("SqliteFile").field(path).finish(),
            Self::SqliteMemory => f.write_str("SqliteMemory"),
        }
    }
}

impl Target {
    /// Parses `sqlite://PATH`, `sqlite::memory:`, `postgres://…` and
    /// `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(Self::SqliteMemory);
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(bad_url(
                    "sqlite:// needs a file path, e.g. sqlite://beckon.db",
                ));
            }
            return Ok(Self::SqliteFile(path.to_owned()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        // Name the scheme only: the rest of a URL may hold a password.
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        Err(StoreError::Unexpected(anyhow!(
            "unsupported database URL scheme {scheme:?}: expected sqlite://PATH, \
             sqlite::memory: or postgres://…"
        )))
    }
}

fn bad_url(msg: &'static str) -> StoreError {
    StoreError::Unexpected(anyhow!(msg))
}

/// The PostgreSQL pools and how long to wait on them.
#[derive(Clone)]
pub struct PgDb {
    pools: Arc<Pools>,
    acquire_timeout: Duration,
    /// How long [`PgDb::timed`] lets an operation run.
    operation_timeout: Duration,
}

impl PgDb {
    /// A connection, or `Unavailable` when none can be had in time. The
    /// timeout covers waiting for a free slot and opening a connection, so
    /// an unreachable host fails as promptly as a refused one.
    pub async fn get(&self) -> Result<Object<AsyncPgConnection>, StoreError> {
        let pool = self.pools.for_this_runtime()?;
        match tokio::time::timeout(self.acquire_timeout, pool.get()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(StoreError::Unavailable(
                anyhow::Error::new(e).context("acquiring a database connection"),
            )),
            Err(_) => Err(StoreError::Unavailable(anyhow!(
                "no database connection within {:?}",
                self.acquire_timeout
            ))),
        }
    }

    /// `Unavailable` promptly when the database cannot be reached.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.timed(async |c: &mut AsyncPgConnection| Ok(c.batch_execute("SELECT 1").await?))
            .await
            .map_err(|e| e.into_store("pinging the database"))
    }

    /// Runs a read-only body on a pooled connection, within the operation
    /// timeout (see [`PgDb::timed`]).
    pub async fn read<T, F>(&self, op: F) -> Result<T, TxError>
    where
        F: Send
            + for<'c> AsyncFnOnce(&'c AsyncPgConnection) -> Result<T, TxError>
            + for<'c> ConnOp<&'c AsyncPgConnection, Result<T, TxError>, Fut: Send>,
    {
        self.timed(async |conn: &mut AsyncPgConnection| op(&*conn).await)
            .await
    }

    /// Runs a write body in a transaction of its own, within the operation
    /// timeout, again when the database aborted it for a conflict (see
    /// `retry.rs`). The body's statements pipeline: those it starts
    /// together travel in one round trip.
    pub async fn write<T, F>(&self, op: F) -> Result<T, TxError>
    where
        T: Send,
        F: Sync
            + for<'c> AsyncFn(&'c AsyncPgConnection) -> Result<T, TxError>
            + for<'c> BodyFn<&'c AsyncPgConnection, Result<T, TxError>, Fut: Send>,
    {
        with_retry(|| {
            self.timed(async |conn: &mut AsyncPgConnection| {
                conn.transaction(async |tx| op(&*tx).await).await
            })
        })
        .await
    }

    /// Runs `op` on a pooled connection, for at most the operation timeout:
    /// every repository body goes through here, so no store operation waits
    /// forever on a database that stopped answering (a network partition
    /// keeps the socket open, and a query sent on it would otherwise wait
    /// for good).
    ///
    /// On expiry the answer is `Unavailable` and the connection is taken
    /// out of the pool and dropped, which closes its socket: back in the
    /// pool it would still have the unanswered request in flight, and the
    /// next query on it would queue behind that one and hang too. Closing
    /// also makes PostgreSQL roll back a transaction `op` had open, so a
    /// write that timed out changed nothing, unless the time ran out after
    /// its COMMIT was sent: then the server may have committed it without
    /// the answer arriving, and "unavailable" cannot say which (as with any
    /// connection lost during COMMIT).
    pub async fn timed<T, F>(&self, op: F) -> Result<T, TxError>
    where
        for<'c> F: AsyncFnOnce(&'c mut AsyncPgConnection) -> Result<T, TxError>
            + ConnOp<&'c mut AsyncPgConnection, Result<T, TxError>, Fut: Send>,
    {
        let mut conn = self.get().await?;
        let limit = self.operation_timeout;
        let outcome = tokio::time::timeout(limit, op(&mut conn)).await;
        match outcome {
            Ok(result) => result,
            Err(_elapsed) => {
                drop(Object::take(conn));
                tracing::warn!(
                    ?limit,
                    "database operation timed out; its connection was closed"
                );
                Err(TxError::Store(StoreError::Unavailable(anyhow!(
                    "the database did not answer within {limit:?}"
                ))))
            }
        }
    }
}

/// An `AsyncFnOnce(A) -> R` whose future has a name, so that a bound can ask
/// for it to be `Send` (writes run on spawned tasks). The same workaround as
/// diesel-async's own (private) `AsyncFunc`: rustc cannot yet bound the
/// future of a higher-ranked `AsyncFnOnce` directly.
pub trait ConnOp<A, R>: AsyncFnOnce(A) -> R + FnOnce(A) -> <Self as ConnOp<A, R>>::Fut {
    /// The future the closure returns.
    type Fut: Future<Output = R>;
}

impl<F, A, Fut, R> ConnOp<A, R> for F
where
    F: AsyncFnOnce(A) -> R + FnOnce(A) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

/// [`ConnOp`] for a body that may run more than once (a write retried after
/// a conflict).
pub trait BodyFn<A, R>: AsyncFn(A) -> R + Fn(A) -> <Self as BodyFn<A, R>>::Fut {
    /// The future the closure returns.
    type Fut: Future<Output = R>;
}

impl<F, A, Fut, R> BodyFn<A, R> for F
where
    F: AsyncFn(A) -> R + Fn(A) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

/// The PostgreSQL pools of a store: one per single-threaded runtime that
/// uses it, and one shared by the rest.
///
/// A connection's driver task (tokio-postgres's `Connection`) runs on the
/// runtime that opened it, and every statement travels from the caller to
/// that task through a channel. Each HTTP worker runs its requests on a
/// single-threaded runtime of its own: with a pool of its own, whose
/// connections it opened, a request's statements reach the socket on the
/// request's own thread, with no wake-up of another thread on the way out
/// and back. Everything else (the delivery workers on the multi-threaded
/// runtime, the admin commands) shares one pool whose connections open on
/// the runtime the store was built on.
struct Pools {
    /// The database's URL, without the parameters `tls` took out.
    url: String,
    tls: Option<MakeRustlsConnect>,
    /// The most connections each pool opens ([`StoreOptions::pool_size`]).
    max_per_pool: usize,
    shared: Pool<AsyncPgConnection>,
    /// The pools of single-threaded runtimes, by runtime.
    local: Mutex<Vec<(runtime::Id, Pool<AsyncPgConnection>)>>,
}

impl Pools {
    /// The pool for the runtime the caller runs on.
    fn for_this_runtime(&self) -> Result<Pool<AsyncPgConnection>, StoreError> {
        let Ok(here) = Handle::try_current() else {
            return Ok(self.shared.clone());
        };
        if here.runtime_flavor() != RuntimeFlavor::CurrentThread {
            return Ok(self.shared.clone());
        }
        let id = here.id();
        let mut local = self
            .local
            .lock()
            .map_err(|_| StoreError::Unexpected(anyhow!("the pool registry is poisoned")))?;
        if let Some((_, pool)) = local.iter().find(|(rt, _)| *rt == id) {
            return Ok(pool.clone());
        }
        let pool = build_pool(&self.url, self.tls.clone(), None, self.max_per_pool)?;
        local.push((id, pool.clone()));
        Ok(pool)
    }
}

/// A PostgreSQL store's pools. Connections open lazily: an unreachable
/// server makes requests fail with `Unavailable`, not the process fail to
/// start. The URL's `sslmode` and `sslrootcert` are checked now, though
/// (see `tls.rs`): a mistyped mode or a missing root certificate stops the
/// start.
pub fn postgres(url: &str, opts: &StoreOptions) -> Result<PgDb, StoreError> {
    let tls = PgTls::parse(url)?;
    let connector = tls.connector()?;
    let max = opts.pool_size();
    // The shared pool's connections open on the store's runtime, not on
    // whichever HTTP worker asked first (those stop before the outbox
    // worker on shutdown).
    let shared = build_pool(&tls.url, connector.clone(), Handle::try_current().ok(), max)?;
    Ok(PgDb {
        pools: Arc::new(Pools {
            url: tls.url,
            tls: connector,
            max_per_pool: max,
            shared,
            local: Mutex::new(Vec::new()),
        }),
        acquire_timeout: opts.acquire_timeout,
        operation_timeout: opts.operation_timeout(),
    })
}

/// A pool of at most `max` connections to `url`, whose driver tasks run on
/// `home`, or on the runtime that opens each one when `None`.
fn build_pool(
    url: &str,
    connector: Option<MakeRustlsConnect>,
    home: Option<Handle>,
    max: usize,
) -> Result<Pool<AsyncPgConnection>, StoreError> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.recycling_method = fast();
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        let home = home.clone();
        let connector = connector.clone();
        Box::pin(async move {
            match home {
                Some(home) => home
                    .spawn(open(url, connector))
                    .await
                    .map_err(|e| ConnectionError::BadConnection(format!("connecting: {e}")))?,
                None => open(url, connector).await,
            }
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(max)
        .build()
        .map_err(|e| StoreError::Unexpected(anyhow::Error::new(e).context("building the pool")))
}

/// Opens one connection: in plain text for `sslmode=disable`, else with
/// `tls` (tokio-postgres then falls back to plain text only for `prefer`,
/// when the server refuses TLS).
async fn open(url: String, tls: Option<MakeRustlsConnect>) -> ConnectionResult<AsyncPgConnection> {
    let failed = |e: tokio_postgres::Error| {
        // With its causes: tokio-postgres's own message leaves out why a
        // TLS handshake failed (which certificate check).
        ConnectionError::BadConnection(format!("connecting: {:#}", anyhow::Error::new(e)))
    };
    match tls {
        None => {
            let (client, conn) = tokio_postgres::connect(&url, NoTls).await.map_err(failed)?;
            AsyncPgConnection::try_from_client_and_connection(client, conn).await
        }
        Some(tls) => {
            let (client, conn) = tokio_postgres::connect(&url, tls).await.map_err(failed)?;
            AsyncPgConnection::try_from_client_and_connection(client, conn).await
        }
    }
}

/// Hands out pooled connections without a test query: `Verified` would add a
/// round trip to every operation. A connection the server closed is still
/// noticed (`is_broken` checks the socket and any unfinished transaction),
/// and a failure on a connection that died unnoticed is reported as
/// `Unavailable` like any other lost connection.
fn fast() -> RecyclingMethod<AsyncPgConnection> {
    RecyclingMethod::Fast
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(
            Target::parse("sqlite://beckon.db").unwrap(),
            Target::SqliteFile("beckon.db".into())
        );
        assert_eq!(
            Target::parse("sqlite:///tmp/x.db").unwrap(),
            Target::SqliteFile("/tmp/x.db".into())
        );
        assert_eq!(
            Target::parse("sqlite::memory:").unwrap(),
            Target::SqliteMemory
        );
        assert!(matches!(
            Target::parse("postgresql://u@h/db").unwrap(),
            Target::Postgres(_)
        ));
        assert!(Target::parse("mysql://x").is_err());
        assert!(Target::parse("sqlite://").is_err());
        assert!(Target::parse("beckon.db").is_err());
    }

    #[test]
    fn a_targets_debug_never_shows_the_postgres_url() {
        let target = Target::parse("postgres://beckon:hunter2@db.internal/app").unwrap();
        let shown = format!("{target:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("db.internal"), "{shown}");
        assert_eq!(
            format!("{:?}", Target::parse("sqlite://beckon.db").unwrap()),
            r#"SqliteFile("beckon.db")"#
        );
    }

    #[test]
    fn an_operation_gets_twice_the_acquire_timeout_and_at_least_a_second() {
        assert_eq!(
            StoreOptions::default().operation_timeout(),
            Duration::from_secs(10)
        );
        let with = |ms| StoreOptions {
            max_connections: 1,
            acquire_timeout: Duration::from_millis(ms),
            ..StoreOptions::default()
        };
        assert_eq!(with(700).operation_timeout(), Duration::from_millis(1400));
        assert_eq!(with(300).operation_timeout(), Duration::from_secs(1));
    }

    #[test]
    fn the_connections_are_split_between_the_pools_and_each_gets_one() {
        let size = |max_connections, worker_runtimes| {
            StoreOptions {
                max_connections,
                worker_runtimes,
                ..StoreOptions::default()
            }
            .pool_size()
        };
        assert_eq!(size(10, 0), 10, "one shared pool");
        assert_eq!(size(10, 2), 3, "two HTTP workers and the shared pool");
        assert_eq!(size(20, 3), 5);
        assert_eq!(size(2, 4), 1, "never none");
        assert_eq!(size(0, 0), 1);
    }
}
