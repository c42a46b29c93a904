//! `Conn`: the handle a repository body runs its statements on, and the one
//! seam between the two backends. The bodies in `repo/` are written once,
//! as plain generic functions over `C: Conn`; each backend says here how a
//! statement runs:
//!
//! - PostgreSQL (`AsyncPgConnection`) sends it on a shared borrow of the connection,
//!   so statements a body starts together (`try_join!`) are *pipelined*:
//!   written to the socket back to back and answered in one round trip.
//! - SQLite ([`SqliteConn`]) runs it at once, synchronously, on the
//!   connection of the thread the whole body runs on (see `sqlite.rs`):
//!   the future it returns is already complete.
//!
//! A statement qualifies when it is valid SQL for both backends ([`Sql`],
//! [`Load`]); the compiler checks that where the body builds it, so a body
//! cannot use what only one backend has. The one statement that differs —
//! the outbox claim, whose row locks only PostgreSQL has — is a method of
//! its own.

use std::cell::RefCell;
use std::future::ready;

use futures_util::future::BoxFuture;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::sqlite::Sqlite;
use diesel_async::AsyncPgConnection;

use crate::rows::{ClaimedRow, PENDING};
use crate::schema::{due_outbox, outbox};
use crate::sql_types::DbTime;

/// A statement both backends can run, for [`Conn::execute`].
pub trait Sql: QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send {}

impl<T> Sql for T where T: QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send {}

/// A query both backends can load rows of type `U` from, for [`Conn::load`].
pub trait Load<'c, U>:
    diesel_async::methods::LoadQuery<'c, &'c AsyncPgConnection, U>
    + diesel::query_dsl::LoadQuery<'c, SqliteConnection, U>
    + Send
    + 'c
{
}

impl<'c, U, T> Load<'c, U> for T where
    T: diesel_async::methods::LoadQuery<'c, &'c AsyncPgConnection, U>
        + diesel::query_dsl::LoadQuery<'c, SqliteConnection, U>
        + Send
        + 'c
{
}

/// Where a repository body runs its statements. Bodies receive it from the
/// store, inside a transaction when they write.
pub trait Conn {
    /// Runs `q`, answering how many rows it changed.
    fn execute<'c, Q: Sql + 'c>(&'c self, q: Q) -> BoxFuture<'c, QueryResult<usize>>;

    /// Runs `q`, answering its rows.
    fn load<'c, U, Q>(&'c self, q: Q) -> BoxFuture<'c, QueryResult<Vec<U>>>
    where
        U: Send + 'static,
        Q: Load<'c, U>;

    /// Leases up to `limit` due, unleased messages until `lease`, counting
    /// the attempt, and answers them. PostgreSQL locks the rows it picks
    /// and skips rows another claim has locked; SQLite needs no row locks
    /// (its writes never overlap).
    fn claim_due(
        &self,
        now: DbTime,
        lease: DbTime,
        limit: i64,
    ) -> BoxFuture<'_, QueryResult<Vec<ClaimedRow>>>;
}

/// The claim: leases the messages of a sub-select of up to `$limit`
/// pending messages due at `$now` and not leased, oldest due first, until
/// `$lease`, and counts the attempt. A macro, not a function, only because
/// the two backends append different lock clauses (`$($lock)*`) to the
/// sub-select, and the resulting diesel types have no name a function
/// could return. The sub-select reads an alias of the table it updates.
macro_rules! claim_statement {
    ($now:expr, $lease:expr, $limit:expr $(, $lock:ident)*) => {
        diesel::update(
            outbox::table.filter(
                outbox::id.eq_any(
                    due_outbox
                        .select(due_outbox.field(outbox::id))
                        .filter(due_outbox.field(outbox::status).eq(PENDING))
                        .filter(due_outbox.field(outbox::next_attempt_at).le($now))
                        .filter(
                            due_outbox
                                .field(outbox::claimed_until)
                                .is_null()
                                .or(due_outbox.field(outbox::claimed_until).le($now)),
                        )
                        .order(due_outbox.field(outbox::next_attempt_at).asc())
                        .limit($limit)
                        $(.$lock())*,
                ),
            ),
        )
        .set((
            outbox::claimed_until.eq($lease),
            outbox::attempts.eq(outbox::attempts + 1),
        ))
        .returning((
            outbox::tenant_id,
            outbox::id,
            outbox::user_id,
            outbox::payload,
            outbox::attempts,
            outbox::created_at,
        ))
    };
}

