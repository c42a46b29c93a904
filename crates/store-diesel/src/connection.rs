//! Connection URLs, pools and per-connection setup for both backends.

use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;
use beckon_ports::StoreError;
use diesel::{ConnectionError, SqliteConnection};
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use tokio::runtime::Handle;

use crate::errors::TxError;

/// The SQLite connection type: diesel's sync connection run on tokio's
/// blocking pool.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// How the store uses its database connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most connections the pool opens (forced to 1 for `sqlite::memory:`).
    pub max_connections: u32,
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
    /// cannot be cut short (see [`sqlite`]); its lock waits end after its
    /// 5 s busy timeout instead.
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
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// What a `BECKON_DATABASE_URL` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A PostgreSQL URL, passed through as is.
    Postgres(String),
    /// A SQLite database file (relative paths are relative to the working
    /// directory).
    SqliteFile(String),
    /// One in-process SQLite database.
    SqliteMemory,
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

/// Defines a pool handle for one connection type. (A generic `Db<C>` would
/// have to repeat every bound deadpool's `Manager` impl puts on `C`.)
macro_rules! db_type {
    ($(#[$doc:meta])* $name:ident, $conn:ty) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            pool: Pool<$conn>,
            acquire_timeout: Duration,
            /// How long [`Self::timed`] lets an operation run; `None`: no
            /// limit (SQLite, see [`sqlite`]).
            operation_timeout: Option<Duration>,
        }

        impl $name {
            fn new(
                manager: AsyncDieselConnectionManager<$conn>,
                max: u32,
                acquire_timeout: Duration,
                operation_timeout: Option<Duration>,
            ) -> Result<Self, StoreError> {
                let max = usize::try_from(max.max(1)).unwrap_or(1);
                let pool = Pool::builder(manager).max_size(max).build().map_err(|e| {
                    StoreError::Unexpected(anyhow::Error::new(e).context("building the pool"))
                })?;
                Ok(Self {
                    pool,
                    acquire_timeout,
                    operation_timeout,
                })
            }

            /// A connection, or `Unavailable` when none can be had in time.
            /// The timeout covers waiting for a free slot and opening a
            /// connection, so an unreachable host fails as promptly as a
            /// refused one.
            pub async fn get(&self) -> Result<Object<$conn>, StoreError> {
                match tokio::time::timeout(self.acquire_timeout, self.pool.get()).await {
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

            /// Runs `op` on a pooled connection, for at most the operation
            /// timeout: every repository body goes through here, so no
            /// store operation waits forever on a database that stopped
            /// answering (a network partition keeps the socket open, and
            /// a query sent on it would otherwise wait for good).
            ///
            /// On expiry the answer is `Unavailable` and the connection is
            /// taken out of the pool and dropped, which closes its socket:
            /// back in the pool it would still have the unanswered request
            /// in flight, and the next query on it would queue behind that
            /// one and hang too. Closing also makes PostgreSQL roll back a
            /// transaction `op` had open, so a write that timed out changed
            /// nothing, unless the time ran out after its COMMIT was sent:
            /// then the server may have committed it without the answer
            /// arriving, and "unavailable" cannot say which (as with any
            /// connection lost during COMMIT).
            pub async fn timed<T, F>(&self, op: F) -> Result<T, TxError>
            where
                for<'c> F: AsyncFnOnce(&'c mut $conn) -> Result<T, TxError>
                    + ConnOp<&'c mut $conn, Result<T, TxError>, Fut: Send>,
            {
                let mut conn = self.get().await?;
                let Some(limit) = self.operation_timeout else {
                    return op(&mut *conn).await;
                };
                let outcome = tokio::time::timeout(limit, op(&mut *conn)).await;
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
    };
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

db_type!(
    /// The PostgreSQL pool and how long to wait on it.
    PgDb,
    AsyncPgConnection
);
db_type!(
    /// The SQLite pool and how long to wait on it.
    SqliteDb,
    SqliteConn
);

/// A PostgreSQL pool. Connections open lazily: an unreachable server makes
/// requests fail with `Unavailable`, not the process fail to start.
pub fn postgres(url: &str, opts: &StoreOptions) -> Result<PgDb, StoreError> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.recycling_method = fast();
    let home = Handle::try_current().ok();
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        let home = home.clone();
        Box::pin(async move {
            // The connection's driver task runs on the runtime that opens
            // it: open it on the store's, not on whichever HTTP worker
            // asked first (those stop before the outbox worker on shutdown).
            match home {
                Some(home) => home
                    .spawn(async move { AsyncPgConnection::establish(&url).await })
                    .await
                    .map_err(|e| ConnectionError::BadConnection(format!("connecting: {e}")))?,
                None => AsyncPgConnection::establish(&url).await,
            }
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    PgDb::new(
        manager,
        opts.max_connections,
        opts.acquire_timeout,
        Some(opts.operation_timeout()),
    )
}

/// Hands out pooled connections without a test query: `Verified` would add a
/// round trip to every operation. A connection the server closed is still
/// noticed (`is_broken` checks the socket and any unfinished transaction),
/// and a failure on a connection that died unnoticed is reported as
/// `Unavailable` like any other lost connection.
fn fast<C>() -> RecyclingMethod<C> {
    RecyclingMethod::Fast
}

/// A SQLite pool. `path` is a file name or `:memory:`.
pub fn sqlite(path: &str, memory: bool, opts: &StoreOptions) -> Result<SqliteDb, StoreError> {
    let mut config = ManagerConfig::<SqliteConn>::default();
    config.recycling_method = fast();
    let home = Handle::try_current().ok();
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        let home = home.clone();
        Box::pin(async move { open_sqlite(&url, memory, home).await })
    });
    let manager = AsyncDieselConnectionManager::<SqliteConn>::new_with_config(path, config);
    // Every connection to ":memory:" is a database of its own: one
    // connection is the only way for all requests to see the same data.
    let max = if memory { 1 } else { opts.max_connections };
    // No operation time limit on SQLite, file or memory. diesel-async cannot
    // cancel SQLite work: each call runs on a blocking thread, and dropping
    // its future blocks the dropping thread (`block_in_place`) until that
    // call returns, and panics on a current-thread runtime. A time limit
    // would end nothing sooner (measured: a write waiting on another
    // process's lock, cut at 600 ms, still returned only after the 5 s
    // busy timeout) and could panic. SQLite is bounded where it can wait:
    // a lock wait ends after `busy_timeout` (5 s, see `open_sqlite`) as
    // `Unavailable`; an in-process database cannot go silent the way a
    // server can. And the memory database must never lose its connection:
    // its one connection *is* the database, so discarding it on a timeout
    // would lose every row (and an operation cut off inside a transaction
    // leaves the connection marked broken, which the pool would drop too).
    let operation_timeout = None;
    SqliteDb::new(manager, max, opts.acquire_timeout, operation_timeout)
}

/// Opens one SQLite connection and sets it up. busy_timeout comes first so
/// that switching the file to WAL waits for other connections instead of
/// failing; foreign keys are off by default in SQLite.
///
/// The connection runs its blocking work on the runtime the store was made
/// on (`home`): a connection that kept the runtime of the HTTP worker that
/// happened to open it would fail ("task was cancelled") once that worker
/// stops, while the outbox worker still settles its last messages.
async fn open_sqlite(
    path: &str,
    memory: bool,
    home: Option<Handle>,
) -> Result<SqliteConn, ConnectionError> {
    let mut conn = match home {
        // diesel-async ties a connection to the runtime current when it is
        // established, so establish it from a task on the home runtime.
        Some(home) => {
            let path = path.to_owned();
            home.spawn(async move { SqliteConn::establish(&path).await })
                .await
                .map_err(|e| ConnectionError::BadConnection(format!("opening SQLite: {e}")))??
        }
        None => SqliteConn::establish(path).await?,
    };
    let pragmas = if memory {
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
    } else {
        "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
    };
    conn.batch_execute(pragmas)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
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
    fn an_operation_gets_twice_the_acquire_timeout_and_at_least_a_second() {
        assert_eq!(
            StoreOptions::default().operation_timeout(),
            Duration::from_secs(10)
        );
        let with = |ms| StoreOptions {
            max_connections: 1,
            acquire_timeout: Duration::from_millis(ms),
        };
        assert_eq!(with(700).operation_timeout(), Duration::from_millis(1400));
        assert_eq!(with(300).operation_timeout(), Duration::from_secs(1));
    }
}
