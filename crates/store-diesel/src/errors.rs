//! Error translation at the boundary: diesel and pool errors become
//! `StoreError`s here and nowhere else.

use anyhow::anyhow;
use beckon_ports::StoreError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What a repository body returns. The raw diesel error is kept until the
/// boundary so that the retry loop can still see a serialization failure.
#[derive(Debug)]
pub enum TxError {
    /// A database error not yet classified.
    Db(DieselError),
    /// An error already translated (a constraint the body recognised, the pool).
    Store(StoreError),
    /// A guarded write found the row moved on (another writer won): its
    /// transaction is rolled back and the port answers `WriteOutcome::Stale`.
    Stale,
}

impl From<DieselError> for TxError {
    fn from(e: DieselError) -> Self {
        Self::Db(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl TxError {
    /// A conflict the database resolved by aborting this transaction:
    /// running the whole transaction again is the documented remedy
    /// (PostgreSQL 40001 and 40P01; CockroachDB/YugabyteDB raise 40001 a lot).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Db(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => {
                true
            }
            // diesel-async maps 40P01 to `Unknown`; the message is the only clue.
            Self::Db(DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)) => {
                info.message().starts_with("deadlock detected")
            }
            _ => false,
        }
    }

    /// Translates into the port's error, naming what was being done.
    pub fn into_store(self, what: &'static str) -> StoreError {
        match self {
            Self::Store(e) => e,
            Self::Db(e) => translate(e, what),
            Self::Stale => StoreError::Unexpected(anyhow!("{what}: the row moved on")),
        }
    }
}

/// Translates a diesel error that no body recognised.
pub fn translate(e: DieselError, what: &'static str) -> StoreError {
    if is_unavailable(&e) {
        StoreError::Unavailable(anyhow::Error::new(e).context(what))
    } else {
        StoreError::Unexpected(anyhow::Error::new(e).context(what))
    }
}

/// Errors that mean "the database cannot be reached (now)", as opposed to
/// "this request is wrong": the caller gets 503 and may retry later.
fn is_unavailable(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => {
            let m = info.message();
            // SQLite: still busy after busy_timeout, or the file went away.
            m.contains("database is locked")
                || m.contains("database is busy")
                || m.contains("disk I/O error")
                || m.contains("unable to open database file")
                // PostgreSQL 57P01..57P03: shutdown, restart, not yet up.
                || m.contains("terminating connection")
                || m.contains("the database system is")
        }
        _ => false,
    }
}

/// Whether `e` is a unique violation of the constraint named `pg_name` on
/// PostgreSQL, or of a unique index over `sqlite_columns` on SQLite (whose
/// message lists the columns, e.g. `users.tenant_id, users.email_normalized`).
pub fn is_unique_violation(e: &DieselError, pg_name: &str, sqlite_columns: &str) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.constraint_name() == Some(pg_name) || info.message().ends_with(sqlite_columns)
        }
        _ => false,
    }
}

/// Whether `e` is a foreign-key violation.
pub fn is_fk_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
    )
}

/// A stored value that does not parse back into a domain type: the data was
/// written by someone else or the schema drifted.
pub fn corrupt(what: &str, detail: impl std::fmt::Display) -> TxError {
    TxError::Store(StoreError::Unexpected(anyhow!(
        "stored {what} is invalid: {detail}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn serialization_failures_and_deadlocks_are_retried_and_nothing_else() {
        let retryable = |e| TxError::Db(e).is_retryable();
        assert!(retryable(db(
            DatabaseErrorKind::SerializationFailure,
            "could not serialize access"
        )));
        assert!(retryable(db(
            DatabaseErrorKind::Unknown,
            "deadlock detected"
        )));
        assert!(!retryable(db(DatabaseErrorKind::UniqueViolation, "dup")));
        assert!(!retryable(DieselError::NotFound));
        assert!(!TxError::Store(StoreError::EmailTaken).is_retryable());
    }

    #[test]
    fn lost_connections_and_a_locked_database_are_unavailable() {
        for e in [
            db(DatabaseErrorKind::ClosedConnection, "closed"),
            db(DatabaseErrorKind::UnableToSendCommand, "io error"),
            db(DatabaseErrorKind::Unknown, "database is locked"),
            db(
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
        ] {
            assert!(matches!(translate(e, "x"), StoreError::Unavailable(_)));
        }
        let e = db(DatabaseErrorKind::CheckViolation, "CHECK constraint failed");
        assert!(matches!(translate(e, "x"), StoreError::Unexpected(_)));
    }

    #[test]
    fn unique_violations_are_told_apart_by_constraint() {
        let sqlite = db(
            DatabaseErrorKind::UniqueViolation,
            "UNIQUE constraint failed: users.tenant_id, users.email_normalized",
        );
        assert!(is_unique_violation(
            &sqlite,
            "users_tenant_email_key",
            "users.tenant_id, users.email_normalized"
        ));
        assert!(!is_unique_violation(
            &sqlite,
            "idempotency_records_pkey",
            "idempotency_records.tenant_id, idempotency_records.idempotency_key"
        ));
    }
}