/// A statement whose SQL text is the same on every call from its call
/// site, so that the connection keeps it prepared: diesel declines to cache
/// any `UPDATE` (and any insert with an optional column), because the SQL
/// of a changeset can vary with its values, and so re-prepared every write
/// on every call — on PostgreSQL one more round trip per statement. Every
/// statement a body runs has a fixed shape, and the few that vary (an
/// optional column present or not, a list of ids) vary over a handful of
/// shapes, each cached under its own SQL text: the cache stays small.
#[derive(Debug, Clone, Copy)]
pub struct Reuse<Q>(pub Q);

impl<Q, DB> QueryFragment<DB> for Reuse<Q>
where
    DB: diesel::backend::Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, out: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Reuse<Q> {
    // No static id: the cache keys the statement by its SQL text.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Reuse<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> diesel::RunQueryDsl<C> for Reuse<Q> {}

/// PostgreSQL: statements run on a shared borrow of the connection, so
/// that those a body starts together pipeline.
impl Conn for AsyncPgConnection {
    fn execute<'c, Q: Sql + 'c>(&'c self, q: Q) -> BoxFuture<'c, QueryResult<usize>> {
        let mut shared: &'c AsyncPgConnection = self;
        // The future holds the connection only through the shared borrow.
        diesel_async::methods::ExecuteDsl::execute(Reuse(q), &mut shared)
    }

    fn load<'c, U, Q>(&'c self, q: Q) -> BoxFuture<'c, QueryResult<Vec<U>>>
    where
        U: Send + 'static,
        Q: Load<'c, U>,
    {
        let shared: &'c AsyncPgConnection = self;
        Box::pin(async move {
            let mut shared = shared;
            diesel_async::RunQueryDsl::load(q, &mut shared).await
        })
    }

    fn claim_due(
        &self,
        now: DbTime,
        lease: DbTime,
        limit: i64,
    ) -> BoxFuture<'_, QueryResult<Vec<ClaimedRow>>> {
        let shared: &AsyncPgConnection = self;
        Box::pin(async move {
            let mut shared = shared;
            let claim = claim_statement!(now, lease, limit, for_update, skip_locked);
            diesel_async::RunQueryDsl::load(Reuse(claim), &mut shared).await
        })
    }
}

/// SQLite: the connection of the SQLite thread, lent to one body at a
/// time. Each statement runs synchronously inside its call.
pub struct SqliteConn(RefCell<SqliteConnection>);

impl SqliteConn {
    /// Wraps the thread's connection.
    pub fn new(conn: SqliteConnection) -> Self {
        Self(RefCell::new(conn))
    }

    /// The connection itself, for work outside the bodies (migrations).
    pub fn raw(&self) -> std::cell::RefMut<'_, SqliteConnection> {
        self.0.borrow_mut()
    }
}

impl Conn for SqliteConn {
    fn execute<'c, Q: Sql + 'c>(&'c self, q: Q) -> BoxFuture<'c, QueryResult<usize>> {
        // The borrow ends before the call returns: statements never overlap.
        done(diesel::query_dsl::methods::ExecuteDsl::execute(
            Reuse(q),
            &mut *self.0.borrow_mut(),
        ))
    }

    fn load<'c, U, Q>(&'c self, q: Q) -> BoxFuture<'c, QueryResult<Vec<U>>>
    where
        U: Send + 'static,
        Q: Load<'c, U>,
    {
        done(diesel::RunQueryDsl::load(q, &mut *self.0.borrow_mut()))
    }

    fn claim_due(
        &self,
        now: DbTime,
        lease: DbTime,
        limit: i64,
    ) -> BoxFuture<'_, QueryResult<Vec<ClaimedRow>>> {
        let claim = claim_statement!(now, lease, limit);
        done(diesel::RunQueryDsl::load(
            Reuse(claim),
            &mut *self.0.borrow_mut(),
        ))
    }
}

/// A result already there, as the future a SQLite statement returns.
fn done<'c, T: Send + 'c>(result: T) -> BoxFuture<'c, T> {
    Box::pin(ready(result))
}
