//! The repository body expanded once per backend: `pg::*` runs on
//! `AsyncPgConnection`, `sqlite::*` on `SyncConnectionWrapper<SqliteConnection>`.

/// PostgreSQL: default `READ COMMITTED` transactions; the optimistic
/// `version` check and unique keys carry the invariants, and the claim
/// skips rows another worker has locked.
pub mod pg {
    crate::repo::users::users_body!(
        diesel_async::AsyncPgConnection,
        crate::connection::PgDb,
        diesel::pg::Pg,
        transaction
    );
    crate::repo::admin::admin_body!(
        diesel_async::AsyncPgConnection,
        crate::connection::PgDb,
        diesel::pg::Pg,
        transaction
    );
    crate::repo::outbox::outbox_body!(
        diesel_async::AsyncPgConnection,
        crate::connection::PgDb,
        diesel::pg::Pg,
        transaction,
        [.for_update().skip_locked()]
    );
}

/// SQLite: every write transaction takes the write lock up front
/// (`BEGIN IMMEDIATE`); a deferred `BEGIN` that upgrades from read to write
/// fails with "database is locked" under concurrency instead of waiting.
pub mod sqlite {
    crate::repo::users::users_body!(
        crate::connection::SqliteConn,
        crate::connection::SqliteDb,
        diesel::sqlite::Sqlite,
        immediate_transaction
    );
    crate::repo::admin::admin_body!(
        crate::connection::SqliteConn,
        crate::connection::SqliteDb,
        diesel::sqlite::Sqlite,
        immediate_transaction
    );
    crate::repo::outbox::outbox_body!(
        crate::connection::SqliteConn,
        crate::connection::SqliteDb,
        diesel::sqlite::Sqlite,
        immediate_transaction,
        []
    );
}
