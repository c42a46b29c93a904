//! The embedded migrations and how they run on each backend.

use anyhow::anyhow;
use beckon_ports::StoreError;
use diesel::SqliteConnection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::PgDb;
use crate::sqlite::SqliteDb;

/// `migrations/postgres`, compiled in.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
/// `migrations/sqlite`, compiled in.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unexpected(anyhow!("applying migrations failed: {e}"))
}

/// diesel's migration harness is synchronous. It runs on a blocking thread
/// (so it works on any tokio runtime, unlike `AsyncMigrationHarness`'s
/// `block_in_place`), on a connection taken out of the pool for good.
pub async fn postgres(db: &PgDb) -> Result<(), StoreError> {
    let conn = Object::take(db.get().await?);
    tokio::task::spawn_blocking(move || {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> = conn.into();
        conn.run_pending_migrations(POSTGRES)
            .map(drop)
            .map_err(failed)
    })
    .await
    .map_err(failed)?
}

/// On SQLite the harness runs on the SQLite thread's own connection (for
/// `:memory:` it *is* the database), between jobs.
pub async fn sqlite(db: &SqliteDb) -> Result<(), StoreError> {
    db.with_connection(|c: &mut SqliteConnection| {
        c.run_pending_migrations(SQLITE).map(drop).map_err(failed)
    })
    .await
}
